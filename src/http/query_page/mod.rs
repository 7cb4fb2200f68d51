//! hamlet's own query page, served at `/graphql` to a browser: an editor for
//! a query, its variables and headers, the answer pretty-printed, example
//! queries for the partnership's content and a list of the schema's types
//! read from the endpoint. Everything it needs comes from the binary, so it
//! works on a network without internet; GraphiQL, which loads React and its
//! own code from a CDN, stays at `/graphiql` for where that is reachable.
//!
//! The script and style sheet are served under names that carry a hash of
//! their content, so a browser may keep them for a year: a new build with a
//! changed file has a new name. The page itself is revalidated every time and
//! carries a Content-Security-Policy that allows nothing but this origin's
//! own files and requests, and no inline script.

use std::sync::LazyLock;

use async_graphql::http::GraphiQLSource;
use axum::extract::Path;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{Html, IntoResponse, Response};
use sha2::{Digest, Sha256};

/// Where the page's files are served, below `/graphql`.
pub(super) const ASSETS: &str = "/graphql/assets";

/// The page's policy: its own script, style, requests and form only; no
/// framing, no `<base>`, no plugins; and no string ever turned into markup or
/// script (Trusted Types with no policy: the script sets text, never HTML).
const CONTENT_SECURITY_POLICY: &str = "default-src 'none'; script-src 'self'; \
    style-src 'self'; connect-src 'self'; img-src 'self'; form-action 'self'; \
    base-uri 'none'; frame-ancestors 'none'; require-trusted-types-for 'script'; \
    trusted-types 'none'";

/// A file the page loads, under its content-hashed name.
struct Asset {
    name: String,
    content_type: &'static str,
    body: &'static str,
}

impl Asset {
    fn new(stem: &str, extension: &str, content_type: &'static str, body: &'static str) -> Self {
        let digest = Sha256::digest(body.as_bytes());
        let hash = hex::encode(&digest[..8]);
        Self {
            name: format!("{stem}.{hash}.{extension}"),
            content_type,
            body,
        }
    }

    fn url(&self) -> String {
        format!("{ASSETS}/{}", self.name)
    }
}

struct QueryPage {
    html: String,
    assets: [Asset; 2],
}

static PAGE: LazyLock<QueryPage> = LazyLock::new(|| {
    let script = Asset::new(
        "query",
        "js",
        "text/javascript; charset=utf-8",
        include_str!("query.js"),
    );
    let style = Asset::new(
        "query",
        "css",
        "text/css; charset=utf-8",
        include_str!("query.css"),
    );
    // Only the hashed names are put into the page: hex digits and dots, which
    // need no escaping.
    let html = include_str!("page.html")
        .replace("{{script}}", &script.url())
        .replace("{{style}}", &style.url());
    QueryPage {
        html,
        assets: [script, style],
    }
});

/// The query page.
pub(super) fn page() -> Response {
    let mut response = Html(PAGE.html.as_str()).into_response();
    let headers = response.headers_mut();
    super::page_headers(headers, HeaderValue::from_static(CONTENT_SECURITY_POLICY));
    // The page names the current files, so it is checked on every visit.
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-cache"));
    headers.insert(header::VARY, HeaderValue::from_static("Accept"));
    response
}

/// One of the page's files, by its hashed name; any other name is a 404.
pub(super) async fn asset(Path(name): Path<String>) -> Response {
    let Some(asset) = PAGE.assets.iter().find(|asset| asset.name == name) else {
        return (
            StatusCode::NOT_FOUND,
            [(header::CACHE_CONTROL, "no-store")],
            "no such file",
        )
            .into_response();
    };
    (
        [
            (header::CONTENT_TYPE, asset.content_type),
            // The name changes with the content, so the content never does.
            (header::CACHE_CONTROL, "public, max-age=31536000, immutable"),
            (header::X_CONTENT_TYPE_OPTIONS, "nosniff"),
        ],
        asset.body,
    )
        .into_response()
}

/// The schema's SDL, as `schema.graphql` in the repository holds it.
pub(super) async fn sdl() -> Response {
    static SDL: LazyLock<String> = LazyLock::new(crate::graphql::sdl);
    (
        [
            (header::CONTENT_TYPE, "text/plain; charset=utf-8"),
            (header::CACHE_CONTROL, "no-cache"),
        ],
        SDL.as_str(),
    )
        .into_response()
}

/// GraphiQL, which loads its code from a CDN: for where the internet is
/// reachable.
pub(super) async fn graphiql() -> Response {
    static GRAPHIQL: LazyLock<String> =
        LazyLock::new(|| GraphiQLSource::build().endpoint("/graphql").finish());
    Html(GRAPHIQL.as_str()).into_response()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_page_names_each_file_by_its_hash_and_holds_no_inline_script() {
        let page = &PAGE.html;
        for asset in &PAGE.assets {
            assert!(page.contains(&asset.url()), "{} in the page", asset.name);
            assert_eq!(asset.name.split('.').nth(1).map(str::len), Some(16));
        }
        assert!(!page.contains("{{"), "every placeholder filled");
        // Every <script> loads a file; none carries code of its own.
        for script in page.split("<script").skip(1) {
            let (open, rest) = script.split_once('>').unwrap_or_default();
            assert!(open.contains("src="), "{open}");
            assert!(rest.starts_with("</script>"), "{rest}");
        }
        let handlers = page.match_indices(" on").filter(|(at, _)| {
            let rest = &page[at + 3..];
            let name = rest.len()
                - rest
                    .trim_start_matches(|c: char| c.is_ascii_lowercase())
                    .len();
            name > 0 && rest[name..].starts_with('=')
        });
        assert_eq!(handlers.count(), 0, "no inline event handlers");
        assert!(!page.contains("style="), "no inline style");
    }
}
