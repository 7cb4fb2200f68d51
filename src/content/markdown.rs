//! Markdown bodies: safe HTML for websites and plain text for the search index.

use pulldown_cmark::{CowStr, Event, Options, Parser, Tag, TagEnd, html};

fn options() -> Options {
    Options::ENABLE_TABLES | Options::ENABLE_STRIKETHROUGH | Options::ENABLE_HEADING_ATTRIBUTES
}

/// Renders Markdown to HTML. Raw HTML in the source is shown as text, never
/// passed through, and link or image addresses with a scheme other than
/// http, https, mailto or tel (such as `javascript:`) become `#`.
pub fn to_html(markdown: &str) -> String {
    let events = Parser::new_ext(markdown, options()).map(|event| match event {
        Event::Html(raw) | Event::InlineHtml(raw) => Event::Text(raw),
        // A heading may carry `{#id .class}`; any other attribute written
        // there (`{onclick=…}`, `{style=…}`) would reach the HTML as it
        // stands, so only the id and classes are kept.
        Event::Start(Tag::Heading {
            level, id, classes, ..
        }) => Event::Start(Tag::Heading {
            level,
            id,
            classes,
            attrs: Vec::new(),
        }),
        Event::Start(Tag::Link {
            link_type,
            dest_url,
            title,
            id,
        }) => Event::Start(Tag::Link {
            link_type,
            dest_url: safe_url(dest_url),
            title,
            id,
        }),
        Event::Start(Tag::Image {
            link_type,
            dest_url,
            title,
            id,
        }) => Event::Start(Tag::Image {
            link_type,
            dest_url: safe_url(dest_url),
            title,
            id,
        }),
        other => other,
    });
    let mut out = String::with_capacity(markdown.len() * 5 / 4);
    html::push_html(&mut out, events);
    out
}

/// The words of a Markdown body without its markup, for indexing and snippets.
pub fn to_plain_text(markdown: &str) -> String {
    let mut out = String::with_capacity(markdown.len());
    for event in Parser::new_ext(markdown, options()) {
        match event {
            Event::Text(text) | Event::Code(text) | Event::Html(text) | Event::InlineHtml(text) => {
                out.push_str(&text)
            }
            Event::SoftBreak | Event::HardBreak => out.push(' '),
            Event::End(
                TagEnd::Paragraph | TagEnd::Heading(_) | TagEnd::Item | TagEnd::CodeBlock,
            ) => out.push('\n'),
            _ => {}
        }
    }
    out.trim().to_owned()
}

fn safe_url(url: CowStr<'_>) -> CowStr<'_> {
    // Browsers ignore whitespace and control characters inside a scheme
    // ("java\tscript:"), so judge the address with them removed.
    let compact: String = url
        .chars()
        .filter(|c| !c.is_whitespace() && !c.is_control())
        .take(64)
        .collect::<String>()
        .to_ascii_lowercase();
    let scheme_end = compact.find(':');
    let path_start = compact.find(['/', '?', '#']);
    let has_scheme = match (scheme_end, path_start) {
        (Some(colon), Some(path)) => colon < path,
        (Some(_), None) => true,
        (None, _) => false,
    };
    let allowed = !has_scheme
        || ["http:", "https:", "mailto:", "tel:"]
            .iter()
            .any(|scheme| compact.starts_with(scheme));
    if allowed { url } else { CowStr::Borrowed("#") }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn raw_html_is_escaped() {
        let html = to_html("Hello <script>alert(1)</script>\n\n<div onclick=x>block</div>");
        assert!(!html.contains("<script"), "{html}");
        assert!(!html.contains("<div"), "{html}");
        assert!(html.contains("&lt;script&gt;"), "{html}");
    }

    #[test]
    fn a_heading_keeps_its_id_and_classes_and_nothing_else() {
        let html = to_html("# Hello {#greeting .big onclick=alert(1) style=color:red}");
        assert!(html.contains(r#"id="greeting""#), "{html}");
        assert!(html.contains(r#"class="big""#), "{html}");
        assert!(!html.contains("onclick"), "{html}");
        assert!(!html.contains("style"), "{html}");
    }

    #[test]
    fn dangerous_link_schemes_are_neutralised() {
        for source in [
            "[x](javascript:alert(1))",
            "[x](JavaScript:alert(1))",
            "[x](<java\tscript:alert(1)>)",
            "[x](data:text/html;base64,xyz)",
            "![x](vbscript:msgbox)",
        ] {
            let html = to_html(source);
            assert!(
                html.contains("href=\"#\"") || html.contains("src=\"#\""),
                "{source} -> {html}"
            );
        }
    }

    #[test]
    fn ordinary_links_survive() {
        for (source, href) in [
            (
                "[a](https://example.org/x?y=1)",
                "https://example.org/x?y=1",
            ),
            ("[a](/pages/vision)", "/pages/vision"),
            ("[a](#values)", "#values"),
            ("[a](mailto:team@example.org)", "mailto:team@example.org"),
            ("[a](relative/path:with-colon)", "relative/path:with-colon"),
        ] {
            assert!(
                to_html(source).contains(&format!("href=\"{href}\"")),
                "{source}"
            );
        }
    }

    #[test]
    fn plain_text_drops_markup() {
        let text = to_plain_text("## Our vision\n\nTo work **together**.\n\n1. One\n2. Two");
        assert_eq!(text, "Our vision\nTo work together.\nOne\nTwo");
    }
}
