//! The staff console in real headless Chromium, through the shared harness
//! (`browser_harness.rs`), against hamlet started as in every other test, on
//! SQLite or PostgreSQL: a moderator's triage with the mouse and with the
//! keyboard alone, a bulk change over a filter larger than a page, two
//! moderators on one item, new items arriving live, and
//! axe-core on every console screen at 1280 and 768 px.

use fantoccini::actions::{InputSource as _, KeyAction, KeyActions};
use fantoccini::key::Key;
use hamlet::staff::model::Role;
use serde_json::{Value, json};

use crate::browser_harness::{Browser, Window, axe_violations_here};
use crate::helpers::{PASSWORD, Seed, Staff, TestApp, feedback, idea};
use crate::residents_browser::Resident as _;

/// A tablet held upright: the narrowest screen the console is made for.
const TABLET: Window = Window {
    width: 768,
    height: 1024,
};

/// Signs `staff` in through the sign-in form, with the mouse.
async fn sign_in(browser: &Browser, app: &TestApp, staff: &Staff) {
    browser.goto(&app.url("/console")).await;
    browser.type_into("#email", &staff.email).await;
    browser.type_into("#password", PASSWORD).await;
    browser.click("button[type=submit]").await;
    browser
        .wait_for(
            "the console after signing in",
            "return document.querySelector('.console-header') !== null",
        )
        .await;
}

const RISK: &str =
    "the lady upstairs has marks on her neck again and her husband never lets her out on her own";

/// Feedback about the emergency department, one of them a safeguarding
/// concern; answers the concern's reference.
async fn morning_post(app: &TestApp) -> String {
    for comment in [
        "The wait was long but the staff were kind.",
        "Parking was hard.",
    ] {
        let mut input = feedback();
        input["comment"] = json!(comment);
        app.feedback_reference(input).await;
    }
    let mut input = feedback();
    input["comment"] = json!(RISK);
    let reference = app.feedback_reference(input).await;
    app.idea_reference(idea()).await;
    reference
}

async fn stored(app: &TestApp, moderator: &Staff, reference: &str) -> Value {
    let data = app
        .data_as(
            moderator,
            "{ feedbackQueue(first: 50, filter: { status: [NEW, IN_REVIEW, ACTIONED, CLOSED] }) {
                 nodes { reference status tags publicResponse assignee { id } version
                         safeguardingConcerns { status escalatedTo } } } }",
            json!({}),
        )
        .await;
    data["feedbackQueue"]["nodes"]
        .as_array()
        .unwrap()
        .iter()
        .find(|node| node["reference"] == reference)
        .cloned()
        .expect("in the queue")
}

