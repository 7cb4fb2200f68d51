//! The residents' pages in real headless Chromium (Debian's `chromium`),
//! driven over WebDriver (Debian's `chromedriver`) with fantoccini, against
//! hamlet started as in every other test, on SQLite or PostgreSQL. Every
//! request outside 127.0.0.1 is refused, as on an NHS network without
//! internet. Where Chromium or ChromeDriver is missing the tests say so in
//! one line and how to install them; with `CI=true` that is a failure.

use std::net::TcpListener;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use fantoccini::actions::{InputSource as _, KeyAction, KeyActions};
use fantoccini::key::Key;
use fantoccini::{Client, ClientBuilder, Locator};
use hamlet::staff::model::Role;
use hamlet::submissions::entity::{feedback, idea};
use hamlet::submissions::model::Channel;
use sea_orm::{ColumnTrait as _, EntityTrait as _, QueryFilter as _};
use serde_json::{Value, json};

use crate::helpers::{Seed, TestApp};

const CHROMIUM: &str = "/usr/bin/chromium";
const CHROMEDRIVER: &str = "/usr/bin/chromedriver";
const INSTALL: &str = "apt-get install -y chromium chromium-driver fonts-lohit-beng-bengali";

/// One headless Chromium with a fresh profile, and the ChromeDriver that
/// drives it (in a process group of its own, ended with it).
pub struct Browser {
    pub client: Client,
    driver: Child,
    _profile: tempfile::TempDir,
}

impl Drop for Browser {
    fn drop(&mut self) {
        // ChromeDriver and the Chromium it started share its process group.
        let group = format!("-{}", self.driver.id());
        let _ = Command::new("kill").args(["-KILL", "--", &group]).status();
        let _ = self.driver.wait();
    }
}

