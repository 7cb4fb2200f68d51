//! Safeguarding concerns through the API: what the detector raises, by
//! category, on feedback and ideas; the queue filter; staff confirming,
//! dismissing, recategorising and raising by hand, each audited; the
//! `safeguarding.confirmed` webhook event; the monthly figures; excerpts
//! erased with the text.

use hamlet::staff::model::Role;
use serde_json::{Value, json};

use crate::helpers::{Staff, TestApp, feedback, first_error_code, idea};

const QUEUE: &str = "query($filter: FeedbackFilterInput) {
  feedbackQueue(filter: $filter, first: 100) {
    totalCount
    edges { node { id reference comment safeguarding version
      safeguardingConcerns { id category excerpt strength origin status reason escalatedTo
        escalatedAt escalationNote decidedBy { id } raisedBy { id } version } } }
  }
}";

const CONFIRM: &str = "mutation($input: ConfirmSafeguardingConcernInput!) {
  confirmSafeguardingConcern(input: $input) { id status escalatedTo escalationNote decidedBy { id } version }
}";
const DISMISS: &str = "mutation($input: DismissSafeguardingConcernInput!) {
  dismissSafeguardingConcern(input: $input) { id status reason version }
}";
const RECATEGORISE: &str = "mutation($input: RecategoriseSafeguardingConcernInput!) {
  recategoriseSafeguardingConcern(input: $input) { id category reason version }
}";
const RAISE: &str = "mutation($input: RaiseSafeguardingConcernInput!) {
  raiseSafeguardingConcern(input: $input) { id category origin status reason raisedBy { id } }
}";
const FIGURES: &str = "{ safeguardingFigures { month category raised confirmed dismissed addedByHand precision recall } }";
const AUDIT: &str = "query($subject: ID) {
  auditLog(first: 100, subjectId: $subject) { edges { node { action actor { id } before after } } }
}";

/// Submits feedback with this comment and answers its queue row.
async fn submitted(app: &TestApp, moderator: &Staff, comment: &str) -> Value {
    let mut input = feedback();
    input["comment"] = json!(comment);
    let reference = app.feedback_reference(input).await;
    row(app, moderator, &reference).await
}

async fn row(app: &TestApp, moderator: &Staff, reference: &str) -> Value {
    let body = app.data_as(moderator, QUEUE, json!({})).await;
    body["feedbackQueue"]["edges"]
        .as_array()
        .unwrap()
        .iter()
        .map(|edge| edge["node"].clone())
        .find(|node| node["reference"] == reference)
        .unwrap_or_else(|| panic!("{reference} is in the queue: {body}"))
}

fn categories(row: &Value) -> Vec<String> {
    row["safeguardingConcerns"]
        .as_array()
        .unwrap()
        .iter()
        .map(|concern| concern["category"].as_str().unwrap().to_owned())
        .collect()
}

#[tokio::test]
async fn disclosures_are_raised_in_their_category_and_a_shared_word_is_not() {
    let app = TestApp::spawn().await;
    let moderator = app.staff(&[Role::Moderator]).await;
    for (text, expected) in [
        (
            "my brother has my bank card and gives me a fiver a week, says I'd only waste it",
            &["FINANCIAL"][..],
        ),
        (
            "mum's been sat in the same wet clothes since the carer didnt turn up friday",
            &["NEGLECT"],
        ),
        (
            "some nights i just want to go to sleep and stay asleep, whats the point of any of it",
            &["SUICIDE_SELF_HARM"],
        ),
        (
            "the lady upstairs has marks on her neck again and her husband never lets her out on her own",
            &["DOMESTIC", "PHYSICAL"],
        ),
    ] {
        let row = submitted(&app, &moderator, text).await;
        assert_eq!(row["safeguarding"], true, "{text}: {row}");
        let found = categories(&row);
        assert!(
            expected
                .iter()
                .any(|category| found.contains(&(*category).to_owned())),
            "{text}: expected one of {expected:?}, got {found:?}"
        );
        for concern in row["safeguardingConcerns"].as_array().unwrap() {
            let excerpt = concern["excerpt"].as_str().unwrap();
            assert!(
                !excerpt.is_empty() && text.contains(excerpt),
                "the excerpt {excerpt:?} is words of {text:?}"
            );
            let strength = concern["strength"].as_f64().unwrap();
            assert!((0.0..=1.0).contains(&strength), "{strength}");
            assert_eq!(concern["origin"], "DETECTED");
            assert_eq!(concern["status"], "RAISED");
        }
    }
    for text in [
        "the hold music nearly finished me off but the receptionist was brilliant",
        "no one on this ward has ever been unkind to me",
        "I could wring the neck of whoever planned the car park",
        "the talk on staying safe online was useful",
        "social services stepped in back in 2023 and my aunt has been safe ever since",
        "the nurse held my arm firmly for the jab, which was fine",
    ] {
        let row = submitted(&app, &moderator, text).await;
        assert_eq!(row["safeguarding"], false, "{text}: {row}");
        assert_eq!(row["safeguardingConcerns"], json!([]), "{text}");
    }

    // The queue filter by category finds the financial one alone.
    let body = app
        .data_as(
            &moderator,
            QUEUE,
            json!({ "filter": { "safeguardingCategories": ["FINANCIAL"] } }),
        )
        .await;
    assert_eq!(body["feedbackQueue"]["totalCount"], 1, "{body}");
    let comment = body["feedbackQueue"]["edges"][0]["node"]["comment"]
        .as_str()
        .unwrap();
    assert!(comment.contains("bank card"), "{comment}");
}

