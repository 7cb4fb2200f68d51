//! Residents' feedback and ideas: receipts, retries, validation, kiosks, rate
//! limits, the honeypot, personal data and the idea board.

use hamlet::submissions::entity::{feedback, idea};
use sea_orm::{ColumnTrait as _, EntityTrait as _, PaginatorTrait as _, QueryFilter as _};
use serde_json::{Value, json};

use crate::helpers::{Seed, TestApp, feedback, first_error_code, headers, idea, key};

const STATUS: &str = "query($r: String!) {
  submission(reference: $r) { reference kind status receivedAt updatedAt publicResponse }
}";

const BOARD: &str = "query($first: Int, $after: String, $order: IdeaOrder, $theme: String) {
  ideaBoard(first: $first, after: $after, order: $order, theme: $theme) {
    totalCount
    pageInfo { hasNextPage endCursor }
    edges { cursor node { id reference title description theme status published publicResponse supportCount } }
  }
}";

const SUPPORT: &str = "mutation($id: ID!, $key: String!) { supportIdea(ideaId: $id, supporterKey: $key) { id supportCount } }";

async fn json_of(response: reqwest::Response) -> Value {
    response.json().await.unwrap()
}

/// Publishes an idea the way a moderator will (moderation arrives with its own
/// feature; until then the test sets the row as moderation would).
async fn publish(app: &TestApp, reference: &str, response: Option<&str>) -> String {
    let db = app.db().await;
    let row = idea::Entity::find()
        .filter(idea::Column::Reference.eq(reference))
        .one(&db)
        .await
        .unwrap()
        .unwrap();
    let mut model: idea::ActiveModel = row.clone().into();
    model.published = sea_orm::ActiveValue::Set(true);
    model.status = sea_orm::ActiveValue::Set(hamlet::submissions::model::IdeaStatus::Accepted);
    model.public_response = sea_orm::ActiveValue::Set(response.map(str::to_owned));
    idea::Entity::update(model).exec(&db).await.unwrap();
    row.id.to_string()
}

fn is_reference(value: &Value, prefix: &str) -> bool {
    let text = value.as_str().unwrap_or_default();
    let parts: Vec<_> = text.split('-').collect();
    parts.len() == 3 && parts[0] == prefix && parts[1].len() == 4 && parts[2].len() == 4
}

#[tokio::test]
async fn feedback_gets_a_receipt_that_tracks_its_status_without_its_content() {
    let app = TestApp::spawn().await;
    let body = json_of(app.submit_feedback(feedback(), headers(&[])).await).await;
    let receipt = &body["data"]["submitFeedback"];
    assert!(is_reference(&receipt["reference"], "FB"), "{receipt}");
    assert_eq!(receipt["kind"], "FEEDBACK");
    assert_eq!(receipt["replayed"], false);

    let status = app.data(STATUS, json!({ "r": receipt["reference"] })).await;
    let status = &status["submission"];
    assert_eq!(status["reference"], receipt["reference"]);
    assert_eq!(status["kind"], "FEEDBACK");
    assert_eq!(status["status"], "NEW");
    assert_eq!(status["receivedAt"], receipt["receivedAt"]);
    assert!(status["publicResponse"].is_null());
    assert!(
        !status.to_string().contains("kindly"),
        "never the content: {status}"
    );
}

#[tokio::test]
async fn a_receipt_is_found_however_the_resident_types_it() {
    let app = TestApp::spawn().await;
    let body = json_of(app.submit_idea(idea(), headers(&[])).await).await;
    let reference = body["data"]["submitIdea"]["reference"]
        .as_str()
        .unwrap()
        .to_owned();
    assert!(reference.starts_with("ID-"));
    let typed = reference.to_lowercase().replace('-', " ");
    let status = app.data(STATUS, json!({ "r": typed })).await;
    assert_eq!(status["submission"]["reference"], reference.as_str());
    assert_eq!(status["submission"]["kind"], "IDEA");
}

