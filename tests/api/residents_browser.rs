//! The residents' pages in real headless Chromium, through the shared
//! harness (`browser_harness.rs`: Debian's chromium and chromedriver, every
//! host but 127.0.0.1 unreachable, axe-core for WCAG 2.2 AA), against hamlet
//! started as in every other test, on SQLite or PostgreSQL. Where Chromium
//! is missing the tests say so in one line and how to install it; with
//! `CI=true` that is a failure.

use std::time::Duration;

use fantoccini::Locator;
use fantoccini::actions::{InputSource as _, KeyAction, KeyActions};
use fantoccini::key::Key;
use hamlet::staff::model::Role;
use hamlet::submissions::entity::{feedback, idea};
use hamlet::submissions::model::Channel;
use sea_orm::{ColumnTrait as _, EntityTrait as _, QueryFilter as _};
use serde_json::{Value, json};

use crate::browser_harness::{Browser, Window, axe_violations_here};
use crate::helpers::{Seed, TestApp};

/// What these tests do with a page, on top of the shared harness.
pub(crate) trait Resident {
    async fn find(&self, css: &str) -> fantoccini::elements::Element;
    async fn click(&self, css: &str);
    async fn type_into(&self, css: &str, text: &str);
    async fn script(&self, script: &str) -> Value;
    async fn script_async(&self, script: &str) -> Value;
    async fn until(&self, check: &str, seconds: u64);
    async fn press(&self, key: Key);
    async fn keyboard(&self, text: &str);
    async fn tab_to(&self, css: &str);
    async fn outbox_count(&self) -> u64;
}

impl Resident for Browser {
    async fn find(&self, css: &str) -> fantoccini::elements::Element {
        self.client
            .wait()
            .at_most(Duration::from_secs(10))
            .for_element(Locator::Css(css))
            .await
            .unwrap_or_else(|error| panic!("{css}: {error}"))
    }

    async fn click(&self, css: &str) {
        self.find(css).await.click().await.unwrap();
    }

    async fn type_into(&self, css: &str, text: &str) {
        self.find(css).await.send_keys(text).await.unwrap();
    }

    async fn script(&self, script: &str) -> Value {
        self.client.execute(script, vec![]).await.unwrap()
    }

    /// Runs `script` (which ends by calling `done(value)`) and gives the value.
    async fn script_async(&self, script: &str) -> Value {
        let wrapped = format!("const done = arguments[arguments.length - 1]; {script}");
        self.client.execute_async(&wrapped, vec![]).await.unwrap()
    }