#[tokio::test]
async fn a_bulk_status_change_over_a_filter_of_more_than_a_page_changes_exactly_the_filtered_items()
{
    let app = TestApp::spawn_with(Seed::BuiltIn, |config| config.submit_per_minute = 10_000).await;
    let moderator = app.staff(&[Role::Moderator]).await;
    let mut inside = Vec::new();
    for n in 0..30 {
        let mut input = feedback();
        input["comment"] = json!(format!("The ramp at the main door, note {n}"));
        inside.push(app.feedback_reference(input).await);
    }
    let mut outside = Vec::new();
    for _ in 0..3 {
        let mut input = feedback();
        input["serviceSlug"] = json!("royal-london-maternity");
        outside.push(app.feedback_reference(input).await);
    }
    let Some(browser) = Browser::open(Window::LAPTOP).await else {
        return;
    };
    sign_in(&browser, &app, &moderator).await;
    browser
        .goto(&app.url("/console/queue?service=royal-london-emergency-department&kind=feedback"))
        .await;
    let count = browser
        .eval("return document.getElementById('count').textContent")
        .await;
    assert_eq!(count, "30 items match");
    let on_screen = browser
        .eval("return document.querySelectorAll('[data-row]').length")
        .await;
    assert!(
        on_screen.as_u64().unwrap() < 30,
        "more items match than fit on a page: {on_screen}"
    );

    // The whole filter, not the rows on screen: the server counts and asks.
    browser
        .script("document.getElementById('bulk-status').value = 'IN_REVIEW';")
        .await;
    browser.click("button[name=scope][value=filter]").await;
    let question = browser
        .wait_for(
            "the question before a bulk change",
            "const heading = document.querySelector('h1');
             return heading && heading.textContent.includes('Change many items')
                 ? document.querySelector('main').innerText : null",
        )
        .await;
    let question = question.as_str().unwrap().to_owned();
    assert!(question.contains("30 items"), "{question}");
    assert!(
        question.contains("not only those on the screen"),
        "{question}"
    );
    let still_new = app
        .data_as(
            &moderator,
            "{ feedbackQueue(filter: { status: [IN_REVIEW] }) { totalCount } }",
            json!({}),
        )
        .await;
    assert_eq!(
        still_new["feedbackQueue"]["totalCount"], 0,
        "asking changes nothing"
    );

    browser.click("main form button[type=submit]").await;
    let report = browser
        .wait_for(
            "the bulk change's report",
            "const notice = document.querySelector('.notice');
             return notice && notice.innerText.includes('changed') ? notice.innerText : null",
        )
        .await;
    let report = report.as_str().unwrap().to_owned();
    assert!(report.contains("30 items changed"), "{report}");
    assert!(report.contains("None was refused"), "{report}");

    let changed = app.feedback_references_in(&moderator, "IN_REVIEW").await;
    inside.sort();
    assert_eq!(changed, inside, "exactly the filtered items");
    for reference in &outside {
        assert_eq!(stored(&app, &moderator, reference).await["status"], "NEW");
    }
    browser.close().await;
}

#[tokio::test]
async fn a_moderator_triages_a_safeguarding_item_and_the_resident_sees_the_answer() {
    let app = TestApp::spawn().await;
    let moderator = app.staff(&[Role::Moderator]).await;
    let reference = morning_post(&app).await;
    let Some(browser) = Browser::open(Window::LAPTOP).await else {
        return;
    };
    sign_in(&browser, &app, &moderator).await;

    // Filter to one service: the choice is kept in the address.
    browser
        .script(
            "const select = document.getElementById('f-service');
             select.value = 'royal-london-emergency-department';",
        )
        .await;
    browser.click(".filters button[type=submit]").await;
    browser
        .wait_for(
            "the filtered queue",
            "return location.search.includes('service=royal-london-emergency-department')",
        )
        .await;
    let count = browser
        .eval("return document.getElementById('count').textContent")
        .await;
    assert_eq!(count, "3 items match", "the idea is about no service");

    // The first row is the safeguarding item, with its category.
    let first = browser
        .eval("return document.querySelector('[data-row]').innerText")
        .await;
    let first = first.as_str().unwrap();
    assert!(first.contains(&reference), "{first}");
    assert!(
        first.contains("Safeguarding: Domestic abuse")
            || first.contains("Safeguarding: Physical abuse"),
        "{first}"
    );
    browser.click("[data-row] [data-open]").await;
    browser
        .wait_for(
            "the item",
            "return document.querySelector('h1').textContent.includes('Feedback')",
        )
        .await;

    // Confirm the concern, with its escalation.
    browser.click("details.decide summary").await;
    browser
        .type_into("input[name=escalated_to]", "Adult safeguarding duty team")
        .await;
    browser
        .click("details.decide[open] button[type=submit]")
        .await;
    browser
        .wait_for("saved", "return document.querySelector('.notice') !== null")
        .await;

    // Assign, tag, action it and answer the resident, previewing first.
    browser
        .script("document.getElementById('assignee').value = 'me'; document.getElementById('status').value = 'ACTIONED';")
        .await;
    browser.type_into("#tags", "domestic").await;
    browser
        .type_into(
            "#response",
            "Thank you for telling us. We have passed this on to the right team.",
        )
        .await;
    let preview = browser
        .eval("return document.querySelector('[data-preview-target]').textContent")
        .await;
    assert_eq!(
        preview,
        "Thank you for telling us. We have passed this on to the right team."
    );
    browser
        .click("#moderate-form button[type=submit]:not([name])")
        .await;
    browser
        .wait_for(
            "saved",
            "return (document.querySelector('.notice') || {}).textContent?.includes('Changes saved')",
        )
        .await;
    let item = stored(&app, &moderator, &reference).await;
    assert_eq!(item["status"], "ACTIONED");
    assert_eq!(item["assignee"]["id"], moderator.id);
    assert_eq!(item["tags"], json!(["domestic"]));
    assert_eq!(item["safeguardingConcerns"][0]["status"], "CONFIRMED");

    // The resident's tracking page shows the response.
    browser
        .goto(&app.url(&format!("/track?reference={reference}")))
        .await;
    let response = browser
        .wait_for(
            "the response",
            "return (document.querySelector('[data-response]') || {}).textContent",
        )
        .await;
    assert_eq!(
        response,
        "Thank you for telling us. We have passed this on to the right team."
    );
    browser.close().await;
}

