//! The residents' pages over HTTP, as a browser without JavaScript uses
//! them: forms posted, redirects read, pages parsed. What they store is
//! checked in the database; what they may not do (store a half-filled
//! form, show one resident's words to another, run inline script) is
//! checked too.

use hamlet::submissions::entity::{feedback, idea};
use hamlet::submissions::model::Channel;
use reqwest::StatusCode;
use reqwest::header::HeaderMap;
use sea_orm::{ColumnTrait as _, EntityTrait as _, PaginatorTrait as _, QueryFilter as _};
use serde_json::json;

use crate::helpers::{Seed, TestApp, feedback, headers, key};

/// The pages every resident can open.
const PAGES: &[&str] = &["/", "/feedback", "/ideas", "/ideas/new", "/track", "/kiosk"];

/// A browser that does not follow redirects, so a test sees each one.
fn browser() -> reqwest::Client {
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap()
}

async fn page(app: &TestApp, path: &str) -> (StatusCode, HeaderMap, String) {
    let response = browser().get(app.url(path)).send().await.unwrap();
    let status = response.status();
    let headers = response.headers().clone();
    (status, headers, response.text().await.unwrap())
}

async fn post_form(app: &TestApp, path: &str, form: &[(&str, &str)]) -> reqwest::Response {
    browser()
        .post(app.url(path))
        .form(form)
        .send()
        .await
        .unwrap()
}

fn location(response: &reqwest::Response) -> String {
    response
        .headers()
        .get("location")
        .unwrap_or_else(|| panic!("no redirect: {}", response.status()))
        .to_str()
        .unwrap()
        .to_owned()
}

/// The reference in a receipt's address, `/receipt/FB-…?lang=en`.
fn reference_in(location: &str) -> String {
    location
        .strip_prefix("/receipt/")
        .and_then(|rest| rest.split('?').next())
        .unwrap_or_else(|| panic!("not a receipt address: {location}"))
        .to_owned()
}

async fn feedback_count(app: &TestApp) -> u64 {
    let db = app.db().await;
    let count = feedback::Entity::find().count(&db).await.unwrap();
    db.close().await.ok();
    count
}

async fn stored_feedback(app: &TestApp, reference: &str) -> feedback::Model {
    let db = app.db().await;
    let row = feedback::Entity::find()
        .filter(feedback::Column::Reference.eq(reference))
        .one(&db)
        .await
        .unwrap()
        .unwrap_or_else(|| panic!("{reference} is not stored"));
    db.close().await.ok();
    row
}

async fn stored_idea(app: &TestApp, reference: &str) -> idea::Model {
    let db = app.db().await;
    let row = idea::Entity::find()
        .filter(idea::Column::Reference.eq(reference))
        .one(&db)
        .await
        .unwrap()
        .unwrap_or_else(|| panic!("{reference} is not stored"));
    db.close().await.ok();
    row
}

/// A whole feedback form, with `changes` over the defaults.
fn feedback_form<'a>(changes: &[(&'a str, &'a str)]) -> Vec<(&'a str, &'a str)> {
    let mut form = vec![
        ("lang", "en"),
        ("service", "royal-london-maternity"),
        ("rating", "VERY_GOOD"),
        (
            "comment",
            "The midwives were kind and explained everything.",
        ),
        ("consent", "no"),
        ("website", ""),
    ];
    for (name, value) in changes {
        form.retain(|(existing, _)| existing != name);
        form.push((name, value));
    }
    form
}

/// Whether some tag has an `on…=` attribute.
fn has_inline_handler(html: &str) -> bool {
    html.match_indices(" on").any(|(at, _)| {
        let rest = &html[at + 3..];
        let name: String = rest.chars().take_while(char::is_ascii_lowercase).collect();
        !name.is_empty() && rest[name.len()..].starts_with('=')
    })
}

// ----- Every page ------------------------------------------------------------