#[tokio::test]
async fn staff_confirm_dismiss_recategorise_and_raise_each_audited_and_counted() {
    let app = TestApp::spawn().await;
    let moderator = app.staff(&[Role::Moderator]).await;
    let admin = app.staff(&[Role::Admin]).await;
    app.data_as(
        &admin,
        "mutation($url: String!) { createWebhook(url: $url) { webhook { id } secret } }",
        json!({ "url": "http://127.0.0.1:9/hook" }),
    )
    .await;

    let risky = submitted(
        &app,
        &moderator,
        "my brother has my bank card and gives me a fiver a week, says I'd only waste it",
    )
    .await;
    let concern = risky["safeguardingConcerns"][0].clone();
    let concern_id = concern["id"].clone();
    // A category the detector did not raise here, to move the concern to.
    let found = categories(&risky);
    let elsewhere = ["PSYCHOLOGICAL", "DISCRIMINATORY", "ORGANISATIONAL"]
        .into_iter()
        .find(|category| !found.iter().any(|f| f == category))
        .unwrap();

    // Confirmed with where it was escalated.
    let confirmed = app
        .data_as(
            &moderator,
            CONFIRM,
            json!({ "input": { "id": concern_id, "expectedVersion": concern["version"],
                "escalatedTo": "Adult safeguarding duty team", "escalationNote": "Called at 10:05" } }),
        )
        .await;
    let confirmed = &confirmed["confirmSafeguardingConcern"];
    assert_eq!(confirmed["status"], "CONFIRMED");
    assert_eq!(confirmed["escalatedTo"], "Adult safeguarding duty team");
    assert_eq!(confirmed["decidedBy"]["id"], moderator.id);
    // A stale version is a conflict; a confirmed concern cannot be dismissed.
    let stale = app
        .graphql_as(
            &moderator,
            RECATEGORISE,
            json!({ "input": { "id": concern_id, "expectedVersion": 1,
                "category": elsewhere, "reason": "her brother" } }),
        )
        .await;
    assert_eq!(first_error_code(&stale), "CONFLICT");
    let undone = app
        .graphql_as(
            &moderator,
            DISMISS,
            json!({ "input": { "id": concern_id, "reason": "changed my mind" } }),
        )
        .await;
    assert_eq!(first_error_code(&undone), "BAD_USER_INPUT");
    // Recategorised, with a reason.
    let moved = app
        .data_as(
            &moderator,
            RECATEGORISE,
            json!({ "input": { "id": concern_id, "category": elsewhere, "reason": "how he controls her" } }),
        )
        .await;
    assert_eq!(
        moved["recategoriseSafeguardingConcern"]["category"],
        elsewhere
    );

    // The confirmation reached the webhook outbox, without the excerpt.
    let hooks = app
        .data_as(&admin, "{ webhooks { deliveries { event } } }", json!({}))
        .await;
    let events: Vec<&str> = hooks["webhooks"][0]["deliveries"]
        .as_array()
        .unwrap()
        .iter()
        .map(|delivery| delivery["event"].as_str().unwrap())
        .collect();
    assert!(events.contains(&"safeguarding.confirmed"), "{events:?}");

    // A false alarm dismissed: the item is no longer marked.
    let alarm = submitted(
        &app,
        &moderator,
        "some nights i just want to go to sleep and stay asleep, whats the point of any of it",
    )
    .await;
    for concern in alarm["safeguardingConcerns"].as_array().unwrap() {
        let dismissed = app
            .data_as(
                &moderator,
                DISMISS,
                json!({ "input": { "id": concern["id"], "reason": "quoting a song lyric, checked with the resident" } }),
            )
            .await;
        assert_eq!(
            dismissed["dismissSafeguardingConcern"]["status"],
            "DISMISSED"
        );
    }
    let alarm_after = row(&app, &moderator, alarm["reference"].as_str().unwrap()).await;
    assert_eq!(alarm_after["safeguarding"], false, "{alarm_after}");
    let reason = app
        .graphql_as(
            &moderator,
            DISMISS,
            json!({ "input": { "id": concern_id, "reason": "  " } }),
        )
        .await;
    assert_eq!(first_error_code(&reason), "BAD_USER_INPUT");

    // One the detector missed, raised by hand: now marked and first.
    let missed = submitted(&app, &moderator, "Seen quickly and kindly.").await;
    assert_eq!(missed["safeguarding"], false);
    let raised = app
        .data_as(
            &moderator,
            RAISE,
            json!({ "input": { "submissionId": missed["id"], "category": "NEGLECT",
                "reason": "the resident told the receptionist more in person" } }),
        )
        .await;
    assert_eq!(raised["raiseSafeguardingConcern"]["origin"], "STAFF");
    assert_eq!(
        raised["raiseSafeguardingConcern"]["raisedBy"]["id"],
        moderator.id
    );
    let missed_after = row(&app, &moderator, missed["reference"].as_str().unwrap()).await;
    assert_eq!(missed_after["safeguarding"], true);
    assert_eq!(categories(&missed_after), ["NEGLECT"]);

    // Every step is in the audit log, with no free text.
    let audit = app
        .data_as(&admin, AUDIT, json!({ "subject": risky["id"] }))
        .await;
    let actions: Vec<&str> = audit["auditLog"]["edges"]
        .as_array()
        .unwrap()
        .iter()
        .map(|edge| edge["node"]["action"].as_str().unwrap())
        .collect();
    assert!(actions.contains(&"safeguarding.confirmed"), "{actions:?}");
    assert!(
        actions.contains(&"safeguarding.recategorised"),
        "{actions:?}"
    );
    assert!(!audit.to_string().contains("bank card"), "{audit}");
    let audit = app
        .data_as(&admin, AUDIT, json!({ "subject": missed["id"] }))
        .await;
    assert!(audit.to_string().contains("safeguarding.raised"), "{audit}");

    // The month's figures: what the detector raised, confirmed, dismissed,
    // and what staff added by hand.
    let figures = app.data_as(&moderator, FIGURES, json!({})).await;
    let rows = figures["safeguardingFigures"].as_array().unwrap();
    let total = |field: &str| -> u64 { rows.iter().map(|row| row[field].as_u64().unwrap()).sum() };
    let alarms = alarm["safeguardingConcerns"].as_array().unwrap().len() as u64;
    let risks = risky["safeguardingConcerns"].as_array().unwrap().len() as u64;
    assert_eq!(total("raised"), alarms + risks, "{figures}");
    assert_eq!(total("confirmed"), 1, "{figures}");
    assert_eq!(total("dismissed"), alarms, "{figures}");
    assert_eq!(total("addedByHand"), 1, "{figures}");
    let neglect = rows
        .iter()
        .find(|row| row["category"] == "NEGLECT" && row["addedByHand"] == 1)
        .unwrap();
    assert_eq!(neglect["recall"], 0.0, "{neglect}");
    let moved = rows
        .iter()
        .find(|row| row["category"] == elsewhere)
        .unwrap();
    assert_eq!(moved["confirmed"], 1, "{moved}");
    assert_eq!(moved["precision"], 1.0, "{moved}");
}

