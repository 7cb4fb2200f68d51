//! Editorial work through HTTP: drafts and the public, publishing now and on
//! a schedule (also across a restart), revisions, locales, accessibility,
//! caches, webhooks, erasure and retention.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use hamlet::staff::model::Role;
use serde_json::{Value, json};

use crate::helpers::{Staff, TestApp, feedback, first_error_code, idea};

const SAVE: &str = "mutation($input: SavePageInput!) {
  savePage(input: $input) { id slug locale title body status version availableLocales
    media { kind title transcript captionsUrl altText } }
}";

const PUBLISH: &str = "mutation($id: ID!, $at: DateTime) {
  publishPage(id: $id, at: $at) { id status version publishedAt scheduledAt }
}";

const PUBLIC_PAGE: &str = "query($slug: String!, $locale: String) {
  page(slug: $slug, locale: $locale) { id title body locale version availableLocales }
}";

const PREVIEW: &str = "query($slug: String!, $locale: String) {
  page(slug: $slug, locale: $locale, preview: true) { id title body locale status version
    revisions { version locale title author { id } } }
}";

fn draft(slug: &str, title: &str) -> Value {
    json!({ "slug": slug, "title": title, "summary": "Where and when.",
            "body": "Come along on **Thursday** evenings." })
}

async fn save(app: &TestApp, editor: &Staff, input: Value) -> Value {
    app.data_as(editor, SAVE, json!({ "input": input })).await["savePage"].clone()
}

async fn public_page(app: &TestApp, slug: &str) -> Value {
    app.data(PUBLIC_PAGE, json!({ "slug": slug })).await["page"].clone()
}

#[tokio::test]
async fn a_draft_is_never_public_until_it_is_published() {
    let app = TestApp::spawn().await;
    let editor = app.staff(&[Role::Editor]).await;
    let page = save(&app, &editor, draft("evening-clinics", "Evening clinics")).await;
    assert_eq!(page["status"], "DRAFT");
    assert_eq!(page["version"], 1);
    assert!(public_page(&app, "evening-clinics").await.is_null());
    let pages = app.data("{ pages { totalCount } }", json!({})).await;
    let before = pages["pages"]["totalCount"].clone();

    // Staff preview it; the public cannot ask to.
    let preview = app
        .data_as(&editor, PREVIEW, json!({ "slug": "evening-clinics" }))
        .await;
    assert_eq!(preview["page"]["title"], "Evening clinics");
    let refused = app
        .graphql(PREVIEW, json!({ "slug": "evening-clinics" }))
        .await;
    assert_eq!(first_error_code(&refused), "UNAUTHENTICATED");
    let moderator = app.staff(&[Role::Moderator]).await;
    let refused = app
        .graphql_as(&moderator, PREVIEW, json!({ "slug": "evening-clinics" }))
        .await;
    assert_eq!(first_error_code(&refused), "FORBIDDEN");

    let published = app
        .data_as(&editor, PUBLISH, json!({ "id": page["id"] }))
        .await;
    assert_eq!(published["publishPage"]["status"], "PUBLISHED");
    let public = public_page(&app, "evening-clinics").await;
    assert_eq!(public["title"], "Evening clinics");
    let pages = app.data("{ pages { totalCount } }", json!({})).await;
    assert_eq!(pages["pages"]["totalCount"], before.as_i64().unwrap() + 1);
    let found = app
        .data(
            "{ search(text: \"thursday evenings\") { slug } }",
            json!({}),
        )
        .await;
    assert_eq!(found["search"][0]["slug"], "evening-clinics");

    // A new draft of a published page leaves the public text alone.
    let changed = save(
        &app,
        &editor,
        json!({ "id": page["id"], "expectedVersion": 1, "slug": "evening-clinics",
                "title": "Evening clinics (new times)", "body": "Now on Wednesdays." }),
    )
    .await;
    assert_eq!(changed["version"], 2);
    assert_eq!(
        public_page(&app, "evening-clinics").await["title"],
        "Evening clinics"
    );
    let preview = app
        .data_as(&editor, PREVIEW, json!({ "slug": "evening-clinics" }))
        .await;
    assert_eq!(preview["page"]["title"], "Evening clinics (new times)");
    assert_eq!(preview["page"]["status"], "PUBLISHED");

    // Unpublishing takes it away, from search too.
    app.data_as(
        &editor,
        "mutation($id: ID!) { unpublishPage(id: $id) { status } }",
        json!({ "id": page["id"] }),
    )
    .await;
    assert!(public_page(&app, "evening-clinics").await.is_null());
    let found = app
        .data(
            "{ search(text: \"thursday evenings\") { slug } }",
            json!({}),
        )
        .await;
    assert_eq!(found["search"], json!([]));
}

