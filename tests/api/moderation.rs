//! Moderation through HTTP: the queues, the workflows, optimistic
//! concurrency, bulk changes, notes, merging ideas, the audit trail and the
//! live subscription.

use futures_util::{SinkExt as _, StreamExt as _};
use hamlet::staff::model::Role;
use hamlet::submissions::SubmissionEvent;
use hamlet::submissions::model::SubmissionKind;
use serde_json::{Value, json};
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::client::IntoClientRequest as _;

use crate::helpers::{Staff, TestApp, feedback, first_error_code, idea, key};

const QUEUE: &str = "query($filter: FeedbackFilterInput, $first: Int, $after: String) {
  feedbackQueue(filter: $filter, first: $first, after: $after) {
    totalCount
    pageInfo { hasNextPage endCursor }
    edges { cursor node { id reference comment rating status safeguarding version tags
      piiFlags channel service { slug } kiosk { name } assignee { id } contact { email phone }
      notes { body author { id } } publicResponse } }
  }
}";

const IDEAS: &str = "query($filter: IdeaFilterInput, $first: Int, $after: String) {
  ideas(filter: $filter, first: $first, after: $after) {
    totalCount
    edges { node { id reference title status published safeguarding version supportCount tags } }
  }
}";

const MODERATE_FEEDBACK: &str = "mutation($input: ModerateFeedbackInput!) {
  moderateFeedback(input: $input) { id status version tags assignee { id } publicResponse }
}";

const MODERATE_IDEA: &str = "mutation($input: ModerateIdeaInput!) {
  moderateIdea(input: $input) { id status published publicResponse version }
}";

const BOARD: &str = "{ ideaBoard(first: 50) { totalCount edges { node { id title supportCount publicResponse } } } }";

const AUDIT: &str = "query($subject: ID, $actor: ID) {
  auditLog(first: 100, subjectId: $subject, actorId: $actor) {
    totalCount
    edges { node { action actor { id } subjectId before after } }
  }
}";

/// The queue row of the item with this reference.
async fn queued(app: &TestApp, moderator: &Staff, reference: &str) -> Value {
    let body = app.data_as(moderator, QUEUE, json!({ "first": 100 })).await;
    body["feedbackQueue"]["edges"]
        .as_array()
        .unwrap()
        .iter()
        .map(|edge| edge["node"].clone())
        .find(|node| node["reference"] == reference)
        .unwrap_or_else(|| panic!("{reference} is not in the queue"))
}

async fn idea_row(app: &TestApp, moderator: &Staff, reference: &str) -> Value {
    let body = app.data_as(moderator, IDEAS, json!({ "first": 100 })).await;
    body["ideas"]["edges"]
        .as_array()
        .unwrap()
        .iter()
        .map(|edge| edge["node"].clone())
        .find(|node| node["reference"] == reference)
        .unwrap_or_else(|| panic!("{reference} is not in the queue"))
}

fn references(body: &Value, list: &str) -> Vec<String> {
    body[list]["edges"]
        .as_array()
        .unwrap()
        .iter()
        .map(|edge| edge["node"]["reference"].as_str().unwrap().to_owned())
        .collect()
}

fn with(mut input: Value, field: &str, value: Value) -> Value {
    input[field] = value;
    input
}

#[tokio::test]
async fn the_queue_puts_safeguarding_first_then_personal_data_then_newest() {
    let app = TestApp::spawn().await;
    let moderator = app.staff(&[Role::Moderator]).await;
    let old = app.feedback_reference(feedback()).await;
    let private = app
        .feedback_reference(with(
            feedback(),
            "comment",
            json!("Please ring me back on 07700 900123 about my mum's appointment"),
        ))
        .await;
    let risky = app
        .feedback_reference(with(feedback(), "comment", json!("I want to end my life")))
        .await;
    let new = app.feedback_reference(feedback()).await;
    let body = app.data_as(&moderator, QUEUE, json!({})).await;
    assert_eq!(
        references(&body, "feedbackQueue"),
        [risky.clone(), private.clone(), new.clone(), old.clone()]
    );
    assert_eq!(body["feedbackQueue"]["totalCount"], 4);
    let first = &body["feedbackQueue"]["edges"][0]["node"];
    assert_eq!(first["safeguarding"], true);
    assert_eq!(
        first["comment"], "I want to end my life",
        "staff see the text whole"
    );
    assert_eq!(
        body["feedbackQueue"]["edges"][1]["node"]["piiFlags"],
        json!(["PHONE"])
    );

    // Page by page, one item at a time, the bands hold across cursors; and
    // oldest first reverses arrival within each band, not the bands.
    for (oldest_first, expected) in [
        (false, [&risky, &private, &new, &old]),
        (true, [&risky, &private, &old, &new]),
    ] {
        let query = "query($after: String, $oldest: Boolean!) {
          feedbackQueue(first: 1, after: $after, oldestFirst: $oldest) {
            pageInfo { hasNextPage endCursor } edges { node { reference } } } }";
        let mut seen = Vec::new();
        let mut after = Value::Null;
        loop {
            let page = app
                .data_as(
                    &moderator,
                    query,
                    json!({ "after": after, "oldest": oldest_first }),
                )
                .await;
            seen.extend(references(&page, "feedbackQueue"));
            if page["feedbackQueue"]["pageInfo"]["hasNextPage"] == false {
                break;
            }
            after = page["feedbackQueue"]["pageInfo"]["endCursor"].clone();
        }
        let expected: Vec<String> = expected.into_iter().cloned().collect();
        assert_eq!(seen, expected, "oldest first: {oldest_first}");
    }

    // Erasing the text takes its personal data, and the item leaves that band.
    let admin = app.staff(&[Role::Admin]).await;
    let erased = app
        .data_as(
            &admin,
            "mutation($r: String!) { eraseSubmission(reference: $r) }",
            json!({ "r": private }),
        )
        .await;
    assert_eq!(erased["eraseSubmission"], true);
    let body = app.data_as(&moderator, QUEUE, json!({})).await;
    assert_eq!(
        references(&body, "feedbackQueue"),
        [risky, new, private, old]
    );
}

