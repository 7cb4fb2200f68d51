//! Bounds on a GraphQL document that async-graphql does not keep itself, all
//! checked before validation, so before any resolver or database work:
//!
//! - **nesting** of braces, brackets and parentheses, counted on the text
//!   before it is parsed: the parser recurses once per level until its own
//!   stack limit, and then answers with an error that repeats the whole
//!   query, so sixty kilobytes of `{a{a{a…` would cost a deep recursion and
//!   come back as sixty kilobytes of error;
//! - **aliases** per operation (`HAMLET_MAX_ALIASES`), fragments included, so
//!   one request cannot run one field many times under different names (a
//!   login guessed thirty times in one POST);
//! - **expanded size**: the number of fields once every fragment spread is
//!   replaced by its fragment. async-graphql's own checks walk that expansion
//!   naively, so a chain of fragments that each spread the next several times
//!   would keep a thread busy for hours; here every fragment is counted once
//!   (memoised), a cycle is refused at once, and a document whose expansion
//!   has more fields than `HAMLET_MAX_COMPLEXITY` is refused, since each field
//!   costs at least one.
//!
//! A refusal is a `QUERY_TOO_COMPLEX` error (a fragment cycle is
//! `GRAPHQL_VALIDATION_FAILED`).

use std::collections::HashMap;

use async_graphql::parser::types::{ExecutableDocument, Selection, SelectionSet};
use async_graphql::{Name, Positioned, ServerError, ServerResult};

/// What a document may hold.
#[derive(Clone, Copy, Debug)]
pub struct DocumentLimits {
    /// Deepest nesting of `{`, `[` and `(` in the text.
    pub max_nesting: usize,
    /// Aliased fields in one operation, fragments expanded.
    pub max_aliases: usize,
    /// Fields in one operation, fragments expanded.
    pub max_fields: usize,
}

impl DocumentLimits {
    /// The limits that follow from the configured query depth, aliases and
    /// complexity. Nesting allows two levels per field level (a selection
    /// set and its arguments) and room for nested input values.
    pub fn new(max_depth: usize, max_aliases: usize, max_complexity: usize) -> Self {
        Self {
            max_nesting: max_depth.saturating_mul(2).saturating_add(32),
            max_aliases,
            max_fields: max_complexity,
        }
    }
}

fn too_complex(message: String) -> ServerError {
    let mut error = ServerError::new(message, None);
    error
        .extensions
        .get_or_insert_with(Default::default)
        .set("code", "QUERY_TOO_COMPLEX");
    error
}

/// Refuses text nested deeper than `max_nesting`, without parsing it.
/// Strings, block strings and comments are skipped, so a brace inside a
/// string does not count.
pub fn check_nesting(query: &str, max_nesting: usize) -> ServerResult<()> {
    let bytes = query.as_bytes();
    let mut depth = 0usize;
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'#' => {
                while i < bytes.len() && !matches!(bytes[i], b'\n' | b'\r') {
                    i += 1;
                }
            }
            b'"' if bytes[i..].starts_with(b"\"\"\"") => {
                i += 3;
                while i < bytes.len() && !bytes[i..].starts_with(b"\"\"\"") {
                    i += if bytes[i..].starts_with(b"\\\"\"\"") {
                        4
                    } else {
                        1
                    };
                }
                i += 3;
                continue;
            }
            b'"' => {
                i += 1;
                while i < bytes.len() && !matches!(bytes[i], b'"' | b'\n' | b'\r') {
                    i += if bytes[i] == b'\\' { 2 } else { 1 };
                }
            }
            b'{' | b'[' | b'(' => {
                depth += 1;
                if depth > max_nesting {
                    return Err(too_complex(format!(
                        "the query is nested more than {max_nesting} levels deep"
                    )));
                }
            }
            b'}' | b']' | b')' => depth = depth.saturating_sub(1),
            _ => {}
        }
        i += 1;
    }
    Ok(())
}

/// Fields and aliases in a selection set, fragments expanded.
#[derive(Clone, Copy, Default)]
struct Size {
    fields: usize,
    aliases: usize,
}

impl Size {
    fn add(self, other: Self) -> Self {
        Self {
            fields: self.fields.saturating_add(other.fields),
            aliases: self.aliases.saturating_add(other.aliases),
        }
    }
}

/// Counts each fragment once, however often it is spread.
struct Sizer<'a> {
    document: &'a ExecutableDocument,
    sizes: HashMap<&'a Name, Size>,
    /// Fragments being counted, to find cycles.
    open: Vec<&'a Name>,
}

impl<'a> Sizer<'a> {
    fn selection_set(&mut self, set: &'a Positioned<SelectionSet>) -> ServerResult<Size> {
        let mut size = Size::default();
        for selection in &set.node.items {
            let part = match &selection.node {
                Selection::Field(field) => Size {
                    fields: 1,
                    aliases: usize::from(field.node.alias.is_some()),
                }
                .add(self.selection_set(&field.node.selection_set)?),
                Selection::InlineFragment(fragment) => {
                    self.selection_set(&fragment.node.selection_set)?
                }
                Selection::FragmentSpread(spread) => {
                    self.fragment(&spread.node.fragment_name.node)?
                }
            };
            size = size.add(part);
        }
        Ok(size)
    }