#[tokio::test]
async fn the_start_page_names_the_partnership_and_links_every_way_in() {
    let app = TestApp::spawn().await;
    let (status, _, html) = page(&app, "/").await;
    assert_eq!(status, 200);
    assert!(html.contains("<html lang=\"en\""), "{html}");
    assert!(html.contains("Tower Hamlets Together"), "{html}");
    assert!(
        html.contains("To work together to improve the health and wellbeing"),
        "the partnership's vision, from the content API: {html}"
    );
    for link in [
        "href=\"/feedback?lang=en\"",
        "href=\"/ideas/new?lang=en\"",
        "href=\"/ideas?lang=en\"",
        "href=\"/track?lang=en\"",
    ] {
        assert!(html.contains(link), "{link} in {html}");
    }
}

#[tokio::test]
async fn every_page_speaks_bengali_when_asked_and_marks_its_language() {
    let app = TestApp::spawn().await;
    for path in PAGES {
        let (status, _, html) = page(&app, &format!("{path}?lang=bn")).await;
        assert_eq!(status, 200, "{path}");
        assert!(html.contains("<html lang=\"bn\""), "{path}: {html}");
        assert!(
            html.contains("মূল অংশে যান"),
            "{path}: the skip link in Bengali"
        );
        assert!(
            html.contains(&format!("href=\"{path}?lang=en\" lang=\"en\"")),
            "{path}: the switch back to English, marked as English"
        );
        // The organisation has no Bengali content yet: its English name is
        // marked as English.
        assert!(
            html.contains("lang=\"en\">Tower Hamlets Together</a>"),
            "{path}: {html}"
        );
    }
    let response = browser()
        .get(app.url("/feedback"))
        .header("accept-language", "bn-BD, en;q=0.5")
        .send()
        .await
        .unwrap();
    let html = response.text().await.unwrap();
    assert!(html.contains("<html lang=\"bn\""), "from Accept-Language");
    assert!(html.contains("সব মিলিয়ে, আমাদের সেবা নিয়ে আপনার অভিজ্ঞতা কেমন ছিল?"));

    let (_, _, html) = page(&app, "/feedback?lang=xx").await;
    assert!(
        html.contains("<html lang=\"en\""),
        "an unknown language falls back"
    );
}

#[tokio::test]
async fn every_page_carries_a_strict_content_security_policy_and_no_inline_code() {
    let app = TestApp::spawn().await;
    for path in PAGES {
        let (_, headers, html) = page(&app, path).await;
        let policy = headers["content-security-policy"].to_str().unwrap();
        assert!(policy.contains("default-src 'none'"), "{path}: {policy}");
        assert!(policy.contains("script-src 'self'"), "{path}: {policy}");
        assert!(
            policy.contains("frame-ancestors 'none'"),
            "{path}: {policy}"
        );
        assert!(!policy.contains("unsafe"), "{path}: {policy}");
        assert_eq!(headers["x-frame-options"], "DENY", "{path}");
        assert_eq!(headers["x-content-type-options"], "nosniff", "{path}");
        for script in html.split("<script").skip(1) {
            let tag = script.split('>').next().unwrap();
            assert!(
                tag.contains("src=\"/assets/"),
                "{path}: inline script {tag}"
            );
        }
        assert!(!html.contains(" style="), "{path}: inline style");
        assert!(
            !has_inline_handler(&html),
            "{path}: an inline event handler"
        );
        assert!(
            !html.contains("src=\"http") && !html.contains("href=\"http"),
            "{path}: nothing from another origin"
        );
    }
}

#[tokio::test]
async fn partner_origins_configured_for_embedding_may_frame_the_pages() {
    let app = TestApp::spawn_with(Seed::BuiltIn, |config| {
        config.frame_ancestors = vec![
            "https://www.towerhamlets.gov.uk".to_owned(),
            "https://partner.example".to_owned(),
        ];
    })
    .await;
    let (_, headers, _) = page(&app, "/feedback").await;
    let policy = headers["content-security-policy"].to_str().unwrap();
    assert!(
        policy.contains("frame-ancestors https://www.towerhamlets.gov.uk https://partner.example"),
        "{policy}"
    );
    assert!(headers.get("x-frame-options").is_none());
}