#[tokio::test]
async fn paging_the_queue_neither_skips_nor_repeats_while_feedback_arrives() {
    let app = TestApp::spawn().await;
    let moderator = app.staff(&[Role::Moderator]).await;
    let mut submitted = Vec::new();
    for _ in 0..5 {
        submitted.push(app.feedback_reference(feedback()).await);
    }
    let page = app.data_as(&moderator, QUEUE, json!({ "first": 2 })).await;
    let mut seen = references(&page, "feedbackQueue");
    assert_eq!(page["feedbackQueue"]["pageInfo"]["hasNextPage"], true);
    let mut cursor = page["feedbackQueue"]["pageInfo"]["endCursor"].clone();
    // New feedback arrives between pages.
    for _ in 0..3 {
        app.feedback_reference(feedback()).await;
    }
    loop {
        let page = app
            .data_as(&moderator, QUEUE, json!({ "first": 2, "after": cursor }))
            .await;
        seen.extend(references(&page, "feedbackQueue"));
        if page["feedbackQueue"]["pageInfo"]["hasNextPage"] == false {
            break;
        }
        cursor = page["feedbackQueue"]["pageInfo"]["endCursor"].clone();
    }
    submitted.reverse();
    assert_eq!(seen, submitted, "exactly the five, newest first, once each");

    let bad = app
        .graphql_as(&moderator, QUEUE, json!({ "after": "not-a-cursor" }))
        .await;
    assert_eq!(first_error_code(&bad), "BAD_USER_INPUT");
}

#[tokio::test]
async fn the_queue_filters_by_every_field_a_moderator_needs() {
    let app = TestApp::spawn().await;
    let moderator = app.staff(&[Role::Moderator]).await;
    let kiosk = app.cli(&["kiosk", "create", "--name", "Library kiosk"]);
    let token = kiosk.lines().last().unwrap().trim().to_owned();
    let kiosk_id = kiosk.split_whitespace().nth(1).unwrap().to_owned();

    let poor = app
        .feedback_reference(with(
            with(feedback(), "rating", json!("POOR")),
            "comment",
            json!("The waiting room was cold. Call me on 07700 900123"),
        ))
        .await;
    let maternity = app
        .feedback_reference(with(
            with(feedback(), "serviceSlug", json!("royal-london-maternity")),
            "channel",
            json!("PAPER"),
        ))
        .await;
    let from_kiosk = {
        let response = app
            .submit_feedback(
                feedback(),
                crate::helpers::headers(&[("authorization", &format!("Kiosk {token}"))]),
            )
            .await;
        let body: Value = response.json().await.unwrap();
        body["data"]["submitFeedback"]["reference"]
            .as_str()
            .unwrap()
            .to_owned()
    };
    let risky = app
        .feedback_reference(with(
            feedback(),
            "comment",
            json!("my neighbour is being neglected"),
        ))
        .await;
    let tagged = queued(&app, &moderator, &maternity).await;
    app.data_as(
        &moderator,
        MODERATE_FEEDBACK,
        json!({ "input": { "id": tagged["id"], "expectedVersion": 1, "tags": ["Parking"],
            "status": "IN_REVIEW", "assigneeId": moderator.id } }),
    )
    .await;

    let cases: Vec<(Value, Vec<&String>)> = vec![
        (json!({ "rating": "POOR" }), vec![&poor]),
        (
            json!({ "rating": ["POOR", "GOOD"] }),
            vec![&risky, &poor, &from_kiosk, &maternity],
        ),
        (
            json!({ "serviceSlug": "royal-london-maternity" }),
            vec![&maternity],
        ),
        (json!({ "channel": "PAPER" }), vec![&maternity]),
        (
            json!({ "channel": "KIOSK", "kioskId": kiosk_id }),
            vec![&from_kiosk],
        ),
        (json!({ "safeguarding": true }), vec![&risky]),
        (json!({ "piiFlagged": true }), vec![&poor]),
        (json!({ "status": "IN_REVIEW" }), vec![&maternity]),
        (
            json!({ "status": "NEW", "serviceSlug": "royal-london-emergency-department" }),
            vec![&risky, &poor, &from_kiosk],
        ),
        (json!({ "assigneeId": moderator.id }), vec![&maternity]),
        (
            json!({ "unassigned": true }),
            vec![&risky, &poor, &from_kiosk],
        ),
        (json!({ "tag": "parking" }), vec![&maternity]),
        (json!({ "text": "WAITING ROOM" }), vec![&poor]),
        (json!({ "text": "100%_" }), vec![]),
        (
            json!({ "receivedFrom": "2000-01-01T00:00:00Z", "receivedTo": "2001-01-01T00:00:00Z" }),
            vec![],
        ),
        (
            json!({ "receivedFrom": "2000-01-01T00:00:00Z" }),
            vec![&risky, &poor, &from_kiosk, &maternity],
        ),
    ];
    for (filter, expected) in cases {
        let body = app
            .data_as(&moderator, QUEUE, json!({ "filter": filter }))
            .await;
        let found = references(&body, "feedbackQueue");
        let expected: Vec<String> = expected.into_iter().cloned().collect();
        // Safeguarding first, then personal data (`poor` has a phone
        // number), then newest first.
        assert_eq!(found, expected, "filter {filter}");
        assert_eq!(
            body["feedbackQueue"]["totalCount"],
            expected.len(),
            "filter {filter}"
        );
    }
    for (filter, field) in [
        (
            json!({ "serviceSlug": "no-such-service" }),
            "filter.serviceSlug",
        ),
        (json!({ "tag": "no spaces; please" }), "filter.tag"),
        (json!({ "assigneeId": "nope" }), "filter.assigneeId"),
        (
            json!({ "receivedFrom": "2001-01-01T00:00:00Z", "receivedTo": "2000-01-01T00:00:00Z" }),
            "filter.receivedTo",
        ),
    ] {
        let body = app
            .graphql_as(&moderator, QUEUE, json!({ "filter": filter }))
            .await;
        assert_eq!(first_error_code(&body), "BAD_USER_INPUT", "{filter}");
        assert_eq!(body["errors"][0]["extensions"]["field"], field, "{filter}");
    }
    let row = queued(&app, &moderator, &from_kiosk).await;
    assert_eq!(row["kiosk"]["name"], "Library kiosk");
    assert_eq!(row["channel"], "KIOSK");
    let row = queued(&app, &moderator, &poor).await;
    assert_eq!(row["piiFlags"], json!(["PHONE"]));
    assert_eq!(row["service"]["slug"], "royal-london-emergency-department");
}

