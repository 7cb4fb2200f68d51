//! The analysts' and the admins' console screens in real headless Chromium,
//! through the shared harness (`browser_harness.rs`): an analyst signs in,
//! reads the figures and follows both download links; axe-core finds no
//! WCAG 2.2 AA violation on the figures page and on each admin page (at
//! 1280 px and at 768 px, with nothing scrolling sideways), and no page
//! asks another origin for anything. Run with `CI=true cargo test --test
//! api console_browser_admin`.

use std::time::Duration;

use fantoccini::Locator;
use fantoccini::actions::{InputSource as _, KeyAction, KeyActions};
use fantoccini::key::Key;
use hamlet::staff::model::Role;
use serde_json::{Value, json};

use crate::browser_harness::{Browser, Window, axe_violations_here};
use crate::helpers::{PASSWORD, Seed, Staff, TestApp, key};

/// A laptop's and a tablet's width, the two the console is made for.
const WIDTHS: [Window; 2] = [
    Window::LAPTOP,
    Window {
        width: 768,
        height: 1024,
    },
];

async fn find(browser: &Browser, css: &str) -> fantoccini::elements::Element {
    browser
        .client
        .wait()
        .at_most(Duration::from_secs(10))
        .for_element(Locator::Css(css))
        .await
        .unwrap_or_else(|error| panic!("{css}: {error}"))
}

/// Signs `staff` in through the form, with the keyboard alone, and waits
/// for `path`.
async fn sign_in(browser: &Browser, app: &TestApp, staff: &Staff, path: &str) {
    browser
        .goto(&app.url(&format!("/console/sign-in?next={path}")))
        .await;
    find(browser, "#email")
        .await
        .send_keys(&staff.email)
        .await
        .unwrap();
    let password = find(browser, "#password").await;
    password.send_keys(PASSWORD).await.unwrap();
    password.send_keys(&Key::Enter.to_string()).await.unwrap();
    browser
        .wait_for(
            &format!("the page at {path}"),
            &format!("return location.pathname === {};", json!(path)),
        )
        .await;
}

async fn sign_out(browser: &Browser) {
    find(browser, ".console-account button")
        .await
        .click()
        .await
        .unwrap();
    browser
        .wait_for(
            "the sign-in page",
            "return location.pathname === '/console/sign-in';",
        )
        .await;
}

/// Fetches `url` from the page, as following its link would, and gives the
/// status, the headers that matter and the start of the body.
async fn fetched(browser: &Browser, url: &str) -> Value {
    browser
        .client
        .execute_async(
            "const [url, done] = arguments;
             fetch(url, { credentials: 'same-origin' })
               .then(async response => done({
                 status: response.status,
                 type: response.headers.get('content-type'),
                 disposition: response.headers.get('content-disposition'),
                 cache: response.headers.get('cache-control'),
                 body: (await response.text()).slice(0, 400),
               }), error => done({ error: String(error) }));",
            vec![json!(url)],
        )
        .await
        .unwrap()
}

/// What axe-core finds on the page as it is, what it asked another origin
/// for, and whether it scrolls sideways; each found thing named for `what`.
async fn check(browser: &Browser, app: &TestApp, what: &str, found: &mut Vec<String>) -> bool {
    let Some(violations) = axe_violations_here(&browser.client).await else {
        return false;
    };
    for violation in violations {
        found.push(format!("{what}: {violation}"));
    }
    let origin = app.url("/");
    for url in browser.loaded_urls().await {
        if !url.starts_with(&origin) {
            found.push(format!("{what}: asked another origin for {url}"));
        }
    }
    let overflow = browser
        .eval("return document.documentElement.scrollWidth - document.documentElement.clientWidth;")
        .await;
    if overflow.as_i64() != Some(0) {
        // The innermost elements that stick out, to say what to fix.
        let culprits = browser
            .eval(
                "const width = document.documentElement.clientWidth;
                 return [...document.querySelectorAll('body *')]
                   .filter(e => e.getBoundingClientRect().right > width + 1)
                   .filter(e => !(e.parentElement && e.parentElement.getBoundingClientRect().right > width + 1))
                   .slice(0, 5)
                   .map(e => Math.round(e.getBoundingClientRect().width) + ' ' + e.tagName.toLowerCase() + (e.id ? '#' + e.id : '') + (e.className && e.className.baseVal === undefined ? '.' + e.className : ''));",
            )
            .await;
        found.push(format!(
            "{what}: scrolls sideways by {overflow} px ({culprits})"
        ));
    }
    true
}