#[tokio::test]
async fn assets_have_content_hashed_names_kept_for_a_year_and_the_worker_a_stable_one() {
    let app = TestApp::spawn().await;
    let (_, _, html) = page(&app, "/feedback").await;
    let assets: Vec<String> = html
        .split("/assets/")
        .skip(1)
        .map(|rest| format!("/assets/{}", rest.split('"').next().unwrap()))
        .collect();
    assert_eq!(assets.len(), 2, "a stylesheet and a script: {assets:?}");
    for asset in &assets {
        let parts: Vec<_> = asset.rsplit('/').next().unwrap().split('.').collect();
        assert_eq!(parts.len(), 3, "{asset}");
        assert_eq!(parts[1].len(), 16, "a content hash: {asset}");
        let response = browser().get(app.url(asset)).send().await.unwrap();
        assert_eq!(response.status(), 200, "{asset}");
        assert_eq!(
            response.headers()["cache-control"],
            "public, max-age=31536000, immutable"
        );
    }
    let response = browser()
        .get(app.url("/assets/app.js"))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 404, "only hashed names are served");

    let response = browser().get(app.url("/sw.js")).send().await.unwrap();
    assert_eq!(response.status(), 200);
    assert_eq!(response.headers()["cache-control"], "no-cache");
    assert!(
        response.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/javascript")
    );
    let worker = response.text().await.unwrap();
    for asset in &assets {
        assert!(worker.contains(asset.as_str()), "the worker keeps {asset}");
    }
}

/// Bytes over the wire for `path`, as a browser asks (gzip accepted).
async fn wire_bytes(app: &TestApp, path: &str) -> usize {
    browser()
        .get(app.url(path))
        .header("accept-encoding", "gzip")
        .send()
        .await
        .unwrap()
        .bytes()
        .await
        .unwrap()
        .len()
}

#[tokio::test]
async fn a_first_visit_weighs_at_most_60_kb_over_the_wire() {
    let app = TestApp::spawn().await;
    for path in PAGES {
        let (_, _, html) = page(&app, path).await;
        // The page, then its stylesheet and script, then the service
        // worker, which then keeps the page: fetched once more.
        let mut total = 2 * wire_bytes(&app, path).await;
        for asset in html.split("/assets/").skip(1) {
            let asset = format!("/assets/{}", asset.split('"').next().unwrap());
            total += wire_bytes(&app, &asset).await;
        }
        total += wire_bytes(&app, "/sw.js").await;
        assert!(total <= 60 * 1024, "{path}: {total} bytes on a first visit");
    }
    let response = browser()
        .get(app.url("/feedback"))
        .header("accept-encoding", "gzip")
        .send()
        .await
        .unwrap();
    assert_eq!(response.headers()["content-encoding"], "gzip");
}

// ----- Feedback --------------------------------------------------------------

#[tokio::test]
async fn the_feedback_form_asks_the_friends_and_family_test_question_with_its_six_answers() {
    let app = TestApp::spawn().await;
    let (_, headers, html) = page(&app, "/feedback").await;
    assert_eq!(headers["cache-control"], "no-cache");
    assert!(html.contains("Overall, how was your experience of our service?"));
    let answers = [
        "Very good",
        "Good",
        "Neither good nor poor",
        "Poor",
        "Very poor",
        "Don&#39;t know",
    ];
    let mut from = 0;
    for answer in answers {
        let at = html[from..]
            .find(&format!(">{answer}</label>"))
            .unwrap_or_else(|| panic!("{answer} after the one before: {html}"));
        from += at;
    }
    let services = app.data("{ services { slug } }", json!({})).await;
    let slugs = services["services"].as_array().unwrap();
    assert!(slugs.len() > 5);
    for slug in slugs {
        let slug = slug["slug"].as_str().unwrap();
        assert!(
            html.contains(&format!("name=\"service\" value=\"{slug}\"")),
            "{slug}"
        );
    }
    assert!(html.contains("Please tell us why you gave this answer"));
    assert!(
        html.contains("id=\"contact-fields\" data-contact hidden"),
        "contact details are not asked for before consent: {html}"
    );
    assert!(html.contains("name=\"website\""), "the honeypot");
}