#[tokio::test]
async fn feedback_moves_through_its_workflow_and_stale_or_illegal_changes_change_nothing() {
    let app = TestApp::spawn().await;
    let moderator = app.staff(&[Role::Moderator]).await;
    let reference = app.feedback_reference(feedback()).await;
    let row = queued(&app, &moderator, &reference).await;
    let id = row["id"].clone();

    let changed = app
        .data_as(
            &moderator,
            MODERATE_FEEDBACK,
            json!({ "input": { "id": id, "expectedVersion": 1, "status": "IN_REVIEW",
                "tags": ["waiting-times", "Waiting Times"], "assigneeId": moderator.id,
                "publicResponse": "Thank you: we have shared this with the team." } }),
        )
        .await;
    let changed = &changed["moderateFeedback"];
    assert_eq!(changed["status"], "IN_REVIEW");
    assert_eq!(changed["version"], 2);
    assert_eq!(changed["tags"], json!(["waiting-times"]));
    assert_eq!(changed["assignee"]["id"], moderator.id.as_str());

    // Someone else's change got there first.
    let stale = app
        .graphql_as(
            &moderator,
            MODERATE_FEEDBACK,
            json!({ "input": { "id": id, "expectedVersion": 1, "status": "CLOSED" } }),
        )
        .await;
    assert_eq!(first_error_code(&stale), "CONFLICT");
    // IN_REVIEW cannot go back to NEW.
    let illegal = app
        .graphql_as(
            &moderator,
            MODERATE_FEEDBACK,
            json!({ "input": { "id": id, "expectedVersion": 2, "status": "NEW" } }),
        )
        .await;
    assert_eq!(first_error_code(&illegal), "BAD_USER_INPUT");
    assert_eq!(illegal["errors"][0]["extensions"]["field"], "status");
    let unchanged = queued(&app, &moderator, &reference).await;
    assert_eq!(unchanged["status"], "IN_REVIEW");
    assert_eq!(unchanged["version"], 2);

    // The resident sees the status and the reply on their receipt.
    let receipt = app
        .data(
            "query($r: String!) { submission(reference: $r) { status publicResponse } }",
            json!({ "r": reference }),
        )
        .await;
    assert_eq!(receipt["submission"]["status"], "IN_REVIEW");
    assert_eq!(
        receipt["submission"]["publicResponse"],
        "Thank you: we have shared this with the team."
    );

    for (status, version) in [("ACTIONED", 2), ("CLOSED", 3), ("SPAM", 4), ("NEW", 5)] {
        let body = app
            .data_as(
                &moderator,
                MODERATE_FEEDBACK,
                json!({ "input": { "id": id, "expectedVersion": version, "status": status } }),
            )
            .await;
        assert_eq!(body["moderateFeedback"]["status"], status);
    }
    // Unassigning with null, and an assignee who is not a moderator.
    let editor = app.staff(&[Role::Editor]).await;
    let body = app
        .graphql_as(
            &moderator,
            MODERATE_FEEDBACK,
            json!({ "input": { "id": id, "expectedVersion": 6, "assigneeId": editor.id } }),
        )
        .await;
    assert_eq!(body["errors"][0]["extensions"]["field"], "assigneeId");
    let body = app
        .data_as(
            &moderator,
            MODERATE_FEEDBACK,
            json!({ "input": { "id": id, "expectedVersion": 6, "assigneeId": null } }),
        )
        .await;
    assert!(body["moderateFeedback"]["assignee"].is_null());
    let missing = app
        .graphql_as(
            &moderator,
            MODERATE_FEEDBACK,
            json!({ "input": { "id": uuid::Uuid::now_v7(), "expectedVersion": 1, "status": "CLOSED" } }),
        )
        .await;
    assert_eq!(first_error_code(&missing), "NOT_FOUND");
}

#[tokio::test]
async fn concurrent_changes_to_one_version_let_exactly_one_through() {
    let app = TestApp::spawn().await;
    let moderator = app.staff(&[Role::Moderator]).await;
    let reference = app.feedback_reference(feedback()).await;
    let id = queued(&app, &moderator, &reference).await["id"].clone();
    let attempts = (0..8).map(|i| {
        let status = if i % 2 == 0 { "IN_REVIEW" } else { "CLOSED" };
        app.graphql_as(
            &moderator,
            MODERATE_FEEDBACK,
            json!({ "input": { "id": id, "expectedVersion": 1, "status": status } }),
        )
    });
    let answers = futures_util::future::join_all(attempts).await;
    let succeeded = answers
        .iter()
        .filter(|body| body.get("errors").is_none())
        .count();
    let conflicts = answers
        .iter()
        .filter(|body| body.get("errors").is_some())
        .map(first_error_code)
        .collect::<Vec<_>>();
    assert_eq!(succeeded, 1, "{answers:?}");
    assert!(
        conflicts.iter().all(|code| code == "CONFLICT"),
        "{conflicts:?}"
    );
    assert_eq!(queued(&app, &moderator, &reference).await["version"], 2);
}