#[tokio::test]
async fn concerns_are_staff_only_and_their_excerpts_go_with_an_erased_text() {
    let app = TestApp::spawn().await;
    let moderator = app.staff(&[Role::Moderator]).await;
    let admin = app.staff(&[Role::Admin]).await;

    // An idea's concerns are not on the public board.
    let mut input = idea();
    input["description"] =
        json!("mum's been sat in the same wet clothes since the carer didnt turn up friday");
    app.idea_reference(input).await;
    let public = app
        .graphql(
            "{ ideaBoard { edges { node { id safeguardingConcerns { excerpt } } } } }",
            json!({}),
        )
        .await;
    assert!(public.get("errors").is_some() || public["data"]["ideaBoard"]["edges"] == json!([]));
    let ideas = app
        .data_as(
            &moderator,
            "{ ideas(first: 10) { edges { node { safeguarding safeguardingConcerns { category excerpt } } } } }",
            json!({}),
        )
        .await;
    let node = &ideas["ideas"]["edges"][0]["node"];
    assert_eq!(node["safeguarding"], true, "{ideas}");
    assert!(categories(node).contains(&"NEGLECT".to_owned()), "{ideas}");
    // Not for a signed-out caller, even by id.
    let anonymous = app
        .graphql(
            "{ feedbackQueue { edges { node { safeguardingConcerns { excerpt } } } } }",
            json!({}),
        )
        .await;
    assert!(anonymous.get("errors").is_some(), "{anonymous}");

    // Erasing the feedback erases the words its concerns quote.
    let risky = submitted(
        &app,
        &moderator,
        "my brother has my bank card and gives me a fiver a week, says I'd only waste it",
    )
    .await;
    assert!(risky["safeguardingConcerns"][0]["excerpt"].is_string());
    app.data_as(
        &admin,
        "mutation($r: String!) { eraseSubmission(reference: $r) }",
        json!({ "r": risky["reference"] }),
    )
    .await;
    let erased = row(&app, &moderator, risky["reference"].as_str().unwrap()).await;
    assert!(
        !erased["safeguardingConcerns"]
            .as_array()
            .unwrap()
            .is_empty()
    );
    for concern in erased["safeguardingConcerns"].as_array().unwrap() {
        assert_eq!(concern["excerpt"], Value::Null, "{erased}");
    }
}
