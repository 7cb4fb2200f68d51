//! The editors' screens of the console over HTTP, as a browser without
//! JavaScript uses them: the list of pages, English and Bengali drafts side
//! by side with previews, publishing now and at a set time, revisions
//! compared and restored (and the version check), the organisation's text;
//! and who may not use them. Also the API additions they stand on
//! (`allPages`, `previewPageBody`, `Page.publishedVersion`).

use std::time::Duration;

use chrono::SubsecRound as _;
use hamlet::staff::model::Role;
use reqwest::StatusCode;
use reqwest::header::{COOKIE, LOCATION};
use serde_json::{Value, json};

use crate::console::Console;
use crate::helpers::{Staff, TestApp, first_error_code};

const PREVIEW: &str = "query($slug: String!, $locale: String) {
  page(slug: $slug, locale: $locale, preview: true) { id slug locale title summary body status version
    publishedVersion scheduledAt availableLocales }
}";

const PUBLIC_PAGE: &str = "query($slug: String!, $locale: String) {
  page(slug: $slug, locale: $locale) { title body locale }
}";

fn location(response: &reqwest::Response) -> String {
    response
        .headers()
        .get(LOCATION)
        .map(|value| value.to_str().unwrap().to_owned())
        .unwrap_or_default()
}

/// The page as an editor previews it, in `locale`.
async fn draft(app: &TestApp, editor: &Staff, slug: &str, locale: &str) -> Value {
    app.data_as(editor, PREVIEW, json!({ "slug": slug, "locale": locale }))
        .await["page"]
        .clone()
}

/// The page as the public reads it, in `locale` (null when it is not public).
async fn public(app: &TestApp, slug: &str, locale: &str) -> Value {
    app.data(PUBLIC_PAGE, json!({ "slug": slug, "locale": locale }))
        .await["page"]
        .clone()
}

/// Makes a page through the list's form; answers where it leads.
async fn make_page(console: &Console, slug: &str, title: &str, body: &str) -> String {
    let made = console
        .post(
            "/console/pages",
            &[("slug", slug), ("en_title", title), ("en_body", body)],
        )
        .await;
    assert_eq!(made.status(), StatusCode::SEE_OTHER, "the page is made");
    location(&made)
}

/// The drafts form's fields for both languages, as a browser sends them.
fn drafts_form<'a>(
    version: &'a str,
    action: &'a str,
    english: (&'a str, &'a str),
    bengali: (&'a str, &'a str),
) -> Vec<(&'a str, &'a str)> {
    vec![
        ("version", version),
        ("en_title", english.0),
        ("en_summary", ""),
        ("en_body", english.1),
        ("bn_title", bengali.0),
        ("bn_summary", ""),
        ("bn_body", bengali.1),
        ("action", action),
    ]
}

const BN_TITLE: &str = "সন্ধ্যার ক্লিনিক";
const BN_BODY: &str = "বৃহস্পতিবার **সন্ধ্যায়** আসুন।";

