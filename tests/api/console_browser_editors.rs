//! The editors' screens in real headless Chromium (see `browser_harness.rs`):
//! an editor signs in, starts a page, writes its Bengali text, schedules it
//! and it goes live on time; axe-core finds nothing against WCAG 2.2 AA on
//! the list of pages and the drafts screen, which ask no other origin for
//! anything and fit a 768 px window without scrolling sideways.

use std::time::Duration;

use chrono::SubsecRound as _;
use fantoccini::Locator;
use hamlet::staff::model::Role;
use serde_json::{Value, json};

use crate::browser_harness::{Browser, Window, axe_violations_here};
use crate::helpers::{PASSWORD, TestApp};

impl Browser {
    async fn field(&self, css: &str) -> fantoccini::elements::Element {
        self.client
            .wait()
            .at_most(Duration::from_secs(10))
            .for_element(Locator::Css(css))
            .await
            .unwrap_or_else(|error| panic!("{css}: {error}"))
    }

    async fn fill(&self, css: &str, text: &str) {
        let field = self.field(css).await;
        field.clear().await.unwrap();
        field.send_keys(text).await.unwrap();
    }

    /// Clicks `css` and waits for the next page to be at `path`.
    async fn submit_to(&self, css: &str, path: &str) {
        self.field(css).await.click().await.unwrap();
        self.wait_for(
            &format!("the page at {path}"),
            &format!(
                "return document.readyState === 'complete' && location.pathname + location.search === {};",
                Value::String(path.to_owned())
            ),
        )
        .await;
    }

    /// axe-core's findings here, any request to another origin, and any
    /// sideways scrolling at 768 px.
    async fn problems_here(&self, app: &TestApp, screen: &str) -> Option<Vec<String>> {
        let mut found: Vec<String> = axe_violations_here(&self.client)
            .await?
            .into_iter()
            .map(|violation| format!("{screen}: {violation}"))
            .collect();
        let origin = app.url("/");
        for url in self.loaded_urls().await {
            if !url.starts_with(&origin) {
                found.push(format!("{screen}: asked another origin for {url}"));
            }
        }
        self.client.set_window_size(768, 1024).await.unwrap();
        let overflow = self
            .eval("return document.documentElement.scrollWidth - window.innerWidth;")
            .await;
        if overflow.as_i64().unwrap_or(0) > 0 {
            found.push(format!(
                "{screen}: scrolls sideways by {overflow} px at 768 px"
            ));
        }
        self.client
            .set_window_size(Window::LAPTOP.width, Window::LAPTOP.height)
            .await
            .unwrap();
        Some(found)
    }
}