#[tokio::test]
async fn a_mistyped_or_unknown_reference_is_not_found() {
    let app = TestApp::spawn().await;
    let body = json_of(app.submit_feedback(feedback(), headers(&[])).await).await;
    let reference = body["data"]["submitFeedback"]["reference"]
        .as_str()
        .unwrap()
        .to_owned();
    // Change one symbol: the checksum catches it.
    let mut typo: Vec<char> = reference.chars().collect();
    typo[4] = if typo[4] == '7' { '8' } else { '7' };
    let typo: String = typo.into_iter().collect();
    for candidate in [
        typo.as_str(),
        "FB-0000-0000",
        "nonsense",
        "",
        "ID-7K3Q-9XMD",
    ] {
        let body = app.graphql(STATUS, json!({ "r": candidate })).await;
        assert_eq!(first_error_code(&body), "NOT_FOUND", "{candidate}");
    }
}

#[tokio::test]
async fn a_retry_with_the_same_key_and_payload_replays_the_first_receipt() {
    let app = TestApp::spawn().await;
    let input = feedback();
    let first = json_of(app.submit_feedback(input.clone(), headers(&[])).await).await;
    let again = json_of(app.submit_feedback(input.clone(), headers(&[])).await).await;
    let (first, again) = (
        &first["data"]["submitFeedback"],
        &again["data"]["submitFeedback"],
    );
    assert_eq!(again["reference"], first["reference"]);
    assert_eq!(again["receivedAt"], first["receivedAt"]);
    assert_eq!(first["replayed"], false);
    assert_eq!(again["replayed"], true);
    let stored = feedback::Entity::find()
        .count(&app.db().await)
        .await
        .unwrap();
    assert_eq!(stored, 1);
}

#[tokio::test]
async fn the_same_key_with_another_payload_is_a_conflict() {
    let app = TestApp::spawn().await;
    let input = feedback();
    app.submit_feedback(input.clone(), headers(&[])).await;
    let mut changed = input.clone();
    changed["rating"] = json!("POOR");
    let body = json_of(app.submit_feedback(changed, headers(&[])).await).await;
    assert_eq!(first_error_code(&body), "CONFLICT");
    // A key used for feedback cannot be reused for an idea either.
    let mut other = idea();
    other["idempotencyKey"] = input["idempotencyKey"].clone();
    let body = json_of(app.submit_idea(other, headers(&[])).await).await;
    assert_eq!(first_error_code(&body), "CONFLICT");
    assert_eq!(
        feedback::Entity::find()
            .count(&app.db().await)
            .await
            .unwrap(),
        1
    );
    assert_eq!(
        idea::Entity::find().count(&app.db().await).await.unwrap(),
        0
    );
}

#[tokio::test]
async fn concurrent_retries_of_one_key_store_it_once() {
    let app = TestApp::spawn_with(Seed::BuiltIn, |config| config.submit_per_minute = 1000).await;
    let input = feedback();
    let attempts = (0..16).map(|_| app.submit_feedback(input.clone(), headers(&[])));
    let answers = futures_util::future::join_all(attempts).await;
    let mut references = Vec::new();
    let mut fresh = 0;
    for answer in answers {
        let body = json_of(answer).await;
        assert!(body.get("errors").is_none(), "{body}");
        let receipt = &body["data"]["submitFeedback"];
        references.push(receipt["reference"].as_str().unwrap().to_owned());
        if receipt["replayed"] == false {
            fresh += 1;
        }
    }
    references.dedup();
    assert_eq!(references.len(), 1, "every retry gets the same receipt");
    assert_eq!(fresh, 1, "exactly one stored it");
    assert_eq!(
        feedback::Entity::find()
            .count(&app.db().await)
            .await
            .unwrap(),
        1
    );
}