#[tokio::test]
async fn an_editor_lists_pages_saves_english_and_bengali_drafts_previews_and_publishes() {
    let app = TestApp::spawn().await;
    let editor = app.staff(&[Role::Editor]).await;
    let console = Console::sign_in(&app, &editor).await;

    // The editor's console starts at the pages, which lists the seeded ones.
    let home = console.get("/console").await;
    assert_eq!(location(&home), "/console/pages");
    let list = console.page("/console/pages").await;
    assert!(
        list.contains(r#"<a href="/console/pages" aria-current="page">Pages</a>"#),
        "{list}"
    );
    assert!(list.contains(r#"href="/console/pages/vision-and-purpose""#));
    assert!(list.contains("Published"));

    let made = make_page(
        &console,
        "evening-clinics",
        "Evening clinics",
        "Come along on **Thursday** evenings.",
    )
    .await;
    assert_eq!(made, "/console/pages/evening-clinics?created=1");
    let list = console.page("/console/pages").await;
    let row = list
        .split("<tr>")
        .find(|row| row.contains("/console/pages/evening-clinics"))
        .expect("the new page is listed");
    assert!(row.contains("Draft"), "{row}");
    assert!(row.contains("English"), "{row}");
    assert!(row.contains("Not set"), "{row}");

    // The drafts screen: English saved and previewed as the API renders it,
    // Bengali not yet there.
    let screen = console.page(&made).await;
    assert!(screen.contains("<strong>Thursday</strong>"), "{screen}");
    assert!(screen.contains("The page has no Bengali text yet"));
    assert!(screen.contains(r#"<textarea id="bn-body" name="bn_body" rows="14" lang="bn""#));

    // Preview both without saving: rendered by the API, raw HTML escaped.
    let page = draft(&app, &editor, "evening-clinics", "en").await;
    let version = page["version"].to_string();
    let hostile = "Now on **Fridays**.\n\n<script>alert(1)</script>";
    let previewed = console
        .post(
            "/console/pages/evening-clinics",
            &drafts_form(
                &version,
                "preview",
                ("Evening clinics", hostile),
                (BN_TITLE, BN_BODY),
            ),
        )
        .await;
    assert_eq!(previewed.status(), StatusCode::OK);
    let previewed = previewed.text().await.unwrap();
    assert!(previewed.contains("nothing is saved yet"), "{previewed}");
    assert!(
        previewed.contains("<strong>Fridays</strong>"),
        "{previewed}"
    );
    assert!(previewed.contains("&lt;script&gt;alert(1)&lt;/script&gt;"));
    assert!(!previewed.contains("<script>alert(1)"));
    assert!(previewed.contains("<strong>সন্ধ্যায়</strong>"), "{previewed}");
    assert!(previewed.contains(r#"<article class="public-page" lang="bn">"#));
    let unchanged = draft(&app, &editor, "evening-clinics", "en").await;
    assert_eq!(unchanged["body"], "Come along on **Thursday** evenings.");
    assert_eq!(unchanged["version"], page["version"], "nothing saved");

    // The live preview answers the same HTML as JSON.
    let live = console
        .post(
            "/console/pages/evening-clinics/preview",
            &[("body", "Now on **Fridays**.")],
        )
        .await;
    assert_eq!(live.status(), StatusCode::OK);
    let live: Value = live.json().await.unwrap();
    assert_eq!(live["html"], "<p>Now on <strong>Fridays</strong>.</p>\n");

    // Saving Bengali: its own draft; English, unchanged, is not saved again.
    let saved = console
        .post(
            "/console/pages/evening-clinics",
            &drafts_form(
                &version,
                "save-bn",
                ("Evening clinics", "Come along on **Thursday** evenings."),
                (BN_TITLE, BN_BODY),
            ),
        )
        .await;
    assert_eq!(saved.status(), StatusCode::SEE_OTHER);
    assert_eq!(location(&saved), "/console/pages/evening-clinics?saved=bn");
    let bengali = draft(&app, &editor, "evening-clinics", "bn").await;
    assert_eq!(bengali["locale"], "bn");
    assert_eq!(bengali["title"], BN_TITLE);
    assert_eq!(bengali["version"], 2);
    assert_eq!(bengali["availableLocales"], json!(["bn", "en"]));
    let english = draft(&app, &editor, "evening-clinics", "en").await;
    assert_eq!(english["body"], "Come along on **Thursday** evenings.");

    // Saving English while the Bengali column holds unsaved changes keeps
    // those on the screen, not saved, and says so.
    let saved = console
        .post(
            "/console/pages/evening-clinics",
            &drafts_form(
                "2",
                "save-en",
                (
                    "Evening clinics",
                    "Come along on **Thursday** evenings, 6 to 8.",
                ),
                (BN_TITLE, "নতুন লেখা, এখনো সংরক্ষিত নয়।"),
            ),
        )
        .await;
    assert_eq!(saved.status(), StatusCode::OK);
    let saved = saved.text().await.unwrap();
    assert!(saved.contains("The English draft is saved."), "{saved}");
    assert!(saved.contains("Your changes to the Bengali text are not saved yet"));
    assert!(saved.contains("নতুন লেখা, এখনো সংরক্ষিত নয়।"));
    assert!(saved.contains(r#"name="version" value="3""#), "{saved}");
    let english = draft(&app, &editor, "evening-clinics", "en").await;
    assert_eq!(
        english["body"],
        "Come along on **Thursday** evenings, 6 to 8."
    );
    assert_eq!(
        draft(&app, &editor, "evening-clinics", "bn").await["body"],
        BN_BODY
    );

    // A Bengali draft without a title: the error, linked to its field.
    let refused = console
        .post(
            "/console/pages/evening-clinics",
            &drafts_form(
                "3",
                "save-bn",
                (
                    "Evening clinics",
                    "Come along on **Thursday** evenings, 6 to 8.",
                ),
                ("", BN_BODY),
            ),
        )
        .await;
    assert_eq!(refused.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let refused = refused.text().await.unwrap();
    assert!(refused.contains("<title>Error: "), "{refused}");
    assert!(
        refused.contains(r##"<a href="#bn-title">The Bengali title must not be empty.</a>"##),
        "{refused}"
    );
    assert!(refused.contains(r#"aria-describedby="bn-title-error" aria-invalid="true""#));

    // Publish now: both languages are public.
    assert!(public(&app, "evening-clinics", "en").await.is_null());
    let published = console
        .post("/console/pages/evening-clinics/publish", &[("when", "now")])
        .await;
    assert_eq!(published.status(), StatusCode::SEE_OTHER);
    assert_eq!(
        location(&published),
        "/console/pages/evening-clinics?published=1"
    );
    assert_eq!(
        public(&app, "evening-clinics", "en").await["title"],
        "Evening clinics"
    );
    let bengali = public(&app, "evening-clinics", "bn").await;
    assert_eq!(bengali["locale"], "bn");
    assert_eq!(bengali["title"], BN_TITLE);
    let screen = console
        .page("/console/pages/evening-clinics?published=1")
        .await;
    assert!(screen.contains("The page is published"));
    assert!(screen.contains("(the public reads version 3)"), "{screen}");

    // Withdrawn: the public no longer reads it.
    let withdrawn = console
        .post("/console/pages/evening-clinics/withdraw", &[])
        .await;
    assert_eq!(withdrawn.status(), StatusCode::SEE_OTHER);
    assert!(public(&app, "evening-clinics", "en").await.is_null());
    let list = console.page("/console/pages").await;
    let row = list
        .split("<tr>")
        .find(|row| row.contains("/console/pages/evening-clinics"))
        .unwrap();
    assert!(row.contains("Withdrawn"), "{row}");
    assert!(row.contains("English, Bengali"), "{row}");
}

#[tokio::test]
async fn a_page_with_a_taken_address_or_no_text_is_refused_on_the_list_with_its_reasons() {
    let app = TestApp::spawn().await;
    let editor = app.staff(&[Role::Editor]).await;
    let console = Console::sign_in(&app, &editor).await;
    let refused = console
        .post(
            "/console/pages",
            &[
                ("slug", "Not A Slug"),
                ("en_title", "A title"),
                ("en_body", ""),
            ],
        )
        .await;
    assert_eq!(refused.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let refused = refused.text().await.unwrap();
    assert!(
        refused.contains(r##"<a href="#new-slug">The address must be lowercase letters"##),
        "{refused}"
    );
    assert!(
        refused.contains(r#"value="Not A Slug""#),
        "what was typed is kept"
    );

    let taken = console
        .post(
            "/console/pages",
            &[
                ("slug", "vision-and-purpose"),
                ("en_title", "Again"),
                ("en_body", "Text."),
            ],
        )
        .await;
    assert_eq!(taken.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let taken = taken.text().await.unwrap();
    assert!(
        taken.contains("A page with this address exists already"),
        "{taken}"
    );
}

#[tokio::test]
async fn a_bengali_page_scheduled_for_a_time_goes_live_on_time() {
    let app = TestApp::spawn().await;
    let editor = app.staff(&[Role::Editor]).await;
    let console = Console::sign_in(&app, &editor).await;
    make_page(&console, "winter-vaccines", "Winter vaccines", "Book now.").await;
    let saved = console
        .post(
            "/console/pages/winter-vaccines",
            &drafts_form(
                "1",
                "save-bn",
                ("Winter vaccines", "Book now."),
                ("শীতের টিকা", "এখনই বুক করুন।"),
            ),
        )
        .await;
    assert_eq!(saved.status(), StatusCode::SEE_OTHER);

    // A time that has passed, or no date, is refused with the reason.
    let past = hamlet::console::editors::uk_time(chrono::Utc::now() - chrono::Duration::hours(2));
    let (day, clock) = (
        past.format("%Y-%m-%d").to_string(),
        past.format("%H:%M").to_string(),
    );
    let refused = console
        .post(
            "/console/pages/winter-vaccines/publish",
            &[("when", "later"), ("date", &day), ("time", &clock)],
        )
        .await;
    assert_eq!(refused.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let refused = refused.text().await.unwrap();
    assert!(
        refused.contains(r##"<a href="#publish-time">That time has passed."##),
        "{refused}"
    );
    let refused = console
        .post(
            "/console/pages/winter-vaccines/publish",
            &[("when", "later"), ("date", ""), ("time", "09:00")],
        )
        .await;
    assert_eq!(refused.status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert!(
        refused
            .text()
            .await
            .unwrap()
            .contains(r##"<a href="#publish-date">Enter the date to publish the page on.</a>"##)
    );
    assert!(draft(&app, &editor, "winter-vaccines", "bn").await["scheduledAt"].is_null());

    // Four seconds from now, in UK time as the form takes it. The scheduler
    // runs on the real clock (every 100 ms in tests), as in editing.rs.
    // Whole seconds, as the form takes them.
    let at = (chrono::Utc::now() + chrono::Duration::seconds(4)).trunc_subsecs(0);
    let local = hamlet::console::editors::uk_time(at);
    let (day, clock) = (
        local.format("%Y-%m-%d").to_string(),
        local.format("%H:%M:%S").to_string(),
    );
    let scheduled = console
        .post(
            "/console/pages/winter-vaccines/publish",
            &[("when", "later"), ("date", &day), ("time", &clock)],
        )
        .await;
    assert_eq!(scheduled.status(), StatusCode::SEE_OTHER);
    assert_eq!(
        location(&scheduled),
        "/console/pages/winter-vaccines?scheduled=1"
    );
    let page = draft(&app, &editor, "winter-vaccines", "bn").await;
    let scheduled_at = chrono::DateTime::parse_from_rfc3339(page["scheduledAt"].as_str().unwrap())
        .unwrap()
        .with_timezone(&chrono::Utc);
    assert!(
        (scheduled_at - at).num_seconds().abs() <= 1,
        "{scheduled_at} is {at} in UK time"
    );
    let list = console.page("/console/pages").await;
    let row = list
        .split("<tr>")
        .find(|row| row.contains("/console/pages/winter-vaccines"))
        .unwrap();
    assert!(row.contains("Scheduled"), "{row}");
    assert!(
        row.contains(&local.format("%H:%M UK time").to_string()),
        "{row}"
    );
    assert!(public(&app, "winter-vaccines", "bn").await.is_null());

    let deadline = std::time::Instant::now() + Duration::from_secs(15);
    loop {
        let live = public(&app, "winter-vaccines", "bn").await;
        if !live.is_null() {
            assert_eq!(live["locale"], "bn");
            assert_eq!(live["title"], "শীতের টিকা");
            assert!(
                chrono::Utc::now() >= at,
                "not before its time: {} < {at}",
                chrono::Utc::now()
            );
            break;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "not published within 15 s"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let screen = console.page("/console/pages/winter-vaccines").await;
    assert!(screen.contains("Published"), "{screen}");
    assert!(screen.contains("Live since"), "{screen}");
}

#[tokio::test]
async fn revisions_are_compared_line_by_line_restored_and_a_stale_restore_meets_the_version_check()
{
    let app = TestApp::spawn().await;
    let editor = app.staff(&[Role::Editor]).await;
    let console = Console::sign_in(&app, &editor).await;
    make_page(
        &console,
        "opening-hours",
        "Opening hours",
        "Monday to Friday\nClosed at weekends\nPhone first",
    )
    .await;
    let saved = console
        .post(
            "/console/pages/opening-hours",
            &drafts_form(
                "1",
                "save-en",
                (
                    "Opening hours",
                    "Monday to Friday\nSaturday mornings\nPhone first\nNo appointment needed",
                ),
                ("", ""),
            ),
        )
        .await;
    assert_eq!(saved.status(), StatusCode::SEE_OTHER);

    let list = console.page("/console/pages/opening-hours/revisions").await;
    assert!(list.contains("Every saved draft, newest first"));
    assert!(list.contains(
        r#"href="/console/pages/opening-hours/revisions?from=1&amp;to=2">Compare with version 1</a>"#
    ));
    let compared = console
        .page("/console/pages/opening-hours/revisions?from=1&to=2")
        .await;
    assert!(
        compared.contains("From version 1 to version 2"),
        "{compared}"
    );
    assert!(
        compared.contains("1 line removed, 2 lines added."),
        "{compared}"
    );
    assert!(compared.contains(
        r#"<span class="diff-label">Removed</span><del lang="en">Closed at weekends</del>"#
    ));
    assert!(compared.contains(
        r#"<span class="diff-label">Added</span><ins lang="en">Saturday mornings</ins>"#
    ));
    assert!(compared.contains(
        r#"<span class="diff-label">Added</span><ins lang="en">No appointment needed</ins>"#
    ));
    assert!(compared.contains(r#"<span lang="en">Monday to Friday</span>"#));
    assert!(compared.contains("The title is the same."));

    let missing = console
        .get("/console/pages/opening-hours/revisions?from=1&to=99")
        .await;
    assert_eq!(missing.status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert!(missing.text().await.unwrap().contains(
        r##"<a href="#compare-to">There is no version 99 of this page to compare.</a>"##
    ));

    // Restoring version 1, having read version 2.
    let restored = console
        .post(
            "/console/pages/opening-hours/revisions/restore",
            &[("version", "1"), ("expected_version", "2")],
        )
        .await;
    assert_eq!(restored.status(), StatusCode::SEE_OTHER);
    assert_eq!(
        location(&restored),
        "/console/pages/opening-hours?restored=1"
    );
    let page = draft(&app, &editor, "opening-hours", "en").await;
    assert_eq!(page["version"], 3);
    assert_eq!(
        page["body"],
        "Monday to Friday\nClosed at weekends\nPhone first"
    );

    // Another restore from a list read at version 2 meets the check.
    let stale = console
        .post(
            "/console/pages/opening-hours/revisions/restore",
            &[("version", "2"), ("expected_version", "2")],
        )
        .await;
    assert_eq!(stale.status(), StatusCode::CONFLICT);
    let stale = stale.text().await.unwrap();
    assert!(
        stale.contains("Someone else saved this page first"),
        "{stale}"
    );
    assert!(
        stale.contains("Test Persona saved the English text at"),
        "{stale}"
    );
    assert!(stale.contains("(version 3)"), "{stale}");
    assert!(stale.contains("Nothing was restored."));
    assert!(
        stale.contains(r#"name="expected_version" value="3""#),
        "{stale}"
    );
    assert_eq!(
        draft(&app, &editor, "opening-hours", "en").await["version"],
        3
    );

    // So does a save from a form read at version 2.
    let stale = console
        .post(
            "/console/pages/opening-hours",
            &drafts_form("2", "save-en", ("Opening hours", "My own words"), ("", "")),
        )
        .await;
    assert_eq!(stale.status(), StatusCode::CONFLICT);
    let stale = stale.text().await.unwrap();
    assert!(
        stale.contains("Someone else saved this page while you were working on it"),
        "{stale}"
    );
    assert!(stale.contains("My own words"), "the editor's text is kept");
    assert_eq!(
        draft(&app, &editor, "opening-hours", "en").await["body"],
        "Monday to Friday\nClosed at weekends\nPhone first"
    );
}

#[tokio::test]
async fn an_editor_changes_the_organisations_vision_in_both_languages_and_the_public_api_shows_it()
{
    let app = TestApp::spawn().await;
    let editor = app.staff(&[Role::Editor]).await;
    let console = Console::sign_in(&app, &editor).await;
    let screen = console.page("/console/organisation").await;
    assert!(screen.contains("Tower Hamlets Together"));
    assert!(screen.contains("There is no Bengali text yet"));
    assert!(screen.contains(r#"<textarea id="bn-vision" name="bn_vision" rows="3" lang="bn""#));
    let en = app
        .data(
            "{ organisation(locale: \"en\") { name mission purpose values { title description } } }",
            json!({}),
        )
        .await["organisation"]
        .clone();
    let vision = "Healthier lives for everyone in Tower Hamlets, together.";
    let mut form: Vec<(String, String)> = vec![
        ("action".into(), "save-en".into()),
        ("en_name".into(), en["name"].as_str().unwrap().into()),
        ("en_vision".into(), vision.into()),
        ("en_mission".into(), en["mission"].as_str().unwrap().into()),
        ("en_purpose".into(), en["purpose"].as_str().unwrap().into()),
    ];
    for (slot, value) in en["values"].as_array().unwrap().iter().enumerate() {
        form.push((
            format!("en_value_title_{slot}"),
            value["title"].as_str().unwrap().into(),
        ));
        form.push((
            format!("en_value_description_{slot}"),
            value["description"].as_str().unwrap_or_default().into(),
        ));
    }
    let fields: Vec<(&str, &str)> = form
        .iter()
        .map(|(name, value)| (name.as_str(), value.as_str()))
        .collect();
    let saved = console.post("/console/organisation", &fields).await;
    assert_eq!(saved.status(), StatusCode::SEE_OTHER);
    assert_eq!(location(&saved), "/console/organisation?saved=en");
    let public = app
        .data(
            "{ organisation(locale: \"en\") { vision values { title } } }",
            json!({}),
        )
        .await;
    assert_eq!(public["organisation"]["vision"], vision);
    assert_eq!(public["organisation"]["values"], {
        let titles: Vec<Value> = en["values"]
            .as_array()
            .unwrap()
            .iter()
            .map(|value| json!({ "title": value["title"] }))
            .collect();
        json!(titles)
    });

    // Bengali, new: a missing name is refused and linked; then it saves.
    let bengali = [
        ("action", "save-bn"),
        ("bn_name", ""),
        ("bn_vision", "একসাথে টাওয়ার হ্যামলেটসের মানুষের স্বাস্থ্যের উন্নতি।"),
        ("bn_mission", "মানুষের জীবনে সত্যিকারের পরিবর্তন আনা।"),
        ("bn_purpose", "আমরা একসাথে কাজ করি।"),
        ("bn_value_title_0", "আমরা সহযোগী"),
        ("bn_value_description_0", ""),
        ("bn_value_title_1", ""),
        ("bn_value_description_1", "শিরোনাম ছাড়া বর্ণনা"),
    ];
    let refused = console.post("/console/organisation", &bengali).await;
    assert_eq!(refused.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let refused = refused.text().await.unwrap();
    assert!(
        refused.contains(r##"<a href="#bn-name">The Bengali name must not be empty.</a>"##),
        "{refused}"
    );
    let mut bengali = bengali.to_vec();
    bengali[1] = ("bn_name", "টাওয়ার হ্যামলেটস টুগেদার");
    let refused = console.post("/console/organisation", &bengali).await;
    assert_eq!(refused.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let refused = refused.text().await.unwrap();
    assert!(
        refused.contains(
            r##"<a href="#bn-value-title-1">The Bengali name of value 2 must not be empty.</a>"##
        ),
        "the value's own row is named: {refused}"
    );
    bengali.truncate(7);
    let saved = console.post("/console/organisation", &bengali).await;
    assert_eq!(saved.status(), StatusCode::SEE_OTHER);
    let public = app
        .data(
            "{ organisation(locale: \"bn\") { locale name vision values { title } } }",
            json!({}),
        )
        .await;
    assert_eq!(public["organisation"]["locale"], "bn");
    assert_eq!(
        public["organisation"]["vision"],
        "একসাথে টাওয়ার হ্যামলেটসের মানুষের স্বাস্থ্যের উন্নতি।"
    );
    assert_eq!(
        public["organisation"]["values"],
        json!([{ "title": "আমরা সহযোগী" }])
    );
    let screen = console.page("/console/organisation?saved=bn").await;
    assert!(screen.contains("Bengali text is saved. It is public now."));
}

#[tokio::test]
async fn a_moderator_is_refused_the_editors_screens_and_their_forged_writes() {
    let app = TestApp::spawn().await;
    let editor = app.staff(&[Role::Editor]).await;
    let moderator = app.staff(&[Role::Moderator]).await;
    let as_editor = Console::sign_in(&app, &editor).await;
    make_page(&as_editor, "draft-only", "Draft only", "Not public.").await;
    let before = draft(&app, &editor, "draft-only", "en").await;

    let console = Console::sign_in(&app, &moderator).await;
    let queue = console.page("/console/queue").await;
    assert!(!queue.contains(r#"href="/console/pages""#), "no Pages link");
    for path in [
        "/console/pages",
        "/console/pages/draft-only",
        "/console/pages/draft-only/revisions",
        "/console/organisation",
    ] {
        assert_eq!(
            console.get(path).await.status(),
            StatusCode::FORBIDDEN,
            "GET {path}"
        );
    }
    // The moderator's own valid token does not get past the API's guards.
    for (path, form) in [
        (
            "/console/pages",
            vec![("slug", "forged"), ("en_title", "F"), ("en_body", "F")],
        ),
        (
            "/console/pages/draft-only",
            drafts_form("1", "save-en", ("Forged", "Forged"), ("", "")),
        ),
        ("/console/pages/draft-only/publish", vec![("when", "now")]),
        ("/console/pages/draft-only/withdraw", vec![]),
        (
            "/console/pages/draft-only/revisions/restore",
            vec![("version", "1"), ("expected_version", "1")],
        ),
        ("/console/pages/draft-only/preview", vec![("body", "x")]),
        (
            "/console/organisation",
            vec![
                ("action", "save-en"),
                ("en_name", "Forged"),
                ("en_vision", "Forged"),
                ("en_mission", "Forged"),
                ("en_purpose", "Forged"),
            ],
        ),
    ] {
        let response = console.post(path, &form).await;
        assert_eq!(response.status(), StatusCode::FORBIDDEN, "POST {path}");
    }
    assert_eq!(draft(&app, &editor, "draft-only", "en").await, before);
    assert!(public(&app, "draft-only", "en").await.is_null());
    assert!(draft(&app, &editor, "forged", "en").await.is_null());
    let organisation = app.data("{ organisation { name } }", json!({})).await;
    assert_eq!(
        organisation["organisation"]["name"],
        "Tower Hamlets Together"
    );
}

#[tokio::test]
async fn an_editors_write_without_the_anti_forgery_token_or_from_another_site_changes_nothing() {
    let app = TestApp::spawn().await;
    let editor = app.staff(&[Role::Editor]).await;
    let console = Console::sign_in(&app, &editor).await;
    make_page(&console, "guarded", "Guarded", "The first text.").await;
    let before = draft(&app, &editor, "guarded", "en").await;
    let form = drafts_form("1", "save-en", ("Changed", "Changed text."), ("", ""));

    let without = console.post_raw("/console/pages/guarded", &form).await;
    assert_eq!(without.status(), StatusCode::FORBIDDEN);
    let mut wrong = form.clone();
    wrong.push(("csrf", "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"));
    let wrong = console.post_raw("/console/pages/guarded", &wrong).await;
    assert_eq!(wrong.status(), StatusCode::FORBIDDEN);
    for path in [
        "/console/pages/guarded/publish",
        "/console/pages/guarded/withdraw",
        "/console/organisation",
    ] {
        let response = console.post_raw(path, &[("when", "now")]).await;
        assert_eq!(response.status(), StatusCode::FORBIDDEN, "POST {path}");
    }
    let mut with_token = form.clone();
    with_token.push(("csrf", console.csrf.as_str()));
    let cross_site = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap()
        .post(app.url("/console/pages/guarded"))
        .header(COOKIE, &console.cookies)
        .header("origin", "https://evil.example")
        .form(&with_token)
        .send()
        .await
        .unwrap();
    assert_eq!(cross_site.status(), StatusCode::FORBIDDEN);
    assert_eq!(draft(&app, &editor, "guarded", "en").await, before);
    assert!(public(&app, "guarded", "en").await.is_null());

    // With the token, the same save goes through.
    let saved = console.post("/console/pages/guarded", &form).await;
    assert_eq!(saved.status(), StatusCode::SEE_OTHER);
    assert_eq!(
        draft(&app, &editor, "guarded", "en").await["title"],
        "Changed"
    );
}

#[tokio::test]
async fn the_api_lists_every_page_for_editors_only_and_previews_a_body_as_bodyhtml_renders_it() {
    let app = TestApp::spawn().await;
    let editor = app.staff(&[Role::Editor]).await;
    let moderator = app.staff(&[Role::Moderator]).await;
    let saved = app
        .data_as(
            &editor,
            "mutation($input: SavePageInput!) { savePage(input: $input) { id } }",
            json!({ "input": { "slug": "only-in-bengali", "locale": "bn",
                               "title": "শুধু বাংলায়", "body": "লেখা" } }),
        )
        .await;
    let id = saved["savePage"]["id"].clone();
    const ALL: &str = "{ allPages { id slug locale title status version publishedVersion
                        scheduledAt availableLocales } }";
    let all = app.data_as(&editor, ALL, json!({})).await;
    let pages = all["allPages"].as_array().unwrap();
    let slugs: Vec<&str> = pages.iter().map(|p| p["slug"].as_str().unwrap()).collect();
    let mut sorted = slugs.clone();
    sorted.sort_unstable();
    assert_eq!(slugs, sorted, "in slug order");
    assert!(slugs.contains(&"vision-and-purpose"));
    let bengali = pages
        .iter()
        .find(|page| page["id"] == id)
        .expect("a draft in Bengali alone is listed");
    assert_eq!(bengali["locale"], "bn");
    assert_eq!(bengali["status"], "DRAFT");
    assert!(bengali["publishedVersion"].is_null());
    let seeded = pages
        .iter()
        .find(|page| page["slug"] == "vision-and-purpose")
        .unwrap();
    assert_eq!(seeded["status"], "PUBLISHED");
    assert_eq!(seeded["publishedVersion"], seeded["version"]);

    let refused = app.graphql_as(&moderator, ALL, json!({})).await;
    assert_eq!(first_error_code(&refused), "FORBIDDEN");
    let refused = app.graphql(ALL, json!({})).await;
    assert_eq!(first_error_code(&refused), "UNAUTHENTICATED");

    const PREVIEW_BODY: &str = "query($body: String!) { previewPageBody(body: $body) }";
    let body =
        "# Hello {#top .big onclick=alert(1)}\n\n<script>x</script>\n\n[a](javascript:alert(1))";
    let html = app
        .data_as(&editor, PREVIEW_BODY, json!({ "body": body }))
        .await["previewPageBody"]
        .as_str()
        .unwrap()
        .to_owned();
    assert!(
        html.contains(r#"<h1 id="top" class="big">Hello</h1>"#),
        "{html}"
    );
    assert!(!html.contains("onclick"), "{html}");
    assert!(html.contains("&lt;script&gt;"), "{html}");
    assert!(html.contains(r##"href="#""##), "{html}");
    // The same HTML as the saved draft's bodyHtml.
    let saved = app
        .data_as(
            &editor,
            "mutation($input: SavePageInput!) { savePage(input: $input) { bodyHtml } }",
            json!({ "input": { "slug": "markup", "title": "Markup", "body": body } }),
        )
        .await;
    assert_eq!(saved["savePage"]["bodyHtml"], html);
    let empty = app
        .graphql_as(&editor, PREVIEW_BODY, json!({ "body": "  " }))
        .await;
    assert_eq!(first_error_code(&empty), "BAD_USER_INPUT");
    let refused = app
        .graphql_as(&moderator, PREVIEW_BODY, json!({ "body": "x" }))
        .await;
    assert_eq!(first_error_code(&refused), "FORBIDDEN");
}