#[tokio::test]
async fn an_analyst_downloads_the_report_and_axe_finds_nothing_on_the_figures_and_admin_pages() {
    let Some(browser) = Browser::open(Window::LAPTOP).await else {
        return;
    };
    let app = TestApp::spawn_with(Seed::BuiltIn, |config| config.submit_per_minute = 10_000).await;
    let mut reference = String::new();
    for (service, rating, count) in [
        ("royal-london-emergency-department", "VERY_GOOD", 5),
        ("royal-london-emergency-department", "POOR", 2),
        ("royal-london-maternity", "GOOD", 2),
    ] {
        for _ in 0..count {
            reference = app
                .feedback_reference(json!({
                    "idempotencyKey": key(),
                    "serviceSlug": service,
                    "rating": rating,
                    "comment": "Zebedee was kind",
                }))
                .await;
        }
    }
    let analyst = app.staff(&[Role::Analyst]).await;
    let admin = app.staff(&[Role::Admin]).await;
    let mut found = Vec::new();

    sign_in(&browser, &app, &analyst, "/console/figures").await;
    let text = browser.eval("return document.body.innerText;").await;
    let text = text.as_str().unwrap();
    assert!(text.contains("withheld (fewer than 5)"), "{text}");
    assert!(!text.contains("Zebedee"));
    for window in WIDTHS {
        browser
            .client
            .set_window_size(window.width, window.height)
            .await
            .unwrap();
        if !check(
            &browser,
            &app,
            &format!("figures at {} px", window.width),
            &mut found,
        )
        .await
        {
            return;
        }
    }
    browser
        .client
        .set_window_size(Window::LAPTOP.width, Window::LAPTOP.height)
        .await
        .unwrap();

    // The CSV link, followed.
    let link = find(&browser, "a[href^='/console/figures/export']").await;
    let href = link.prop("href").await.unwrap().unwrap();
    let csv = fetched(&browser, &href).await;
    assert_eq!(csv["status"], 200, "{csv}");
    assert_eq!(csv["type"], "text/csv; charset=utf-8");
    assert!(
        csv["disposition"]
            .as_str()
            .unwrap()
            .starts_with("attachment; filename=\"feedback-export-"),
        "{csv}"
    );
    assert_eq!(csv["cache"], "no-store");
    assert!(
        csv["body"]
            .as_str()
            .unwrap()
            .starts_with("reference,received_at,")
    );
    assert!(!csv["body"].as_str().unwrap().contains("Zebedee"));
    // The Board report's form, sent as the button would send it.
    let report_url = browser
        .eval(
            "const form = document.querySelector('form[action=\"/console/figures/report\"]');
             return form.action + '?' + new URLSearchParams(new FormData(form));",
        )
        .await;
    let report = fetched(&browser, report_url.as_str().unwrap()).await;
    let month = chrono::Utc::now().format("%Y-%m").to_string();
    assert_eq!(report["status"], 200, "{report}");
    assert_eq!(report["type"], "text/html; charset=utf-8");
    assert_eq!(
        report["disposition"],
        format!("attachment; filename=\"feedback-report-{month}.html\"")
    );
    assert!(
        report["body"]
            .as_str()
            .unwrap()
            .starts_with("<!DOCTYPE html>")
    );
    // The report's button is reached with the keyboard.
    browser
        .eval("document.getElementById('report-month').focus();")
        .await;
    let tab = KeyActions::new("keyboard".to_owned())
        .then(KeyAction::Down {
            value: Key::Tab.into(),
        })
        .then(KeyAction::Up {
            value: Key::Tab.into(),
        });
    browser.client.perform_actions(tab).await.unwrap();
    let focused = browser
        .eval("return document.activeElement.textContent;")
        .await;
    assert_eq!(focused, "Download the Board report");
    sign_out(&browser).await;

    // Each admin page, and the states that matter: a form's problems, the
    // secret shown once, the erasure's confirmation.
    sign_in(&browser, &app, &admin, "/console/staff").await;
    let admin_pages: Vec<(String, Option<&str>)> = vec![
        ("/console/staff".to_owned(), None),
        ("/console/staff".to_owned(), Some("staff-problems")),
        (format!("/console/staff/{}", analyst.id), None),
        ("/console/webhooks".to_owned(), Some("webhook-made")),
        ("/console/audit".to_owned(), None),
        ("/console/erase".to_owned(), None),
        ("/console/erase".to_owned(), Some("erase-confirm")),
        ("/console/kiosks".to_owned(), None),
    ];
    for window in WIDTHS {
        browser
            .client
            .set_window_size(window.width, window.height)
            .await
            .unwrap();
        for (path, state) in &admin_pages {
            browser.goto(&app.url(path)).await;
            match *state {
                Some("staff-problems") => {
                    find(&browser, "#staff-name")
                        .await
                        .send_keys("Nadia Rahman")
                        .await
                        .unwrap();
                    find(
                        &browser,
                        "form[action='/console/staff'] button[type=submit]",
                    )
                    .await
                    .click()
                    .await
                    .unwrap();
                    find(&browser, ".error-summary").await;
                }
                Some("webhook-made") => {
                    find(&browser, "#webhook-url")
                        .await
                        .send_keys(&format!(
                            "https://intranet.example.nhs.uk/hooks/{}",
                            window.width
                        ))
                        .await
                        .unwrap();
                    find(
                        &browser,
                        "form[action='/console/webhooks'] button[type=submit]",
                    )
                    .await
                    .click()
                    .await
                    .unwrap();
                    find(&browser, "#new-secret").await;
                }
                Some("erase-confirm") => {
                    find(&browser, "#reference")
                        .await
                        .send_keys(&reference)
                        .await
                        .unwrap();
                    find(
                        &browser,
                        "form[action='/console/erase'] button[type=submit]",
                    )
                    .await
                    .click()
                    .await
                    .unwrap();
                    find(&browser, "#what-goes").await;
                }
                _ => {}
            }
            let what = format!("{path} {} at {} px", state.unwrap_or(""), window.width);
            if !check(&browser, &app, &what, &mut found).await {
                return;
            }
        }
    }
    assert!(found.is_empty(), "{}", found.join("\n"));
    browser.close().await;
}