#[tokio::test]
async fn searching_services_without_javascript_narrows_the_list() {
    let app = TestApp::spawn().await;
    let (_, _, html) = page(&app, "/feedback?q=maternity").await;
    assert!(html.contains("value=\"royal-london-maternity\""));
    assert!(!html.contains("value=\"royal-london-emergency-department\""));
    let (_, _, html) = page(&app, "/feedback?q=zzzz-nothing").await;
    assert!(!html.contains("name=\"service\""));
    assert!(html.contains("No services match your search"));
}

#[tokio::test]
async fn feedback_sent_from_the_form_is_stored_once_and_gets_a_receipt_to_track() {
    let app = TestApp::spawn().await;
    let idempotency = key();
    let form = feedback_form(&[("key", idempotency.as_str())]);
    let response = post_form(&app, "/feedback", &form).await;
    assert_eq!(response.status(), 303);
    let receipt = location(&response);
    let reference = reference_in(&receipt);
    assert!(reference.starts_with("FB-"), "{reference}");

    let stored = stored_feedback(&app, &reference).await;
    assert_eq!(
        stored.comment.as_deref(),
        Some("The midwives were kind and explained everything.")
    );
    assert_eq!(stored.channel, Channel::Web);
    assert_eq!(stored.locale, "en");
    assert!(stored.contact_email.is_none() && stored.contact_name.is_none());

    // Sent twice (a double click, a retry): one submission, the same receipt.
    let again = post_form(&app, "/feedback", &form).await;
    assert_eq!(location(&again), receipt);
    assert_eq!(feedback_count(&app).await, 1);

    let (status, headers, html) = page(&app, &receipt).await;
    assert_eq!(status, 200);
    assert_eq!(headers["cache-control"], "no-store");
    assert!(html.contains(&reference));
    assert!(html.contains(&format!(
        "href=\"/track?lang=en&amp;reference={reference}\""
    )));
    assert!(
        !html.contains("midwives"),
        "a receipt never shows the content"
    );

    let (_, _, html) = page(&app, &format!("/track?lang=en&reference={reference}")).await;
    assert!(html.contains("Received"), "{html}");
    assert!(
        !html.contains("midwives"),
        "tracking never shows the content"
    );
}

#[tokio::test]
async fn feedback_in_bengali_is_stored_with_its_language() {
    let app = TestApp::spawn().await;
    let form = feedback_form(&[("lang", "bn"), ("comment", "ডাক্তার খুব ভালো ব্যবহার করেছেন।")]);
    let response = post_form(&app, "/feedback", &form).await;
    let receipt = location(&response);
    assert!(receipt.ends_with("?lang=bn"), "{receipt}");
    let stored = stored_feedback(&app, &reference_in(&receipt)).await;
    assert_eq!(stored.locale, "bn");
    let (_, _, html) = page(&app, &receipt).await;
    assert!(html.contains("আমরা আপনার মতামত পেয়েছি।"));
}