#[tokio::test]
async fn bad_feedback_is_refused_naming_the_field_and_nothing_is_stored() {
    let app = TestApp::spawn().await;
    let future = (chrono::Utc::now() + chrono::Duration::days(1)).to_rfc3339();
    let cases = [
        (json!({ "serviceSlug": "no-such-service" }), "serviceSlug"),
        (json!({ "serviceSlug": "Not A Slug" }), "serviceSlug"),
        (json!({ "comment": "   " }), "comment"),
        (json!({ "comment": "x".repeat(2001) }), "comment"),
        (json!({ "idempotencyKey": "short" }), "idempotencyKey"),
        (json!({ "locale": "not a locale" }), "locale"),
        (json!({ "capturedAt": future }), "capturedAt"),
        (
            json!({ "contact": { "email": "not-an-email", "consentToContact": true } }),
            "contact.email",
        ),
        (
            json!({ "contact": { "phone": "12345", "consentToContact": true } }),
            "contact.phone",
        ),
        (
            json!({ "contact": { "name": "Ada", "consentToContact": true } }),
            "contact",
        ),
    ];
    for (change, field) in cases {
        let mut input = feedback();
        for (name, value) in change.as_object().unwrap() {
            input[name] = value.clone();
        }
        let body = json_of(app.submit_feedback(input.clone(), headers(&[])).await).await;
        assert_eq!(first_error_code(&body), "BAD_USER_INPUT", "{change}");
        assert_eq!(body["errors"][0]["extensions"]["field"], field, "{change}");
        assert!(body["data"].is_null(), "{body}");
    }
    assert_eq!(
        feedback::Entity::find()
            .count(&app.db().await)
            .await
            .unwrap(),
        0
    );
    // A wrong rating never reaches us: the schema refuses it.
    let mut input = feedback();
    input["rating"] = json!("EXCELLENT");
    let body = json_of(app.submit_feedback(input, headers(&[])).await).await;
    assert_eq!(first_error_code(&body), "BAD_USER_INPUT");
}

#[tokio::test]
async fn bad_ideas_are_refused_naming_the_field() {
    let app = TestApp::spawn().await;
    for (change, field) in [
        (json!({ "title": "" }), "title"),
        (json!({ "title": "t".repeat(151) }), "title"),
        (json!({ "description": "\n\t" }), "description"),
        (json!({ "description": "d".repeat(5001) }), "description"),
        (json!({ "theme": "t".repeat(61) }), "theme"),
    ] {
        let mut input = idea();
        for (name, value) in change.as_object().unwrap() {
            input[name] = value.clone();
        }
        let body = json_of(app.submit_idea(input, headers(&[])).await).await;
        assert_eq!(first_error_code(&body), "BAD_USER_INPUT", "{change}");
        assert_eq!(body["errors"][0]["extensions"]["field"], field, "{change}");
    }
    assert_eq!(
        idea::Entity::find().count(&app.db().await).await.unwrap(),
        0
    );
}

#[tokio::test]
async fn contact_details_are_kept_only_with_consent() {
    let app = TestApp::spawn().await;
    let mut without = feedback();
    without["contact"] =
        json!({ "name": "Ada", "email": "ada@example.org", "consentToContact": false });
    let mut with = feedback();
    with["contact"] =
        json!({ "email": "Ada@Example.org", "phone": "+44 7700 900123", "consentToContact": true });
    let first = json_of(app.submit_feedback(without, headers(&[])).await).await;
    let second = json_of(app.submit_feedback(with, headers(&[])).await).await;
    let db = app.db().await;
    let stored = |body: &Value| {
        let reference = body["data"]["submitFeedback"]["reference"]
            .as_str()
            .unwrap()
            .to_owned();
        let db = db.clone();
        async move {
            feedback::Entity::find()
                .filter(feedback::Column::Reference.eq(reference))
                .one(&db)
                .await
                .unwrap()
                .unwrap()
        }
    };
    let without = stored(&first).await;
    assert_eq!(
        (
            without.contact_name,
            without.contact_email,
            without.contact_phone
        ),
        (None, None, None)
    );
    let with = stored(&second).await;
    assert_eq!(with.contact_email.as_deref(), Some("Ada@example.org"));
    assert_eq!(with.contact_phone.as_deref(), Some("07700900123"));
}

