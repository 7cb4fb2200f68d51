//! Relay-style pagination: `first` and opaque `after` cursors, pages read
//! one row past `first` to know whether more follow, and the one recipe that
//! turns such a page into a GraphQL connection.

use async_graphql::connection::{Connection, Edge, EmptyFields};
use async_graphql::{ObjectType, OutputType};
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;

use crate::error::{AppError, AppResult};

/// Limits every connection shares, from configuration.
#[derive(Clone, Copy, Debug)]
pub struct Limits {
    pub max_page_size: u32,
}

/// The default page size when a client does not say.
pub const DEFAULT_PAGE_SIZE: u32 = 20;

/// What a page of a connection costs a query's complexity budget: the
/// page asked for (the default when not given, at most 1,000 counted) times
/// what each node costs.
pub fn complexity(first: Option<i32>, child_complexity: usize) -> usize {
    let first = first.unwrap_or(DEFAULT_PAGE_SIZE as i32).clamp(0, 1000);
    (first as usize).saturating_mul(child_complexity)
}

/// How many items to return.
pub fn page_size(first: Option<i32>, limits: Limits) -> AppResult<u64> {
    match first {
        None => Ok(u64::from(DEFAULT_PAGE_SIZE.min(limits.max_page_size))),
        Some(first) if first < 0 => Err(AppError::bad_input("first", "must not be negative")),
        Some(first) if first as u32 > limits.max_page_size => Err(AppError::bad_input(
            "first",
            format!("must be at most {}", limits.max_page_size),
        )),
        Some(first) => Ok(first as u64),
    }
}

/// An opaque cursor for the item whose sort key is `key` in a list of `kind`.
pub fn encode_cursor(kind: &str, key: &str) -> String {
    URL_SAFE_NO_PAD.encode(format!("{kind}:{key}"))
}

/// The sort key inside a cursor made by [`encode_cursor`] for the same `kind`.
pub fn decode_cursor(kind: &str, cursor: &str) -> AppResult<String> {
    let invalid = || AppError::bad_input("after", "is not a cursor from this list");
    let bytes = URL_SAFE_NO_PAD.decode(cursor).map_err(|_| invalid())?;
    let text = String::from_utf8(bytes).map_err(|_| invalid())?;
    text.strip_prefix(kind)
        .and_then(|rest| rest.strip_prefix(':'))
        .map(str::to_owned)
        .ok_or_else(invalid)
}

/// One page of a list, and whether more rows follow it.
#[derive(Debug)]
pub struct Page<T> {
    pub rows: Vec<T>,
    pub has_next: bool,
}

impl<T> Page<T> {
    /// The page of `rows`, read with a limit of `first + 1`: the extra row,
    /// if it came, only says that more follow.
    pub fn of(mut rows: Vec<T>, first: u64) -> Self {
        let has_next = rows.len() as u64 > first;
        rows.truncate(usize::try_from(first).unwrap_or(usize::MAX));
        Self { rows, has_next }
    }

    /// The limit to read a page of `first` rows with.
    pub fn limit(first: u64) -> u64 {
        first.saturating_add(1)
    }
}

/// `page` as a Relay connection: each row's cursor from `cursor`, its node
/// from `node`, and `extra` for the connection's own fields (`totalCount`).
/// `after_given` says whether the page started after a cursor, which is what
/// `hasPreviousPage` reports.
pub fn connection<Row, Node, Extra>(
    page: Page<Row>,
    after_given: bool,
    extra: Extra,
    cursor: impl Fn(&Row) -> String,
    node: impl Fn(Row) -> Node,
) -> Connection<String, Node, Extra, EmptyFields>
where
    Node: OutputType,
    Extra: ObjectType,
{
    let mut connection = Connection::with_additional_fields(after_given, page.has_next, extra);
    connection.edges.extend(
        page.rows
            .into_iter()
            .map(|row| Edge::new(cursor(&row), node(row))),
    );
    connection
}

#[cfg(test)]
mod tests {
    use super::*;

    const LIMITS: Limits = Limits { max_page_size: 100 };

    #[test]
    fn cursors_round_trip_and_stay_in_their_list() {
        let cursor = encode_cursor("page", "vision-and-purpose");
        assert_eq!(
            decode_cursor("page", &cursor).unwrap(),
            "vision-and-purpose"
        );
        assert!(decode_cursor("idea", &cursor).is_err());
        assert!(decode_cursor("page", "!!not base64").is_err());
    }

    #[test]
    fn a_page_read_one_past_first_knows_whether_more_follow() {
        let page = Page::of(vec![1, 2, 3], 2);
        assert_eq!(page.rows, [1, 2]);
        assert!(page.has_next);
        let page = Page::of(vec![1, 2], 2);
        assert!(!page.has_next);
        assert_eq!(Page::<u8>::limit(20), 21);
    }

    #[test]
    fn page_size_is_bounded() {
        assert_eq!(page_size(None, LIMITS).unwrap(), 20);
        assert_eq!(page_size(Some(0), LIMITS).unwrap(), 0);
        assert_eq!(page_size(Some(100), LIMITS).unwrap(), 100);
        assert!(page_size(Some(101), LIMITS).is_err());
        assert!(page_size(Some(-1), LIMITS).is_err());
    }
}