#[tokio::test]
async fn missing_answers_come_back_with_an_error_summary_and_nothing_is_stored() {
    let app = TestApp::spawn().await;
    let response = post_form(
        &app,
        "/feedback",
        &[
            ("lang", "en"),
            ("comment", "<script>alert('x')</script> kept as typed"),
        ],
    )
    .await;
    assert_eq!(response.status(), 400);
    assert_eq!(response.headers()["cache-control"], "no-store");
    let html = response.text().await.unwrap();
    assert!(html.contains("There is a problem"));
    for (field, message) in [
        ("service", "Choose the service you used"),
        ("rating", "Choose how your experience was"),
        ("consent", "Choose yes or no"),
    ] {
        assert!(
            html.contains(&format!("<a href=\"#{field}\">{message}</a>")),
            "summary links to {field}: {html}"
        );
        assert!(
            html.contains(&format!(
                "id=\"{field}-error\" data-error-for=\"{field}\">{message}</p>"
            )),
            "inline error for {field}"
        );
        assert!(html.contains(&format!("id=\"{field}\"")), "{field} exists");
    }
    assert!(
        html.contains("&#60;script&#62;alert(&#39;x&#39;)&#60;/script&#62; kept as typed"),
        "what was typed comes back, escaped: {html}"
    );
    assert!(!html.contains("<script>alert"));
    assert_eq!(feedback_count(&app).await, 0);
}

#[tokio::test]
async fn contact_details_are_asked_for_only_after_the_resident_says_yes() {
    let app = TestApp::spawn().await;
    let key = key();
    let form = feedback_form(&[("consent", "yes"), ("key", key.as_str())]);
    let response = post_form(&app, "/feedback", &form).await;
    assert_eq!(response.status(), 200);
    let html = response.text().await.unwrap();
    assert!(html.contains("<h1>Your contact details</h1>"), "{html}");
    assert!(html.contains("id=\"email\""));
    assert!(html.contains("name=\"step\" value=\"contact\""));
    assert!(
        html.contains(
            "name=\"comment\" value=\"The midwives were kind and explained everything.\""
        )
    );
    assert_eq!(feedback_count(&app).await, 0, "nothing sent yet");

    // Nothing given at the contact step: asked again, still nothing stored.
    let mut step = form.clone();
    step.push(("step", "contact"));
    let response = post_form(&app, "/feedback", &step).await;
    assert_eq!(response.status(), 400);
    let html = response.text().await.unwrap();
    assert!(html.contains("Give an email address or a phone number"));

    // An email the API does not accept: shown inline at the contact step.
    let mut bad = step.clone();
    bad.push(("email", "not an email"));
    let response = post_form(&app, "/feedback", &bad).await;
    assert_eq!(response.status(), 400);
    let html = response.text().await.unwrap();
    assert!(html.contains("<h1>Your contact details</h1>"));
    assert!(html.contains("Enter an email address like name@example.com"));
    assert_eq!(feedback_count(&app).await, 0);

    let mut good = step.clone();
    good.push(("email", "amina@example.org"));
    good.push(("name", "Amina"));
    let response = post_form(&app, "/feedback", &good).await;
    assert_eq!(response.status(), 303);
    let stored = stored_feedback(&app, &reference_in(&location(&response))).await;
    assert_eq!(stored.contact_email.as_deref(), Some("amina@example.org"));
    assert_eq!(stored.contact_name.as_deref(), Some("Amina"));
}

#[tokio::test]
async fn choosing_no_at_the_contact_step_sends_without_contact_details() {
    let app = TestApp::spawn().await;
    let form = feedback_form(&[
        ("consent", "no"),
        ("step", "contact"),
        ("email", "someone@example.org"),
    ]);
    let response = post_form(&app, "/feedback", &form).await;
    assert_eq!(response.status(), 303);
    let stored = stored_feedback(&app, &reference_in(&location(&response))).await;
    assert!(
        stored.contact_email.is_none(),
        "no consent, no contact kept"
    );
}