#[tokio::test]
async fn free_text_is_screened_for_personal_data_and_risk() {
    let app = TestApp::spawn().await;
    let mut input = feedback();
    input["comment"] = json!(
        "Call me on 07700 900123 or ada@example.org, NHS number 943 476 5919, I live at E1 4DG"
    );
    let flagged = json_of(app.submit_feedback(input, headers(&[])).await).await;
    let mut input = feedback();
    input["comment"] = json!("Nobody listened. Some days I want to end my life.");
    let risky = json_of(app.submit_feedback(input, headers(&[])).await).await;
    let db = app.db().await;
    let row = |body: &Value| {
        let reference = body["data"]["submitFeedback"]["reference"]
            .as_str()
            .unwrap()
            .to_owned();
        let db = db.clone();
        async move {
            feedback::Entity::find()
                .filter(feedback::Column::Reference.eq(reference))
                .one(&db)
                .await
                .unwrap()
                .unwrap()
        }
    };
    let flagged = row(&flagged).await;
    assert_eq!(
        flagged.pii_flags.to_stored(),
        "NHS_NUMBER,PHONE,EMAIL,POSTCODE"
    );
    assert!(!flagged.safeguarding);
    let risky = row(&risky).await;
    assert!(risky.safeguarding);
    assert_eq!(risky.pii_flags.to_stored(), "");
}

#[tokio::test]
async fn a_bot_filling_the_honeypot_gets_a_receipt_but_nothing_is_stored() {
    let app = TestApp::spawn().await;
    let mut input = feedback();
    input["website"] = json!("http://spam.example");
    let body = json_of(app.submit_feedback(input, headers(&[])).await).await;
    let reference = body["data"]["submitFeedback"]["reference"].clone();
    assert!(is_reference(&reference, "FB"), "{body}");
    let mut input = idea();
    input["website"] = json!("buy now");
    let body = json_of(app.submit_idea(input, headers(&[])).await).await;
    assert!(
        is_reference(&body["data"]["submitIdea"]["reference"], "ID"),
        "{body}"
    );
    let db = app.db().await;
    assert_eq!(feedback::Entity::find().count(&db).await.unwrap(), 0);
    assert_eq!(idea::Entity::find().count(&db).await.unwrap(), 0);
    let status = app.graphql(STATUS, json!({ "r": reference })).await;
    assert_eq!(first_error_code(&status), "NOT_FOUND");
}