#[tokio::test]
async fn a_published_idea_reaches_the_board_with_its_answer_and_safeguarding_never_does() {
    let app = TestApp::spawn().await;
    let moderator = app.staff(&[Role::Moderator]).await;
    let reference = app.idea_reference(idea()).await;
    let risky = app
        .idea_reference(with(
            idea(),
            "description",
            json!("People are being abused at home"),
        ))
        .await;
    let row = idea_row(&app, &moderator, &reference).await;
    let id = row["id"].clone();

    let body = app
        .data_as(
            &moderator,
            MODERATE_IDEA,
            json!({ "input": { "id": id, "expectedVersion": 1, "status": "UNDER_REVIEW",
                "published": true, "publicResponse": "We are trying this at Mile End from March." } }),
        )
        .await;
    assert_eq!(body["moderateIdea"]["published"], true);
    let board = app.data(BOARD, json!({})).await;
    assert_eq!(board["ideaBoard"]["totalCount"], 1);
    assert_eq!(board["ideaBoard"]["edges"][0]["node"]["id"], id);
    assert_eq!(
        board["ideaBoard"]["edges"][0]["node"]["publicResponse"],
        "We are trying this at Mile End from March."
    );

    let risky_row = idea_row(&app, &moderator, &risky).await;
    assert_eq!(risky_row["safeguarding"], true);
    let refused = app
        .graphql_as(
            &moderator,
            MODERATE_IDEA,
            json!({ "input": { "id": risky_row["id"], "expectedVersion": 1, "published": true } }),
        )
        .await;
    assert_eq!(first_error_code(&refused), "BAD_USER_INPUT");
    assert_eq!(refused["errors"][0]["extensions"]["field"], "published");
    assert_eq!(idea_row(&app, &moderator, &risky).await["version"], 1);

    // NEW → IMPLEMENTED skips the steps between.
    let skipped = app
        .graphql_as(
            &moderator,
            MODERATE_IDEA,
            json!({ "input": { "id": id, "expectedVersion": 2, "status": "IMPLEMENTED" } }),
        )
        .await;
    assert_eq!(first_error_code(&skipped), "BAD_USER_INPUT");
    // DUPLICATE only comes from merging.
    let duplicate = app
        .graphql_as(
            &moderator,
            MODERATE_IDEA,
            json!({ "input": { "id": id, "expectedVersion": 2, "status": "DUPLICATE" } }),
        )
        .await;
    assert_eq!(first_error_code(&duplicate), "BAD_USER_INPUT");
    // Marking it spam takes it off the board.
    let spam = app
        .data_as(
            &moderator,
            MODERATE_IDEA,
            json!({ "input": { "id": id, "expectedVersion": 2, "status": "SPAM" } }),
        )
        .await;
    assert_eq!(spam["moderateIdea"]["published"], false);
    let board = app.data(BOARD, json!({})).await;
    assert_eq!(board["ideaBoard"]["totalCount"], 0);
}

#[tokio::test]
async fn a_spam_wave_is_marked_in_one_bulk_change_with_a_result_per_item() {
    let app = TestApp::spawn().await;
    let moderator = app.staff(&[Role::Moderator]).await;
    let mut ids = Vec::new();
    for _ in 0..4 {
        let reference = app.feedback_reference(feedback()).await;
        ids.push(queued(&app, &moderator, &reference).await["id"].clone());
    }
    // One is already CLOSED: CLOSED → SPAM is allowed; make one SPAM already,
    // and SPAM → SPAM changes nothing but is fine. Make one NEW → ... illegal:
    // bulk-set status NEW, which only SPAM may move to.
    app.data_as(
        &moderator,
        MODERATE_FEEDBACK,
        json!({ "input": { "id": ids[0], "expectedVersion": 1, "status": "SPAM" } }),
    )
    .await;
    let missing = uuid::Uuid::now_v7().to_string();
    let body = app
        .data_as(
            &moderator,
            "mutation($input: BulkModerateFeedbackInput!) {
               bulkModerateFeedback(input: $input) { id ok code version }
             }",
            json!({ "input": { "ids": [ids[0], ids[1], missing], "status": "CLOSED", "addTags": ["spam-wave"] } }),
        )
        .await;
    let results = body["bulkModerateFeedback"].as_array().unwrap();
    assert_eq!(results.len(), 3);
    assert_eq!(results[0]["ok"], false, "SPAM cannot be CLOSED");
    assert_eq!(results[0]["code"], "BAD_USER_INPUT");
    assert_eq!(results[1]["ok"], true);
    assert_eq!(results[1]["version"], 2);
    assert_eq!(results[2]["code"], "NOT_FOUND");

    let body = app
        .data_as(
            &moderator,
            QUEUE,
            json!({ "filter": { "tag": "spam-wave" } }),
        )
        .await;
    assert_eq!(body["feedbackQueue"]["totalCount"], 1);
    assert_eq!(body["feedbackQueue"]["edges"][0]["node"]["id"], ids[1]);
    assert_eq!(
        body["feedbackQueue"]["edges"][0]["node"]["status"],
        "CLOSED"
    );

    let too_many: Vec<String> = (0..101).map(|_| uuid::Uuid::now_v7().to_string()).collect();
    let body = app
        .graphql_as(
            &moderator,
            "mutation($input: BulkModerateFeedbackInput!) { bulkModerateFeedback(input: $input) { id } }",
            json!({ "input": { "ids": too_many, "status": "SPAM" } }),
        )
        .await;
    assert_eq!(body["errors"][0]["extensions"]["field"], "ids");
}