    fn fragment(&mut self, name: &'a Name) -> ServerResult<Size> {
        if let Some(size) = self.sizes.get(name) {
            return Ok(*size);
        }
        if self.open.contains(&name) {
            let mut error = ServerError::new(format!("fragment `{name}` spreads itself"), None);
            error
                .extensions
                .get_or_insert_with(Default::default)
                .set("code", "GRAPHQL_VALIDATION_FAILED");
            return Err(error);
        }
        // An unknown fragment is left for validation to report.
        let Some(fragment) = self.document.fragments.get(name) else {
            return Ok(Size::default());
        };
        self.open.push(name);
        let size = self.selection_set(&fragment.node.selection_set);
        self.open.pop();
        let size = size?;
        self.sizes.insert(name, size);
        Ok(size)
    }
}

/// Refuses a parsed document whose operations, fragments expanded, hold more
/// aliases or fields than allowed, or whose fragments spread themselves.
pub fn check_document(document: &ExecutableDocument, limits: &DocumentLimits) -> ServerResult<()> {
    let mut sizer = Sizer {
        document,
        sizes: HashMap::new(),
        open: Vec::new(),
    };
    for name in document.fragments.keys() {
        sizer.fragment(name)?;
    }
    for (_, operation) in document.operations.iter() {
        let size = sizer.selection_set(&operation.node.selection_set)?;
        if size.aliases > limits.max_aliases {
            return Err(too_complex(format!(
                "the query has {} aliases; at most {} are allowed",
                size.aliases, limits.max_aliases
            )));
        }
        if size.fields > limits.max_fields {
            return Err(too_complex(format!(
                "the query has more than {} fields once its fragments are expanded",
                limits.max_fields
            )));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn limits() -> DocumentLimits {
        DocumentLimits::new(12, 3, 100)
    }

    fn check(query: &str) -> ServerResult<()> {
        check_nesting(query, limits().max_nesting)?;
        let document = async_graphql::parser::parse_query(query).map_err(ServerError::from)?;
        check_document(&document, &limits())
    }

    fn code(result: ServerResult<()>) -> String {
        let error = result.unwrap_err();
        match error.extensions.and_then(|e| e.get("code").cloned()) {
            Some(async_graphql::Value::String(code)) => code,
            other => panic!("no code: {other:?}"),
        }
    }

    #[test]
    fn ordinary_queries_pass() {
        check("{ a: services { slug } b: services { slug } }").unwrap();
        check("query { ...F } fragment F on Query { services { slug } }").unwrap();
        check("{ page(slug: \"{{{{{{{{{{{{{{{{{{{{{{{{{{{{{{{{{{{{{{{{{{{{\") { title } }")
            .unwrap();
        check(
            "# {{{{{{{{{{{{{{{{{{{{{{{{{{{{{{{{{{{{{{{{{{{{{{{{{{{{{{{{{{{{\n{ services { slug } }",
        )
        .unwrap();
    }

    #[test]
    fn deep_nesting_is_refused_before_parsing() {
        let deep = format!("{}{}", "{a".repeat(100_000), "}".repeat(100_000));
        assert_eq!(code(check(&deep)), "QUERY_TOO_COMPLEX");
        let deep_value = format!("{{ a(x: {}1{}) }}", "[".repeat(1000), "]".repeat(1000));
        assert_eq!(code(check(&deep_value)), "QUERY_TOO_COMPLEX");
    }

    #[test]
    fn aliases_count_across_fragments() {
        assert_eq!(code(check("{ a: x b: x c: x d: x }")), "QUERY_TOO_COMPLEX");
        // Two aliases in a fragment spread twice are four.
        assert_eq!(
            code(check("{ ...F ...F } fragment F on Query { a: x b: x }")),
            "QUERY_TOO_COMPLEX"
        );
    }

    #[test]
    fn a_fragment_bomb_is_refused_without_expanding_it() {
        let mut query = String::from("{ ...F0 }\n");
        for level in 0..40 {
            let spreads = format!("...F{} ", level + 1).repeat(10);
            query.push_str(&format!("fragment F{level} on Query {{ {spreads} }}\n"));
        }
        query.push_str("fragment F40 on Query { services { slug } }\n");
        assert_eq!(code(check(&query)), "QUERY_TOO_COMPLEX");
    }

    #[test]
    fn a_fragment_cycle_is_refused() {
        assert_eq!(
            code(check(
                "{ ...A } fragment A on Query { ...B } fragment B on Query { ...A ...A }"
            )),
            "GRAPHQL_VALIDATION_FAILED"
        );
    }
}