#[tokio::test]
async fn too_many_submissions_from_one_address_are_rate_limited() {
    let app = TestApp::spawn_with(Seed::BuiltIn, |config| config.submit_per_minute = 3).await;
    for _ in 0..3 {
        let response = app.submit_feedback(feedback(), headers(&[])).await;
        assert_eq!(response.status(), 200);
    }
    // A forged X-Forwarded-For from an untrusted peer changes nothing.
    let response = app
        .submit_feedback(feedback(), headers(&[("x-forwarded-for", "198.51.100.9")]))
        .await;
    assert_eq!(response.status(), 429);
    let retry_after: u64 = response.headers()["retry-after"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!(retry_after >= 1, "{retry_after}");
    let body = json_of(response).await;
    assert_eq!(first_error_code(&body), "RATE_LIMITED");
    assert_eq!(
        body["errors"][0]["extensions"]["retryAfterSeconds"],
        retry_after
    );
    assert_eq!(
        feedback::Entity::find()
            .count(&app.db().await)
            .await
            .unwrap(),
        3
    );
    // Content reads are not limited.
    app.data("{ services { slug } }", json!({})).await;
}

#[tokio::test]
async fn behind_a_trusted_proxy_each_forwarded_client_has_its_own_allowance() {
    let app = TestApp::spawn_with(Seed::BuiltIn, |config| {
        config.submit_per_minute = 1;
        config.trusted_proxies = vec!["127.0.0.1/32".parse().unwrap()];
    })
    .await;
    let from = |address: &'static str| headers(&[("x-forwarded-for", address)]);
    assert_eq!(
        app.submit_feedback(feedback(), from("198.51.100.1"))
            .await
            .status(),
        200
    );
    assert_eq!(
        app.submit_feedback(feedback(), from("198.51.100.2"))
            .await
            .status(),
        200
    );
    assert_eq!(
        app.submit_feedback(feedback(), from("198.51.100.1"))
            .await
            .status(),
        429
    );
}

fn kiosk_token(created: &str) -> String {
    created.lines().last().unwrap().trim().to_owned()
}

#[tokio::test]
async fn a_kiosk_token_is_shown_once_and_earns_ten_times_the_allowance() {
    let app = TestApp::spawn_with(Seed::BuiltIn, |config| config.submit_per_minute = 2).await;
    let created = app.cli(&[
        "kiosk",
        "create",
        "--name",
        "Outpatients kiosk",
        "--site",
        "Mile End Hospital",
    ]);
    let token = kiosk_token(&created);
    assert!(token.starts_with("hk_"), "{created}");
    let listed = app.cli(&["kiosk", "list"]);
    assert!(
        listed.contains("Outpatients kiosk") && listed.contains("active"),
        "{listed}"
    );
    assert!(!listed.contains(&token), "the token is never shown again");

    let auth = format!("Kiosk {token}");
    for _ in 0..20 {
        let response = app
            .submit_feedback(feedback(), headers(&[("authorization", &auth)]))
            .await;
        assert_eq!(response.status(), 200);
    }
    let response = app
        .submit_feedback(feedback(), headers(&[("authorization", &auth)]))
        .await;
    assert_eq!(response.status(), 429);
    let db = app.db().await;
    let kiosk_rows = feedback::Entity::find()
        .filter(feedback::Column::KioskId.is_not_null())
        .filter(feedback::Column::Channel.eq("KIOSK"))
        .count(&db)
        .await
        .unwrap();
    assert_eq!(
        kiosk_rows, 20,
        "attributed to the kiosk, channel KIOSK by default"
    );
}

#[tokio::test]
async fn a_revoked_or_unknown_kiosk_token_is_unauthenticated() {
    let app = TestApp::spawn().await;
    let created = app.cli(&["kiosk", "create", "--name", "Library kiosk"]);
    let token = kiosk_token(&created);
    let id = created.split_whitespace().nth(1).unwrap().to_owned();
    let auth = format!("Kiosk {token}");
    assert_eq!(
        app.submit_feedback(feedback(), headers(&[("authorization", &auth)]))
            .await
            .status(),
        200
    );

    app.cli(&["kiosk", "revoke", "--id", &id]);
    let response = app
        .submit_feedback(feedback(), headers(&[("authorization", &auth)]))
        .await;
    assert_eq!(response.status(), 401);
    assert_eq!(
        first_error_code(&json_of(response).await),
        "UNAUTHENTICATED"
    );

    for bad in ["Kiosk hk_not-a-real-token", "Kiosk ", "Basic dXNlcjpwYXNz"] {
        let response = app
            .submit_feedback(feedback(), headers(&[("authorization", bad)]))
            .await;
        assert_eq!(response.status(), 401, "{bad}");
    }
    assert_eq!(
        feedback::Entity::find()
            .count(&app.db().await)
            .await
            .unwrap(),
        1
    );
}

#[tokio::test]
async fn only_published_ideas_reach_the_board_with_personal_details_masked() {
    let app = TestApp::spawn().await;
    let mut with_pii = idea();
    with_pii["title"] = json!("Text reminders to 07700 900123");
    with_pii["description"] =
        json!("Email me at ada@example.org. My NHS number is 9434765919 and I live in E1 4DG.");
    let published = json_of(app.submit_idea(with_pii, headers(&[])).await).await;
    let unpublished = json_of(app.submit_idea(idea(), headers(&[])).await).await;
    let mut risky = idea();
    risky["description"] = json!("My neighbour is being abused and neglected, please help");
    let risky = json_of(app.submit_idea(risky, headers(&[])).await).await;

    let reference = |body: &Value| {
        body["data"]["submitIdea"]["reference"]
            .as_str()
            .unwrap()
            .to_owned()
    };
    publish(
        &app,
        &reference(&published),
        Some("Thank you, we are trialling this. Call 020 7946 0018."),
    )
    .await;
    // A safeguarding item is never published, whatever its flag says.
    publish(&app, &reference(&risky), None).await;

    let board = app.data(BOARD, json!({})).await;
    let board = &board["ideaBoard"];
    assert_eq!(board["totalCount"], 1, "{board}");
    let node = &board["edges"][0]["node"];
    assert_eq!(node["reference"], reference(&published).as_str());
    let text = node.to_string();
    for secret in [
        "07700 900123",
        "ada@example.org",
        "9434765919",
        "E1 4DG",
        "020 7946 0018",
    ] {
        assert!(!text.contains(secret), "{secret} leaked: {text}");
    }
    assert!(
        node["title"]
            .as_str()
            .unwrap()
            .contains("[phone number removed]"),
        "{node}"
    );
    assert!(
        node["publicResponse"]
            .as_str()
            .unwrap()
            .starts_with("Thank you"),
        "{node}"
    );
    assert!(!text.contains(&reference(&unpublished)));

    // The receipt shows the public response, masked too.
    let status = app
        .data(STATUS, json!({ "r": reference(&published) }))
        .await;
    assert_eq!(status["submission"]["status"], "ACCEPTED");
    assert!(!status.to_string().contains("020 7946 0018"));
}

#[tokio::test]
async fn a_resident_supports_an_idea_once_per_supporter_key() {
    let app = TestApp::spawn().await;
    let body = json_of(app.submit_idea(idea(), headers(&[])).await).await;
    let id = publish(
        &app,
        body["data"]["submitIdea"]["reference"].as_str().unwrap(),
        None,
    )
    .await;

    let alice = key();
    let bob = key();
    let support = |supporter: String| {
        let id = id.clone();
        let app = &app;
        async move {
            app.data(SUPPORT, json!({ "id": id, "key": supporter }))
                .await
        }
    };
    assert_eq!(
        support(alice.clone()).await["supportIdea"]["supportCount"],
        1
    );
    assert_eq!(
        support(alice.clone()).await["supportIdea"]["supportCount"],
        1
    );
    assert_eq!(support(bob).await["supportIdea"]["supportCount"], 2);
    // Concurrent repeats of one key still count once.
    let repeats = futures_util::future::join_all((0..8).map(|_| support(alice.clone()))).await;
    assert!(
        repeats
            .iter()
            .all(|data| data["supportIdea"]["supportCount"] == 2)
    );

    let board = app.data(BOARD, json!({})).await;
    assert_eq!(board["ideaBoard"]["edges"][0]["node"]["supportCount"], 2);
}

#[tokio::test]
async fn supporting_an_idea_not_on_the_board_is_not_found() {
    let app = TestApp::spawn().await;
    let body = json_of(app.submit_idea(idea(), headers(&[])).await).await;
    let unpublished = idea::Entity::find()
        .one(&app.db().await)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        unpublished.reference,
        body["data"]["submitIdea"]["reference"].as_str().unwrap()
    );
    for id in [
        unpublished.id.to_string(),
        uuid::Uuid::now_v7().to_string(),
        "not-a-uuid".into(),
    ] {
        let body = app
            .graphql(SUPPORT, json!({ "id": id, "key": key() }))
            .await;
        assert_eq!(first_error_code(&body), "NOT_FOUND", "{id}");
    }
    let body = app
        .graphql(
            SUPPORT,
            json!({ "id": unpublished.id.to_string(), "key": "x" }),
        )
        .await;
    assert_eq!(first_error_code(&body), "BAD_USER_INPUT");
    assert_eq!(body["errors"][0]["extensions"]["field"], "supporterKey");
}