#[tokio::test]
async fn saving_needs_the_version_read_and_a_free_slug() {
    let app = TestApp::spawn().await;
    let editor = app.staff(&[Role::Editor]).await;
    let page = save(&app, &editor, draft("carers-cafe", "Carers' cafe")).await;
    let id = page["id"].clone();
    for (input, code) in [
        // No version for an existing page.
        (
            json!({ "id": id, "slug": "carers-cafe", "title": "T", "body": "B" }),
            "BAD_USER_INPUT",
        ),
        // A stale version.
        (
            json!({ "id": id, "expectedVersion": 7, "slug": "carers-cafe", "title": "T", "body": "B" }),
            "CONFLICT",
        ),
        // A slug another page has.
        (
            json!({ "id": id, "expectedVersion": 1, "slug": "vision-and-purpose", "title": "T", "body": "B" }),
            "CONFLICT",
        ),
        (
            json!({ "slug": "vision-and-purpose", "title": "T", "body": "B" }),
            "CONFLICT",
        ),
        (
            json!({ "slug": "Not A Slug", "title": "T", "body": "B" }),
            "BAD_USER_INPUT",
        ),
        (
            json!({ "slug": "fine", "title": "  ", "body": "B" }),
            "BAD_USER_INPUT",
        ),
        (
            json!({ "slug": "fine", "title": "T", "body": "B", "locale": "nonsense!" }),
            "BAD_USER_INPUT",
        ),
        (
            json!({ "slug": "fine", "title": "T", "body": "B",
                 "media": [{ "kind": "VIDEO", "title": "V", "url": "javascript:alert(1)" }] }),
            "BAD_USER_INPUT",
        ),
    ] {
        let body = app
            .graphql_as(&editor, SAVE, json!({ "input": input }))
            .await;
        assert_eq!(first_error_code(&body), code, "{input}");
    }
    let preview = app
        .data_as(&editor, PREVIEW, json!({ "slug": "carers-cafe" }))
        .await;
    assert_eq!(preview["page"]["version"], 1, "nothing was saved");
    assert_eq!(preview["page"]["revisions"].as_array().unwrap().len(), 1);
    assert!(
        app.data_as(&editor, PREVIEW, json!({ "slug": "fine" }))
            .await["page"]
            .is_null()
    );
}

#[tokio::test]
async fn revisions_are_kept_with_their_authors_and_an_old_one_can_be_restored() {
    let app = TestApp::spawn().await;
    let editor = app.staff(&[Role::Editor]).await;
    let other = app.staff(&[Role::Editor]).await;
    let page = save(&app, &editor, draft("walking-groups", "Walking groups")).await;
    let id = page["id"].clone();
    save(
        &app,
        &other,
        json!({ "id": id, "expectedVersion": 1, "slug": "walking-groups",
                "title": "Walking groups: a mistake", "body": "Oops." }),
    )
    .await;
    let preview = app
        .data_as(&editor, PREVIEW, json!({ "slug": "walking-groups" }))
        .await;
    let revisions = preview["page"]["revisions"].as_array().unwrap();
    assert_eq!(revisions.len(), 2);
    assert_eq!(revisions[0]["version"], 2, "newest first");
    assert_eq!(revisions[0]["author"]["id"], other.id.as_str());
    assert_eq!(revisions[1]["author"]["id"], editor.id.as_str());

    let restored = app
        .data_as(
            &editor,
            "mutation($id: ID!) { restorePageRevision(id: $id, version: 1, expectedVersion: 2) { title version } }",
            json!({ "id": id }),
        )
        .await;
    assert_eq!(restored["restorePageRevision"]["title"], "Walking groups");
    assert_eq!(restored["restorePageRevision"]["version"], 3);
    let stale = app
        .graphql_as(
            &editor,
            "mutation($id: ID!) { restorePageRevision(id: $id, version: 1, expectedVersion: 2) { version } }",
            json!({ "id": id }),
        )
        .await;
    assert_eq!(first_error_code(&stale), "CONFLICT");
    app.data_as(&editor, PUBLISH, json!({ "id": id })).await;
    assert_eq!(
        public_page(&app, "walking-groups").await["title"],
        "Walking groups"
    );
}