#[tokio::test]
async fn merging_counts_each_supporter_once_on_the_target() {
    let app = TestApp::spawn().await;
    let moderator = app.staff(&[Role::Moderator]).await;
    let source_ref = app.idea_reference(idea()).await;
    let target_ref = app.idea_reference(idea()).await;
    let source = idea_row(&app, &moderator, &source_ref).await["id"].clone();
    let target = idea_row(&app, &moderator, &target_ref).await["id"].clone();
    for id in [&source, &target] {
        app.data_as(
            &moderator,
            MODERATE_IDEA,
            json!({ "input": { "id": id, "expectedVersion": 1, "published": true } }),
        )
        .await;
    }
    let support = "mutation($id: ID!, $key: String!) { supportIdea(ideaId: $id, supporterKey: $key) { supportCount } }";
    let (a, b, c, d) = (key(), key(), key(), key());
    for (idea, supporter) in [
        (&source, &a),
        (&source, &b),
        (&source, &c),
        (&target, &b),
        (&target, &d),
    ] {
        app.data(support, json!({ "id": idea, "key": supporter }))
            .await;
    }
    let merged = app
        .data_as(
            &moderator,
            "mutation($s: ID!, $t: ID!) { mergeIdea(sourceId: $s, targetId: $t) { id supportCount } }",
            json!({ "s": source, "t": target }),
        )
        .await;
    // a, b, c from the source; b again and d on the target: four people.
    assert_eq!(merged["mergeIdea"]["supportCount"], 4);
    assert_eq!(merged["mergeIdea"]["id"], target);

    let source_row = idea_row(&app, &moderator, &source_ref).await;
    assert_eq!(source_row["status"], "DUPLICATE");
    assert_eq!(source_row["published"], false);
    let merged_into = app
        .data_as(
            &moderator,
            "query($id: ID!) { idea(id: $id) { mergedInto { id } } }",
            json!({ "id": source }),
        )
        .await;
    assert_eq!(merged_into["idea"]["mergedInto"]["id"], target);
    let board = app.data(BOARD, json!({})).await;
    assert_eq!(board["ideaBoard"]["totalCount"], 1);
    assert_eq!(board["ideaBoard"]["edges"][0]["node"]["supportCount"], 4);
    // A supporter of the source supporting the target again changes nothing.
    let again = app.data(support, json!({ "id": target, "key": a })).await;
    assert_eq!(again["supportIdea"]["supportCount"], 4);
    // The source is gone from public view, and cannot be merged again.
    let gone = app
        .graphql(support, json!({ "id": source, "key": key() }))
        .await;
    assert_eq!(first_error_code(&gone), "NOT_FOUND");
    let twice = app
        .graphql_as(
            &moderator,
            "mutation($s: ID!, $t: ID!) { mergeIdea(sourceId: $s, targetId: $t) { id } }",
            json!({ "s": source, "t": target }),
        )
        .await;
    assert_eq!(first_error_code(&twice), "BAD_USER_INPUT");
    let itself = app
        .graphql_as(
            &moderator,
            "mutation($s: ID!, $t: ID!) { mergeIdea(sourceId: $s, targetId: $t) { id } }",
            json!({ "s": target, "t": target }),
        )
        .await;
    assert_eq!(first_error_code(&itself), "BAD_USER_INPUT");
}

#[tokio::test]
async fn notes_and_contact_details_are_for_moderators_and_the_audit_trail_holds_no_free_text() {
    let app = TestApp::spawn().await;
    let moderator = app.staff(&[Role::Moderator]).await;
    let admin = app.staff(&[Role::Admin]).await;
    let input = with(
        with(feedback(), "comment", json!("Secret words about my care")),
        "contact",
        json!({ "email": "ada@example.org", "consentToContact": true }),
    );
    let reference = app.feedback_reference(input).await;
    let row = queued(&app, &moderator, &reference).await;
    assert_eq!(row["contact"]["email"], "ada@example.org");
    let id = row["id"].clone();

    let note = app
        .data_as(
            &moderator,
            "mutation($id: ID!, $body: String!) { addNote(subjectId: $id, body: $body) { id body author { id } } }",
            json!({ "id": id, "body": "Private note: called the ward" }),
        )
        .await;
    assert_eq!(note["addNote"]["author"]["id"], moderator.id.as_str());
    app.data_as(
        &moderator,
        MODERATE_FEEDBACK,
        json!({ "input": { "id": id, "expectedVersion": 1, "status": "IN_REVIEW",
            "publicResponse": "Reply with words" } }),
    )
    .await;
    let row = queued(&app, &moderator, &reference).await;
    assert_eq!(row["notes"][0]["body"], "Private note: called the ward");

    let empty_note = app
        .graphql_as(
            &moderator,
            "mutation($id: ID!) { addNote(subjectId: $id, body: \"   \") { id } }",
            json!({ "id": id }),
        )
        .await;
    assert_eq!(empty_note["errors"][0]["extensions"]["field"], "body");

    let audit = app.data_as(&admin, AUDIT, json!({ "subject": id })).await;
    let events = audit["auditLog"]["edges"].as_array().unwrap();
    let actions: Vec<&str> = events
        .iter()
        .map(|edge| edge["node"]["action"].as_str().unwrap())
        .collect();
    assert_eq!(
        actions,
        ["feedback.moderated", "note.added"],
        "newest first"
    );
    let moderated = &events[0]["node"];
    assert_eq!(moderated["actor"]["id"], moderator.id.as_str());
    assert_eq!(moderated["before"]["status"], "NEW");
    assert_eq!(moderated["after"]["status"], "IN_REVIEW");
    assert_eq!(moderated["after"]["hasPublicResponse"], true);
    let everything = audit.to_string();
    for secret in [
        "Secret words",
        "Private note",
        "Reply with words",
        "ada@example.org",
    ] {
        assert!(
            !everything.contains(secret),
            "the audit trail holds {secret:?}"
        );
    }
    // By actor: the moderator did two things here, the admin nothing.
    let by_actor = app
        .data_as(&admin, AUDIT, json!({ "actor": moderator.id }))
        .await;
    assert_eq!(by_actor["auditLog"]["totalCount"], 2);
    let by_admin = app
        .data_as(&admin, AUDIT, json!({ "actor": admin.id }))
        .await;
    assert_eq!(by_admin["auditLog"]["totalCount"], 0);
}

