//! Browser tests: real headless Chromium (Debian's `chromium`) loading what
//! hamlet serves to a browser. Where Chromium is missing they say so in one
//! line and how to install it; with `CI=true` a missing browser is a failure.
//! Every request the browser makes outside 127.0.0.1 is refused, as on an NHS
//! network without internet.

use std::process::Command;

use crate::helpers::TestApp;

/// The Chromium binary, or `None` (after saying why) where it is missing
/// outside CI.
fn chromium() -> Option<&'static str> {
    let found = Command::new("chromium")
        .arg("--version")
        .output()
        .is_ok_and(|output| output.status.success());
    if found {
        return Some("chromium");
    }
    assert!(
        std::env::var("CI").as_deref() != Ok("true"),
        "CI=true and Chromium is missing: apt-get install -y chromium chromium-driver"
    );
    eprintln!(
        "browser tests not run: Chromium is missing (apt-get install -y chromium chromium-driver)"
    );
    None
}

/// The page at `url` as headless Chromium renders it (its DOM after load),
/// or `None` where there is no Chromium outside CI.
async fn rendered(url: String) -> Option<String> {
    let binary = chromium()?;
    let profile = tempfile::tempdir().unwrap();
    let profile_arg = format!("--user-data-dir={}", profile.path().display());
    tokio::task::spawn_blocking(move || {
        let output = Command::new(binary)
            .args([
                "--headless",
                "--no-sandbox",
                "--disable-gpu",
                "--disable-dev-shm-usage",
                "--no-first-run",
                // Nothing but hamlet itself may answer.
                "--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE 127.0.0.1",
                "--virtual-time-budget=3000",
                &profile_arg,
                "--dump-dom",
                &url,
            ])
            .output()
            .unwrap();
        assert!(
            output.status.success(),
            "chromium failed: {}",
            String::from_utf8_lossy(&output.stderr)
        );
        String::from_utf8(output.stdout).unwrap()
    })
    .await
    .map(Some)
    .unwrap()
}

#[tokio::test]
async fn a_browser_opening_the_endpoint_gets_the_graphiql_page() {
    let app = TestApp::spawn().await;
    let Some(dom) = rendered(app.url("/graphql")).await else {
        return;
    };
    assert!(dom.contains("<html"), "{dom}");
    assert!(
        dom.contains("id=\"graphiql\""),
        "the GraphiQL mount point: {dom}"
    );
    assert!(dom.contains("<title>"), "{dom}");
}
