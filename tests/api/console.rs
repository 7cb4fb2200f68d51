//! The staff console over HTTP, as a browser without JavaScript uses it:
//! sign-in and its cookie, anti-forgery, roles, the queue and its filters,
//! an item's page, bulk changes, conflicts and kiosks.

use hamlet::staff::model::Role;
use reqwest::StatusCode;
use reqwest::header::{COOKIE, LOCATION, SET_COOKIE};
use serde_json::{Value, json};

use crate::helpers::{PASSWORD, Staff, TestApp, feedback, headers, idea};

/// A browser signed in to the console: its cookies and the page's
/// anti-forgery token.
pub struct Console {
    client: reqwest::Client,
    address: String,
    pub cookies: String,
    pub csrf: String,
}

fn no_redirects() -> reqwest::Client {
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap()
}

/// The `name=value` pairs a response sets, for the next request's `Cookie`.
fn cookies_of(response: &reqwest::Response) -> Vec<(String, String)> {
    response
        .headers()
        .get_all(SET_COOKIE)
        .iter()
        .filter_map(|value| {
            let pair = value.to_str().ok()?.split(';').next()?;
            let (name, value) = pair.split_once('=')?;
            Some((name.to_owned(), value.to_owned()))
        })
        .collect()
}

/// The value of `<meta name="csrf-token">`.
fn csrf_of(html: &str) -> String {
    let start = html
        .find(r#"<meta name="csrf-token" content=""#)
        .expect("a csrf meta tag")
        + r#"<meta name="csrf-token" content=""#.len();
    html[start..].split('"').next().unwrap().to_owned()
}

impl Console {
    /// Signs `staff` in through the sign-in form.
    pub async fn sign_in(app: &TestApp, staff: &Staff) -> Self {
        let client = no_redirects();
        let response = client
            .post(app.url("/console/sign-in"))
            .form(&[("email", staff.email.as_str()), ("password", PASSWORD)])
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), StatusCode::SEE_OTHER, "signed in");
        let cookies = cookies_of(&response)
            .into_iter()
            .map(|(name, value)| format!("{name}={value}"))
            .collect::<Vec<_>>()
            .join("; ");
        let mut console = Self {
            client,
            address: app.address.clone(),
            cookies,
            csrf: String::new(),
        };
        let account = console.get("/console/account").await;
        assert_eq!(account.status(), StatusCode::OK);
        console.csrf = csrf_of(&account.text().await.unwrap());
        console
    }

    pub async fn get(&self, path: &str) -> reqwest::Response {
        self.client
            .get(format!("{}{path}", self.address))
            .header(COOKIE, &self.cookies)
            .send()
            .await
            .unwrap()
    }

    pub async fn page(&self, path: &str) -> String {
        let response = self.get(path).await;
        assert_eq!(response.status(), StatusCode::OK, "GET {path}");
        response.text().await.unwrap()
    }

    /// Posts a form with the session's anti-forgery token.
    pub async fn post(&self, path: &str, form: &[(&str, &str)]) -> reqwest::Response {
        let mut fields: Vec<(&str, &str)> = vec![("csrf", self.csrf.as_str())];
        fields.extend_from_slice(form);
        self.post_raw(path, &fields).await
    }

    /// Posts a form as given: no token unless the test puts one in.
    pub async fn post_raw(&self, path: &str, form: &[(&str, &str)]) -> reqwest::Response {
        self.client
            .post(format!("{}{path}", self.address))
            .header(COOKIE, &self.cookies)
            .form(form)
            .send()
            .await
            .unwrap()
    }
}

fn location(response: &reqwest::Response) -> String {
    response
        .headers()
        .get(LOCATION)
        .map(|value| value.to_str().unwrap().to_owned())
        .unwrap_or_default()
}

/// Submits feedback with `comment` about `service`; answers its id.
async fn feedback_about(app: &TestApp, moderator: &Staff, service: &str, comment: &str) -> String {
    let mut input = feedback();
    input["serviceSlug"] = json!(service);
    input["comment"] = json!(comment);
    let reference = app.feedback_reference(input).await;
    id_of(app, moderator, &reference).await
}

/// The id of the feedback with `reference`, found through the API.
async fn id_of(app: &TestApp, moderator: &Staff, reference: &str) -> String {
    let data = app
        .data_as(
            moderator,
            "query { feedbackQueue(first: 100, filter: { status: [NEW, IN_REVIEW, ACTIONED, CLOSED, SPAM] }) { nodes { id reference } } }",
            json!({}),
        )
        .await;
    data["feedbackQueue"]["nodes"]
        .as_array()
        .unwrap()
        .iter()
        .find(|node| node["reference"] == reference)
        .map(|node| node["id"].as_str().unwrap().to_owned())
        .expect("the feedback is in the queue")
}

