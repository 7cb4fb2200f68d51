//! What every browser test stands on: ChromeDriver started on a free port and
//! a headless Chromium session through it (WebDriver, with `fantoccini`), in
//! which no host but 127.0.0.1 can be reached, as on an NHS network without
//! internet.
//!
//! [`axe_violations`] runs axe-core (from the npm registry, pinned in
//! `tests/browser/package-lock.json`) in the page and gives what it finds
//! against WCAG 2.2 AA.
//!
//! Where Chromium or ChromeDriver is missing, [`Browser::open`] says so in one
//! line naming the command that installs them and gives `None`, so the test
//! passes having checked nothing; with `CI=true` a missing browser fails the
//! test instead. Where axe-core is not installed (`npm ci --prefix
//! tests/browser`), [`axe_violations`] does the same.

use std::os::unix::process::CommandExt as _;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use fantoccini::{Client, ClientBuilder};
use serde::Deserialize;
use serde_json::{Value, json};

/// The command that installs what the browser tests need.
pub const INSTALL_BROWSER: &str = "apt-get install -y chromium chromium-driver";

/// The command that installs axe-core for the accessibility checks.
pub const INSTALL_AXE: &str = "npm ci --prefix tests/browser";

/// Where `npm ci` puts axe-core.
const AXE_SCRIPT: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/tests/browser/node_modules/axe-core/axe.min.js"
);

/// The axe-core rule tags checked: WCAG 2.0, 2.1 and 2.2, levels A and AA.
pub const WCAG_22_AA: [&str; 5] = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "wcag22aa"];

/// How long a test waits for the page to reach a state before failing.
pub const PATIENCE: Duration = Duration::from_secs(20);

/// Whether this run is CI, where a test that cannot run is a failure.
pub fn in_ci() -> bool {
    std::env::var("CI").as_deref() == Ok("true")
}

/// Says, in one line, why a browser test did not run and what would make it
/// run; with `CI=true` fails the test instead.
pub fn not_run(why: &str, install: &str) {
    assert!(!in_ci(), "CI=true and {why}: {install}");
    eprintln!("browser test not run: {why} ({install})");
}

/// `program` found on `PATH`.
fn on_path(program: &str) -> Option<PathBuf> {
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path)
        .map(|dir| dir.join(program))
        .find(|candidate| candidate.is_file())
}

/// A headless Chromium, driven over WebDriver. Dropping it ends the session's
/// ChromeDriver (and with it the browser).
pub struct Browser {
    pub client: Client,
    _driver: Driver,
}

/// The ChromeDriver process, in a process group of its own with the
/// Chromium it starts: ended with all of them when dropped, even when a test
/// fails before closing its session (killing ChromeDriver alone would leave
/// the browser running).
struct Driver(Child);