/// Whether the browser tests can run here. Outside CI a missing browser is
/// said in one line and the test passes; in CI it fails.
fn available() -> bool {
    let found =
        std::path::Path::new(CHROMIUM).exists() && std::path::Path::new(CHROMEDRIVER).exists();
    if !found {
        assert!(
            std::env::var("CI").as_deref() != Ok("true"),
            "CI=true and Chromium or ChromeDriver is missing: {INSTALL}"
        );
        eprintln!("browser tests not run: Chromium or ChromeDriver is missing ({INSTALL})");
    }
    found
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// How a test wants its browser.
#[derive(Clone, Copy)]
pub struct Options {
    pub javascript: bool,
    pub width: u32,
    pub height: u32,
}

impl Default for Options {
    fn default() -> Self {
        Self {
            javascript: true,
            width: 1024,
            height: 900,
        }
    }
}

impl Browser {
    /// A browser, or `None` where there is none (outside CI).
    pub async fn start(options: Options) -> Option<Self> {
        if !available() {
            return None;
        }
        let port = free_port();
        let driver = {
            use std::os::unix::process::CommandExt as _;
            Command::new(CHROMEDRIVER)
                .arg(format!("--port={port}"))
                .process_group(0)
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .spawn()
                .unwrap()
        };
        let profile = tempfile::tempdir().unwrap();
        let mut args = vec![
            "--headless=new".to_owned(),
            "--no-sandbox".to_owned(),
            "--disable-gpu".to_owned(),
            "--disable-dev-shm-usage".to_owned(),
            "--no-first-run".to_owned(),
            "--disable-background-networking".to_owned(),
            "--disable-component-update".to_owned(),
            "--disable-sync".to_owned(),
            // Nothing but hamlet itself may answer.
            "--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE 127.0.0.1".to_owned(),
            format!("--user-data-dir={}", profile.path().display()),
            format!("--window-size={},{}", options.width, options.height),
            "--lang=en-GB".to_owned(),
        ];
        if !options.javascript {
            args.push("--blink-settings=scriptEnabled=false".to_owned());
        }
        let mut capabilities = serde_json::Map::new();
        capabilities.insert(
            "goog:chromeOptions".to_owned(),
            json!({ "binary": CHROMIUM, "args": args }),
        );
        let url = format!("http://127.0.0.1:{port}");
        let mut client = None;
        for _ in 0..100 {
            match ClientBuilder::new(hyper_util::client::legacy::connect::HttpConnector::new())
                .capabilities(capabilities.clone())
                .connect(&url)
                .await
            {
                Ok(connected) => {
                    client = Some(connected);
                    break;
                }
                Err(_) => tokio::time::sleep(Duration::from_millis(100)).await,
            }
        }
        let client = client.expect("ChromeDriver starts a Chromium session");
        Some(Self {
            client,
            driver,
            _profile: profile,
        })
    }

    pub async fn goto(&self, url: &str) {
        self.client.goto(url).await.unwrap();
    }

    pub async fn find(&self, css: &str) -> fantoccini::elements::Element {
        self.client
            .wait()
            .at_most(Duration::from_secs(10))
            .for_element(Locator::Css(css))
            .await
            .unwrap_or_else(|error| panic!("{css}: {error}"))
    }

    pub async fn click(&self, css: &str) {
        self.find(css).await.click().await.unwrap();
    }

    pub async fn type_into(&self, css: &str, text: &str) {
        self.find(css).await.send_keys(text).await.unwrap();
    }

    pub async fn script(&self, script: &str) -> Value {
        self.client.execute(script, vec![]).await.unwrap()
    }

    /// Runs `script` (which ends by calling `done(value)`) and returns the value.
    pub async fn script_async(&self, script: &str) -> Value {
        let wrapped = format!("const done = arguments[arguments.length - 1]; {script}");
        self.client.execute_async(&wrapped, vec![]).await.unwrap()
    }

    /// Waits up to `seconds` for `check` (a JavaScript expression) to be true.
    pub async fn until(&self, check: &str, seconds: u64) {
        let deadline = std::time::Instant::now() + Duration::from_secs(seconds);
        loop {
            let value = self
                .client
                .execute(&format!("return !!({check});"), vec![])
                .await;
            if matches!(value, Ok(Value::Bool(true))) {
                return;
            }
            assert!(
                std::time::Instant::now() < deadline,
                "waited {seconds} s for {check}"
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    /// Presses one key, as a person at the keyboard would: to whatever has
    /// the focus.
    pub async fn press(&self, key: Key) {
        let keys = KeyActions::new("keyboard".to_owned())
            .then(KeyAction::Down { value: key.into() })
            .then(KeyAction::Up { value: key.into() });
        self.client.perform_actions(keys).await.unwrap();
    }

    /// Types text with the keyboard into whatever has the focus.
    pub async fn keyboard(&self, text: &str) {
        let mut keys = KeyActions::new("keyboard".to_owned());
        for c in text.chars() {
            keys = keys
                .then(KeyAction::Down { value: c })
                .then(KeyAction::Up { value: c });
        }
        self.client.perform_actions(keys).await.unwrap();
    }

    /// Presses Tab until the focused element matches `css` (at most 40 times).
    pub async fn tab_to(&self, css: &str) {
        for _ in 0..40 {
            self.press(Key::Tab).await;
            let here = self
                .script(&format!(
                    "return document.activeElement && document.activeElement.matches({});",
                    Value::String(css.to_owned())
                ))
                .await;
            if here == Value::Bool(true) {
                return;
            }
        }
        panic!("Tab never reached {css}");
    }

    /// The number of submissions waiting in the page's outbox (IndexedDB).
    pub async fn outbox_count(&self) -> u64 {
        self.script_async(
            "const open = indexedDB.open('hamlet-outbox', 1);
             open.onupgradeneeded = () => open.result.createObjectStore('items', { keyPath: 'id' });
             open.onsuccess = () => {
               const count = open.result.transaction('items', 'readonly').objectStore('items').count();
               count.onsuccess = () => { open.result.close(); done(count.result); };
             };
             open.onerror = () => done(-1);",
        )
        .await
        .as_u64()
        .expect("a count")
    }

    pub async fn close(self) {
        let _ = self.client.clone().close().await;
    }
}

/// The feedback rows stored so far.
async fn feedback_rows(app: &TestApp) -> Vec<feedback::Model> {
    let db = app.db().await;
    let rows = feedback::Entity::find().all(&db).await.unwrap();
    db.close().await.ok();
    rows
}

/// Fills the feedback form with JavaScript on: a service, an answer, a
/// comment, and no to contact.
async fn fill_feedback(browser: &Browser, comment: &str) {
    browser
        .click("input[name='service'][value='royal-london-maternity']")
        .await;
    browser.click("#rating").await;
    browser.type_into("#comment", comment).await;
    browser.click("#consent-no").await;
}

#[tokio::test]
async fn feedback_sent_online_shows_its_receipt_and_can_be_tracked() {
    let Some(browser) = Browser::start(Options::default()).await else {
        return;
    };
    let app = TestApp::spawn().await;
    browser.goto(&app.url("/feedback?lang=en")).await;
    // Contact details appear only once the resident says yes.
    assert!(!browser.find("#email").await.is_displayed().await.unwrap());
    browser.click("#consent").await;
    assert!(browser.find("#email").await.is_displayed().await.unwrap());
    fill_feedback(&browser, "Seen on time by a kind midwife.").await;
    assert!(!browser.find("#email").await.is_displayed().await.unwrap());
    browser.click("button[data-submit]").await;
    browser
        .until("location.pathname.startsWith('/receipt/')", 10)
        .await;
    let reference = browser.find("[data-reference]").await.text().await.unwrap();
    assert!(reference.starts_with("FB-"), "{reference}");

    let rows = feedback_rows(&app).await;
    assert_eq!(rows.len(), 1);
    assert_eq!(rows[0].reference, reference);
    assert_eq!(
        rows[0].comment.as_deref(),
        Some("Seen on time by a kind midwife.")
    );
    assert_eq!(rows[0].channel, Channel::Web);
    assert!(
        rows[0].captured_at.is_some(),
        "the script says when it was made"
    );

    browser.click("a[href*='reference=']").await;
    browser.until("location.pathname === '/track'", 10).await;
    let status = browser
        .find("[data-status-value]")
        .await
        .text()
        .await
        .unwrap();
    assert_eq!(status, "Received");
    browser.close().await;
}

#[tokio::test]
async fn an_idea_published_by_a_moderator_supported_twice_from_one_browser_counts_once() {
    let Some(browser) = Browser::start(Options::default()).await else {
        return;
    };
    let app = TestApp::spawn().await;
    let reference = app.idea_reference(crate::helpers::idea()).await;
    let db = app.db().await;
    let row = idea::Entity::find()
        .filter(idea::Column::Reference.eq(&reference))
        .one(&db)
        .await
        .unwrap()
        .unwrap();
    let moderator = app.staff(&[Role::Moderator]).await;
    app.data_as(
        &moderator,
        "mutation($id: ID!) { moderateIdea(input: { id: $id, expectedVersion: 1, published: true }) { id } }",
        json!({ "id": row.id.to_string() }),
    )
    .await;

    for _ in 0..2 {
        browser.goto(&app.url("/ideas?lang=en")).await;
        // Supported by the script, without leaving the page.
        browser
            .script("window.__samePage = true; return null;")
            .await;
        browser.click("form[data-support] button").await;
        browser
            .until(
                "document.querySelector('.supported') && window.__samePage",
                10,
            )
            .await;
    }
    let count = browser
        .find("[data-support-count]")
        .await
        .text()
        .await
        .unwrap();
    assert_eq!(count, "1");
    let row = idea::Entity::find_by_id(row.id)
        .one(&db)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(row.support_count, 1, "one browser counts once");
    db.close().await.ok();
    browser.close().await;
}

#[tokio::test]
async fn feedback_made_offline_waits_on_the_device_and_arrives_once_with_when_it_was_made() {
    let Some(browser) = Browser::start(Options::default()).await else {
        return;
    };
    let app = TestApp::spawn().await;
    let page = app.url("/feedback?lang=en");
    browser.goto(&page).await;
    // The service worker has taken the page and kept it.
    browser
        .until(
            "navigator.serviceWorker && navigator.serviceWorker.controller",
            15,
        )
        .await;
    browser.until("window.caches", 5).await;
    let kept = format!(
        "caches.match({}, {{ ignoreVary: true }}).then((hit) => done(!!hit))",
        Value::String(page.clone())
    );
    for _ in 0..100 {
        if browser.script_async(&kept).await == Value::Bool(true) {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(browser.script_async(&kept).await, Value::Bool(true));

    let stopped = app.stop().await;
    for n in 1..=3 {
        fill_feedback(&browser, &format!("Offline feedback number {n}.")).await;
        browser.click("button[data-submit]").await;
        browser
            .until("!document.querySelector('[data-saved]').hidden", 10)
            .await;
        assert_eq!(browser.outbox_count().await, n);
        assert_eq!(
            browser
                .find("#comment")
                .await
                .prop("value")
                .await
                .unwrap()
                .as_deref(),
            Some(""),
            "the form is cleared for the next person"
        );
    }
    // The page comes back from the service worker, the outbox with it.
    browser.client.refresh().await.unwrap();
    browser.find("form[data-outbox]").await;
    assert_eq!(browser.outbox_count().await, 3);
    let text = browser.find("body").await.text().await.unwrap();
    assert!(
        !text.contains("Offline feedback number"),
        "nothing queued is shown"
    );

    let app = stopped.start().await;
    let deadline = std::time::Instant::now() + Duration::from_secs(40);
    while feedback_rows(&app).await.len() < 3 || browser.outbox_count().await > 0 {
        assert!(
            std::time::Instant::now() < deadline,
            "the outbox was not sent"
        );
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
    let rows = feedback_rows(&app).await;
    assert_eq!(rows.len(), 3, "each exactly once");
    for n in 1..=3 {
        let row = rows
            .iter()
            .find(|row| row.comment.as_deref() == Some(&format!("Offline feedback number {n}.")))
            .unwrap_or_else(|| panic!("number {n} arrived"));
        let captured = row.captured_at.expect("sent with capturedAt");
        assert!(
            captured < row.received_at,
            "made before it could be received: {captured} {}",
            row.received_at
        );
    }
    assert_eq!(browser.outbox_count().await, 0);
    browser.close().await;
}

#[tokio::test]
async fn a_kiosk_enrols_submits_clears_itself_when_idle_and_refuses_once_revoked() {
    let Some(browser) = Browser::start(Options {
        width: 1080,
        height: 1400,
        ..Options::default()
    })
    .await
    else {
        return;
    };
    let app = TestApp::spawn_with(Seed::BuiltIn, |config| {
        config.pages.kiosk_idle = Duration::from_secs(2);
        config.pages.kiosk_warning = Duration::from_secs(3);
    })
    .await;
    let admin = app.staff(&[Role::Admin]).await;
    let created = app
        .data_as(
            &admin,
            "mutation { createKiosk(name: \"Royal London outpatients\", site: \"Whitechapel\") { kiosk { id } token } }",
            json!({}),
        )
        .await;
    let token = created["createKiosk"]["token"].as_str().unwrap().to_owned();
    let kiosk_id = created["createKiosk"]["kiosk"]["id"]
        .as_str()
        .unwrap()
        .to_owned();

    browser.goto(&app.url("/kiosk")).await;
    browser
        .until("document.body.dataset.kioskState === 'enrol'", 10)
        .await;
    assert!(
        !browser
            .find("[data-feedback]")
            .await
            .is_displayed()
            .await
            .unwrap()
    );
    browser.type_into("#kiosk-token", "not-the-token").await;
    browser.click("[data-kiosk-enrol] button").await;
    browser
        .until(
            "!document.querySelector('[data-kiosk-enrol-error]').hidden",
            10,
        )
        .await;
    browser.type_into("#kiosk-token", &token).await;
    browser.click("[data-kiosk-enrol] button").await;
    browser
        .until("document.body.dataset.kioskState === 'ready'", 10)
        .await;

    // Large targets for touch.
    let (_, _, _, height) = browser
        .find("button[data-submit]")
        .await
        .rectangle()
        .await
        .unwrap();
    assert!(height >= 44.0, "{height}");

    fill_feedback(&browser, "Kiosk feedback from the waiting room.").await;
    browser.click("button[data-submit]").await;
    browser
        .until("document.querySelector('[data-kiosk-thanks]')", 10)
        .await;
    let reference = browser
        .find("[data-kiosk-thanks] [data-reference]")
        .await
        .text()
        .await
        .unwrap();
    let rows = feedback_rows(&app).await;
    assert_eq!(rows.len(), 1);
    assert_eq!(rows[0].reference, reference);
    assert_eq!(rows[0].channel, Channel::Kiosk);
    assert_eq!(
        rows[0].kiosk_id.map(|id| id.to_string()),
        Some(kiosk_id.clone())
    );

    // Finished: back to the start, still enrolled.
    browser.click("[data-kiosk-thanks] button").await;
    browser.until("document.body.dataset.kioskState === 'ready' && !document.querySelector('[data-kiosk-thanks]')", 10).await;

    // Someone starts and walks away: a warning, then everything cleared.
    browser.click("#rating").await;
    browser
        .type_into("#comment", "Half-written and left behind")
        .await;
    browser
        .script("window.__notReloaded = true; return null;")
        .await;
    browser
        .until("!document.querySelector('[data-idle]').hidden", 10)
        .await;
    let warning = browser.find("[data-idle-text]").await.text().await.unwrap();
    assert!(warning.contains("seconds"), "{warning}");
    browser
        .until(
            "!window.__notReloaded && document.body.dataset.kioskState === 'ready'",
            15,
        )
        .await;
    assert_eq!(
        browser
            .find("#comment")
            .await
            .prop("value")
            .await
            .unwrap()
            .as_deref(),
        Some("")
    );
    assert_eq!(
        browser
            .script("return document.querySelectorAll('input:checked').length;")
            .await,
        json!(0),
        "no answer is left selected"
    );

    // "I am still here" keeps the answers.
    browser.type_into("#comment", "Still typing").await;
    browser
        .until("!document.querySelector('[data-idle]').hidden", 10)
        .await;
    browser.click("[data-idle-continue]").await;
    assert_eq!(
        browser
            .find("#comment")
            .await
            .prop("value")
            .await
            .unwrap()
            .as_deref(),
        Some("Still typing")
    );

    // Revoked: the kiosk says so and takes nothing more.
    app.data_as(
        &admin,
        "mutation($id: ID!) { revokeKiosk(id: $id) { active } }",
        json!({ "id": kiosk_id }),
    )
    .await;
    browser.find("#comment").await.clear().await.unwrap();
    fill_feedback(&browser, "After the kiosk was revoked.").await;
    browser.click("button[data-submit]").await;
    browser
        .until("document.body.dataset.kioskState === 'revoked'", 10)
        .await;
    assert!(
        browser
            .find("[data-kiosk-revoked]")
            .await
            .is_displayed()
            .await
            .unwrap()
    );
    assert!(
        !browser
            .find("[data-feedback]")
            .await
            .is_displayed()
            .await
            .unwrap()
    );
    assert_eq!(
        feedback_rows(&app).await.len(),
        1,
        "nothing taken once revoked"
    );
    // Still off after a reload, until staff enrol it again.
    browser.client.refresh().await.unwrap();
    browser
        .until("document.body.dataset.kioskState === 'revoked'", 10)
        .await;
    assert!(
        browser
            .find("[data-kiosk-enrol]")
            .await
            .is_displayed()
            .await
            .unwrap()
    );
    assert_eq!(browser.outbox_count().await, 0, "nothing kept to send");
    browser.close().await;
}

#[tokio::test]
async fn the_whole_feedback_flow_works_with_the_keyboard_alone_in_bengali() {
    let Some(browser) = Browser::start(Options::default()).await else {
        return;
    };
    let app = TestApp::spawn().await;
    browser.goto(&app.url("/?lang=bn")).await;
    browser.tab_to(".cards a[href^='/feedback']").await;
    browser.press(Key::Enter).await;
    browser.until("location.pathname === '/feedback'", 10).await;
    assert_eq!(
        browser
            .script("return document.documentElement.lang;")
            .await,
        json!("bn")
    );

    browser.tab_to("input[name='service']").await;
    browser.press(Key::Space).await;
    browser.tab_to("input[name='rating']").await;
    browser.press(Key::Space).await;
    browser.tab_to("#comment").await;
    browser.keyboard("নার্সরা খুব যত্ন নিয়েছেন।").await;
    browser.tab_to("input[name='consent']").await;
    // Down moves to "no" in the radio group and chooses it.
    browser.press(Key::Down).await;
    assert_eq!(
        browser.script("return document.activeElement.id;").await,
        json!("consent-no")
    );
    browser.tab_to("button[data-submit]").await;
    // The focus can be seen: the NHS yellow.
    let focused = browser
        .find("button[data-submit]")
        .await
        .css_value("background-color")
        .await
        .unwrap();
    assert_eq!(focused, "rgba(255, 235, 59, 1)");
    browser.press(Key::Enter).await;
    browser
        .until("location.pathname.startsWith('/receipt/')", 10)
        .await;
    assert_eq!(
        browser
            .script("return document.documentElement.lang;")
            .await,
        json!("bn")
    );
    let heading = browser.find("h1").await.text().await.unwrap();
    assert_eq!(heading, "ধন্যবাদ");
    let rows = feedback_rows(&app).await;
    assert_eq!(rows.len(), 1);
    assert_eq!(rows[0].locale, "bn");
    assert_eq!(rows[0].comment.as_deref(), Some("নার্সরা খুব যত্ন নিয়েছেন।"));
    browser.close().await;
}

#[tokio::test]
async fn with_javascript_off_the_form_still_submits_and_asks_for_contact_details_after_consent() {
    let Some(browser) = Browser::start(Options {
        javascript: false,
        ..Options::default()
    })
    .await
    else {
        return;
    };
    let app = TestApp::spawn().await;
    browser.goto(&app.url("/feedback?lang=en")).await;
    browser
        .click("input[name='service'][value='royal-london-maternity']")
        .await;
    browser.click("#rating").await;
    browser
        .type_into("#comment", "Sent without JavaScript.")
        .await;
    browser.click("#consent").await;
    browser.click("button[data-submit]").await;
    let heading = browser.find("h1").await.text().await.unwrap();
    assert_eq!(heading, "Your contact details");
    browser.type_into("#email", "resident@example.org").await;
    browser.click("button[name='consent'][value='yes']").await;
    let reference = browser.find("[data-reference]").await.text().await.unwrap();
    let rows = feedback_rows(&app).await;
    assert_eq!(rows.len(), 1);
    assert_eq!(rows[0].reference, reference);
    assert_eq!(rows[0].comment.as_deref(), Some("Sent without JavaScript."));
    assert_eq!(
        rows[0].contact_email.as_deref(),
        Some("resident@example.org")
    );
    assert!(rows[0].captured_at.is_none(), "sent as it was made");
    browser.close().await;
}
