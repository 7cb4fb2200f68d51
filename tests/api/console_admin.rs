//! The analysts' and the admins' console screens over HTTP, as a browser
//! without JavaScript uses them: figures with small numbers withheld, the
//! Board report and the CSV as downloads, staff accounts, webhooks, the
//! audit log's filters and erasure by reference; and the API fields they
//! added (`boardReport`, `feedbackExport`, `auditLog`'s new filters,
//! `auditActions`) under their guards.

use hamlet::staff::model::Role;
use reqwest::StatusCode;
use reqwest::header::{CACHE_CONTROL, CONTENT_DISPOSITION, CONTENT_TYPE, LOCATION};
use serde_json::{Value, json};

use crate::console::Console;
use crate::helpers::{PASSWORD, Seed, Staff, TestApp, first_error_code, key};

const ED: &str = "royal-london-emergency-department";
const MATERNITY: &str = "royal-london-maternity";
/// Words only a resident wrote: no page or file for analysts may hold them.
const SECRET: &str = "The porter on ward 9 was called Zebedee";
const EMAIL: &str = "ada@example.org";

/// hamlet with room for the many submissions these tests make.
async fn spawn() -> TestApp {
    TestApp::spawn_with(Seed::BuiltIn, |config| config.submit_per_minute = 10_000).await
}

fn location(response: &reqwest::Response) -> String {
    response
        .headers()
        .get(LOCATION)
        .map(|value| value.to_str().unwrap().to_owned())
        .unwrap_or_default()
}

fn header(response: &reqwest::Response, name: reqwest::header::HeaderName) -> String {
    response
        .headers()
        .get(name)
        .map(|value| value.to_str().unwrap().to_owned())
        .unwrap_or_default()
}

/// Submits `count` responses about `service` with this rating, each with
/// the secret words and an email address; answers their references.
async fn submit(app: &TestApp, service: &str, rating: &str, count: usize) -> Vec<String> {
    let mut references = Vec::new();
    for _ in 0..count {
        references.push(
            app.feedback_reference(json!({
                "idempotencyKey": key(),
                "serviceSlug": service,
                "rating": rating,
                "comment": SECRET,
                "contact": { "email": EMAIL, "consentToContact": true },
            }))
            .await,
        );
    }
    references
}

async fn service_name(app: &TestApp, slug: &str) -> String {
    let services = app.data("{ services { slug name } }", json!({})).await;
    services["services"]
        .as_array()
        .unwrap()
        .iter()
        .find(|service| service["slug"] == slug)
        .map(|service| service["name"].as_str().unwrap().to_owned())
        .unwrap()
}

/// The `<tr>` of a table whose row header is `label`.
fn row_of<'a>(page: &'a str, label: &str) -> &'a str {
    let at = page
        .find(&format!("<th scope=\"row\">{label}</th>"))
        .unwrap_or_else(|| panic!("no row for {label}"));
    let end = page[at..].find("</tr>").unwrap();
    &page[at..at + end]
}