#[tokio::test]
async fn a_comment_longer_than_the_api_allows_is_refused_and_shown_inline() {
    let app = TestApp::spawn().await;
    let long = "a".repeat(2001);
    let response = post_form(
        &app,
        "/feedback",
        &feedback_form(&[("comment", long.as_str())]),
    )
    .await;
    assert_eq!(response.status(), 400);
    let html = response.text().await.unwrap();
    assert!(
        html.contains("<a href=\"#comment\">Your answer must be 2,000 characters or fewer</a>")
    );
    assert!(html.contains(&long), "the text comes back to be shortened");
    assert_eq!(feedback_count(&app).await, 0);
}

#[tokio::test]
async fn a_service_that_does_not_exist_is_refused_by_the_api() {
    let app = TestApp::spawn().await;
    let response = post_form(
        &app,
        "/feedback",
        &feedback_form(&[("service", "no-such-service")]),
    )
    .await;
    assert_eq!(response.status(), 400);
    let html = response.text().await.unwrap();
    assert!(html.contains("<a href=\"#service\">Choose the service you used</a>"));
    assert_eq!(feedback_count(&app).await, 0);
}

#[tokio::test]
async fn the_honeypot_drops_a_bot_post_from_the_form() {
    let app = TestApp::spawn().await;
    let response = post_form(
        &app,
        "/feedback",
        &feedback_form(&[("website", "http://spam.example")]),
    )
    .await;
    assert_eq!(response.status(), 303, "the bot learns nothing");
    let reference = reference_in(&location(&response));
    assert_eq!(feedback_count(&app).await, 0);
    let (status, _, html) = page(&app, &format!("/track?reference={reference}")).await;
    assert_eq!(status, 404);
    assert!(html.contains("We cannot find anything with this reference"));
}

#[tokio::test]
async fn the_forms_count_against_the_same_submission_limit_as_the_api() {
    let app = TestApp::spawn_with(Seed::BuiltIn, |config| config.submit_per_minute = 2).await;
    let response = app.submit_feedback(feedback(), headers(&[])).await;
    assert_eq!(response.status(), 200);
    let response = post_form(&app, "/feedback", &feedback_form(&[])).await;
    assert_eq!(response.status(), 303);
    let response = post_form(&app, "/feedback", &feedback_form(&[])).await;
    assert_eq!(response.status(), 429);
    let wait: u64 = response.headers()["retry-after"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!(wait > 0);
    let html = response.text().await.unwrap();
    assert!(
        html.contains(&format!("Please wait {wait} seconds and try again")),
        "{html}"
    );
    assert!(
        html.contains("The midwives were kind"),
        "nothing typed is lost"
    );
    assert_eq!(feedback_count(&app).await, 2);
}

#[tokio::test]
async fn a_form_larger_than_the_api_accepts_is_refused_whole() {
    let app = TestApp::spawn_with(Seed::BuiltIn, |config| config.max_body_bytes = 4096).await;
    let long = "b".repeat(5000);
    let response = post_form(
        &app,
        "/feedback",
        &feedback_form(&[("comment", long.as_str())]),
    )
    .await;
    assert_eq!(response.status(), 413);
    assert_eq!(feedback_count(&app).await, 0);
}

// ----- Ideas -----------------------------------------------------------------

fn idea_form<'a>(changes: &[(&'a str, &'a str)]) -> Vec<(&'a str, &'a str)> {
    let mut form = vec![
        ("lang", "en"),
        ("title", "Evening drop-in for carers"),
        (
            "description",
            "Carers work in the day. Write to me at carer.amina@example.org about an evening drop-in.",
        ),
        ("theme", "access"),
        ("website", ""),
    ];
    for (name, value) in changes {
        form.retain(|(existing, _)| existing != name);
        form.push((name, value));
    }
    form
}

async fn publish(app: &TestApp, reference: &str, response: &str) -> String {
    let row = stored_idea(app, reference).await;
    let moderator = app.staff(&[hamlet::staff::model::Role::Moderator]).await;
    app.data_as(
        &moderator,
        "mutation($id: ID!, $response: String!) {
           moderateIdea(input: { id: $id, expectedVersion: 1, published: true,
                                 status: UNDER_REVIEW, publicResponse: $response }) { id published }
         }",
        json!({ "id": row.id.to_string(), "response": response }),
    )
    .await;
    row.id.to_string()
}

