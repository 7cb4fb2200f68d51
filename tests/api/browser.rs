//! Browser tests: real headless Chromium, driven over WebDriver (see
//! [`crate::browser_harness`]), using what hamlet serves to a browser with
//! every host but 127.0.0.1 out of reach, as on an NHS network without
//! internet. Where Chromium is missing they say so in one line and how to
//! install it; with `CI=true` a missing browser is a failure.

use fantoccini::Locator;
use fantoccini::key::Key;

use crate::browser_harness::{Browser, Window, axe_violations, axe_violations_here};
use crate::helpers::TestApp;

/// The answer box's text once it holds `wanted`.
const ANSWER_HOLDS: &str = "const [wanted] = arguments;
    const text = document.getElementById('answer').textContent;
    return text.includes(wanted) && text;";

impl Browser {
    async fn answer_holding(&self, wanted: &str) -> String {
        let started = std::time::Instant::now();
        loop {
            let text = self
                .client
                .execute(ANSWER_HOLDS, vec![serde_json::json!(wanted)])
                .await
                .unwrap();
            if let Some(text) = text.as_str() {
                return text.to_owned();
            }
            assert!(
                started.elapsed() < crate::browser_harness::PATIENCE,
                "no answer holding {wanted:?}; the page: {}",
                self.eval("return document.body.innerText").await
            );
            tokio::time::sleep(std::time::Duration::from_millis(100)).await;
        }
    }
}

#[tokio::test]
async fn the_query_page_runs_queries_in_a_browser_without_the_internet() {
    let app = TestApp::spawn().await;
    let Some(browser) = Browser::open(Window::LAPTOP).await else {
        return;
    };
    browser.goto(&app.url("/graphql")).await;
    assert_eq!(browser.client.title().await.unwrap(), "Try the hamlet API");

    // The query the page opens with, sent with the Run button.
    let run = browser.client.find(Locator::Id("run")).await.unwrap();
    run.click().await.unwrap();
    let answer = browser.answer_holding("Tower Hamlets Together").await;
    assert!(
        answer.starts_with("{\n  \"data\": {"),
        "pretty-printed: {answer}"
    );
    let status = browser
        .client
        .find(Locator::Id("status"))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(status.starts_with("Answer 200"), "{status}");

    // A query of one's own, with variables, sent with Ctrl+Enter.
    let query = browser.client.find(Locator::Id("query")).await.unwrap();
    query.clear().await.unwrap();
    query
        .send_keys("query Page($slug: String!) { page(slug: $slug) { title slug } }")
        .await
        .unwrap();
    let variables = browser.client.find(Locator::Id("variables")).await.unwrap();
    variables
        .send_keys("{\"slug\": \"our-vanguard-journey\"}")
        .await
        .unwrap();
    variables
        .send_keys(&format!("{}{}", &*Key::Control, &*Key::Enter))
        .await
        .unwrap();
    let answer = browser.answer_holding("our-vanguard-journey").await;
    assert!(answer.contains("\"title\""), "{answer}");

    // Variables that are not JSON are caught before anything is sent.
    variables.clear().await.unwrap();
    variables.send_keys("{slug:").await.unwrap();
    run.click().await.unwrap();
    browser
        .wait_for(
            "the variables refused",
            "return document.getElementById('status').textContent.startsWith('Variables are not valid JSON')",
        )
        .await;
    variables.clear().await.unwrap();

    // Headers are sent as given: a token that is not one is refused.
    let headers = browser.client.find(Locator::Id("headers")).await.unwrap();
    headers
        .send_keys("Authorization: Bearer not-a-real-token")
        .await
        .unwrap();
    run.click().await.unwrap();
    browser.answer_holding("UNAUTHENTICATED").await;
    headers.clear().await.unwrap();
    headers.send_keys("no colon here").await.unwrap();
    run.click().await.unwrap();
    browser
        .wait_for(
            "the header line refused",
            "return document.getElementById('status').textContent.startsWith('Headers, line 1')",
        )
        .await;
    headers.clear().await.unwrap();

    // Every example fits the schema: each one, put in the editor and run,
    // is answered without a parse or validation error.
    let examples = browser
        .eval("return document.getElementById('example').options.length")
        .await
        .as_u64()
        .unwrap();
    assert!(examples >= 6, "{examples} examples");
    let example = browser.client.find(Locator::Id("example")).await.unwrap();
    let use_example = browser
        .client
        .find(Locator::Id("use-example"))
        .await
        .unwrap();
    for index in 0..examples {
        example.select_by_index(index as usize).await.unwrap();
        use_example.click().await.unwrap();
        browser
            .eval("document.getElementById('answer').textContent = ''")
            .await;
        run.click().await.unwrap();
        let answer = browser.answer_holding("{").await;
        for failure in ["GRAPHQL_PARSE_FAILED", "GRAPHQL_VALIDATION_FAILED"] {
            assert!(!answer.contains(failure), "example {index}: {answer}");
        }
    }

    // The schema's types, read from the endpoint.
    browser
        .wait_for(
            "the schema's types",
            "return [...document.querySelectorAll('#schema summary code')]
                .map(code => code.textContent).includes('Organisation')",
        )
        .await;

    // The policy's Trusted Types hold: no string can be made markup.
    let made_markup = browser
        .eval(
            "try { document.createElement('div').innerHTML = '<b>x</b>'; return 'allowed'; }
             catch (error) { return error.name; }",
        )
        .await;
    assert_eq!(made_markup, "TypeError");

    // Nothing came from anywhere else, and nothing else can be reached.
    let origin = app.url("/");
    for url in browser.loaded_urls().await {
        assert!(url.starts_with(&origin), "{url} is not from {origin}");
    }
    assert!(browser.can_fetch(&app.url("/healthz")).await);
    assert!(!browser.can_fetch("http://example.com/").await);
    assert!(!browser.can_fetch("http://93.184.215.14/").await);
    browser.close().await;
}