#[tokio::test]
async fn an_analyst_sees_figures_with_small_groups_withheld_and_downloads_the_report_and_the_csv() {
    let app = spawn().await;
    submit(&app, ED, "VERY_GOOD", 4).await;
    submit(&app, ED, "POOR", 2).await;
    submit(&app, MATERNITY, "GOOD", 2).await;
    let maternity = service_name(&app, MATERNITY).await;
    let emergency = service_name(&app, ED).await;
    let analyst = app.staff(&[Role::Analyst]).await;
    let console = Console::sign_in(&app, &analyst).await;

    // An analyst starts on the figures.
    let home = console.get("/console").await;
    assert_eq!(location(&home), "/console/figures");
    let figures = console.get("/console/figures").await;
    assert_eq!(figures.status(), StatusCode::OK);
    assert_eq!(header(&figures, CACHE_CONTROL), "no-store");
    let page = figures.text().await.unwrap();
    assert!(page.contains(r#"href="/console/figures" aria-current="page""#));
    assert!(!page.contains(r#"href="/console/queue""#));
    assert!(!page.contains(r#"href="/console/staff""#));
    assert!(!page.contains("Zebedee"), "no free text");
    assert!(!page.contains(EMAIL), "no contact details");
    // Eight responses: 4 of 8 very good or good, 2 of 8 poor.
    assert!(page.contains("<dt>Responses</dt><dd>8</dd>"), "{page}");
    assert!(page.contains("<dd>75%</dd>"), "6 of 8 positive");
    // The emergency department's six are shown; maternity's two are not.
    let ed_row = row_of(&page, &emergency);
    assert!(ed_row.contains("67%"), "{ed_row}");
    let maternity_row = row_of(&page, &maternity);
    assert!(
        maternity_row.contains("withheld (fewer than 5)"),
        "{maternity_row}"
    );
    assert!(
        !maternity_row.contains("<td>0%</td>") && !maternity_row.contains(">0<"),
        "withheld is not zero: {maternity_row}"
    );
    // The chart says it in words as well, beside the bar and in its title.
    assert!(page.contains(&format!(
        "{maternity}: withheld (fewer than 5): 2 responses"
    )));
    assert!(page.contains("<svg role=\"img\""));
    assert!(page.contains("67% positive (6 responses)"));
    assert!(!page.contains("style="), "no inline styles under the CSP");

    // Filters stand in the address.
    let only = console
        .page(&format!("/console/figures?service={MATERNITY}&channel=WEB"))
        .await;
    assert!(only.contains(&format!("{maternity}, web only, all dates")));
    assert!(only.contains("<dt>Responses</dt><dd>2</dd>"));
    assert!(only.contains(&format!(
        "href=\"/console/figures/export?service={MATERNITY}&#38;channel=WEB\""
    )));
    let wrong = console.get("/console/figures?from=yesterday").await;
    assert_eq!(wrong.status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert!(
        wrong
            .text()
            .await
            .unwrap()
            .contains("Enter the start date as a date")
    );

    // The Board report: one HTML file to save, never kept, no free text.
    let month = chrono::Utc::now().format("%Y-%m").to_string();
    let report = console
        .get(&format!("/console/figures/report?month={month}"))
        .await;
    assert_eq!(report.status(), StatusCode::OK);
    assert_eq!(header(&report, CONTENT_TYPE), "text/html; charset=utf-8");
    assert_eq!(
        header(&report, CONTENT_DISPOSITION),
        format!("attachment; filename=\"feedback-report-{month}.html\"")
    );
    assert_eq!(header(&report, CACHE_CONTROL), "no-store");
    let html = report.text().await.unwrap();
    assert!(html.starts_with("<!DOCTYPE html>"));
    assert!(html.contains("<svg"));
    assert!(html.contains("withheld*"), "maternity had 2 responses");
    assert!(!html.contains("Zebedee"), "no free text");
    assert!(!html.contains(EMAIL), "no contact details");
    let future = console.get("/console/figures/report?month=2999-01").await;
    assert_eq!(future.status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert!(
        future
            .text()
            .await
            .unwrap()
            .contains("Choose a month from the list")
    );

    // The CSV: the rows the figures count, without the comment column.
    let export = console.get("/console/figures/export").await;
    assert_eq!(export.status(), StatusCode::OK);
    assert_eq!(header(&export, CONTENT_TYPE), "text/csv; charset=utf-8");
    let disposition = header(&export, CONTENT_DISPOSITION);
    assert!(
        disposition.starts_with("attachment; filename=\"feedback-export-")
            && disposition.ends_with(".csv\""),
        "{disposition}"
    );
    assert_eq!(header(&export, CACHE_CONTROL), "no-store");
    let csv = export.text().await.unwrap();
    let mut reader = csv::Reader::from_reader(csv.as_bytes());
    let columns: Vec<String> = reader
        .headers()
        .unwrap()
        .iter()
        .map(str::to_owned)
        .collect();
    assert_eq!(
        columns,
        [
            "reference",
            "received_at",
            "captured_at",
            "service",
            "rating",
            "channel",
            "locale",
            "status",
            "safeguarding",
            "pii_flags",
            "tags"
        ]
    );
    assert_eq!(reader.records().count(), 8);
    assert!(!csv.contains("Zebedee"), "no free text");
    assert!(!csv.contains(EMAIL), "no contact details");
    let filtered = console
        .get(&format!("/console/figures/export?service={MATERNITY}"))
        .await
        .text()
        .await
        .unwrap();
    assert_eq!(filtered.lines().count(), 3, "the header and two rows");
    assert!(
        filtered
            .lines()
            .skip(1)
            .all(|line| line.contains(MATERNITY))
    );

    // Moderators may read the figures too (the API's STATISTICS guard).
    let moderator = app.staff(&[Role::Moderator]).await;
    let as_moderator = Console::sign_in(&app, &moderator).await;
    let page = as_moderator.page("/console/figures").await;
    assert!(page.contains(r#"href="/console/queue""#));
    assert_eq!(
        page.matches(r#"<li><a href="/console/figures""#).count(),
        1,
        "listed once for a role that reaches it twice"
    );
}

#[tokio::test]
async fn an_analyst_is_refused_the_queue_and_the_admin_screens_and_their_forged_forms() {
    let app = spawn().await;
    let admin = app.staff(&[Role::Admin]).await;
    let analyst = app.staff(&[Role::Analyst]).await;
    let reference = submit(&app, ED, "GOOD", 1).await.remove(0);
    let console = Console::sign_in(&app, &analyst).await;
    for path in [
        "/console/queue".to_owned(),
        "/console/kiosks".to_owned(),
        "/console/staff".to_owned(),
        format!("/console/staff/{}", admin.id),
        "/console/webhooks".to_owned(),
        "/console/audit".to_owned(),
        "/console/erase".to_owned(),
    ] {
        let response = console.get(&path).await;
        assert_eq!(response.status(), StatusCode::FORBIDDEN, "GET {path}");
        assert!(
            response
                .text()
                .await
                .unwrap()
                .contains("Your roles do not include this part of the console.")
        );
    }

    // Forged admin forms, with the analyst's own anti-forgery token: the
    // API's guard refuses each, and nothing changes.
    let forged = [
        (
            "/console/staff".to_owned(),
            vec![
                ("display_name", "Forged Admin"),
                ("email", "forged@towerhamlets.example"),
                ("roles", "ADMIN"),
                ("password", "a long enough forged password"),
            ],
        ),
        (
            format!("/console/staff/{}", analyst.id),
            vec![("display_name", "Me"), ("roles", "ADMIN")],
        ),
        (
            format!("/console/staff/{}/active", admin.id),
            vec![("active", "false")],
        ),
        (
            "/console/webhooks".to_owned(),
            vec![("url", "https://evil.example/hook")],
        ),
        (
            "/console/erase".to_owned(),
            vec![("reference", reference.as_str()), ("confirm", "yes")],
        ),
    ];
    for (path, form) in &forged {
        let response = console.post(path, form).await;
        assert_eq!(response.status(), StatusCode::FORBIDDEN, "POST {path}");
    }
    let staff = app
        .data_as(&admin, "{ staffMembers { email roles active } }", json!({}))
        .await;
    let members = staff["staffMembers"].as_array().unwrap();
    assert_eq!(members.len(), 2, "no member was made");
    assert!(
        members.iter().all(
            |member| member["active"] == true && member["roles"].as_array().unwrap().len() == 1
        ),
        "{staff}"
    );
    let hooks = app.data_as(&admin, "{ webhooks { id } }", json!({})).await;
    assert_eq!(hooks["webhooks"], json!([]));
    let moderator = app.staff(&[Role::Moderator]).await;
    let queue = app
        .data_as(
            &moderator,
            "{ feedbackQueue(first: 5) { nodes { comment } } }",
            json!({}),
        )
        .await;
    assert_eq!(queue["feedbackQueue"]["nodes"][0]["comment"], SECRET);

    // An admin without the analyst's role has no figures either.
    let as_admin = Console::sign_in(&app, &admin).await;
    assert_eq!(
        as_admin.get("/console/figures").await.status(),
        StatusCode::FORBIDDEN
    );
    assert_eq!(
        as_admin.get("/console/figures/export").await.status(),
        StatusCode::FORBIDDEN
    );
}

/// A staff member made through the console, to sign in as.
fn persona(id: &str, email: &str) -> Staff {
    Staff {
        id: id.to_owned(),
        email: email.to_owned(),
        access_token: String::new(),
        refresh_token: String::new(),
    }
}

async fn member_id(app: &TestApp, admin: &Staff, email: &str) -> String {
    let staff = app
        .data_as(admin, "{ staffMembers { id email } }", json!({}))
        .await;
    staff["staffMembers"]
        .as_array()
        .unwrap()
        .iter()
        .find(|member| member["email"] == email)
        .map(|member| member["id"].as_str().unwrap().to_owned())
        .unwrap()
}

#[tokio::test]
async fn an_admin_adds_a_member_who_signs_in_changes_their_roles_and_deactivates_them() {
    let app = spawn().await;
    let admin = app.staff(&[Role::Admin]).await;
    let console = Console::sign_in(&app, &admin).await;
    let page = console.page("/console/staff").await;
    for section in [
        "/console/kiosks",
        "/console/staff",
        "/console/webhooks",
        "/console/audit",
        "/console/erase",
    ] {
        assert!(page.contains(&format!("href=\"{section}\"")), "{section}");
    }

    // A password the API refuses: the problem is named, what was typed
    // stays, but the password is never sent back.
    let email = "nadia.rahman@towerhamlets.example";
    let refused = console
        .post(
            "/console/staff",
            &[
                ("display_name", "Nadia Rahman"),
                ("email", email),
                ("roles", "MODERATOR"),
                ("password", "tiny-pw"),
            ],
        )
        .await;
    assert_eq!(refused.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let page = refused.text().await.unwrap();
    assert!(page.contains("<title>Error: Staff – hamlet console</title>"));
    assert!(page.contains("There is a problem"));
    assert!(
        page.contains(r##"<a href="#staff-password">Initial password: "##),
        "{page}"
    );
    assert!(!page.contains("tiny-pw"), "the password is not shown again");
    assert!(page.contains(r#"value="Nadia Rahman""#));
    assert!(
        page.contains(r#"value="MODERATOR" aria-describedby="staff-role-MODERATOR-hint" checked"#)
    );
    let missing = console
        .post("/console/staff", &[("display_name", "Nobody")])
        .await;
    assert_eq!(missing.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let page = missing.text().await.unwrap();
    assert!(page.contains("Choose at least one role."));
    assert!(page.contains("Enter an initial password."));

    let made = console
        .post(
            "/console/staff",
            &[
                ("display_name", "Nadia Rahman"),
                ("email", email),
                ("roles", "MODERATOR"),
                ("roles", "EDITOR"),
                ("password", PASSWORD),
            ],
        )
        .await;
    assert_eq!(made.status(), StatusCode::SEE_OTHER);
    let list = console.page(&location(&made)).await;
    assert!(list.contains("Nadia Rahman can now sign in."));
    assert!(list.contains("Moderator, Editor"));
    assert!(!list.contains(PASSWORD), "the password is never shown");
    let id = member_id(&app, &admin, email).await;

    // They sign in, with their roles.
    let nadia = Console::sign_in(&app, &persona(&id, email)).await;
    assert_eq!(nadia.get("/console/queue").await.status(), StatusCode::OK);

    // Their roles change: it acts on their next click.
    let path = format!("/console/staff/{id}");
    assert!(console.page(&path).await.contains("<h1>Nadia Rahman</h1>"));
    let saved = console
        .post(
            &path,
            &[("display_name", "Nadia Rahman"), ("roles", "ANALYST")],
        )
        .await;
    assert_eq!(saved.status(), StatusCode::SEE_OTHER);
    assert!(
        console
            .page(&location(&saved))
            .await
            .contains("Nadia Rahman’s account is saved.")
    );
    assert_eq!(
        nadia.get("/console/queue").await.status(),
        StatusCode::FORBIDDEN
    );
    assert_eq!(nadia.get("/console/figures").await.status(), StatusCode::OK);

    // The last active admin cannot be demoted or deactivated: the API says
    // so, and the page shows it.
    let own = format!("/console/staff/{}", admin.id);
    for (target, form) in [
        (
            own.clone(),
            vec![("display_name", "Test Persona"), ("roles", "MODERATOR")],
        ),
        (format!("{own}/active"), vec![("active", "false")]),
    ] {
        let refused = console.post(&target, &form).await;
        assert_eq!(
            refused.status(),
            StatusCode::UNPROCESSABLE_ENTITY,
            "{target}"
        );
        assert!(
            refused
                .text()
                .await
                .unwrap()
                .contains("This is the last active admin; make another admin first."),
            "{target}"
        );
    }
    assert!(console.get("/console/staff").await.status().is_success());

    let unclear = console
        .post(&format!("{path}/active"), &[("active", "perhaps")])
        .await;
    assert_eq!(unclear.status(), StatusCode::BAD_REQUEST);
    assert_eq!(nadia.get("/console/figures").await.status(), StatusCode::OK);

    // Deactivated, their session ends on their next click.
    let off = console
        .post(&format!("{path}/active"), &[("active", "false")])
        .await;
    assert_eq!(off.status(), StatusCode::OK);
    let page = off.text().await.unwrap();
    assert!(page.contains("Nadia Rahman is deactivated"));
    assert!(page.contains("Reactivate Nadia Rahman"));
    let next = nadia.get("/console/figures").await;
    assert_eq!(next.status(), StatusCode::SEE_OTHER);
    assert!(location(&next).starts_with("/console/sign-in"));
    let on = console
        .post(&format!("{path}/active"), &[("active", "true")])
        .await;
    assert!(
        on.text()
            .await
            .unwrap()
            .contains("Nadia Rahman is reactivated")
    );
    let again = Console::sign_in(&app, &persona(&id, email)).await;
    assert_eq!(again.get("/console/figures").await.status(), StatusCode::OK);

    // The audit log, filtered by who did it and by the action.
    let by_admin = console
        .page(&format!(
            "/console/audit?actor={}&action=staff.updated",
            admin.id
        ))
        .await;
    assert!(by_admin.contains("3 events match"), "{by_admin}");
    assert!(by_admin.contains(&format!("Staff {id}")));
    assert!(!by_admin.contains("<code class=\"action\">staff.created</code>"));
    let created = console
        .page(&format!(
            "/console/audit?actor={}&action=staff.created",
            admin.id
        ))
        .await;
    assert!(created.contains("1 event matches"), "{created}");
    assert!(created.contains(r#"<option value="staff.created" selected>"#));
    let about = console.page(&format!("/console/audit?subject={id}")).await;
    assert!(about.contains("4 events match"), "{about}");
    let by_nadia = console.page(&format!("/console/audit?actor={id}")).await;
    assert!(by_nadia.contains("0 events match"));
    let today = chrono::Utc::now().date_naive();
    let tomorrow = today + chrono::Duration::days(1);
    let dated = console
        .page(&format!(
            "/console/audit?subject={id}&from={today}&to={today}"
        ))
        .await;
    assert!(dated.contains("4 events match"), "{dated}");
    let later = console
        .page(&format!("/console/audit?subject={id}&from={tomorrow}"))
        .await;
    assert!(later.contains("0 events match"));
    assert!(
        by_admin.contains(&format!("href=\"/console/audit?subject={id}\"")),
        "a subject links to its own events"
    );
    // No inline style or script on any admin page (the CSP allows none).
    for path in [
        "/console/staff".to_owned(),
        path.clone(),
        "/console/webhooks".to_owned(),
        "/console/audit".to_owned(),
        "/console/erase".to_owned(),
    ] {
        let page = console.page(&path).await;
        assert!(!page.contains("style="), "{path}");
        assert!(!page.contains("<script>"), "{path}");
        assert!(!page.contains("<style"), "{path}");
    }
    let bad = console.get("/console/audit?subject=not-an-id").await;
    assert_eq!(bad.status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert!(
        bad.text()
            .await
            .unwrap()
            .contains("Enter the subject as an id")
    );
}

#[tokio::test]
async fn an_admin_registers_a_webhook_sees_its_secret_once_deletes_it_and_pages_the_audit_log() {
    let app = spawn().await;
    let admin = app.staff(&[Role::Admin]).await;
    let console = Console::sign_in(&app, &admin).await;
    let made = console
        .post(
            "/console/webhooks",
            &[("url", "https://intranet.example.nhs.uk/hooks/hamlet")],
        )
        .await;
    assert_eq!(made.status(), StatusCode::OK);
    assert_eq!(header(&made, CACHE_CONTROL), "no-store");
    let page = made.text().await.unwrap();
    assert!(
        page.contains("The webhook for https://intranet.example.nhs.uk/hooks/hamlet is registered")
    );
    let start = page
        .find(r#"id="new-secret" class="token-value" value=""#)
        .unwrap()
        + r#"id="new-secret" class="token-value" value=""#.len();
    let secret = page[start..].split('"').next().unwrap().to_owned();
    assert!(secret.len() >= 32, "{secret}");
    // Shown once: never again.
    let list = console.page("/console/webhooks").await;
    assert!(list.contains("https://intranet.example.nhs.uk/hooks/hamlet"));
    assert!(!list.contains(&secret));
    let audit = console.page("/console/audit").await;
    assert!(!audit.contains(&secret), "the audit log holds no secret");

    let refused = console
        .post("/console/webhooks", &[("url", "not a url")])
        .await;
    assert_eq!(refused.status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert!(
        refused
            .text()
            .await
            .unwrap()
            .contains(r##"<a href="#webhook-url">Address: "##)
    );

    let hooks = app.data_as(&admin, "{ webhooks { id } }", json!({})).await;
    let id = hooks["webhooks"][0]["id"].as_str().unwrap().to_owned();
    let deleted = console
        .post(
            &format!("/console/webhooks/{id}/delete"),
            &[("url", "https://intranet.example.nhs.uk/hooks/hamlet")],
        )
        .await;
    assert_eq!(deleted.status(), StatusCode::SEE_OTHER);
    let list = console.page(&location(&deleted)).await;
    assert!(
        list.contains("The webhook for https://intranet.example.nhs.uk/hooks/hamlet is deleted")
    );
    assert!(list.contains("No webhook is registered."));
    let hooks = app.data_as(&admin, "{ webhooks { id } }", json!({})).await;
    assert_eq!(hooks["webhooks"], json!([]));

    // 55 more make the log longer than a page: 50, then the 5 older ones.
    for n in 0..55 {
        app.data_as(
            &admin,
            "mutation($url: String!) { createWebhook(url: $url) { secret } }",
            json!({ "url": format!("https://intranet.example.nhs.uk/hooks/{n}") }),
        )
        .await;
    }
    let first = console.page("/console/audit?action=webhook.created").await;
    assert!(first.contains("56 events match"), "{first}");
    assert_eq!(
        first
            .matches("<code class=\"action\">webhook.created</code>")
            .count(),
        50
    );
    let at = first.find(r#"rel="next""#).unwrap();
    let href_at = first[..at].rfind("href=\"").unwrap() + "href=\"".len();
    let next = first[href_at..]
        .split('"')
        .next()
        .unwrap()
        .replace("&#38;", "&");
    assert!(next.contains("action=webhook.created"), "{next}");
    let second = console.page(&next).await;
    assert_eq!(
        second
            .matches("<code class=\"action\">webhook.created</code>")
            .count(),
        6
    );
    assert!(!second.contains(r#"rel="next""#));
    assert!(second.contains("Newest events"));
}

async fn feedback_by_reference(app: &TestApp, moderator: &Staff, reference: &str) -> Value {
    let queue = app
        .data_as(
            moderator,
            "{ feedbackQueue(first: 100, filter: { status: [NEW, IN_REVIEW, ACTIONED, CLOSED, SPAM] }) {
                 nodes { reference rating comment contact { email } service { slug } } } }",
            json!({}),
        )
        .await;
    queue["feedbackQueue"]["nodes"]
        .as_array()
        .unwrap()
        .iter()
        .find(|node| node["reference"] == reference)
        .cloned()
        .unwrap()
}

#[tokio::test]
async fn an_admin_erases_a_submission_by_its_reference_after_a_confirmation_naming_what_goes() {
    let app = spawn().await;
    let admin = app.staff(&[Role::Admin]).await;
    let moderator = app.staff(&[Role::Moderator]).await;
    let reference = submit(&app, ED, "GOOD", 1).await.remove(0);
    let console = Console::sign_in(&app, &admin).await;
    let form = console.page("/console/erase").await;
    assert!(form.contains(r#"<label for="reference">Reference</label>"#));

    let unknown = console
        .post("/console/erase", &[("reference", "FB-0000-0000")])
        .await;
    assert_eq!(unknown.status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert!(
        unknown
            .text()
            .await
            .unwrap()
            .contains("No feedback or idea has the reference FB-0000-0000.")
    );

    // First the confirmation, naming the submission and what stays; typed
    // in lower case as people do.
    let asked = console
        .post(
            "/console/erase",
            &[("reference", &reference.to_lowercase())],
        )
        .await;
    assert_eq!(asked.status(), StatusCode::OK);
    let page = asked.text().await.unwrap();
    let day = chrono::Utc::now().format("%-d %B %Y").to_string();
    assert!(
        page.contains(&format!(
            "The free text and contact details of feedback <strong>{reference}</strong>, received on {day}, will be erased"
        )),
        "{page}"
    );
    assert!(page.contains("Its rating, service, channel, dates and status stay"));
    assert!(page.contains(&format!("Erase feedback {reference}")));
    assert!(
        !page.contains("Zebedee"),
        "the confirmation does not show the text"
    );
    assert_eq!(
        feedback_by_reference(&app, &moderator, &reference).await["comment"],
        SECRET,
        "asking erased nothing"
    );

    let done = console
        .post(
            "/console/erase",
            &[("reference", &reference), ("confirm", "yes")],
        )
        .await;
    assert_eq!(done.status(), StatusCode::OK);
    assert!(done.text().await.unwrap().contains(&format!(
        "The free text and contact details of feedback {reference} are erased."
    )));
    let erased = feedback_by_reference(&app, &moderator, &reference).await;
    assert_eq!(erased["comment"], Value::Null, "the text is gone");
    assert_eq!(erased["rating"], "GOOD", "the rating stays");
    assert_eq!(erased["service"]["slug"], ED, "the service stays");
    assert_eq!(
        erased["contact"],
        Value::Null,
        "the contact details are gone"
    );
    let audit = console
        .page("/console/audit?action=submission.erased")
        .await;
    assert!(audit.contains("1 event matches"), "{audit}");
}

#[tokio::test]
async fn the_admins_writes_without_the_anti_forgery_token_change_nothing() {
    let app = spawn().await;
    let admin = app.staff(&[Role::Admin]).await;
    let other = app.staff(&[Role::Moderator]).await;
    let reference = submit(&app, ED, "GOOD", 1).await.remove(0);
    let console = Console::sign_in(&app, &admin).await;
    let hook = app
        .data_as(
            &admin,
            "mutation { createWebhook(url: \"https://intranet.example.nhs.uk/h\") { webhook { id } } }",
            json!({}),
        )
        .await["createWebhook"]["webhook"]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let writes = [
        (
            "/console/staff".to_owned(),
            vec![
                ("display_name", "Forged"),
                ("email", "forged@towerhamlets.example"),
                ("roles", "ADMIN"),
                ("password", "a long enough forged password"),
            ],
        ),
        (
            format!("/console/staff/{}", other.id),
            vec![("display_name", "Forged"), ("roles", "ADMIN")],
        ),
        (
            format!("/console/staff/{}/active", other.id),
            vec![("active", "false")],
        ),
        (
            "/console/webhooks".to_owned(),
            vec![("url", "https://evil.example/")],
        ),
        (format!("/console/webhooks/{hook}/delete"), vec![]),
        (
            "/console/erase".to_owned(),
            vec![("reference", reference.as_str()), ("confirm", "yes")],
        ),
    ];
    for (path, form) in &writes {
        let without = console.post_raw(path, form).await;
        assert_eq!(without.status(), StatusCode::FORBIDDEN, "POST {path}");
        let mut wrong = form.clone();
        wrong.push(("csrf", "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"));
        let forged = console.post_raw(path, &wrong).await;
        assert_eq!(forged.status(), StatusCode::FORBIDDEN, "POST {path}");
    }
    let staff = app
        .data_as(
            &admin,
            "{ staffMembers { displayName roles active } }",
            json!({}),
        )
        .await;
    assert_eq!(staff["staffMembers"].as_array().unwrap().len(), 2);
    assert!(!staff.to_string().contains("Forged"));
    assert!(
        staff["staffMembers"]
            .as_array()
            .unwrap()
            .iter()
            .all(|m| m["active"] == true)
    );
    let hooks = app.data_as(&admin, "{ webhooks { id } }", json!({})).await;
    assert_eq!(hooks["webhooks"].as_array().unwrap().len(), 1);
    assert_eq!(
        feedback_by_reference(&app, &other, &reference).await["comment"],
        SECRET
    );
}

#[tokio::test]
async fn the_report_the_export_and_the_audit_filters_are_in_the_api_under_their_guards() {
    let app = spawn().await;
    submit(&app, ED, "GOOD", 5).await;
    let analyst = app.staff(&[Role::Analyst]).await;
    let moderator = app.staff(&[Role::Moderator]).await;
    let admin = app.staff(&[Role::Admin]).await;
    let editor = app.staff(&[Role::Editor]).await;
    let month = chrono::Utc::now().format("%Y-%m").to_string();
    let report =
        "query($month: String!) { boardReport(month: $month) { fileName mediaType content } }";
    let export = "query($filter: StatsFilter) { feedbackExport(filter: $filter) { fileName mediaType content } }";

    for staff in [&analyst, &moderator] {
        let file =
            app.data_as(staff, report, json!({ "month": month })).await["boardReport"].clone();
        assert_eq!(file["fileName"], format!("feedback-report-{month}.html"));
        assert_eq!(file["mediaType"], "text/html; charset=utf-8");
        let html = file["content"].as_str().unwrap();
        assert!(html.starts_with("<!DOCTYPE html>"));
        assert!(!html.contains("Zebedee"));
        let file = app
            .data_as(staff, export, json!({ "filter": { "serviceSlug": ED } }))
            .await["feedbackExport"]
            .clone();
        assert_eq!(file["mediaType"], "text/csv; charset=utf-8");
        let csv = file["content"].as_str().unwrap();
        assert!(csv.starts_with("reference,received_at,captured_at,service,rating,channel,"));
        assert_eq!(csv.lines().count(), 6);
        assert!(!csv.contains("Zebedee") && !csv.contains(EMAIL));
    }
    for staff in [&admin, &editor] {
        for (query, variables) in [(report, json!({ "month": month })), (export, json!({}))] {
            let body = app.graphql_as(staff, query, variables).await;
            assert_eq!(first_error_code(&body), "FORBIDDEN", "{body}");
        }
    }
    let anonymous = app.graphql(export, json!({})).await;
    assert_eq!(first_error_code(&anonymous), "UNAUTHENTICATED");
    for (month, field) in [("2999-01", "month"), ("May 2026", "month")] {
        let body = app
            .graphql_as(&analyst, report, json!({ "month": month }))
            .await;
        assert_eq!(first_error_code(&body), "BAD_USER_INPUT");
        assert_eq!(body["errors"][0]["extensions"]["field"], field);
    }

    // The audit log's new filters, and the actions it holds.
    app.data_as(
        &admin,
        "mutation { createWebhook(url: \"https://intranet.example.nhs.uk/h\") { secret } }",
        json!({}),
    )
    .await;
    let log = "query($action: String, $from: DateTime, $to: DateTime) {
        auditActions
        auditLog(first: 10, action: $action, from: $from, to: $to) { totalCount nodes { action } } }";
    let now = chrono::Utc::now();
    let hour = chrono::Duration::hours(1);
    let data = app
        .data_as(
            &admin,
            log,
            json!({ "action": "webhook.created", "from": (now - hour).to_rfc3339(), "to": (now + hour).to_rfc3339() }),
        )
        .await;
    assert_eq!(data["auditLog"]["totalCount"], 1);
    assert_eq!(data["auditLog"]["nodes"][0]["action"], "webhook.created");
    let actions: Vec<&str> = data["auditActions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|action| action.as_str().unwrap())
        .collect();
    assert!(actions.contains(&"webhook.created"), "{actions:?}");
    assert!(actions.contains(&"staff.created"), "{actions:?}");
    let mut sorted = actions.clone();
    sorted.sort_unstable();
    assert_eq!(actions, sorted);
    let earlier = app
        .data_as(
            &admin,
            log,
            json!({ "action": "webhook.created", "to": (now - hour).to_rfc3339() }),
        )
        .await;
    assert_eq!(earlier["auditLog"]["totalCount"], 0);
    let backwards = app
        .graphql_as(
            &admin,
            log,
            json!({ "from": now.to_rfc3339(), "to": (now - hour).to_rfc3339() }),
        )
        .await;
    assert_eq!(first_error_code(&backwards), "BAD_USER_INPUT");
    let body = app
        .graphql_as(&analyst, "{ auditActions }", json!({}))
        .await;
    assert_eq!(first_error_code(&body), "FORBIDDEN");
}