#[tokio::test]
async fn one_whole_triage_with_the_keyboard_only() {
    let app = TestApp::spawn().await;
    let moderator = app.staff(&[Role::Moderator]).await;
    let reference = morning_post(&app).await;
    let Some(browser) = Browser::open(Window::LAPTOP).await else {
        return;
    };
    browser.goto(&app.url("/console")).await;
    browser.tab_to("#email").await;
    browser.keyboard(&moderator.email).await;
    browser.press(Key::Tab).await;
    browser.keyboard(PASSWORD).await;
    browser.press(Key::Enter).await;
    browser
        .wait_for(
            "the queue",
            "return document.querySelector('[data-row]') !== null",
        )
        .await;

    // ? shows the keys; Escape closes it.
    browser.keyboard("?").await;
    assert_eq!(
        browser
            .eval("return document.getElementById('keys-help').hidden")
            .await,
        false
    );
    browser.press(Key::Escape).await;
    assert_eq!(
        browser
            .eval("return document.getElementById('keys-help').hidden")
            .await,
        true
    );

    // j moves to the first row (the safeguarding item), Enter opens it.
    browser.keyboard("j").await;
    let focused = browser
        .eval("return document.activeElement.textContent")
        .await;
    assert!(focused.as_str().unwrap().contains(&reference), "{focused}");
    browser.keyboard("jk").await;
    browser.press(Key::Enter).await;
    browser
        .wait_for(
            "the item",
            "return document.getElementById('moderate-form') !== null",
        )
        .await;

    // To the status, choose In review with the arrow key, then the response.
    browser.tab_to("#status").await;
    browser.press(Key::Down).await;
    browser.tab_to("#response").await;
    browser.keyboard("We are looking into this.").await;
    // Ctrl+S saves.
    let ctrl_s = KeyActions::new("keyboard".to_owned())
        .then(KeyAction::Down {
            value: Key::Control.into(),
        })
        .then(KeyAction::Down { value: 's' })
        .then(KeyAction::Up { value: 's' })
        .then(KeyAction::Up {
            value: Key::Control.into(),
        });
    browser.client.perform_actions(ctrl_s).await.unwrap();
    browser
        .wait_for(
            "saved",
            "return (document.querySelector('.notice') || {}).textContent?.includes('Changes saved')",
        )
        .await;
    let item = stored(&app, &moderator, &reference).await;
    assert_eq!(item["status"], "IN_REVIEW");
    assert_eq!(item["publicResponse"], "We are looking into this.");

    // Single-key shortcuts can be turned off (WCAG 2.1.4).
    browser.goto(&app.url("/console/queue")).await;
    browser.keyboard("?").await;
    browser.tab_to("[data-keys-off]").await;
    browser.press(Key::Space).await;
    browser.press(Key::Escape).await;
    browser.keyboard("j").await;
    assert_ne!(
        browser
            .eval("return document.activeElement.hasAttribute('data-open')")
            .await,
        true,
        "j does nothing once single keys are off"
    );
    browser.close().await;
}

