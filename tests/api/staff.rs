//! Staff accounts and sign-in: login, tokens, refresh rotation, logout,
//! password change, deactivation and demotion.

use hamlet::staff::model::Role;
use serde_json::json;

use crate::helpers::{LOGIN, PASSWORD, TestApp, first_error_code};

const ME: &str = "{ me { id email displayName roles active } }";

#[tokio::test]
async fn a_staff_member_signs_in_and_sees_who_they_are() {
    let app = TestApp::spawn().await;
    let moderator = app.staff(&[Role::Moderator]).await;
    let me = app.data_as(&moderator, ME, json!({})).await;
    assert_eq!(me["me"]["id"], moderator.id.as_str());
    assert_eq!(me["me"]["email"], moderator.email.as_str());
    assert_eq!(me["me"]["roles"], json!(["MODERATOR"]));
    assert_eq!(me["me"]["active"], true);
    assert!(moderator.refresh_token.starts_with("hr_"));
}

const CREATE: &str = "mutation($input: CreateStaffInput!) {
  createStaff(input: $input) { id email displayName roles active }
}";

const UPDATE: &str = "mutation($input: UpdateStaffInput!) {
  updateStaff(input: $input) { id displayName roles active }
}";

#[tokio::test]
async fn an_admin_creates_a_colleague_who_can_then_sign_in() {
    let app = TestApp::spawn().await;
    let admin = app.staff(&[Role::Admin]).await;
    let created = app
        .data_as(
            &admin,
            CREATE,
            json!({ "input": { "email": " Sam.Editor@Example.org ", "displayName": "Sam Editor",
                "roles": ["EDITOR", "ANALYST"], "password": "river lantern copper 7" } }),
        )
        .await;
    let created = &created["createStaff"];
    assert_eq!(created["email"], "sam.editor@example.org");
    assert_eq!(created["roles"], json!(["EDITOR", "ANALYST"]));
    assert_eq!(created["active"], true);

    let login = app
        .data(
            LOGIN,
            json!({ "email": "SAM.EDITOR@example.org", "password": "river lantern copper 7" }),
        )
        .await;
    assert_eq!(login["login"]["staff"]["id"], created["id"]);
    assert!(login["login"]["accessToken"].as_str().unwrap().len() > 50);
    assert!(
        login["login"]["refreshToken"]
            .as_str()
            .unwrap()
            .starts_with("hr_")
    );

    let listed = app
        .data_as(&admin, "{ staffMembers { email roles } }", json!({}))
        .await;
    let text = listed.to_string();
    assert!(text.contains("sam.editor@example.org"), "{text}");
    assert!(!text.contains("argon2"), "no password hash ever leaves");

    // The same email again is a conflict, however it is written.
    let again = app
        .graphql_as(
            &admin,
            CREATE,
            json!({ "input": { "email": "sam.editor@EXAMPLE.org", "displayName": "Sam Again",
                "roles": ["EDITOR"], "password": "river lantern copper 7" } }),
        )
        .await;
    assert_eq!(first_error_code(&again), "CONFLICT");
}

#[tokio::test]
async fn a_new_account_must_have_a_real_email_a_role_and_a_strong_password() {
    let app = TestApp::spawn().await;
    let admin = app.staff(&[Role::Admin]).await;
    let valid = json!({ "email": "x.person@example.org", "displayName": "X Person",
        "roles": ["MODERATOR"], "password": "river lantern copper 7" });
    for (field, value) in [
        ("email", json!("not-an-email")),
        ("displayName", json!("   ")),
        ("roles", json!([])),
        ("password", json!("short")),
        ("password", json!("password12345678")),
        ("password", json!("x.person@example.org is mine")),
        ("password", json!("a".repeat(129))),
    ] {
        let mut input = valid.clone();
        input[field] = value.clone();
        let body = app
            .graphql_as(&admin, CREATE, json!({ "input": input }))
            .await;
        assert_eq!(first_error_code(&body), "BAD_USER_INPUT", "{field} {value}");
        assert_eq!(body["errors"][0]["extensions"]["field"], field, "{value}");
    }
    let listed = app
        .data_as(&admin, "{ staffMembers { email } }", json!({}))
        .await;
    assert_eq!(
        listed["staffMembers"].as_array().unwrap().len(),
        1,
        "nothing was created"
    );
}

#[tokio::test]
async fn the_last_active_admin_cannot_be_demoted_or_deactivated() {
    let app = TestApp::spawn().await;
    let admin = app.staff(&[Role::Admin]).await;
    for change in [
        json!({ "roles": ["MODERATOR"] }),
        json!({ "active": false }),
    ] {
        let mut input = change.clone();
        input["id"] = json!(admin.id);
        let body = app
            .graphql_as(&admin, UPDATE, json!({ "input": input }))
            .await;
        assert_eq!(first_error_code(&body), "CONFLICT", "{change}");
    }
    // With a second admin, the first may step down.
    let second = app.staff(&[Role::Admin]).await;
    let body = app
        .data_as(
            &second,
            UPDATE,
            json!({ "input": { "id": admin.id, "roles": ["MODERATOR"], "displayName": "Former Admin" } }),
        )
        .await;
    assert_eq!(body["updateStaff"]["roles"], json!(["MODERATOR"]));
    assert_eq!(body["updateStaff"]["displayName"], "Former Admin");
    let missing = app
        .graphql_as(
            &second,
            UPDATE,
            json!({ "input": { "id": uuid::Uuid::now_v7(), "active": false } }),
        )
        .await;
    assert_eq!(first_error_code(&missing), "NOT_FOUND");
}

#[tokio::test]
async fn the_command_line_creates_the_first_admin_with_a_password_from_standard_input() {
    use std::io::Write as _;
    use std::process::{Command, Stdio};

    let app = TestApp::spawn().await;
    let create = |password: &str| {
        let mut child = Command::new(env!("CARGO_BIN_EXE_hamlet"))
            .args([
                "staff",
                "create",
                "--email",
                "first.admin@example.org",
                "--name",
                "First Admin",
                "--role",
                "ADMIN",
                "--role",
                "moderator",
                "--password-stdin",
            ])
            .env("HAMLET_DATABASE_URL", &app.database_url)
            .env("HAMLET_LOG", "warn")
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        writeln!(child.stdin.take().unwrap(), "{password}").unwrap();
        child.wait_with_output().unwrap()
    };
    let weak = create("letmein");
    assert!(!weak.status.success());
    assert!(String::from_utf8_lossy(&weak.stderr).contains("at least 12"));
    let made = create(PASSWORD);
    assert!(
        made.status.success(),
        "{}",
        String::from_utf8_lossy(&made.stderr)
    );
    let stdout = String::from_utf8(made.stdout).unwrap();
    assert!(!stdout.contains(PASSWORD), "the password is never printed");

    let login = app
        .data(
            LOGIN,
            json!({ "email": "first.admin@example.org", "password": PASSWORD }),
        )
        .await;
    assert_eq!(
        login["login"]["staff"]["roles"],
        json!(["MODERATOR", "ADMIN"])
    );
    let listed = app.cli(&["staff", "list"]);
    assert!(
        listed.contains("first.admin@example.org") && listed.contains("MODERATOR,ADMIN"),
        "{listed}"
    );
}