#[tokio::test]
async fn every_staff_action_is_in_the_audit_log() {
    let app = TestApp::spawn().await;
    let admin = app.staff(&[Role::Admin]).await;
    let created = app
        .data_as(
            &admin,
            "mutation { createStaff(input: { email: \"new.moderator@example.org\", displayName: \"New Moderator\",
                roles: [MODERATOR], password: \"plum kettle orbit 42\" }) { id } }",
            json!({}),
        )
        .await;
    let staff_id = created["createStaff"]["id"].clone();
    app.data_as(
        &admin,
        "mutation($id: ID!) { updateStaff(input: { id: $id, roles: [MODERATOR, EDITOR] }) { roles } }",
        json!({ "id": staff_id }),
    )
    .await;
    let kiosk = app
        .data_as(
            &admin,
            "mutation { createKiosk(name: \"Whitechapel kiosk\") { kiosk { id } token } }",
            json!({}),
        )
        .await;
    let kiosk_id = kiosk["createKiosk"]["kiosk"]["id"].clone();
    app.data_as(
        &admin,
        "mutation($id: ID!) { revokeKiosk(id: $id) { active } }",
        json!({ "id": kiosk_id }),
    )
    .await;
    let audit = app
        .data_as(&admin, AUDIT, json!({ "actor": admin.id }))
        .await;
    let actions: Vec<&str> = audit["auditLog"]["edges"]
        .as_array()
        .unwrap()
        .iter()
        .map(|edge| edge["node"]["action"].as_str().unwrap())
        .collect();
    assert_eq!(
        actions,
        [
            "kiosk.revoked",
            "kiosk.created",
            "staff.updated",
            "staff.created"
        ]
    );
    let updated = &audit["auditLog"]["edges"][2]["node"];
    assert_eq!(updated["subjectId"], staff_id);
    assert_eq!(updated["before"]["roles"], json!(["MODERATOR"]));
    assert_eq!(updated["after"]["roles"], json!(["MODERATOR", "EDITOR"]));
    assert!(
        !audit
            .to_string()
            .contains(&kiosk["createKiosk"]["token"].as_str().unwrap()[3..])
    );
}

/// A `graphql-transport-ws` client, signed in as `staff`.
async fn subscribe(
    app: &TestApp,
    token: &str,
    query: &str,
) -> tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>> {
    let url = app.url("/graphql/ws").replace("http://", "ws://");
    let mut request = url.into_client_request().unwrap();
    request.headers_mut().insert(
        "sec-websocket-protocol",
        "graphql-transport-ws".parse().unwrap(),
    );
    let (mut socket, _) = tokio_tungstenite::connect_async(request).await.unwrap();
    socket
        .send(Message::Text(
            json!({ "type": "connection_init", "payload": { "authorization": format!("Bearer {token}") } })
                .to_string()
                .into(),
        ))
        .await
        .unwrap();
    let ack = next_message(&mut socket).await;
    assert_eq!(ack["type"], "connection_ack", "{ack}");
    socket
        .send(Message::Text(
            json!({ "id": "1", "type": "subscribe", "payload": { "query": query } })
                .to_string()
                .into(),
        ))
        .await
        .unwrap();
    socket
}

type Socket =
    tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>;

async fn next_message(socket: &mut Socket) -> Value {
    message_within(socket, std::time::Duration::from_secs(5))
        .await
        .expect("a message within 5 s")
}

/// The next message other than a ping, if one comes within `wait`.
async fn message_within(socket: &mut Socket, wait: std::time::Duration) -> Option<Value> {
    let deadline = tokio::time::Instant::now() + wait;
    loop {
        let message = tokio::time::timeout_at(deadline, socket.next())
            .await
            .ok()?
            .expect("the socket is open")
            .unwrap();
        if let Message::Text(text) = message {
            let value: Value = serde_json::from_str(&text).unwrap();
            if value["type"] != "ping" {
                return Some(value);
            }
        }
    }
}

/// Waits until the `submissionReceived` subscription just sent on `socket`
/// (listening for `kind`) is live. The protocol says nothing when a
/// subscription starts, so a stand-in event is announced to this process's
/// live queues, again and again, until one comes through; then a last one,
/// read up to, so that no stand-in is left to be taken for a real event.
async fn until_live(app: &TestApp, socket: &mut Socket, kind: SubmissionKind) {
    let probe = |reference: &str| SubmissionEvent {
        kind,
        id: uuid::Uuid::nil(),
        reference: reference.to_owned(),
        safeguarding: false,
        received_at: chrono::Utc::now(),
    };
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    loop {
        assert!(
            std::time::Instant::now() < deadline,
            "the subscription was not live within 10 s"
        );
        app.events.publish_here(probe("PROBE"));
        if let Some(event) = message_within(socket, std::time::Duration::from_millis(100)).await {
            assert_eq!(
                event["payload"]["data"]["submissionReceived"]["reference"], "PROBE",
                "{event}"
            );
            break;
        }
    }
    app.events.publish_here(probe("LAST-PROBE"));
    loop {
        let event = next_message(socket).await;
        let reference = &event["payload"]["data"]["submissionReceived"]["reference"];
        if reference == "LAST-PROBE" {
            return;
        }
        assert_eq!(reference, "PROBE", "{event}");
    }
}

const RECEIVED: &str = "subscription { submissionReceived { kind id reference safeguarding } }";

#[tokio::test]
async fn moderators_see_new_submissions_live_with_safeguarding_marked() {
    let app = TestApp::spawn().await;
    let moderator = app.staff(&[Role::Moderator]).await;
    let mut socket = subscribe(&app, &moderator.access_token, RECEIVED).await;
    until_live(&app, &mut socket, SubmissionKind::Feedback).await;
    let reference = app
        .feedback_reference(with(feedback(), "comment", json!("thinking about suicide")))
        .await;
    let event = next_message(&mut socket).await;
    assert_eq!(event["type"], "next", "{event}");
    let received = &event["payload"]["data"]["submissionReceived"];
    assert_eq!(received["reference"], reference.as_str());
    assert_eq!(received["kind"], "FEEDBACK");
    assert_eq!(received["safeguarding"], true);

    // Ideas only.
    let mut ideas = subscribe(
        &app,
        &moderator.access_token,
        "subscription { submissionReceived(kind: IDEA) { kind reference } }",
    )
    .await;
    until_live(&app, &mut ideas, SubmissionKind::Idea).await;
    app.feedback_reference(feedback()).await;
    let idea_reference = app.idea_reference(idea()).await;
    let event = next_message(&mut ideas).await;
    assert_eq!(
        event["payload"]["data"]["submissionReceived"]["reference"],
        idea_reference.as_str()
    );
}