#[tokio::test]
async fn an_idea_shared_from_the_form_reaches_the_board_only_once_published_and_masked() {
    let app = TestApp::spawn().await;
    let response = post_form(&app, "/ideas/new", &idea_form(&[])).await;
    assert_eq!(response.status(), 303);
    let reference = reference_in(&location(&response));
    assert!(reference.starts_with("ID-"), "{reference}");
    let stored = stored_idea(&app, &reference).await;
    assert_eq!(stored.theme.as_deref(), Some("access"));
    assert_eq!(stored.channel, Channel::Web);

    let (_, _, html) = page(&app, &format!("/receipt/{reference}")).await;
    assert!(html.contains("Our team will check it before it goes on the ideas page"));

    let (_, _, board) = page(&app, "/ideas").await;
    assert!(
        !board.contains("Evening drop-in for carers"),
        "unpublished ideas are no one else's to read"
    );
    assert!(board.contains("There are no ideas to show yet."));

    publish(
        &app,
        &reference,
        "We start an evening drop-in at Mile End in May.",
    )
    .await;
    let (_, _, board) = page(&app, "/ideas").await;
    assert!(board.contains("Evening drop-in for carers"), "{board}");
    assert!(
        !board.contains("carer.amina@example.org"),
        "personal details are masked on the board: {board}"
    );
    assert!(board.contains("You said, we did"));
    assert!(board.contains("We start an evening drop-in at Mile End in May."));
    assert!(board.contains("Getting care and appointments"), "the topic");
    assert!(
        board.contains("Being looked at"),
        "the status in plain words"
    );

    let (_, _, board) = page(&app, "/ideas?lang=bn").await;
    assert!(board.contains("আপনি বলেছেন, আমরা করেছি"));
    assert!(board.contains("সেবা ও অ্যাপয়েন্টমেন্ট পাওয়া"));
}

#[tokio::test]
async fn an_idea_without_a_title_or_description_comes_back_with_errors() {
    let app = TestApp::spawn().await;
    let response = post_form(
        &app,
        "/ideas/new",
        &idea_form(&[("title", " "), ("description", ""), ("theme", "made-up")]),
    )
    .await;
    assert_eq!(response.status(), 400);
    let html = response.text().await.unwrap();
    assert!(html.contains("<a href=\"#title\">"));
    assert!(html.contains("<a href=\"#description\">"));
    assert!(html.contains("<a href=\"#theme\">Choose a topic from the list</a>"));
    let db = app.db().await;
    assert_eq!(idea::Entity::find().count(&db).await.unwrap(), 0);
}

#[tokio::test]
async fn supporting_twice_from_one_browser_counts_once() {
    let app = TestApp::spawn().await;
    let reference = app.idea_reference(crate::helpers::idea()).await;
    let id = publish(&app, &reference, "Thank you.").await;

    let response = post_form(&app, "/ideas/support", &[("idea", &id), ("lang", "en")]).await;
    assert_eq!(response.status(), 303);
    assert!(location(&response).contains(&format!("#idea-{id}")));
    let cookie = response.headers()["set-cookie"]
        .to_str()
        .unwrap()
        .to_owned();
    assert!(cookie.starts_with("hamlet_supporter="), "{cookie}");
    assert!(cookie.contains("SameSite=Strict"), "{cookie}");
    let cookie = cookie.split(';').next().unwrap().to_owned();

    // The same browser again, with its cookie.
    let response = browser()
        .post(app.url("/ideas/support"))
        .header("cookie", &cookie)
        .form(&[("idea", id.as_str()), ("lang", "en")])
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 303);
    assert!(response.headers().get("set-cookie").is_none());
    assert_eq!(stored_idea(&app, &reference).await.support_count, 1);

    let (_, _, board) = page(&app, &location(&response)).await;
    assert!(board.contains("Thank you for your support"));
    assert!(board.contains("data-support-count>1<"), "{board}");

    // Another browser counts.
    let response = post_form(&app, "/ideas/support", &[("idea", &id)]).await;
    assert_eq!(response.status(), 303);
    assert_eq!(stored_idea(&app, &reference).await.support_count, 2);

    // An idea that is not on the board cannot be supported.
    let response = post_form(
        &app,
        "/ideas/support",
        &[("idea", "0190d5a4-0000-7000-8000-000000000000")],
    )
    .await;
    assert_eq!(response.status(), 404);
}