    /// Waits up to `seconds` for `check` (a JavaScript expression) to be true.
    async fn until(&self, check: &str, seconds: u64) {
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
    async fn press(&self, key: Key) {
        let keys = KeyActions::new("keyboard".to_owned())
            .then(KeyAction::Down { value: key.into() })
            .then(KeyAction::Up { value: key.into() });
        self.client.perform_actions(keys).await.unwrap();
    }

    /// Types with the keyboard into whatever has the focus.
    async fn keyboard(&self, text: &str) {
        let mut keys = KeyActions::new("keyboard".to_owned());
        for c in text.chars() {
            keys = keys
                .then(KeyAction::Down { value: c })
                .then(KeyAction::Up { value: c });
        }
        self.client.perform_actions(keys).await.unwrap();
    }

    /// Presses Tab until the focused element matches `css` (at most 40 times).
    async fn tab_to(&self, css: &str) {
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
    async fn outbox_count(&self) -> u64 {
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
    let Some(browser) = Browser::open(Window::LAPTOP).await else {
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
    let Some(browser) = Browser::open(Window::LAPTOP).await else {
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
    let Some(browser) = Browser::open(Window::LAPTOP).await else {
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
    let Some(browser) = Browser::open(Window::KIOSK).await else {
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

    // Large targets for touch: the answers' radios and the button.
    let (_, _, width, _) = browser.find("#rating").await.rectangle().await.unwrap();
    assert!(width >= 44.0, "{width}");
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

    // Finished: back to the start (a fresh page), still enrolled.
    browser
        .script("window.__beforeFinish = true; return null;")
        .await;
    browser.click("[data-kiosk-thanks] button").await;
    browser
        .until(
            "!window.__beforeFinish && document.body.dataset.kioskState === 'ready'",
            10,
        )
        .await;

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
    let Some(browser) = Browser::open(Window::LAPTOP).await else {
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
    let Some(browser) = Browser::open_without_javascript(Window::LAPTOP).await else {
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
    // The next page, rendered by the server: the contact step.
    browser
        .until(
            "document.querySelector('input[name=\"step\"][value=\"contact\"]')",
            10,
        )
        .await;
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

/// A published idea with a public response, and a feedback receipt, so the
/// board, a receipt and a tracked status have something to show.
async fn something_to_show(app: &TestApp) -> (String, String) {
    let reference = app.idea_reference(crate::helpers::idea()).await;
    let db = app.db().await;
    let row = idea::Entity::find()
        .filter(idea::Column::Reference.eq(&reference))
        .one(&db)
        .await
        .unwrap()
        .unwrap();
    db.close().await.ok();
    let moderator = app.staff(&[Role::Moderator]).await;
    app.data_as(
        &moderator,
        "mutation($id: ID!) {
           moderateIdea(input: { id: $id, expectedVersion: 1, published: true, status: UNDER_REVIEW,
             publicResponse: \"We are trying an evening drop-in at Mile End from May.\" }) { id }
         }",
        json!({ "id": row.id.to_string() }),
    )
    .await;
    let feedback = app.feedback_reference(crate::helpers::feedback()).await;
    (reference, feedback)
}

/// A kiosk's token, from an admin.
async fn kiosk_token(app: &TestApp) -> String {
    let admin = app.staff(&[Role::Admin]).await;
    let created = app
        .data_as(
            &admin,
            "mutation { createKiosk(name: \"Whitechapel library\") { token } }",
            json!({}),
        )
        .await;
    created["createKiosk"]["token"].as_str().unwrap().to_owned()
}

/// Every screen a resident meets, in `lang`: `(name, how to reach it)`.
/// Each is reached by a function of the browser so states (errors shown, a
/// kiosk enrolled, the idle warning) are included.
async fn visit(
    browser: &Browser,
    app: &TestApp,
    lang: &str,
    screen: &str,
    refs: &(String, String),
    token: &str,
) {
    let (idea, feedback) = refs;
    match screen {
        "home" => browser.goto(&app.url(&format!("/?lang={lang}"))).await,
        "feedback" => {
            browser
                .goto(&app.url(&format!("/feedback?lang={lang}")))
                .await
        }
        "feedback-errors" => {
            browser
                .goto(&app.url(&format!("/feedback?lang={lang}")))
                .await;
            browser.click("button[data-submit]").await;
            browser
                .until("!document.querySelector('[data-error-summary]').hidden", 10)
                .await;
        }
        "feedback-contact" => {
            browser
                .goto(&app.url(&format!("/feedback?lang={lang}")))
                .await;
            browser.click("#consent").await;
        }
        "receipt" => {
            browser
                .goto(&app.url(&format!("/receipt/{feedback}?lang={lang}")))
                .await
        }
        "ideas" => browser.goto(&app.url(&format!("/ideas?lang={lang}"))).await,
        "idea-new" => {
            browser
                .goto(&app.url(&format!("/ideas/new?lang={lang}")))
                .await
        }
        "track" => {
            browser
                .goto(&app.url(&format!("/track?lang={lang}&reference={idea}")))
                .await;
        }
        "track-typo" => {
            browser
                .goto(&app.url(&format!("/track?lang={lang}&reference=FB-7K3Q-9XME")))
                .await;
        }
        "kiosk-enrol" => {
            browser.goto(&app.url(&format!("/kiosk?lang={lang}"))).await;
            browser
                .until(
                    "['enrol', 'ready'].includes(document.body.dataset.kioskState)",
                    10,
                )
                .await;
            browser.script("localStorage.clear(); return null;").await;
            browser.goto(&app.url(&format!("/kiosk?lang={lang}"))).await;
            browser
                .until("document.body.dataset.kioskState === 'enrol'", 10)
                .await;
        }
        "kiosk" => {
            // From another page, so the kiosk page loads afresh.
            browser.goto(&app.url("/healthz")).await;
            browser
                .goto(&app.url(&format!("/kiosk?lang={lang}#token={token}")))
                .await;
            browser
                .until("document.body.dataset.kioskState === 'ready'", 10)
                .await;
        }
        "kiosk-idle" => {
            // From another page, so the kiosk page loads afresh.
            browser.goto(&app.url("/healthz")).await;
            browser
                .goto(&app.url(&format!("/kiosk?lang={lang}#token={token}")))
                .await;
            browser
                .until("document.body.dataset.kioskState === 'ready'", 10)
                .await;
            browser.click("#rating").await;
            browser
                .until("!document.querySelector('[data-idle]').hidden", 10)
                .await;
        }
        other => panic!("no screen {other}"),
    }
}

const SCREENS: &[&str] = &[
    "home",
    "feedback",
    "feedback-errors",
    "feedback-contact",
    "receipt",
    "ideas",
    "idea-new",
    "track",
    "track-typo",
    "kiosk-enrol",
    "kiosk",
    "kiosk-idle",
];

#[tokio::test]
async fn axe_core_finds_no_wcag_2_2_aa_violation_on_any_page_in_either_language_and_each_reflows_to_320_px()
 {
    // The narrowest screen WCAG's reflow criterion asks for.
    let narrow = Window {
        width: 320,
        height: 800,
    };
    let Some(browser) = Browser::open(narrow).await else {
        return;
    };
    let app = TestApp::spawn_with(Seed::BuiltIn, |config| {
        config.pages.kiosk_idle = Duration::from_secs(1);
        config.pages.kiosk_warning = Duration::from_secs(60);
    })
    .await;
    let refs = something_to_show(&app).await;
    let token = kiosk_token(&app).await;
    browser.goto(&app.url("/")).await;
    let width = browser
        .script("return document.documentElement.clientWidth;")
        .await;
    assert!(width.as_i64().is_some_and(|width| width <= 320), "{width}");
    let mut found = Vec::new();
    for lang in ["en", "bn"] {
        for screen in SCREENS {
            visit(&browser, &app, lang, screen, &refs, &token).await;
            let Some(violations) = axe_violations_here(&browser.client).await else {
                return;
            };
            for violation in violations {
                found.push(format!("{screen} ({lang}): {violation}"));
            }
            let origin = app.url("/");
            for url in browser.loaded_urls().await {
                if !url.starts_with(&origin) {
                    found.push(format!("{screen} ({lang}): asked another origin for {url}"));
                }
            }
            let overflow = browser
                .script("return document.documentElement.scrollWidth - document.documentElement.clientWidth;")
                .await;
            if overflow.as_i64() != Some(0) {
                found.push(format!(
                    "{screen} ({lang}): scrolls sideways by {overflow} px at 320 px"
                ));
            }
        }
    }
    assert!(found.is_empty(), "{}", found.join("\n"));
    browser.close().await;
}

/// Writes `docs/screenshots/<screen>-<phone|kiosk>.png` for the README. Run
/// by hand: `cargo test --test api screenshots -- --ignored`.
#[tokio::test]
#[ignore = "writes docs/screenshots; run by hand"]
async fn screenshots() {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("docs/screenshots");
    std::fs::create_dir_all(&dir).unwrap();
    for (size, window) in [("phone", Window::PHONE), ("kiosk", Window::KIOSK)] {
        let Some(browser) = Browser::open(window).await else {
            return;
        };
        let app = TestApp::spawn_with(Seed::BuiltIn, |config| {
            config.pages.kiosk_idle = Duration::from_secs(1);
            config.pages.kiosk_warning = Duration::from_secs(20);
        })
        .await;
        let refs = something_to_show(&app).await;
        let token = kiosk_token(&app).await;
        let screens: Vec<(&str, &str)> = SCREENS
            .iter()
            .map(|screen| ("en", *screen))
            .chain([("bn", "feedback"), ("bn", "home")])
            .collect();
        for (lang, screen) in screens {
            let kiosk_only = screen.starts_with("kiosk");
            if kiosk_only != (size == "kiosk")
                && !matches!(screen, "home" | "feedback" | "receipt" | "ideas" | "track")
            {
                continue;
            }
            visit(&browser, &app, lang, screen, &refs, &token).await;
            let name = if lang == "en" {
                format!("{screen}-{size}.png")
            } else {
                format!("{screen}-{lang}-{size}.png")
            };
            let png = browser.client.screenshot().await.unwrap();
            std::fs::write(dir.join(name), png).unwrap();
        }
        browser.close().await;
    }
}