async fn feedback_of(app: &TestApp, moderator: &Staff, id: &str) -> Value {
    app.data_as(
        moderator,
        "query($id: ID!) { feedback(id: $id) { status version tags publicResponse
           assignee { id } safeguardingConcerns { id status escalatedTo } } }",
        json!({ "id": id }),
    )
    .await["feedback"]
        .clone()
}

#[tokio::test]
async fn signing_in_sets_a_strict_http_only_cookie_and_signing_out_ends_the_session_everywhere() {
    let app = TestApp::spawn().await;
    let moderator = app.staff(&[Role::Moderator]).await;

    // Signed out, a console page sends the browser to sign in, and back.
    let signed_out = no_redirects()
        .get(app.url("/console/queue?service=x"))
        .send()
        .await
        .unwrap();
    assert_eq!(signed_out.status(), StatusCode::SEE_OTHER);
    assert_eq!(
        location(&signed_out),
        "/console/sign-in?next=%2Fconsole%2Fqueue%3Fservice%3Dx"
    );

    // A wrong password: the form again, with the same words for a wrong email.
    let wrong = no_redirects()
        .post(app.url("/console/sign-in"))
        .form(&[
            ("email", moderator.email.as_str()),
            ("password", "not it at all"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(wrong.status(), StatusCode::UNAUTHORIZED);
    assert!(wrong.headers().get(SET_COOKIE).is_none());
    assert!(
        wrong
            .text()
            .await
            .unwrap()
            .contains("The email or password is not right.")
    );

    let response = no_redirects()
        .post(app.url("/console/sign-in"))
        .form(&[
            ("email", moderator.email.as_str()),
            ("password", PASSWORD),
            ("next", "/console/queue?kind=ideas"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    assert_eq!(location(&response), "/console/queue?kind=ideas");
    let set: Vec<String> = response
        .headers()
        .get_all(SET_COOKIE)
        .iter()
        .map(|value| value.to_str().unwrap().to_owned())
        .collect();
    let session = set
        .iter()
        .find(|line| line.starts_with("hamlet_console="))
        .expect("a session cookie");
    assert!(session.contains("HttpOnly"), "{session}");
    assert!(session.contains("SameSite=Strict"), "{session}");
    assert!(session.contains("Path=/console"), "{session}");
    // Plain HTTP from a peer that is no trusted proxy: not Secure.
    assert!(!session.contains("Secure"), "{session}");
    // No token is ever put in a URL or a page.
    assert!(!location(&response).contains("ey"));

    let console = Console::sign_in(&app, &moderator).await;
    let queue = console.page("/console/queue").await;
    assert!(queue.contains("<h1>Queue</h1>"));
    let token = console
        .cookies
        .split("; ")
        .find_map(|pair| pair.strip_prefix("hamlet_console="))
        .unwrap();
    assert!(
        !queue.contains(token),
        "the session token is not in the page"
    );

    // A second copy of the same cookies (another tab, or a stolen copy).
    let copy = Console {
        client: no_redirects(),
        address: app.address.clone(),
        cookies: console.cookies.clone(),
        csrf: console.csrf.clone(),
    };
    assert_eq!(copy.get("/console/queue").await.status(), StatusCode::OK);

    let out = console.post("/console/sign-out", &[]).await;
    assert_eq!(out.status(), StatusCode::SEE_OTHER);
    assert_eq!(location(&out), "/console/sign-in?signed_out=1");
    let cleared: Vec<String> = out
        .headers()
        .get_all(SET_COOKIE)
        .iter()
        .map(|value| value.to_str().unwrap().to_owned())
        .collect();
    assert!(
        cleared
            .iter()
            .any(|line| line.starts_with("hamlet_console=;") && line.contains("Max-Age=0")),
        "{cleared:?}"
    );

    // The session is over on the server: every copy is refused.
    for browser in [&console, &copy] {
        let again = browser.get("/console/queue").await;
        assert_eq!(again.status(), StatusCode::SEE_OTHER);
        assert!(location(&again).starts_with("/console/sign-in"));
    }
}

#[tokio::test]
async fn behind_a_trusted_proxy_over_tls_the_cookie_is_secure() {
    let app = TestApp::spawn_with(crate::helpers::Seed::BuiltIn, |config| {
        config.trusted_proxies = vec!["127.0.0.1/32".parse().unwrap()];
    })
    .await;
    let moderator = app.staff(&[Role::Moderator]).await;
    let response = no_redirects()
        .post(app.url("/console/sign-in"))
        .header("x-forwarded-proto", "https")
        .header("x-forwarded-for", "198.51.100.20")
        .form(&[("email", moderator.email.as_str()), ("password", PASSWORD)])
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    let session = response
        .headers()
        .get_all(SET_COOKIE)
        .iter()
        .map(|value| value.to_str().unwrap().to_owned())
        .find(|line| line.starts_with("hamlet_console="))
        .unwrap();
    assert!(session.contains("; Secure"), "{session}");
}

#[tokio::test]
async fn a_write_without_the_anti_forgery_token_or_from_another_site_changes_nothing() {
    let app = TestApp::spawn().await;
    let moderator = app.staff(&[Role::Moderator]).await;
    let id = feedback_about(
        &app,
        &moderator,
        "royal-london-emergency-department",
        "Long wait.",
    )
    .await;
    let console = Console::sign_in(&app, &moderator).await;
    let path = format!("/console/feedback/{id}");
    let before = feedback_of(&app, &moderator, &id).await;
    let version = before["version"].to_string();

    let forged = console
        .post_raw(&path, &[("version", &version), ("status", "IN_REVIEW")])
        .await;
    assert_eq!(forged.status(), StatusCode::FORBIDDEN);
    let wrong_token = console
        .post_raw(
            &path,
            &[
                ("csrf", "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"),
                ("version", &version),
                ("status", "IN_REVIEW"),
            ],
        )
        .await;
    assert_eq!(wrong_token.status(), StatusCode::FORBIDDEN);
    let cross_site = console
        .client
        .post(app.url(&path))
        .header(COOKIE, &console.cookies)
        .header("origin", "https://evil.example")
        .form(&[
            ("csrf", console.csrf.as_str()),
            ("version", &version),
            ("status", "IN_REVIEW"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(cross_site.status(), StatusCode::FORBIDDEN);
    let after = feedback_of(&app, &moderator, &id).await;
    assert_eq!(after, before, "nothing was changed");

    // Another session's token is not this one's.
    let other = Console::sign_in(&app, &moderator).await;
    assert_ne!(other.csrf, console.csrf);
    let borrowed = console
        .post_raw(
            &path,
            &[
                ("csrf", other.csrf.as_str()),
                ("version", &version),
                ("status", "IN_REVIEW"),
            ],
        )
        .await;
    assert_eq!(borrowed.status(), StatusCode::FORBIDDEN);

    // With it, the same write goes through.
    let saved = console
        .post(&path, &[("version", &version), ("status", "IN_REVIEW")])
        .await;
    assert_eq!(saved.status(), StatusCode::SEE_OTHER);
    assert_eq!(
        feedback_of(&app, &moderator, &id).await["status"],
        "IN_REVIEW"
    );
}

#[tokio::test]
async fn each_role_sees_its_own_parts_and_a_forged_request_to_another_roles_action_is_refused() {
    let app = TestApp::spawn().await;
    let admin = app.staff(&[Role::Admin]).await;
    let moderator = app.staff(&[Role::Moderator]).await;
    let editor = app.staff(&[Role::Editor]).await;

    let as_moderator = Console::sign_in(&app, &moderator).await;
    let queue = as_moderator.page("/console/queue").await;
    assert!(queue.contains(r#"href="/console/queue""#));
    assert!(!queue.contains(r#"href="/console/kiosks""#));
    let kiosks = as_moderator.get("/console/kiosks").await;
    assert_eq!(kiosks.status(), StatusCode::FORBIDDEN);
    // A moderator who forges the admin's form is refused by the API's guard.
    let forged = as_moderator
        .post("/console/kiosks", &[("name", "Forged kiosk")])
        .await;
    assert_eq!(forged.status(), StatusCode::FORBIDDEN);
    let listed = app.data_as(&admin, "{ kiosks { name } }", json!({})).await;
    assert_eq!(listed["kiosks"], json!([]), "no kiosk was made");

    let as_editor = Console::sign_in(&app, &editor).await;
    assert_eq!(
        as_editor.get("/console/queue").await.status(),
        StatusCode::FORBIDDEN
    );
    let id = feedback_about(
        &app,
        &moderator,
        "royal-london-emergency-department",
        "Fine.",
    )
    .await;
    let version = feedback_of(&app, &moderator, &id).await["version"].to_string();
    let forged = as_editor
        .post(
            &format!("/console/feedback/{id}"),
            &[("version", &version), ("status", "SPAM")],
        )
        .await;
    assert_eq!(forged.status(), StatusCode::FORBIDDEN);
    assert_eq!(feedback_of(&app, &moderator, &id).await["status"], "NEW");

    let as_admin = Console::sign_in(&app, &admin).await;
    let page = as_admin.page("/console/kiosks").await;
    assert!(page.contains(r#"href="/console/kiosks""#));
    assert!(!page.contains(r#"href="/console/queue""#));
    assert_eq!(
        as_admin.get("/console/queue").await.status(),
        StatusCode::FORBIDDEN
    );
}

#[tokio::test]
async fn a_change_of_roles_or_a_deactivation_acts_on_the_next_click() {
    let app = TestApp::spawn().await;
    let admin = app.staff(&[Role::Admin]).await;
    let moderator = app.staff(&[Role::Moderator]).await;
    let console = Console::sign_in(&app, &moderator).await;
    assert_eq!(console.get("/console/queue").await.status(), StatusCode::OK);

    let update = "mutation($input: UpdateStaffInput!) { updateStaff(input: $input) { id } }";
    app.data_as(
        &admin,
        update,
        json!({ "input": { "id": moderator.id, "roles": ["ANALYST"] } }),
    )
    .await;
    assert_eq!(
        console.get("/console/queue").await.status(),
        StatusCode::FORBIDDEN
    );

    app.data_as(
        &admin,
        update,
        json!({ "input": { "id": moderator.id, "active": false } }),
    )
    .await;
    let next = console.get("/console/account").await;
    assert_eq!(next.status(), StatusCode::SEE_OTHER);
    assert!(location(&next).starts_with("/console/sign-in"));
}

#[tokio::test]
async fn a_session_cookie_past_its_idle_time_is_refused() {
    let app = TestApp::spawn().await;
    let moderator = app.staff(&[Role::Moderator]).await;
    let console = Console::sign_in(&app, &moderator).await;
    // The same session, in a cookie issued 31 minutes ago.
    let token = console
        .cookies
        .split("; ")
        .find_map(|pair| pair.strip_prefix("hamlet_console="))
        .unwrap();
    let keys = hamlet::staff::token::TokenKeys::new(crate::helpers::JWT_SECRET.as_bytes());
    let claims = keys.verify(token).unwrap();
    let (stale, _) = keys
        .issue_for(
            claims.sub,
            claims.sid,
            chrono::Utc::now() - chrono::Duration::minutes(31),
            hamlet::console::session::IDLE,
        )
        .unwrap();
    let idle = Console {
        client: no_redirects(),
        address: app.address.clone(),
        cookies: format!("hamlet_console={stale}"),
        csrf: console.csrf.clone(),
    };
    let response = idle.get("/console/queue").await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    assert!(location(&response).starts_with("/console/sign-in"));
    // While the member works, the cookie is issued again.
    let (older, _) = keys
        .issue_for(
            claims.sub,
            claims.sid,
            chrono::Utc::now() - chrono::Duration::minutes(5),
            hamlet::console::session::IDLE,
        )
        .unwrap();
    let working = Console {
        cookies: format!("hamlet_console={older}"),
        ..idle
    };
    let response = working.get("/console/queue").await;
    assert_eq!(response.status(), StatusCode::OK);
    assert!(
        response
            .headers()
            .get_all(SET_COOKIE)
            .iter()
            .any(|value| value.to_str().unwrap().starts_with("hamlet_console=ey"))
    );
}

#[tokio::test]
async fn a_comment_holding_html_and_script_shows_as_text() {
    let app = TestApp::spawn().await;
    let moderator = app.staff(&[Role::Moderator]).await;
    let id = feedback_about(
        &app,
        &moderator,
        "royal-london-emergency-department",
        r#"<script>alert("x")</script><img src=x onerror=alert(1)> & <b>bold</b>"#,
    )
    .await;
    let console = Console::sign_in(&app, &moderator).await;
    for path in [
        "/console/queue".to_owned(),
        format!("/console/feedback/{id}"),
    ] {
        let page = console.page(&path).await;
        assert!(!page.contains("<script>alert"), "{path}");
        assert!(!page.contains("<img src=x"), "{path}");
        assert!(!page.contains("<b>bold"), "{path}");
        assert!(page.contains("&#60;script&#62;alert("), "{path}");
    }
}

/// Feedback in the queue's rows, by reference, in page order.
fn references_in(page: &str) -> Vec<String> {
    page.match_indices("data-open>")
        .map(|(at, _)| {
            let rest = &page[at + "data-open>".len()..];
            let title = rest.split(':').next().unwrap();
            title.rsplit(' ').next().unwrap().to_owned()
        })
        .collect()
}

fn next_href(page: &str) -> Option<String> {
    let at = page.find(r#"rel="next""#)?;
    let start = page[..at].rfind("href=\"")? + "href=\"".len();
    Some(page[start..].split('"').next()?.replace("&#38;", "&"))
}

/// hamlet with room for many submissions from one test's address.
async fn busy_app() -> TestApp {
    TestApp::spawn_with(crate::helpers::Seed::BuiltIn, |config| {
        config.submit_per_minute = 10_000;
    })
    .await
}

#[tokio::test]
async fn the_queue_merges_feedback_and_ideas_safeguarding_first_and_pages_without_repeats() {
    let app = busy_app().await;
    let moderator = app.staff(&[Role::Moderator]).await;
    for n in 0..20 {
        let mut input = feedback();
        input["comment"] = json!(format!("Comment number {n}"));
        app.feedback_reference(input).await;
    }
    for _ in 0..8 {
        app.idea_reference(idea()).await;
    }
    let mut private = idea();
    private["description"] = json!("Email me at sam.jones@example.org if you want to help");
    let private = app.idea_reference(private).await;
    let mut risky = feedback();
    risky["serviceSlug"] = json!("royal-london-emergency-department");
    risky["comment"] =
        json!("my brother has my bank card and gives me a fiver a week, says I'd only waste it");
    let risky = app.feedback_reference(risky).await;

    let console = Console::sign_in(&app, &moderator).await;
    let first = console.page("/console/queue").await;
    assert!(first.contains("30 items match"), "count");
    let mut seen = references_in(&first);
    assert_eq!(seen.len(), 25);
    assert_eq!(seen[0], risky, "safeguarding first");
    assert_eq!(seen[1], private, "then personal data, though it came last");
    // Then oldest first: the morning's post in the order it came.
    let rows: Vec<&str> = first.split("row-text\">").skip(1).collect();
    assert!(
        rows[2].starts_with("Comment number 0<"),
        "{}",
        &rows[2][..40]
    );
    assert!(rows[3].starts_with("Comment number 1<"));
    let newest = console.page("/console/queue?order=newest").await;
    let newest_rows: Vec<&str> = newest.split("row-text\">").skip(1).collect();
    assert_eq!(
        references_in(&newest)[..2],
        [risky.clone(), private.clone()]
    );
    assert!(
        !newest_rows[2].starts_with("Comment number"),
        "an idea came last"
    );
    assert!(first.contains("Safeguarding: Financial or material abuse"));
    assert!(
        first.contains("data-open>Idea "),
        "ideas are in the same queue"
    );
    let next = next_href(&first).expect("a next page");
    let second = console.page(&next).await;
    let rest = references_in(&second);
    assert_eq!(rest.len(), 5);
    assert!(next_href(&second).is_none(), "no third page");
    seen.extend(rest);
    let mut unique = seen.clone();
    unique.sort();
    unique.dedup();
    assert_eq!(unique.len(), 30, "no item twice, none missed");

    // Filters narrow it, and stay in the address.
    let ideas = console.page("/console/queue?kind=ideas").await;
    assert!(ideas.contains("9 items match"));
    assert!(!ideas.contains("data-open>Feedback "));
    let category = console.page("/console/queue?category=FINANCIAL").await;
    assert_eq!(references_in(&category), vec![risky.clone()]);
    let words = console.page("/console/queue?text=number+7").await;
    assert!(words.contains("1 item matches"));
    let assigned = console.page("/console/queue?assignee=me").await;
    assert!(assigned.contains("0 items match"));
}

/// The queue page is kept while nothing changes (the API's kept staff
/// pages), and never shown older than the database: a new submission and a
/// change made through the API each show on the next read.
#[tokio::test]
async fn a_kept_queue_page_is_never_older_than_the_database() {
    let app = busy_app().await;
    let moderator = app.staff(&[Role::Moderator]).await;
    let first = app.feedback_reference(feedback()).await;
    let console = Console::sign_in(&app, &moderator).await;
    let page = console.page("/console/queue?kind=feedback").await;
    assert_eq!(references_in(&page), vec![first.clone()]);
    assert_eq!(page, console.page("/console/queue?kind=feedback").await);

    let second = app.feedback_reference(feedback()).await;
    let page = console.page("/console/queue?kind=feedback").await;
    assert_eq!(references_in(&page), vec![first.clone(), second.clone()]);
    assert!(page.contains("2 items match"));

    let queue = app
        .data_as(
            &moderator,
            "{ feedbackQueue(first: 5) { edges { node { id reference version } } } }",
            json!({}),
        )
        .await;
    let node = queue["feedbackQueue"]["edges"]
        .as_array()
        .unwrap()
        .iter()
        .map(|edge| &edge["node"])
        .find(|node| node["reference"] == first.as_str())
        .unwrap()
        .clone();
    app.data_as(
        &moderator,
        "mutation($id: ID!, $v: Int!) { moderateFeedback(input: { id: $id, expectedVersion: $v, status: SPAM }) { id } }",
        json!({ "id": node["id"], "v": node["version"] }),
    )
    .await;
    let page = console.page("/console/queue?kind=feedback").await;
    assert_eq!(
        references_in(&page),
        vec![second],
        "spam has left the open queue"
    );
}

#[tokio::test]
async fn a_bulk_change_over_a_filter_changes_exactly_the_filtered_items_and_asks_first() {
    let app = busy_app().await;
    let moderator = app.staff(&[Role::Moderator]).await;
    let mut inside = Vec::new();
    for _ in 0..30 {
        let mut input = feedback();
        input["serviceSlug"] = json!("royal-london-emergency-department");
        inside.push(app.feedback_reference(input).await);
    }
    let services = app.data("{ services { slug } }", json!({})).await;
    let other_service = services["services"]
        .as_array()
        .unwrap()
        .iter()
        .map(|service| service["slug"].as_str().unwrap())
        .find(|slug| *slug != "royal-london-emergency-department")
        .unwrap()
        .to_owned();
    for _ in 0..4 {
        let mut input = feedback();
        input["serviceSlug"] = json!(other_service);
        app.feedback_reference(input).await;
    }
    app.idea_reference(idea()).await;

    let console = Console::sign_in(&app, &moderator).await;
    let filter = "service=royal-london-emergency-department";
    let asked = console
        .post(
            "/console/queue/bulk",
            &[
                ("filter", filter),
                ("status", "IN_REVIEW"),
                ("scope", "filter"),
            ],
        )
        .await;
    assert_eq!(asked.status(), StatusCode::OK);
    let question = asked.text().await.unwrap();
    assert!(
        question.contains("for <strong>30 items</strong>"),
        "{question}"
    );
    // Asking changed nothing.
    let data = app
        .data_as(
            &moderator,
            "{ feedbackQueue(first: 100, filter: { status: [IN_REVIEW] }) { totalCount } }",
            json!({}),
        )
        .await;
    assert_eq!(data["feedbackQueue"]["totalCount"], 0);

    let done = console
        .post(
            "/console/queue/bulk",
            &[
                ("filter", filter),
                ("status", "IN_REVIEW"),
                ("scope", "filter"),
                ("confirm", "1"),
            ],
        )
        .await;
    let report = done.text().await.unwrap();
    assert!(report.contains("30 items changed"), "{report}");
    assert!(report.contains("None was refused"));
    let changed = app.feedback_references_in(&moderator, "IN_REVIEW").await;
    inside.sort();
    assert_eq!(changed, inside, "exactly the filtered items");

    // A move the workflow does not allow is reported per item, not applied.
    let refused = console
        .post(
            "/console/queue/bulk",
            &[
                ("filter", "status=IN_REVIEW"),
                ("status", "NEW"),
                ("scope", "filter"),
                ("confirm", "1"),
            ],
        )
        .await
        .text()
        .await
        .unwrap();
    assert!(refused.contains("0 items changed"), "{refused}");
    assert!(refused.contains("30 items were refused"), "{refused}");
}

#[tokio::test]
async fn the_second_of_two_saves_meets_the_version_check_and_sees_who_changed_what() {
    let app = TestApp::spawn().await;
    let first_moderator = app
        .staff_with("amina@towerhamlets.example", &[Role::Moderator])
        .await;
    let second_moderator = app.staff(&[Role::Moderator]).await;
    let id = feedback_about(
        &app,
        &first_moderator,
        "royal-london-emergency-department",
        "Kind nurses.",
    )
    .await;
    let first = Console::sign_in(&app, &first_moderator).await;
    let second = Console::sign_in(&app, &second_moderator).await;
    let path = format!("/console/feedback/{id}");
    // Both read version 1.
    let version = feedback_of(&app, &first_moderator, &id).await["version"].to_string();
    assert!(
        first
            .page(&path)
            .await
            .contains(&format!(r#"name="version" value="{version}""#))
    );

    let saved = first
        .post(
            &path,
            &[
                ("version", &version),
                ("status", "IN_REVIEW"),
                ("tags", "praise"),
            ],
        )
        .await;
    assert_eq!(saved.status(), StatusCode::SEE_OTHER);
    let conflict = second
        .post(
            &path,
            &[
                ("version", &version),
                ("status", "CLOSED"),
                ("response", "Thank you!"),
            ],
        )
        .await;
    assert_eq!(conflict.status(), StatusCode::CONFLICT);
    let page = conflict.text().await.unwrap();
    assert!(page.contains("Someone else changed this item"), "{page}");
    assert!(page.contains("Test Persona changed it"), "who: {page}");
    assert!(page.contains("status: NEW → IN_REVIEW"), "what: {page}");
    // The second moderator's words are kept for them to save again.
    assert!(page.contains("Thank you!"));
    let stored = feedback_of(&app, &first_moderator, &id).await;
    assert_eq!(stored["status"], "IN_REVIEW");
    assert_eq!(stored["publicResponse"], Value::Null, "no silent overwrite");
}

#[tokio::test]
async fn a_moderator_confirms_a_concern_assigns_tags_and_answers_and_the_resident_sees_the_answer()
{
    let app = TestApp::spawn().await;
    let moderator = app.staff(&[Role::Moderator]).await;
    let mut input = feedback();
    input["comment"] =
        json!("mum's been sat in the same wet clothes since the carer didnt turn up friday");
    let reference = app.feedback_reference(input).await;
    let id = id_of(&app, &moderator, &reference).await;
    let console = Console::sign_in(&app, &moderator).await;
    let path = format!("/console/feedback/{id}");
    let page = console.page(&path).await;
    assert!(
        page.contains("Neglect or acts of omission: Raised"),
        "{page}"
    );
    // Only the moves the workflow allows from NEW are offered.
    assert!(page.contains(r#"<option value="IN_REVIEW""#));
    assert!(
        !page.contains(r#"<option value="NEW" selected>New (now)</option><option value="NEW""#)
    );
    let concern = &feedback_of(&app, &moderator, &id).await["safeguardingConcerns"][0];
    let concern_id = concern["id"].as_str().unwrap();

    let confirmed = console
        .post(
            &format!("{path}/concerns/{concern_id}"),
            &[
                ("decision", "confirm"),
                ("escalated_to", "Adult safeguarding duty team"),
                ("note", "Rang the duty team at 10:05"),
            ],
        )
        .await;
    assert_eq!(confirmed.status(), StatusCode::SEE_OTHER);
    let version = feedback_of(&app, &moderator, &id).await["version"].to_string();
    let saved = console
        .post(
            &path,
            &[
                ("version", &version),
                ("status", "ACTIONED"),
                ("assignee", "me"),
                ("tags", "care at home, urgent"),
                (
                    "response",
                    "We have spoken to the care agency and a visit is booked.",
                ),
            ],
        )
        .await;
    assert_eq!(
        saved.status(),
        StatusCode::SEE_OTHER,
        "{}",
        saved.text().await.unwrap()
    );
    let stored = feedback_of(&app, &moderator, &id).await;
    assert_eq!(stored["status"], "ACTIONED");
    assert_eq!(stored["assignee"]["id"], moderator.id);
    // Tags are kept in their plain form.
    assert_eq!(stored["tags"], json!(["care-at-home", "urgent"]));
    assert_eq!(stored["safeguardingConcerns"][0]["status"], "CONFIRMED");
    assert_eq!(
        stored["safeguardingConcerns"][0]["escalatedTo"],
        "Adult safeguarding duty team"
    );

    // The item's history, from the audit log, shows each step.
    let page = console.page(&path).await;
    assert!(
        page.contains("safeguarding.confirmed") || page.contains("concern"),
        "{page}"
    );
    assert!(page.contains("status: NEW → ACTIONED"), "{page}");

    // The resident's tracking page shows the answer.
    let track = app
        .client
        .get(app.url(&format!("/track?reference={reference}")))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(track.contains("We have spoken to the care agency and a visit is booked."));
}

#[tokio::test]
async fn contact_details_are_hidden_until_asked_for() {
    let app = TestApp::spawn().await;
    let moderator = app.staff(&[Role::Moderator]).await;
    let mut input = feedback();
    input["contact"] = json!({ "email": "resident@example.org", "consentToContact": true });
    let reference = app.feedback_reference(input).await;
    let id = id_of(&app, &moderator, &reference).await;
    let console = Console::sign_in(&app, &moderator).await;
    let path = format!("/console/feedback/{id}");
    let hidden = console.page(&path).await;
    assert!(!hidden.contains("resident@example.org"));
    assert!(hidden.contains("Show contact details"));
    let shown = console.page(&format!("{path}?contact=1")).await;
    assert!(shown.contains("resident@example.org"));
}

#[tokio::test]
async fn an_admin_makes_a_kiosk_sees_its_token_once_and_revokes_it() {
    let app = TestApp::spawn().await;
    let admin = app.staff(&[Role::Admin]).await;
    let console = Console::sign_in(&app, &admin).await;
    let made = console
        .post(
            "/console/kiosks",
            &[("name", "Whitechapel foyer"), ("site", "Royal London")],
        )
        .await;
    assert_eq!(made.status(), StatusCode::OK);
    assert_eq!(made.headers()["cache-control"], "no-store");
    let page = made.text().await.unwrap();
    let start = page.find("value=\"hk_").expect("the token") + "value=\"".len();
    let token = page[start..].split('"').next().unwrap().to_owned();
    // Shown once: the list never shows it again.
    let list = console.page("/console/kiosks").await;
    assert!(list.contains("Whitechapel foyer"));
    assert!(!list.contains(&token));

    let kiosk_headers = headers(&[("authorization", &format!("Kiosk {token}"))]);
    let mut input = feedback();
    input["channel"] = json!("KIOSK");
    let accepted = app
        .submit_feedback(input.clone(), kiosk_headers.clone())
        .await;
    let body: Value = accepted.json().await.unwrap();
    assert!(body.get("errors").is_none(), "{body}");

    let id = app.data_as(&admin, "{ kiosks { id } }", json!({})).await["kiosks"][0]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let revoked = console
        .post(&format!("/console/kiosks/{id}/revoke"), &[])
        .await;
    assert_eq!(revoked.status(), StatusCode::SEE_OTHER);
    let list = console.page(&location(&revoked)).await;
    assert!(list.contains("Whitechapel foyer is revoked"));
    input["idempotencyKey"] = json!(crate::helpers::key());
    let refused = app.submit_feedback(input, kiosk_headers).await;
    let body: Value = refused.json().await.unwrap();
    assert_eq!(crate::helpers::first_error_code(&body), "UNAUTHENTICATED");
}

#[tokio::test]
async fn duplicate_ideas_are_merged_from_either_idea() {
    let app = TestApp::spawn().await;
    let moderator = app.staff(&[Role::Moderator]).await;
    let mut first = idea();
    first["title"] = json!("Evening GP appointments");
    let first = app.idea_reference(first).await;
    let mut second = idea();
    second["title"] = json!("GP open after work");
    let second = app.idea_reference(second).await;
    let mut third = idea();
    third["title"] = json!("Late surgery hours");
    let third = app.idea_reference(third).await;
    let ids = app
        .data_as(
            &moderator,
            "{ ideas(first: 10) { nodes { id reference } } }",
            json!({}),
        )
        .await;
    let id = |reference: &str| {
        ids["ideas"]["nodes"]
            .as_array()
            .unwrap()
            .iter()
            .find(|node| node["reference"] == reference)
            .unwrap()["id"]
            .as_str()
            .unwrap()
            .to_owned()
    };
    let console = Console::sign_in(&app, &moderator).await;
    let page = console
        .page(&format!("/console/ideas/{}", id(&first)))
        .await;
    assert!(
        page.contains("GP open after work"),
        "the others are offered"
    );

    // From the duplicate: merge it into the first.
    let merged = console
        .post(
            &format!("/console/ideas/{}/merge", id(&second)),
            &[("direction", "into-other"), ("other", &id(&first))],
        )
        .await;
    assert_eq!(merged.status(), StatusCode::SEE_OTHER);
    // From the one that stays: merge the third into it.
    let merged = console
        .post(
            &format!("/console/ideas/{}/merge", id(&first)),
            &[("direction", "into-this"), ("other", &id(&third))],
        )
        .await;
    assert_eq!(merged.status(), StatusCode::SEE_OTHER);
    let statuses = app
        .data_as(
            &moderator,
            "{ ideas(first: 10, filter: { status: [NEW, DUPLICATE] }) { nodes { reference status mergedInto { reference } } } }",
            json!({}),
        )
        .await;
    for node in statuses["ideas"]["nodes"].as_array().unwrap() {
        if node["reference"] == first {
            assert_eq!(node["status"], "NEW");
        } else {
            assert_eq!(node["status"], "DUPLICATE", "{node}");
            assert_eq!(node["mergedInto"]["reference"], first);
        }
    }
    let page = console
        .page(&format!("/console/ideas/{}", id(&second)))
        .await;
    assert!(page.contains("This idea was merged into"));
}
