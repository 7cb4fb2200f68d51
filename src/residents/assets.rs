//! The pages' styles and script, embedded in the binary under content-hashed
//! names (see `build.rs`) and kept by browsers for a year; and the service
//! worker, at the one stable address a service worker must have.

use std::sync::LazyLock;

use axum::extract::Path;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};

/// One file from `assets/`.
pub struct Asset {
    /// Its name in `assets/`, e.g. `app.css`.
    pub name: &'static str,
    /// The name it is served under, e.g. `app.3f9a….css`.
    pub hashed: &'static str,
    pub bytes: &'static [u8],
}

include!(concat!(env!("OUT_DIR"), "/assets.rs"));

/// Where the page finds `name` (`/assets/app.<hash>.css`).
pub fn url(name: &str) -> String {
    ASSETS.iter().find(|asset| asset.name == name).map_or_else(
        || format!("/assets/{name}"),
        |asset| format!("/assets/{}", asset.hashed),
    )
}

fn content_type(name: &str) -> &'static str {
    match name.rsplit_once('.').map(|(_, extension)| extension) {
        Some("css") => "text/css; charset=utf-8",
        Some("js") => "text/javascript; charset=utf-8",
        Some("svg") => "image/svg+xml",
        Some("png") => "image/png",
        Some("webmanifest" | "json") => "application/manifest+json",
        _ => "application/octet-stream",
    }
}

/// `GET /assets/{file}`: a hashed name never changes its bytes, so it may be
/// kept for a year without asking again.
pub async fn serve(Path(file): Path<String>) -> Response {
    match ASSETS.iter().find(|asset| asset.hashed == file) {
        Some(asset) => (
            [
                (
                    header::CONTENT_TYPE,
                    HeaderValue::from_static(content_type(asset.name)),
                ),
                (
                    header::CACHE_CONTROL,
                    HeaderValue::from_static("public, max-age=31536000, immutable"),
                ),
            ],
            asset.bytes,
        )
            .into_response(),
        None => (
            StatusCode::NOT_FOUND,
            [(header::CACHE_CONTROL, "no-store")],
            "not found",
        )
            .into_response(),
    }
}

/// The service worker: `assets/sw.js` after a first line naming this build's
/// assets, so a new build is a new worker that drops the old cache.
static SERVICE_WORKER: LazyLock<String> = LazyLock::new(|| {
    let cached: Vec<String> = ASSETS
        .iter()
        // The residents' files only: a folder is another set of pages'.
        .filter(|asset| asset.name != "sw.js" && !asset.name.contains('/'))
        .map(|asset| format!("/assets/{}", asset.hashed))
        .collect();
    let version = ASSETS
        .iter()
        .map(|asset| asset.hashed)
        .collect::<Vec<_>>()
        .join(",");
    let body = ASSETS
        .iter()
        .find(|asset| asset.name == "sw.js")
        .map_or("", |asset| {
            std::str::from_utf8(asset.bytes).unwrap_or_default()
        });
    format!(
        "const VERSION = {};\nconst ASSETS = {};\n{body}",
        serde_json::Value::String(format!("hamlet-{:016x}", fnv1a(version.as_bytes()))),
        serde_json::Value::from(cached),
    )
});

fn fnv1a(bytes: &[u8]) -> u64 {
    bytes.iter().fold(0xcbf2_9ce4_8422_2325, |hash, byte| {
        (hash ^ u64::from(*byte)).wrapping_mul(0x0100_0000_01b3)
    })
}

/// `GET /sw.js`: asked for again on every visit (browsers check a worker
/// at most daily anyway), so a new build reaches every device.
pub async fn service_worker() -> Response {
    (
        [
            (header::CONTENT_TYPE, "text/javascript; charset=utf-8"),
            (header::CACHE_CONTROL, "no-cache"),
        ],
        SERVICE_WORKER.as_str(),
    )
        .into_response()
}