#[tokio::test]
async fn each_locale_has_its_own_text_and_readers_get_their_first_available_locale() {
    let app = TestApp::spawn().await;
    let editor = app.staff(&[Role::Editor]).await;
    let page = save(&app, &editor, draft("stop-smoking", "Stop smoking service")).await;
    let id = page["id"].clone();
    let bengali = save(
        &app,
        &editor,
        json!({ "id": id, "expectedVersion": 1, "slug": "stop-smoking", "locale": "bn",
                "title": "ধূমপান ছাড়ার সেবা", "body": "বিনামূল্যে সাহায্য।" }),
    )
    .await;
    assert_eq!(bengali["locale"], "bn");
    assert_eq!(bengali["availableLocales"], json!(["bn", "en"]));
    app.data_as(&editor, PUBLISH, json!({ "id": id })).await;

    let ask = |locale: &'static str| {
        let app = &app;
        async move {
            app.data(
                PUBLIC_PAGE,
                json!({ "slug": "stop-smoking", "locale": locale }),
            )
            .await["page"]
                .clone()
        }
    };
    assert_eq!(ask("bn").await["title"], "ধূমপান ছাড়ার সেবা");
    assert_eq!(ask("bn-BD").await["locale"], "bn");
    // Somali first, then Bengali: no Somali, so Bengali.
    assert_eq!(ask("so,bn").await["locale"], "bn");
    // Somali then Polish: neither, so English.
    let english = ask("so, pl").await;
    assert_eq!(english["locale"], "en");
    assert_eq!(english["availableLocales"], json!(["bn", "en"]));
    let bad = app
        .graphql(
            PUBLIC_PAGE,
            json!({ "slug": "stop-smoking", "locale": "so,,bn" }),
        )
        .await;
    assert_eq!(bad["errors"][0]["extensions"]["field"], "locale");

    // The organisation has locales too.
    let updated = app
        .data_as(
            &editor,
            "mutation($input: OrganisationInput!) { updateOrganisation(input: $input) { locale name values { position title } } }",
            json!({ "input": { "locale": "so", "name": "Tower Hamlets Together",
                "vision": "Inaan si wada jir ah u shaqeyno.", "mission": "M", "purpose": "P",
                "values": [{ "title": "Wada shaqeyn" }, { "title": "Naxariis", "description": "D" }] } }),
        )
        .await;
    assert_eq!(updated["updateOrganisation"]["locale"], "so");
    assert_eq!(updated["updateOrganisation"]["values"][1]["position"], 2);
    let organisation = app
        .data(
            "{ organisation(locale: \"so\") { vision locale availableLocales } }",
            json!({}),
        )
        .await;
    assert_eq!(
        organisation["organisation"]["vision"],
        "Inaan si wada jir ah u shaqeyno."
    );
    assert!(
        organisation["organisation"]["availableLocales"]
            .as_array()
            .unwrap()
            .contains(&json!("so"))
    );
}

#[tokio::test]
async fn video_needs_a_transcript_or_captions_and_images_alt_text_before_publishing() {
    let app = TestApp::spawn().await;
    let editor = app.staff(&[Role::Editor]).await;
    let mut input = draft("launch-film", "Our launch film");
    input["media"] = json!([
        { "kind": "VIDEO", "title": "Launch film", "url": "https://video.example/launch.mp4" },
        { "kind": "IMAGE", "title": "Launch photo", "url": "https://img.example/launch.jpg" }
    ]);
    let page = save(&app, &editor, input).await;
    let id = page["id"].clone();
    let refused = app.graphql_as(&editor, PUBLISH, json!({ "id": id })).await;
    assert_eq!(first_error_code(&refused), "BAD_USER_INPUT");
    assert_eq!(refused["errors"][0]["extensions"]["field"], "media[0]");
    let refused = app
        .graphql_as(
            &editor,
            PUBLISH,
            json!({ "id": id, "at": "2099-01-01T00:00:00Z" }),
        )
        .await;
    assert_eq!(
        first_error_code(&refused),
        "BAD_USER_INPUT",
        "scheduling checks too"
    );
    assert!(public_page(&app, "launch-film").await.is_null());

    let mut input = draft("launch-film", "Our launch film");
    input["id"] = id.clone();
    input["expectedVersion"] = json!(1);
    input["media"] = json!([
        { "kind": "VIDEO", "title": "Launch film", "url": "https://video.example/launch.mp4",
          "captionsUrl": "https://video.example/launch.vtt" },
        { "kind": "IMAGE", "title": "Launch photo", "url": "https://img.example/launch.jpg" }
    ]);
    save(&app, &editor, input.clone()).await;
    let refused = app.graphql_as(&editor, PUBLISH, json!({ "id": id })).await;
    assert_eq!(refused["errors"][0]["extensions"]["field"], "media[1]");
    input["expectedVersion"] = json!(2);
    input["media"][1]["altText"] = json!("Residents cutting a ribbon at the launch");
    save(&app, &editor, input).await;
    app.data_as(&editor, PUBLISH, json!({ "id": id })).await;
    let public = app
        .data(
            "{ page(slug: \"launch-film\") { media { kind captionsUrl altText } } }",
            json!({}),
        )
        .await;
    assert_eq!(
        public["page"]["media"][1]["altText"],
        "Residents cutting a ribbon at the launch"
    );
}