#[tokio::test]
async fn two_moderators_on_one_item_the_second_save_sees_the_first_change() {
    let app = TestApp::spawn().await;
    let first_moderator = app.staff(&[Role::Moderator]).await;
    let second_moderator = app.staff(&[Role::Moderator]).await;
    let reference = morning_post(&app).await;
    let (Some(first), Some(second)) = (
        Browser::open(Window::LAPTOP).await,
        Browser::open(Window::LAPTOP).await,
    ) else {
        return;
    };
    sign_in(&first, &app, &first_moderator).await;
    sign_in(&second, &app, &second_moderator).await;
    for browser in [&first, &second] {
        browser.goto(&app.url("/console/queue")).await;
        browser.click("[data-row] [data-open]").await;
        browser
            .wait_for(
                "the item",
                "return document.getElementById('moderate-form') !== null",
            )
            .await;
    }
    first.type_into("#tags", "first").await;
    first
        .click("#moderate-form button[type=submit]:not([name])")
        .await;
    first
        .wait_for(
            "saved",
            "return (document.querySelector('.notice') || {}).textContent?.includes('Changes saved')",
        )
        .await;

    second
        .type_into("#response", "An answer from the second")
        .await;
    second
        .click("#moderate-form button[type=submit]:not([name])")
        .await;
    let conflict = second
        .wait_for(
            "the conflict",
            "return (document.getElementById('conflict') || {}).innerText",
        )
        .await;
    let conflict = conflict.as_str().unwrap();
    assert!(conflict.contains("Test Persona changed it"), "{conflict}");
    assert!(conflict.contains("tags"), "{conflict}");
    // Their words are still in the form.
    assert_eq!(
        second
            .eval("return document.getElementById('response').value")
            .await,
        "An answer from the second"
    );
    let item = stored(&app, &first_moderator, &reference).await;
    assert_eq!(item["tags"], json!(["first"]));
    assert_eq!(item["publicResponse"], Value::Null);
    first.close().await;
    second.close().await;
}

#[tokio::test]
async fn a_submission_made_through_the_api_appears_as_a_notice_without_a_reload() {
    let app = TestApp::spawn().await;
    let moderator = app.staff(&[Role::Moderator]).await;
    morning_post(&app).await;
    let Some(browser) = Browser::open(Window::LAPTOP).await else {
        return;
    };
    sign_in(&browser, &app, &moderator).await;
    browser.goto(&app.url("/console/queue")).await;
    // Wait for the live connection to be open.
    browser
        .wait_for(
            "the queue",
            "return document.querySelectorAll('[data-row]').length === 4",
        )
        .await;
    tokio::time::sleep(std::time::Duration::from_millis(500)).await;
    let marker = browser.eval("window.notReloaded = true; return true").await;
    assert_eq!(marker, true);
    app.feedback_reference(feedback()).await;
    let notice = browser
        .wait_for(
            "the notice",
            "const live = document.querySelector('[data-live]'); return !live.hidden && live.textContent",
        )
        .await;
    assert!(notice.as_str().unwrap().contains("1 new item"), "{notice}");
    // The rows did not move, and the page was not reloaded.
    assert_eq!(
        browser
            .eval("return [document.querySelectorAll('[data-row]').length, window.notReloaded]")
            .await,
        json!([4, true])
    );
    browser.close().await;
}