// ----- Tracking --------------------------------------------------------------

#[tokio::test]
async fn tracking_shows_the_status_and_public_response_never_the_content() {
    let app = TestApp::spawn().await;
    let reference = app.idea_reference(crate::helpers::idea()).await;
    publish(&app, &reference, "We will try this in the new year.").await;
    let (status, headers, html) = page(
        &app,
        &format!(
            "/track?reference={}",
            reference.to_lowercase().replace('-', " ")
        ),
    )
    .await;
    assert_eq!(status, 200);
    assert_eq!(headers["cache-control"], "no-store");
    assert!(
        html.contains(&reference),
        "found however it was typed: {html}"
    );
    assert!(html.contains("Being looked at"));
    assert!(html.contains("We will try this in the new year."));
    assert!(!html.contains("Working people cannot come in the day"));
}

#[tokio::test]
async fn a_mistyped_reference_is_caught_by_its_checksum_and_said_kindly() {
    let app = TestApp::spawn().await;
    let reference = app.feedback_reference(feedback()).await;
    // Change one symbol of the code.
    let mut typo: Vec<char> = reference.chars().collect();
    let at = 4;
    typo[at] = if typo[at] == 'A' { 'B' } else { 'A' };
    let typo: String = typo.into_iter().collect();
    let (status, _, html) = page(&app, &format!("/track?reference={typo}")).await;
    assert_eq!(status, 400);
    assert!(
        html.contains("There may be a small typing mistake in this reference"),
        "{html}"
    );
    assert!(html.contains("<a href=\"#reference\">"));

    let (status, _, html) = page(&app, "/track?reference=hello&lang=bn").await;
    assert_eq!(status, 400);
    assert!(html.contains("এটি রেফারেন্সের মতো দেখাচ্ছে না।"));

    let (status, _, html) = page(&app, "/track?reference=FB-7K3Q-9XMD").await;
    assert_eq!(status, 404);
    assert!(html.contains("We cannot find anything with this reference"));

    let (status, _, html) = page(&app, "/track").await;
    assert_eq!(status, 200);
    assert!(
        html.contains("data-error-summary hidden"),
        "no errors before asking"
    );
}

#[tokio::test]
async fn a_receipt_address_that_is_not_a_reference_is_not_found() {
    let app = TestApp::spawn().await;
    let (status, _, html) = page(&app, "/receipt/%3Cscript%3E").await;
    assert_eq!(status, 404);
    assert!(html.contains("Page not found"));
    assert!(!html.contains("<script>"));
}

// ----- The kiosk -------------------------------------------------------------

#[tokio::test]
async fn the_kiosk_page_says_it_needs_javascript_and_carries_its_idle_timings() {
    let app = TestApp::spawn().await;
    let (_, _, html) = page(&app, "/kiosk").await;
    assert!(html.contains("data-kiosk=\"1\""));
    assert!(html.contains("data-idle-seconds=\"60\""));
    assert!(html.contains("data-warn-seconds=\"20\""));
    assert!(html.contains("This kiosk page needs JavaScript"));
    assert!(html.contains("Set up this kiosk"));
    assert!(
        !html.contains("class=\"site-nav\""),
        "a kiosk offers no way off the form"
    );
}