#[tokio::test]
async fn a_scheduled_page_is_published_on_time_even_across_a_restart() {
    let app = TestApp::spawn().await;
    let editor = app.staff(&[Role::Editor]).await;
    let page = save(&app, &editor, draft("winter-vaccines", "Winter vaccines")).await;
    let at = chrono::Utc::now() + chrono::Duration::seconds(3);
    let scheduled = app
        .data_as(&editor, PUBLISH, json!({ "id": page["id"], "at": at }))
        .await;
    assert_eq!(scheduled["publishPage"]["status"], "DRAFT");
    assert!(scheduled["publishPage"]["scheduledAt"].is_string());
    assert!(public_page(&app, "winter-vaccines").await.is_null());

    // The server stops before the time and a new one starts.
    let app = app.restart().await;
    assert!(
        public_page(&app, "winter-vaccines").await.is_null(),
        "not before its time"
    );
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    loop {
        let page = public_page(&app, "winter-vaccines").await;
        if !page.is_null() {
            assert_eq!(page["title"], "Winter vaccines");
            break;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "not published within 10 s"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let admin = app.staff(&[Role::Admin]).await;
    let audit = app
        .data_as(
            &admin,
            "query($s: ID) { auditLog(subjectId: $s) { edges { node { action actor { id } } } } }",
            json!({ "s": page["id"] }),
        )
        .await;
    let actions: Vec<&str> = audit["auditLog"]["edges"]
        .as_array()
        .unwrap()
        .iter()
        .map(|edge| edge["node"]["action"].as_str().unwrap())
        .collect();
    assert_eq!(actions, ["page.published", "page.scheduled", "page.saved"]);
    assert!(
        audit["auditLog"]["edges"][0]["node"]["actor"].is_null(),
        "the scheduler did it"
    );
}

#[tokio::test]
async fn a_content_change_changes_the_etag_at_once() {
    let app = TestApp::spawn().await;
    let editor = app.staff(&[Role::Editor]).await;
    let params = [("query", "{ organisation { vision } }")];
    let first = app.get(&params, crate::helpers::headers(&[])).await;
    let etag = first.headers()["etag"].to_str().unwrap().to_owned();
    let again = app
        .get(
            &params,
            crate::helpers::headers(&[("if-none-match", &etag)]),
        )
        .await;
    assert_eq!(again.status(), 304);
    app.data_as(
        &editor,
        "mutation($input: OrganisationInput!) { updateOrganisation(input: $input) { vision } }",
        json!({ "input": { "name": "Tower Hamlets Together", "vision": "A new vision.",
            "mission": "M", "purpose": "P", "values": [] } }),
    )
    .await;
    let after = app
        .get(
            &params,
            crate::helpers::headers(&[("if-none-match", &etag)]),
        )
        .await;
    assert_eq!(after.status(), 200);
    assert_ne!(after.headers()["etag"].to_str().unwrap(), etag);
    let body: Value = after.json().await.unwrap();
    assert_eq!(body["data"]["organisation"]["vision"], "A new vision.");
}

/// A webhook receiver on 127.0.0.1 that fails its first `failures` calls.
async fn receiver(failures: usize) -> (String, Arc<Mutex<Vec<(axum::http::HeaderMap, String)>>>) {
    let received: Arc<Mutex<Vec<(axum::http::HeaderMap, String)>>> = Arc::default();
    let calls = Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let kept = received.clone();
    let router = axum::Router::new().route(
        "/hook",
        axum::routing::post(move |headers: axum::http::HeaderMap, body: String| {
            let kept = kept.clone();
            let calls = calls.clone();
            async move {
                kept.lock().unwrap().push((headers, body));
                if calls.fetch_add(1, std::sync::atomic::Ordering::SeqCst) < failures {
                    axum::http::StatusCode::SERVICE_UNAVAILABLE
                } else {
                    axum::http::StatusCode::NO_CONTENT
                }
            }
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, router).await });
    (format!("http://{address}/hook"), received)
}

fn verify(secret: &str, headers: &axum::http::HeaderMap, body: &str) -> bool {
    use hmac::Mac as _;
    let signature = headers["x-hamlet-signature"].to_str().unwrap();
    let (t, v1) = signature.split_once(',').unwrap();
    let t = t.strip_prefix("t=").unwrap();
    let v1 = v1.strip_prefix("v1=").unwrap();
    let mut mac = hmac::Hmac::<sha2::Sha256>::new_from_slice(secret.as_bytes()).unwrap();
    mac.update(format!("{t}.{body}").as_bytes());
    mac.verify_slice(&hex::decode(v1).unwrap()).is_ok()
}

#[tokio::test]
async fn webhooks_get_signed_deliveries_retried_until_they_succeed() {
    let app = TestApp::spawn().await;
    let admin = app.staff(&[Role::Admin]).await;
    let editor = app.staff(&[Role::Editor]).await;
    let (url, received) = receiver(2).await;
    let created = app
        .data_as(
            &admin,
            "mutation($url: String!) { createWebhook(url: $url) { webhook { id url } secret } }",
            json!({ "url": url }),
        )
        .await;
    let secret = created["createWebhook"]["secret"]
        .as_str()
        .unwrap()
        .to_owned();

    let page = save(&app, &editor, draft("flu-clinic", "Flu clinic")).await;
    // Delivery happens after the publish has answered, so a failing receiver
    // never slows the edit; how long the publish takes meanwhile is the
    // benchmark's to say (`hamlet-bench --workloads publish-webhook`).
    app.data_as(&editor, PUBLISH, json!({ "id": page["id"] }))
        .await;

    let deadline = std::time::Instant::now() + Duration::from_secs(15);
    while received.lock().unwrap().len() < 3 {
        assert!(
            std::time::Instant::now() < deadline,
            "three attempts within 15 s"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let calls = received.lock().unwrap().clone();
    let ids: Vec<&str> = calls
        .iter()
        .map(|(headers, _)| headers["x-hamlet-delivery"].to_str().unwrap())
        .collect();
    assert!(ids.iter().all(|id| *id == ids[0]), "one delivery, retried");
    for (headers, body) in &calls {
        assert!(verify(&secret, headers, body), "signed with the secret");
        assert!(!verify("another secret", headers, body));
        assert_eq!(headers["x-hamlet-event"], "page.published");
        let payload: Value = serde_json::from_str(body).unwrap();
        assert_eq!(payload["data"]["slug"], "flu-clinic");
        assert_eq!(payload["event"], "page.published");
    }
    let hooks = app
        .data_as(
            &admin,
            "{ webhooks { deliveries { event attempts deliveredAt lastStatus nextAttemptAt } } }",
            json!({}),
        )
        .await;
    let delivery = &hooks["webhooks"][0]["deliveries"][0];
    assert_eq!(delivery["attempts"], 3);
    assert_eq!(delivery["lastStatus"], 204);
    assert!(delivery["deliveredAt"].is_string());
    assert!(delivery["nextAttemptAt"].is_null());

    // Unpublishing is announced too.
    app.data_as(
        &editor,
        "mutation($id: ID!) { unpublishPage(id: $id) { status } }",
        json!({ "id": page["id"] }),
    )
    .await;
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    while received.lock().unwrap().len() < 4 {
        assert!(std::time::Instant::now() < deadline);
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(
        received.lock().unwrap()[3].0["x-hamlet-event"],
        "page.unpublished"
    );
    let bad = app
        .graphql_as(
            &admin,
            "mutation { createWebhook(url: \"ftp://x\") { secret } }",
            json!({}),
        )
        .await;
    assert_eq!(bad["errors"][0]["extensions"]["field"], "url");
}

#[tokio::test]
async fn erasure_removes_free_text_and_contact_everywhere_but_keeps_the_statistics() {
    let app = TestApp::spawn().await;
    let admin = app.staff(&[Role::Admin]).await;
    let moderator = app.staff(&[Role::Moderator]).await;
    let mut input = feedback();
    input["comment"] = json!("My name is Ada Lovelace and the ward was cold");
    input["rating"] = json!("POOR");
    input["contact"] = json!({ "email": "ada@example.org", "consentToContact": true });
    let reference = app.feedback_reference(input).await;
    let queue = "{ feedbackQueue { edges { node { id reference comment rating contact { email } notes { body } service { slug } } } } }";
    let row = app.data_as(&moderator, queue, json!({})).await;
    let id = row["feedbackQueue"]["edges"][0]["node"]["id"].clone();
    app.data_as(
        &moderator,
        "mutation($id: ID!) { addNote(subjectId: $id, body: \"Ada called back\") { id } }",
        json!({ "id": id }),
    )
    .await;

    let idea_reference = app.idea_reference(idea()).await;
    let ideas = app
        .data_as(&moderator, "{ ideas { edges { node { id } } } }", json!({}))
        .await;
    let idea_id = ideas["ideas"]["edges"][0]["node"]["id"].clone();
    app.data_as(
        &moderator,
        "mutation($id: ID!) { moderateIdea(input: { id: $id, expectedVersion: 1, published: true }) { id } }",
        json!({ "id": idea_id }),
    )
    .await;
    let board = app.data("{ ideaBoard { totalCount } }", json!({})).await;
    assert_eq!(board["ideaBoard"]["totalCount"], 1);

    let erase = "mutation($r: String!) { eraseSubmission(reference: $r) }";
    let refused = app
        .graphql_as(&moderator, erase, json!({ "r": reference }))
        .await;
    assert_eq!(first_error_code(&refused), "FORBIDDEN");
    for r in [&reference, &idea_reference] {
        let done = app.data_as(&admin, erase, json!({ "r": r })).await;
        assert_eq!(done["eraseSubmission"], true);
    }
    let unknown = app
        .graphql_as(&admin, erase, json!({ "r": "FB-0000-0000" }))
        .await;
    assert_eq!(first_error_code(&unknown), "NOT_FOUND");

    let row = app.data_as(&moderator, queue, json!({})).await;
    let node = &row["feedbackQueue"]["edges"][0]["node"];
    assert!(node["comment"].is_null());
    assert!(node["contact"].is_null());
    assert_eq!(node["notes"], json!([]));
    assert_eq!(node["rating"], "POOR", "what statistics need stays");
    assert_eq!(node["service"]["slug"], "royal-london-emergency-department");
    let board = app.data("{ ideaBoard { totalCount } }", json!({})).await;
    assert_eq!(
        board["ideaBoard"]["totalCount"], 0,
        "an erased idea leaves the board"
    );
    let receipt = app
        .data(
            "query($r: String!) { submission(reference: $r) { status } }",
            json!({ "r": reference }),
        )
        .await;
    assert_eq!(
        receipt["submission"]["status"], "NEW",
        "the receipt still tracks"
    );

    // Nothing of it is left in the database.
    let db = app.db().await;
    let dump = dump_text(&db).await;
    for secret in [
        "Ada Lovelace",
        "ada@example.org",
        "Ada called back",
        "Evening drop-in",
    ] {
        assert!(!dump.contains(secret), "{secret:?} is still stored");
    }
    let audit = app
        .data_as(
            &admin,
            "query($s: ID) { auditLog(subjectId: $s) { edges { node { action actor { id } } } } }",
            json!({ "s": id }),
        )
        .await;
    assert_eq!(
        audit["auditLog"]["edges"][0]["node"]["action"],
        "submission.erased"
    );
    assert_eq!(
        audit["auditLog"]["edges"][0]["node"]["actor"]["id"],
        admin.id.as_str()
    );
}

/// Every text column of the tables that hold residents' words, as one string.
async fn dump_text(db: &sea_orm::DatabaseConnection) -> String {
    use sea_orm::{ConnectionTrait as _, Statement};
    let mut all = String::new();
    for (table, columns) in [
        (
            "feedback",
            "coalesce(comment, '') || coalesce(contact_email, '') || coalesce(contact_name, '') || coalesce(public_response, '')",
        ),
        (
            "idea",
            "title || description || coalesce(contact_email, '') || coalesce(public_response, '')",
        ),
        ("moderation_note", "body"),
        ("audit_event", "coalesce(before, '') || coalesce(after, '')"),
    ] {
        let rows = db
            .query_all_raw(Statement::from_string(
                db.get_database_backend(),
                format!("SELECT {columns} AS text FROM {table}"),
            ))
            .await
            .unwrap();
        for row in rows {
            all.push_str(&row.try_get::<String>("", "text").unwrap());
        }
    }
    all
}

#[tokio::test]
async fn retention_purges_old_closed_items_and_nothing_else() {
    let app = TestApp::spawn().await;
    let moderator = app.staff(&[Role::Moderator]).await;
    let old_closed = app
        .feedback_reference({
            let mut input = feedback();
            input["comment"] = json!("Old and closed words");
            input
        })
        .await;
    let old_open = app
        .feedback_reference({
            let mut input = feedback();
            input["comment"] = json!("Old but still open words");
            input
        })
        .await;
    let queue = "{ feedbackQueue { edges { node { id reference comment } } } }";
    let rows = app.data_as(&moderator, queue, json!({})).await;
    let id_of = |reference: &str| {
        rows["feedbackQueue"]["edges"]
            .as_array()
            .unwrap()
            .iter()
            .find(|edge| edge["node"]["reference"] == reference)
            .unwrap()["node"]["id"]
            .clone()
    };
    app.data_as(
        &moderator,
        "mutation($id: ID!) { moderateFeedback(input: { id: $id, expectedVersion: 1, status: CLOSED }) { id } }",
        json!({ "id": id_of(&old_closed) }),
    )
    .await;
    // Age both past the retention period.
    let db = app.db().await;
    {
        use sea_orm::{ConnectionTrait as _, Statement};
        let long_ago = chrono::Utc::now() - chrono::Duration::days(400);
        let backend = db.get_database_backend();
        let sql = match backend {
            sea_orm::DbBackend::Sqlite => "UPDATE feedback SET updated_at = ?",
            _ => "UPDATE feedback SET updated_at = $1",
        };
        db.execute_raw(Statement::from_sql_and_values(
            backend,
            sql,
            [long_ago.into()],
        ))
        .await
        .unwrap();
    }
    let fresh_closed = app.feedback_reference(feedback()).await;
    let rows_now = app.data_as(&moderator, queue, json!({})).await;
    let fresh_id = rows_now["feedbackQueue"]["edges"]
        .as_array()
        .unwrap()
        .iter()
        .find(|edge| edge["node"]["reference"] == fresh_closed.as_str())
        .unwrap()["node"]["id"]
        .clone();
    app.data_as(
        &moderator,
        "mutation($id: ID!) { moderateFeedback(input: { id: $id, expectedVersion: 1, status: CLOSED }) { id } }",
        json!({ "id": fresh_id }),
    )
    .await;

    let out = app.cli(&["purge"]);
    assert!(out.contains("erased 1 feedback"), "{out}");
    let rows = app.data_as(&moderator, queue, json!({})).await;
    let comment_of = |reference: &str| {
        rows["feedbackQueue"]["edges"]
            .as_array()
            .unwrap()
            .iter()
            .find(|edge| edge["node"]["reference"] == reference)
            .unwrap()["node"]["comment"]
            .clone()
    };
    assert!(comment_of(&old_closed).is_null(), "old and closed: purged");
    assert_eq!(
        comment_of(&old_open),
        "Old but still open words",
        "still open: kept"
    );
    assert_eq!(
        comment_of(&fresh_closed),
        "Seen quickly and kindly.",
        "recent: kept"
    );
    // Running it again purges nothing more.
    let out = app.cli(&["purge"]);
    assert!(out.contains("erased 0 feedback"), "{out}");
    let admin = app.staff(&[Role::Admin]).await;
    let audit = app
        .data_as(
            &admin,
            "{ auditLog { edges { node { action after } } } }",
            json!({}),
        )
        .await;
    let purges: Vec<&Value> = audit["auditLog"]["edges"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|edge| edge["node"]["action"] == "retention.purged")
        .collect();
    assert_eq!(
        purges.len(),
        1,
        "audited once, for the run that changed something"
    );
    assert_eq!(purges[0]["node"]["after"]["feedback"], 1);
}