impl Drop for Driver {
    fn drop(&mut self) {
        let _ = Command::new("kill")
            .args(["-KILL", "--", &format!("-{}", self.0.id())])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status();
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// The window size of a phone, a laptop, or a kiosk.
#[derive(Clone, Copy, Debug)]
pub struct Window {
    pub width: u32,
    pub height: u32,
}

impl Window {
    /// A small phone (an iPhone SE's CSS pixels).
    pub const PHONE: Self = Self {
        width: 375,
        height: 812,
    };
    /// A portrait kiosk screen.
    pub const KIOSK: Self = Self {
        width: 1080,
        height: 1920,
    };
    pub const LAPTOP: Self = Self {
        width: 1280,
        height: 900,
    };
}

impl Browser {
    /// A new browser with a fresh profile and a window of `window`'s size,
    /// or `None` (after saying why) where Chromium or ChromeDriver is missing
    /// outside CI.
    pub async fn open(window: Window) -> Option<Self> {
        Self::launch(window, true).await
    }

    /// As [`Browser::open`], with JavaScript switched off, as some residents'
    /// browsers have it.
    pub async fn open_without_javascript(window: Window) -> Option<Self> {
        Self::launch(window, false).await
    }

    async fn launch(window: Window, javascript: bool) -> Option<Self> {
        let (Some(chromium), Some(chromedriver)) = (on_path("chromium"), on_path("chromedriver"))
        else {
            not_run("Chromium or ChromeDriver is missing", INSTALL_BROWSER);
            return None;
        };
        let port = free_port();
        let driver = Driver(
            Command::new(&chromedriver)
                .arg(format!("--port={port}"))
                .process_group(0)
                .stdin(Stdio::null())
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .spawn()
                .unwrap_or_else(|error| panic!("starting {}: {error}", chromedriver.display())),
        );
        let client = connect(port, &chromium, window, javascript).await;
        client
            .set_window_size(window.width, window.height)
            .await
            .unwrap();
        Some(Self {
            client,
            _driver: driver,
        })
    }

    /// Opens `url` and waits until the page has loaded.
    pub async fn goto(&self, url: &str) {
        self.client.goto(url).await.unwrap();
    }

    /// Runs `script` (a function body) in the page and gives its result.
    pub async fn eval(&self, script: &str) -> Value {
        self.client.execute(script, vec![]).await.unwrap()
    }

    /// Waits until `script` (a function body) returns something truthy in the
    /// page, and gives it; fails the test with `what` after [`PATIENCE`].
    pub async fn wait_for(&self, what: &str, script: &str) -> Value {
        let started = Instant::now();
        loop {
            let value = self.eval(script).await;
            let truthy = match &value {
                Value::Null => false,
                Value::Bool(b) => *b,
                Value::String(s) => !s.is_empty(),
                Value::Number(n) => n.as_f64() != Some(0.0),
                Value::Array(_) | Value::Object(_) => true,
            };
            if truthy {
                return value;
            }
            assert!(
                started.elapsed() < PATIENCE,
                "waited {PATIENCE:?} for {what}; the page: {}",
                self.eval("return document.body ? document.body.innerText : ''")
                    .await
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    /// Every URL the page has loaded so far (the document and its resources).
    pub async fn loaded_urls(&self) -> Vec<String> {
        let urls = self
            .eval(
                "return [location.href, ...performance.getEntriesByType('resource').map(e => e.name)]",
            )
            .await;
        serde_json::from_value(urls).unwrap()
    }

    /// Whether the page can fetch `url` at all (any answer, even an error
    /// status, counts as reached).
    pub async fn can_fetch(&self, url: &str) -> bool {
        let reached = self
            .client
            .execute_async(
                "const [url, done] = arguments;
                 fetch(url, { mode: 'no-cors', cache: 'no-store' })
                   .then(() => done(true), () => done(false));",
                vec![json!(url)],
            )
            .await
            .unwrap();
        reached == Value::Bool(true)
    }

    /// Ends the session (closing the browser), then its ChromeDriver.
    pub async fn close(self) {
        let _ = self.client.clone().close().await;
    }
}

/// A port nobody listens on now.
fn free_port() -> u16 {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    listener.local_addr().unwrap().port()
}

/// A session with the ChromeDriver on `port`, once it answers.
async fn connect(
    port: u16,
    chromium: &std::path::Path,
    window: Window,
    javascript: bool,
) -> Client {
    let mut capabilities = json!({
        "browserName": "chrome",
        "goog:chromeOptions": {
            "binary": chromium,
            "args": [
                "--headless=new",
                "--no-sandbox",
                "--disable-gpu",
                "--disable-dev-shm-usage",
                "--no-first-run",
                "--no-default-browser-check",
                "--disable-background-networking",
                "--disable-component-update",
                "--disable-sync",
                "--lang=en-GB",
                format!("--window-size={},{}", window.width, window.height),
                // No name resolves but 127.0.0.1 ...
                "--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE 127.0.0.1",
                // ... and no address but loopback is reached either: every
                // other request goes to a proxy that is not there.
                "--proxy-server=http://127.0.0.1:9",
            ],
        },
    });
    if !javascript && let Some(args) = capabilities["goog:chromeOptions"]["args"].as_array_mut() {
        args.push(json!("--blink-settings=scriptEnabled=false"));
    }
    let Value::Object(capabilities) = capabilities else {
        unreachable!("a JSON object")
    };
    let connector = hyper_util::client::legacy::connect::HttpConnector::new();
    let webdriver = format!("http://127.0.0.1:{port}");
    let started = Instant::now();
    loop {
        match ClientBuilder::new(connector.clone())
            .capabilities(capabilities.clone())
            .connect(&webdriver)
            .await
        {
            Ok(client) => return client,
            Err(error) => {
                assert!(
                    started.elapsed() < PATIENCE,
                    "no WebDriver session from ChromeDriver on port {port}: {error}"
                );
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
        }
    }
}

/// One rule axe-core found broken, and where.
#[derive(Debug, Deserialize)]
pub struct Violation {
    /// The axe-core rule, e.g. `color-contrast`.
    pub id: String,
    /// `minor`, `moderate`, `serious` or `critical`.
    pub impact: Option<String>,
    /// What the rule asks for, in a sentence.
    pub help: String,
    /// A CSS selector for each element that breaks it.
    pub targets: Vec<String>,
}

impl std::fmt::Display for Violation {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{} ({}): {} at {}",
            self.id,
            self.impact.as_deref().unwrap_or("unrated"),
            self.help,
            self.targets.join(", ")
        )
    }
}

/// axe-core's script, or `None` (after saying why) where it is not installed
/// outside CI.
fn axe_script() -> Option<String> {
    match std::fs::read_to_string(AXE_SCRIPT) {
        Ok(script) => Some(script),
        Err(_) => {
            not_run("axe-core is not installed", INSTALL_AXE);
            None
        }
    }
}

/// What axe-core finds against WCAG 2.2 AA ([`WCAG_22_AA`]) on the page at
/// `url`, once it has loaded; `None` (after saying why) where axe-core is not
/// installed outside CI.
pub async fn axe_violations(client: &Client, url: &str) -> Option<Vec<Violation>> {
    client.goto(url).await.unwrap();
    axe_violations_here(client).await
}

/// What axe-core finds against WCAG 2.2 AA on the page as it is now (after a
/// test has typed, clicked or waited for something).
pub async fn axe_violations_here(client: &Client) -> Option<Vec<Violation>> {
    let script = axe_script()?;
    // WebDriver's scripts are not bound by the page's Content-Security-Policy.
    client.execute(&script, vec![]).await.unwrap();
    let found = client
        .execute_async(
            "const [tags, done] = arguments;
             axe.run(document, { runOnly: { type: 'tag', values: tags }, resultTypes: ['violations'] })
               .then(result => done({ violations: result.violations.map(v => ({
                   id: v.id,
                   impact: v.impact,
                   help: v.help,
                   targets: v.nodes.map(node => node.target.map(String).join(' ')),
                 })) }),
                 error => done({ error: String(error) }));",
            vec![json!(WCAG_22_AA)],
        )
        .await
        .unwrap();
    assert!(found.get("error").is_none(), "axe-core failed: {found}");
    Some(serde_json::from_value(found["violations"].clone()).unwrap())
}