#[tokio::test]
async fn an_editor_schedules_a_bengali_page_in_a_browser_and_it_goes_live_on_time() {
    let Some(browser) = Browser::open(Window::LAPTOP).await else {
        return;
    };
    let app = TestApp::spawn().await;
    let editor = app.staff(&[Role::Editor]).await;

    browser.goto(&app.url("/console/sign-in")).await;
    browser.fill("#email", &editor.email).await;
    browser.fill("#password", PASSWORD).await;
    browser
        .submit_to("main form button[type=submit]", "/console/pages")
        .await;
    let Some(mut problems) = browser.problems_here(&app, "the list of pages").await else {
        return;
    };

    browser.fill("#new-slug", "winter-vaccines").await;
    browser.fill("#en-title", "Winter vaccines").await;
    browser
        .fill("#en-body", "Book your **flu** vaccine now.")
        .await;
    browser
        .submit_to(
            "form[action='/console/pages'] button[type=submit]",
            "/console/pages/winter-vaccines?created=1",
        )
        .await;
    browser.fill("#bn-title", "শীতের টিকা").await;
    browser
        .fill("#bn-body", "এখনই আপনার **ফ্লু** টিকা বুক করুন।")
        .await;
    browser
        .submit_to(
            "button[value='save-bn']",
            "/console/pages/winter-vaccines?saved=bn",
        )
        .await;
    let preview = browser
        .eval("return document.querySelector('[data-preview-body=\"bn\"]').innerHTML;")
        .await;
    assert!(
        preview.as_str().unwrap().contains("<strong>ফ্লু</strong>"),
        "{preview}"
    );
    // Typing updates the public's view through the same API, unsaved.
    browser.fill("#bn-body", "নতুন **লেখা**").await;
    browser
        .wait_for(
            "the live preview",
            "return document.querySelector('[data-preview-body=\"bn\"]').innerHTML
               .includes('<strong>লেখা</strong>');",
        )
        .await;
    problems.extend(
        browser
            .problems_here(&app, "the drafts screen")
            .await
            .unwrap_or_default(),
    );

    // Five seconds from now, in UK time; the date and time inputs are set as
    // the browser's pickers set them.
    let at = (chrono::Utc::now() + chrono::Duration::seconds(5)).trunc_subsecs(0);
    let local = hamlet::console::editors::uk_time(at);
    browser
        .client
        .execute(
            "const [day, time] = arguments;
             document.getElementById('publish-date').value = day;
             document.getElementById('publish-time').value = time;",
            vec![
                json!(local.format("%Y-%m-%d").to_string()),
                json!(local.format("%H:%M:%S").to_string()),
            ],
        )
        .await
        .unwrap();
    browser
        .submit_to(
            "form[action$='/publish'] input[value='later'] ~ button",
            "/console/pages/winter-vaccines?scheduled=1",
        )
        .await;
    let status = browser
        .eval("return document.querySelector('.summary').innerText;")
        .await;
    assert!(status.as_str().unwrap().contains("Scheduled"), "{status}");
    let public = "query { page(slug: \"winter-vaccines\", locale: \"bn\") { locale title } }";
    assert!(app.data(public, json!({})).await["page"].is_null());

    let deadline = std::time::Instant::now() + Duration::from_secs(20);
    loop {
        let page = app.data(public, json!({})).await["page"].clone();
        if !page.is_null() {
            assert_eq!(page["title"], "শীতের টিকা");
            assert_eq!(page["locale"], "bn");
            assert!(chrono::Utc::now() >= at, "not before its time");
            break;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "not published within 20 s"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    browser.goto(&app.url("/console/pages")).await;
    let row = browser
        .eval(
            "return [...document.querySelectorAll('tbody tr')]
               .find(row => row.innerText.includes('winter-vaccines')).innerText;",
        )
        .await;
    assert!(row.as_str().unwrap().contains("Published"), "{row}");
    browser.close().await;
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

/// Writes `docs/screenshots/console-<screen>-<width>.png`: the editors'
/// screens at 1280 and 768 px. Run by hand:
/// `cargo test --test api editors_screenshots -- --ignored`.
#[tokio::test]
#[ignore = "writes docs/screenshots; run by hand"]
async fn editors_screenshots() {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("docs/screenshots");
    std::fs::create_dir_all(&dir).unwrap();
    let Some(browser) = Browser::open(Window::LAPTOP).await else {
        return;
    };
    let app = TestApp::spawn().await;
    let editor = app.staff(&[Role::Editor]).await;
    browser.goto(&app.url("/console/sign-in")).await;
    browser.fill("#email", &editor.email).await;
    browser.fill("#password", PASSWORD).await;
    browser
        .submit_to("main form button[type=submit]", "/console/pages")
        .await;
    browser.fill("#new-slug", "evening-clinics").await;
    browser.fill("#en-title", "Evening clinics").await;
    browser
        .fill(
            "#en-body",
            "Come along on **Thursday** evenings.\n\n## Where\n\nThe health centre on Jubilee Street.",
        )
        .await;
    browser
        .submit_to(
            "form[action='/console/pages'] button[type=submit]",
            "/console/pages/evening-clinics?created=1",
        )
        .await;
    browser.fill("#bn-title", "সন্ধ্যার ক্লিনিক").await;
    browser
        .fill(
            "#bn-body",
            "বৃহস্পতিবার **সন্ধ্যায়** আসুন।\n\n## কোথায়\n\nজুবিলি স্ট্রিটের স্বাস্থ্য কেন্দ্র।",
        )
        .await;
    browser
        .submit_to(
            "button[value='save-bn']",
            "/console/pages/evening-clinics?saved=bn",
        )
        .await;
    browser.fill("#en-body", "Come along on **Thursday** evenings, 6 to 8.\n\n## Where\n\nThe health centre on Jubilee Street.").await;
    browser
        .submit_to(
            "button[value='save-en']",
            "/console/pages/evening-clinics?saved=en",
        )
        .await;
    let screens = [
        ("pages", "/console/pages".to_owned()),
        ("page", "/console/pages/evening-clinics?saved=en".to_owned()),
        (
            "revisions",
            "/console/pages/evening-clinics/revisions?from=1&to=3".to_owned(),
        ),
        ("organisation", "/console/organisation".to_owned()),
    ];
    for (width, height) in [(1280, 2200), (768, 3200)] {
        browser.client.set_window_size(width, height).await.unwrap();
        for (name, path) in &screens {
            browser.goto(&app.url(path)).await;
            let png = browser.client.screenshot().await.unwrap();
            std::fs::write(dir.join(format!("console-{name}-{width}.png")), png).unwrap();
        }
        // A refused save: the error summary and the field's message.
        browser
            .goto(&app.url("/console/pages/evening-clinics"))
            .await;
        browser.fill("#bn-title", " ").await;
        browser
            .field("button[value='save-bn']")
            .await
            .click()
            .await
            .unwrap();
        browser
            .wait_for(
                "the error summary",
                "return !!document.querySelector('[data-error-summary]');",
            )
            .await;
        let png = browser.client.screenshot().await.unwrap();
        std::fs::write(dir.join(format!("console-page-error-{width}.png")), png).unwrap();
    }
    browser.close().await;
}