#[tokio::test]
async fn subscriptions_keep_the_same_document_limits_and_error_codes_as_http() {
    let app = TestApp::spawn().await;
    let moderator = app.staff(&[Role::Moderator]).await;
    let aliases: String = (0..31)
        .map(|i| format!("a{i}: submissionReceived {{ id }} "))
        .collect();
    let mut socket = subscribe(
        &app,
        &moderator.access_token,
        &format!("subscription {{ {aliases} }}"),
    )
    .await;
    let answer = next_message(&mut socket).await;
    assert_eq!(
        answer["payload"]["errors"][0]["extensions"]["code"], "QUERY_TOO_COMPLEX",
        "{answer}"
    );

    let mut socket = subscribe(
        &app,
        &moderator.access_token,
        "subscription { submissionReceived { noSuchField } }",
    )
    .await;
    let answer = next_message(&mut socket).await;
    assert_eq!(
        answer["payload"]["errors"][0]["extensions"]["code"], "GRAPHQL_VALIDATION_FAILED",
        "{answer}"
    );
}

#[tokio::test]
async fn the_live_queue_is_refused_to_anyone_but_moderators() {
    let app = TestApp::spawn().await;
    let editor = app.staff(&[Role::Editor]).await;
    let mut socket = subscribe(&app, &editor.access_token, RECEIVED).await;
    let answer = next_message(&mut socket).await;
    assert_eq!(
        answer["payload"]["errors"][0]["extensions"]["code"], "FORBIDDEN",
        "{answer}"
    );
    assert!(answer["payload"]["data"].is_null(), "{answer}");

    // A token that is not valid ends the connection at `connection_init`.
    let url = app.url("/graphql/ws").replace("http://", "ws://");
    let mut request = url.into_client_request().unwrap();
    request.headers_mut().insert(
        "sec-websocket-protocol",
        "graphql-transport-ws".parse().unwrap(),
    );
    let (mut socket, _) = tokio_tungstenite::connect_async(request).await.unwrap();
    socket
        .send(Message::Text(
            json!({ "type": "connection_init", "payload": { "authorization": "Bearer forged.token.here" } })
                .to_string()
                .into(),
        ))
        .await
        .unwrap();
    let closed = tokio::time::timeout(std::time::Duration::from_secs(5), socket.next())
        .await
        .expect("an answer within 5 s");
    match closed {
        // async-graphql closes a refused `connection_init` as a protocol error.
        Some(Ok(Message::Close(frame))) => {
            assert_eq!(u16::from(frame.unwrap().code), 1002);
        }
        other => panic!("expected the socket to close, got {other:?}"),
    }
}

/// `hamlet_db_statements_total` from `/metrics`.

#[tokio::test]
async fn a_page_of_twenty_costs_no_more_queries_than_a_page_of_one() {
    let app = TestApp::spawn_quiet().await;
    let moderator = app.staff(&[Role::Moderator]).await;
    let kiosk = app.cli(&["kiosk", "create", "--name", "Ward kiosk"]);
    let token = kiosk.lines().last().unwrap().trim().to_owned();
    let auth = format!("Kiosk {token}");
    let services = [
        "royal-london-emergency-department",
        "royal-london-maternity",
        "district-nursing",
    ];
    for i in 0..20 {
        let mut input = feedback();
        input["serviceSlug"] = json!(services[i % 3]);
        app.submit_feedback(input, crate::helpers::headers(&[("authorization", &auth)]))
            .await;
    }
    let body = app.data_as(&moderator, QUEUE, json!({ "first": 20 })).await;
    for edge in body["feedbackQueue"]["edges"].as_array().unwrap() {
        let id = &edge["node"]["id"];
        app.data_as(
            &moderator,
            MODERATE_FEEDBACK,
            json!({ "input": { "id": id, "expectedVersion": 1, "assigneeId": moderator.id, "tags": ["ward"] } }),
        )
        .await;
        app.data_as(
            &moderator,
            "mutation($id: ID!) { addNote(subjectId: $id, body: \"Checked\") { id } }",
            json!({ "id": id }),
        )
        .await;
    }
    // Statements are counted for the whole app, and background work can only
    // add to a count, never take from it: the least of three measurements is
    // the request's own cost. Each is a new text (an extra `__typename`), so
    // none is answered from a kept page.
    let cost = |first: i32| {
        let app = &app;
        let moderator = &moderator;
        async move {
            let mut least = u64::MAX;
            for attempt in 0..3 {
                let query = format!(
                    "{} t{attempt}: __typename }}",
                    QUEUE.trim_end().strip_suffix('}').unwrap()
                );
                let before = app.statements().await;
                let body = app
                    .data_as(moderator, &query, json!({ "first": first }))
                    .await;
                let after = app.statements().await;
                let nodes = body["feedbackQueue"]["edges"].as_array().unwrap().clone();
                assert_eq!(nodes.len(), first as usize);
                for node in &nodes {
                    let node = &node["node"];
                    assert_eq!(node["kiosk"]["name"], "Ward kiosk");
                    assert_eq!(node["assignee"]["id"], moderator.id.as_str());
                    assert_eq!(node["tags"], json!(["ward"]));
                    assert_eq!(node["notes"][0]["author"]["id"], moderator.id.as_str());
                }
                least = least.min(after - before);
            }
            least
        }
    };
    let one = cost(1).await;
    let twenty = cost(20).await;
    // The sign-in check, the page, its count, then one batch per relation
    // (service, kiosk, assignee, tags, notes, note authors).
    assert!(twenty <= 9, "a page of twenty ran {twenty} statements");
    assert_eq!(
        twenty, one,
        "the relations of twenty items load in the same batches as one"
    );
}