#[tokio::test]
async fn axe_finds_no_violation_on_any_console_screen_at_1280_and_768_px() {
    let app = TestApp::spawn_with(Seed::BuiltIn, |_| {}).await;
    let moderator = app.staff(&[Role::Moderator, Role::Admin]).await;
    morning_post(&app).await;
    let mut found = Vec::new();
    for window in [Window::LAPTOP, TABLET] {
        let Some(browser) = Browser::open(window).await else {
            return;
        };
        browser.goto(&app.url("/console/sign-in")).await;
        let Some(violations) = axe_violations_here(&browser.client).await else {
            return;
        };
        found.extend(violations.iter().map(|v| format!("sign-in: {v}")));
        sign_in(&browser, &app, &moderator).await;
        browser.goto(&app.url("/console/queue")).await;
        let item = browser
            .eval("return document.querySelector('[data-row] [data-open]').getAttribute('href')")
            .await;
        let item = item.as_str().unwrap().to_owned();
        let screens = [
            "/console/queue".to_owned(),
            "/console/queue?kind=ideas&status=any".to_owned(),
            item.clone(),
            format!("{item}?contact=1"),
            "/console/kiosks".to_owned(),
            "/console/account".to_owned(),
        ];
        for screen in &screens {
            browser.goto(&app.url(screen)).await;
            // Open every disclosure, so its form is checked too.
            browser
                .eval(
                    "document.querySelectorAll('details').forEach(d => d.open = true); return true",
                )
                .await;
            let Some(violations) = axe_violations_here(&browser.client).await else {
                return;
            };
            found.extend(
                violations
                    .iter()
                    .map(|v| format!("{screen} at {}: {v}", window.width)),
            );
            let overflow = browser
                .eval("return document.documentElement.scrollWidth > window.innerWidth")
                .await;
            if overflow == true {
                found.push(format!("{screen} at {}: scrolls sideways", window.width));
            }
            let origin = app.url("/");
            for url in browser.loaded_urls().await {
                if !url.starts_with(&origin) {
                    found.push(format!("{screen}: asked another origin for {url}"));
                }
            }
        }
        // The bulk question and the help dialog.
        browser.goto(&app.url("/console/queue")).await;
        browser
            .eval("document.getElementById('bulk-status').value = 'SPAM'; return true")
            .await;
        browser.click(".bulk-controls button[value=filter]").await;
        browser
            .wait_for(
                "the question",
                "return document.querySelector('h1').textContent === 'Change many items'",
            )
            .await;
        if let Some(violations) = axe_violations_here(&browser.client).await {
            found.extend(
                violations
                    .iter()
                    .map(|v| format!("bulk at {}: {v}", window.width)),
            );
        }
        browser.goto(&app.url("/console/queue")).await;
        browser.keyboard("?").await;
        if let Some(violations) = axe_violations_here(&browser.client).await {
            found.extend(
                violations
                    .iter()
                    .map(|v| format!("keys help at {}: {v}", window.width)),
            );
        }
        browser.close().await;
    }
    assert!(found.is_empty(), "{}", found.join("\n"));
}

/// Writes the README's pictures of the console (`docs/screenshots/console-*.png`),
/// by hand: `cargo test --test api console_screenshots -- --ignored`.
#[tokio::test]
#[ignore = "writes docs/screenshots; run by hand"]
async fn console_screenshots() {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("docs/screenshots");
    std::fs::create_dir_all(&dir).unwrap();
    let app = TestApp::spawn().await;
    let moderator = app
        .staff(&[Role::Moderator, Role::Editor, Role::Analyst, Role::Admin])
        .await;
    morning_post(&app).await;
    let Some(browser) = Browser::open(Window::LAPTOP).await else {
        return;
    };
    browser.goto(&app.url("/console/sign-in")).await;
    std::fs::write(
        dir.join("console-sign-in.png"),
        browser.client.screenshot().await.unwrap(),
    )
    .unwrap();
    sign_in(&browser, &app, &moderator).await;
    browser.goto(&app.url("/console/queue")).await;
    let item = browser
        .eval("return document.querySelector('[data-row] [data-open]').getAttribute('href')")
        .await;
    let item = item.as_str().unwrap().to_owned();
    let screens = [
        ("console-queue", "/console/queue".to_owned()),
        ("console-item", item),
        ("console-pages", "/console/pages".to_owned()),
        ("console-figures", "/console/figures".to_owned()),
        ("console-staff", "/console/staff".to_owned()),
        ("console-kiosks", "/console/kiosks".to_owned()),
    ];
    for (name, path) in screens {
        browser.goto(&app.url(&path)).await;
        let png = browser.client.screenshot().await.unwrap();
        std::fs::write(dir.join(format!("{name}.png")), png).unwrap();
    }
    browser.close().await;
}