#[tokio::test]
async fn the_query_page_in_english_has_no_wcag_2_2_aa_violations() {
    let app = TestApp::spawn().await;
    let Some(browser) = Browser::open(Window::LAPTOP).await else {
        return;
    };
    let Some(violations) = axe_violations(&browser.client, &app.url("/graphql")).await else {
        return;
    };
    let listed: Vec<String> = violations.iter().map(ToString::to_string).collect();
    assert!(listed.is_empty(), "as first opened: {listed:#?}");
    assert_eq!(
        browser.eval("return document.documentElement.lang").await,
        "en"
    );

    // And with everything the script adds shown: an answer with an error,
    // the schema's types, one of them open.
    browser
        .eval("document.getElementById('query').value = '{ noSuchField }'")
        .await;
    browser
        .client
        .find(Locator::Id("run"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    browser.answer_holding("GRAPHQL_VALIDATION_FAILED").await;
    browser
        .wait_for(
            "the schema's types",
            "return document.querySelectorAll('#schema details').length > 10",
        )
        .await;
    browser
        .eval("document.querySelector('#schema details').open = true")
        .await;
    let violations = axe_violations_here(&browser.client)
        .await
        .unwrap_or_default();
    let listed: Vec<String> = violations.iter().map(ToString::to_string).collect();
    assert!(
        listed.is_empty(),
        "with an answer and the schema: {listed:#?}"
    );
    browser.close().await;
}

/// The check above finds nothing; this shows it would find something: the
/// same page with a label taken away and grey-on-white text breaks the rules
/// axe-core is run with.
#[tokio::test]
async fn the_accessibility_check_finds_a_missing_label_and_faint_text() {
    let app = TestApp::spawn().await;
    let Some(browser) = Browser::open(Window::LAPTOP).await else {
        return;
    };
    browser.goto(&app.url("/graphql")).await;
    browser
        .eval(
            "document.querySelector('label[for=query]').remove();
             document.getElementById('query-hint').remove();
             document.querySelector('h1').style.color = '#bbbbbb';",
        )
        .await;
    let Some(violations) = axe_violations_here(&browser.client).await else {
        return;
    };
    let ids: Vec<&str> = violations.iter().map(|v| v.id.as_str()).collect();
    assert!(ids.contains(&"label"), "{ids:?}");
    assert!(ids.contains(&"color-contrast"), "{ids:?}");
    let label = violations.iter().find(|v| v.id == "label").unwrap();
    assert_eq!(label.targets, ["#query"]);
    browser.close().await;
}

#[tokio::test]
async fn the_query_page_works_with_the_keyboard_alone_and_reflows_at_320_pixels() {
    let app = TestApp::spawn().await;
    let Some(browser) = Browser::open(Window {
        width: 320,
        height: 800,
    })
    .await
    else {
        return;
    };
    browser.goto(&app.url("/graphql")).await;
    browser
        .wait_for(
            "the examples shown",
            "return !document.getElementById('examples').hidden",
        )
        .await;

    // Tab from the top reaches every control in reading order.
    let mut reached = Vec::new();
    for _ in 0..8 {
        browser
            .client
            .active_element()
            .await
            .unwrap()
            .send_keys(&Key::Tab)
            .await
            .unwrap();
        let focused = browser
            .eval(
                "const e = document.activeElement;
                 return e.id || e.getAttribute('href') || e.tagName;",
            )
            .await;
        reached.push(focused.as_str().unwrap_or_default().to_owned());
    }
    assert_eq!(
        reached,
        [
            "/schema.graphql",
            "/graphiql",
            "example",
            "use-example",
            "query",
            "variables",
            "headers",
            "run",
        ]
    );
    // Enter on the focused Run button runs the query.
    browser
        .client
        .active_element()
        .await
        .unwrap()
        .send_keys(&Key::Enter)
        .await
        .unwrap();
    browser.answer_holding("Tower Hamlets Together").await;

    // Nothing needs sideways scrolling at 320 CSS pixels.
    let (width, scroll_width) = (
        browser.eval("return window.innerWidth").await,
        browser
            .eval("return document.documentElement.scrollWidth")
            .await,
    );
    let wide = browser
        .eval(
            "return [...document.querySelectorAll('body *')]
                .filter(e => e.getBoundingClientRect().right > window.innerWidth)
                .map(e => e.tagName + (e.id ? '#' + e.id : '')).join(', ')",
        )
        .await;
    assert!(
        scroll_width.as_u64() <= width.as_u64(),
        "page {scroll_width} px wide in a {width} px window; too wide: {wide}"
    );
    browser.close().await;
}