#[tokio::test]
async fn a_kept_queue_page_is_never_older_than_the_database() {
    let app = TestApp::spawn_quiet().await;
    let sqlite = app.database_url.starts_with("sqlite:");
    let moderator = app.staff(&[Role::Moderator]).await;
    let colleague = app.staff(&[Role::Moderator]).await;
    let first = app.feedback_reference(feedback()).await;
    let page = |staff| {
        let app = &app;
        async move {
            let before = app.statements().await;
            let body = app
                .data_as(
                    staff,
                    QUEUE,
                    json!({ "first": 20, "filter": { "status": "NEW" } }),
                )
                .await;
            let ran = app.statements().await - before;
            let references: Vec<String> = body["feedbackQueue"]["edges"]
                .as_array()
                .unwrap()
                .iter()
                .map(|edge| edge["node"]["reference"].as_str().unwrap().to_owned())
                .collect();
            (body, references, ran)
        }
    };

    let (body, references, _) = page(&moderator).await;
    assert_eq!(references, std::slice::from_ref(&first));
    assert_eq!(body["feedbackQueue"]["totalCount"], 1);

    // Asked again with nothing changed: on SQLite the page kept from last
    // time, for the one statement that reads the database's version; on
    // PostgreSQL nothing is kept, so the page is read again.
    let (again, _, ran) = page(&moderator).await;
    assert_eq!(again, body);
    if sqlite {
        assert_eq!(ran, 1, "a kept page ran {ran} statements");
    } else {
        assert!(ran >= 2, "a page on PostgreSQL ran {ran} statements");
    }
    // A colleague's page is made for them, not taken from another's.
    let (theirs, _, ran) = page(&colleague).await;
    assert_eq!(theirs, body);
    assert!(ran >= 2, "a colleague's first page ran {ran} statements");

    // A new submission is on the next page at once.
    let second = app.feedback_reference(feedback()).await;
    let (body, references, _) = page(&moderator).await;
    assert_eq!(references, [second.clone(), first.clone()]);
    assert_eq!(body["feedbackQueue"]["totalCount"], 2);

    // So is a change another process commits (here, another connection).
    let db = app.db().await;
    sea_orm::ConnectionTrait::execute_unprepared(
        &db,
        &format!("UPDATE feedback SET status = 'CLOSED' WHERE reference = '{second}'"),
    )
    .await
    .unwrap();
    db.close().await.ok();
    let (body, references, _) = page(&moderator).await;
    assert_eq!(references, std::slice::from_ref(&first));
    assert_eq!(body["feedbackQueue"]["totalCount"], 1);

    // Signing out ends the session whatever is kept.
    let out = app
        .data(
            "mutation($token: String!) { logout(refreshToken: $token) }",
            json!({ "token": moderator.refresh_token }),
        )
        .await;
    assert_eq!(out["logout"], true);
    let refused = app
        .post_as(&moderator.access_token, QUEUE, json!({ "first": 20 }))
        .await;
    assert_eq!(refused.status(), reqwest::StatusCode::UNAUTHORIZED);
}

/// A stored value hamlet does not know (written by a newer version, or by
/// hand) is an error, logged, never read as some default: a moderator must
/// not see an item as NEW that is something else.
#[tokio::test]
async fn a_stored_status_hamlet_does_not_know_is_an_error_not_a_default() {
    use sea_orm::ConnectionTrait as _;
    let app = TestApp::spawn().await;
    let moderator = app.staff(&[Role::Moderator]).await;
    let reference = app.feedback_reference(feedback()).await;
    let row = queued(&app, &moderator, &reference).await;
    let db = app.db().await;
    db.execute_raw(sea_orm::Statement::from_sql_and_values(
        db.get_database_backend(),
        match db.get_database_backend() {
            sea_orm::DbBackend::Postgres => {
                "UPDATE feedback SET status = 'ESCALATED' WHERE reference = $1"
            }
            _ => "UPDATE feedback SET status = 'ESCALATED' WHERE reference = ?",
        },
        [reference.clone().into()],
    ))
    .await
    .unwrap();
    db.close().await.ok();
    let body = app
        .graphql_as(
            &moderator,
            "query($id: ID!) { feedback(id: $id) { status } }",
            json!({ "id": row["id"] }),
        )
        .await;
    assert_eq!(first_error_code(&body), "INTERNAL", "{body}");
    assert!(
        !body.to_string().contains("ESCALATED"),
        "nothing of the stored value reaches the client: {body}"
    );
    assert!(
        body["data"].is_null() || body["data"]["feedback"].is_null(),
        "{body}"
    );
}

#[tokio::test]
async fn personal_details_in_a_published_ideas_theme_are_screened_and_masked_on_the_board() {
    let app = TestApp::spawn().await;
    let moderator = app.staff(&[Role::Moderator]).await;
    let mut input = idea();
    input["theme"] = json!("call 07700 900123");
    let reference = app.idea_reference(input).await;
    let row = idea_row(&app, &moderator, &reference).await;
    let flags = app
        .data_as(
            &moderator,
            "query($id: ID!) { idea(id: $id) { piiFlags theme } }",
            json!({ "id": row["id"] }),
        )
        .await;
    assert_eq!(flags["idea"]["piiFlags"], json!(["PHONE"]));
    assert_eq!(flags["idea"]["theme"], "call 07700 900123");
    app.data_as(
        &moderator,
        MODERATE_IDEA,
        json!({ "input": { "id": row["id"], "expectedVersion": 1, "status": "UNDER_REVIEW",
            "published": true } }),
    )
    .await;
    let board = app
        .data("{ ideaBoard { edges { node { theme } } } }", json!({}))
        .await;
    assert_eq!(
        board["ideaBoard"]["edges"][0]["node"]["theme"],
        "call [phone number removed]"
    );
}