#[tokio::test]
async fn the_board_orders_by_support_or_recency_and_pages_by_cursor() {
    let app = TestApp::spawn_with(Seed::BuiltIn, |config| config.submit_per_minute = 1000).await;
    let mut ids = Vec::new();
    for n in 0..5 {
        let mut input = idea();
        input["title"] = json!(format!("Idea number {n}"));
        input["theme"] = json!(if n % 2 == 0 { "access" } else { "prevention" });
        let body = json_of(app.submit_idea(input, headers(&[])).await).await;
        ids.push(
            publish(
                &app,
                body["data"]["submitIdea"]["reference"].as_str().unwrap(),
                None,
            )
            .await,
        );
    }
    // Idea 1 gets three supporters, idea 3 one.
    for _ in 0..3 {
        app.data(SUPPORT, json!({ "id": ids[1], "key": key() }))
            .await;
    }
    app.data(SUPPORT, json!({ "id": ids[3], "key": key() }))
        .await;

    let titles = |data: &Value| -> Vec<String> {
        data["ideaBoard"]["edges"]
            .as_array()
            .unwrap()
            .iter()
            .map(|edge| edge["node"]["title"].as_str().unwrap().to_owned())
            .collect()
    };
    let by_support = app.data(BOARD, json!({ "order": "SUPPORT" })).await;
    assert_eq!(titles(&by_support)[..2], ["Idea number 1", "Idea number 3"]);
    let recent = app.data(BOARD, json!({ "order": "RECENT" })).await;
    assert_eq!(
        titles(&recent),
        [
            "Idea number 4",
            "Idea number 3",
            "Idea number 2",
            "Idea number 1",
            "Idea number 0"
        ]
    );

    // Page through two at a time in support order: every idea once.
    let mut seen = Vec::new();
    let mut after = Value::Null;
    loop {
        let page = app
            .data(
                BOARD,
                json!({ "first": 2, "after": after, "order": "SUPPORT" }),
            )
            .await;
        assert_eq!(page["ideaBoard"]["totalCount"], 5);
        seen.extend(titles(&page));
        if page["ideaBoard"]["pageInfo"]["hasNextPage"] == false {
            break;
        }
        after = page["ideaBoard"]["pageInfo"]["endCursor"].clone();
    }
    assert_eq!(seen, titles(&by_support));

    let themed = app.data(BOARD, json!({ "theme": "prevention" })).await;
    assert_eq!(themed["ideaBoard"]["totalCount"], 2);
    // A cursor from one order is refused in another.
    let cursor = by_support["ideaBoard"]["edges"][0]["cursor"].clone();
    let body = app
        .graphql(BOARD, json!({ "after": cursor, "order": "RECENT" }))
        .await;
    assert_eq!(first_error_code(&body), "BAD_USER_INPUT");
}

#[tokio::test]
async fn each_stored_submission_is_announced_once() {
    let app = TestApp::spawn().await;
    let mut events = app.events.subscribe();
    let input = feedback();
    let body = json_of(app.submit_feedback(input.clone(), headers(&[])).await).await;
    app.submit_feedback(input, headers(&[])).await; // a replay: no new event
    let mut risky = idea();
    risky["description"] = json!("I am scared to go home, he hits me");
    let idea_body = json_of(app.submit_idea(risky, headers(&[])).await).await;

    let first = events.recv().await.unwrap();
    assert_eq!(
        first.reference,
        body["data"]["submitFeedback"]["reference"]
            .as_str()
            .unwrap()
    );
    assert!(!first.safeguarding);
    let second = events.recv().await.unwrap();
    assert_eq!(
        second.reference,
        idea_body["data"]["submitIdea"]["reference"]
            .as_str()
            .unwrap()
    );
    assert!(
        second.safeguarding,
        "safeguarding items are marked in the event"
    );
    assert!(events.try_recv().is_err(), "the replay raised nothing");
}
