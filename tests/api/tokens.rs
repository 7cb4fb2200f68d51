//! Staff tokens at the edge: forged, expired, early, misaddressed, unsigned,
//! edited and wrongly signed access tokens; refresh rotation and reuse;
//! logout, password change, deactivation and demotion acting at once; and
//! the login's answers and rate limit.

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use hamlet::staff::model::{DisplayName, Role, Roles, StaffEmail};
use hamlet::staff::password::Passwords;
use hamlet::staff::store::NewStaff;
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use serde_json::{Value, json};

use crate::helpers::{
    JWT_SECRET, LOGIN, PASSWORD, Seed, Staff, TestApp, feedback, first_error_code, headers,
};

const ME: &str = "{ me { id roles } }";
const PUBLIC: &str = "{ services { slug } }";
const REFRESH: &str = "mutation($token: String!) {
  refresh(refreshToken: $token) { accessToken refreshToken staff { id } }
}";
const LOGOUT: &str = "mutation($token: String!) { logout(refreshToken: $token) }";
const CHANGE_PASSWORD: &str = "mutation($current: String!, $new: String!) {
  changePassword(currentPassword: $current, newPassword: $new)
}";
const UPDATE_STAFF: &str = "mutation($input: UpdateStaffInput!) {
  updateStaff(input: $input) { id roles active }
}";
const QUEUE: &str = "{ feedbackQueue { totalCount } }";
const NEW_PASSWORD: &str = "a brand new passphrase 9";

fn now() -> i64 {
    chrono::Utc::now().timestamp()
}

/// The claims inside a token the server issued.
fn claims_of(token: &str) -> Value {
    let payload = token.split('.').nth(1).expect("a JWT has a payload");
    serde_json::from_slice(&URL_SAFE_NO_PAD.decode(payload).unwrap()).unwrap()
}

/// Claims that the server would accept for `staff`'s live session.
fn good_claims(staff: &Staff) -> Value {
    let issued = claims_of(&staff.access_token);
    let now = now();
    json!({
        "sub": issued["sub"], "sid": issued["sid"],
        "iss": "hamlet", "aud": "hamlet-staff",
        "iat": now, "nbf": now, "exp": now + 600,
    })
}

fn sign(algorithm: Algorithm, claims: &Value, secret: &str) -> String {
    jsonwebtoken::encode(
        &Header::new(algorithm),
        claims,
        &EncodingKey::from_secret(secret.as_bytes()),
    )
    .unwrap()
}

/// The token answers to `staff`: the one changed thing in each forgery
/// below is what gets it refused.
async fn assert_accepted(app: &TestApp, token: &str, staff: &Staff) {
    let response = app.post_as(token, ME, json!({})).await;
    assert_eq!(response.status(), 200);
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["data"]["me"]["id"], staff.id.as_str(), "{body}");
}

/// Refused with HTTP 401 before any GraphQL runs, for a staff query and a
/// public one alike: bad credentials never fall back to anonymous.
async fn assert_refused_at_the_edge(app: &TestApp, token: &str) {
    for document in [ME, PUBLIC] {
        let response = app.post_as(token, document, json!({})).await;
        let status = response.status();
        let body: Value = response.json().await.unwrap();
        assert_eq!(status, 401, "{document} with {token:?}: {body}");
        assert_eq!(first_error_code(&body), "UNAUTHENTICATED", "{body}");
        assert!(body.get("data").is_none(), "no GraphQL ran: {body}");
    }
    let response = app
        .get(
            &[("query", PUBLIC)],
            headers(&[("authorization", &format!("Bearer {token}"))]),
        )
        .await;
    assert_eq!(response.status(), 401, "GET with {token:?}");
}

async fn refresh(app: &TestApp, token: &str) -> Value {
    app.graphql(REFRESH, json!({ "token": token })).await
}

/// A second session of the same member.
async fn sign_in_again(app: &TestApp, staff: &Staff) -> Staff {
    sign_in(app, staff, PASSWORD).await
}

async fn sign_in(app: &TestApp, staff: &Staff, password: &str) -> Staff {
    let login = app
        .data(LOGIN, json!({ "email": staff.email, "password": password }))
        .await;
    Staff {
        access_token: login["login"]["accessToken"].as_str().unwrap().to_owned(),
        refresh_token: login["login"]["refreshToken"].as_str().unwrap().to_owned(),
        ..staff.clone()
    }
}

async fn login_answer(app: &TestApp, email: &str, password: &str) -> (u16, Value) {
    let response = app
        .post(LOGIN, json!({ "email": email, "password": password }))
        .await;
    let status = response.status().as_u16();
    (status, response.json().await.unwrap())
}

#[tokio::test]
async fn a_token_signed_with_another_secret_is_refused_at_the_edge() {
    let app = TestApp::spawn().await;
    let staff = app.staff(&[Role::Moderator]).await;
    let claims = good_claims(&staff);
    assert_accepted(&app, &sign(Algorithm::HS256, &claims, JWT_SECRET), &staff).await;
    let forged = sign(
        Algorithm::HS256,
        &claims,
        "another secret, also long enough for HS256",
    );
    assert_refused_at_the_edge(&app, &forged).await;
}

#[tokio::test]
async fn an_expired_token_is_refused_at_the_edge() {
    let app = TestApp::spawn().await;
    let staff = app.staff(&[Role::Moderator]).await;
    let mut claims = good_claims(&staff);
    claims["iat"] = json!(now() - 1000);
    claims["nbf"] = json!(now() - 1000);
    // Within the 30 seconds' leeway for clock skew, still good.
    claims["exp"] = json!(now() - 10);
    assert_accepted(&app, &sign(Algorithm::HS256, &claims, JWT_SECRET), &staff).await;
    // Past it.
    claims["exp"] = json!(now() - 120);
    assert_refused_at_the_edge(&app, &sign(Algorithm::HS256, &claims, JWT_SECRET)).await;
}

#[tokio::test]
async fn a_token_that_is_not_valid_yet_is_refused_at_the_edge() {
    let app = TestApp::spawn().await;
    let staff = app.staff(&[Role::Moderator]).await;
    let mut claims = good_claims(&staff);
    claims["exp"] = json!(now() + 900);
    // Within the 30 seconds' leeway for clock skew, already good.
    claims["nbf"] = json!(now() + 10);
    assert_accepted(&app, &sign(Algorithm::HS256, &claims, JWT_SECRET), &staff).await;
    // Past it.
    claims["nbf"] = json!(now() + 300);
    claims["exp"] = json!(now() + 900);
    assert_refused_at_the_edge(&app, &sign(Algorithm::HS256, &claims, JWT_SECRET)).await;
}

#[tokio::test]
async fn a_token_for_another_audience_is_refused_at_the_edge() {
    let app = TestApp::spawn().await;
    let staff = app.staff(&[Role::Moderator]).await;
    let mut claims = good_claims(&staff);
    claims["aud"] = json!("hamlet-kiosk");
    assert_refused_at_the_edge(&app, &sign(Algorithm::HS256, &claims, JWT_SECRET)).await;
}

#[tokio::test]
async fn a_token_from_another_issuer_is_refused_at_the_edge() {
    let app = TestApp::spawn().await;
    let staff = app.staff(&[Role::Moderator]).await;
    let mut claims = good_claims(&staff);
    claims["iss"] = json!("someone-else");
    assert_refused_at_the_edge(&app, &sign(Algorithm::HS256, &claims, JWT_SECRET)).await;
}

#[tokio::test]
async fn an_unsigned_token_with_alg_none_is_refused_at_the_edge() {
    let app = TestApp::spawn().await;
    let staff = app.staff(&[Role::Moderator]).await;
    let claims = good_claims(&staff);
    let header = URL_SAFE_NO_PAD.encode(br#"{"alg":"none","typ":"JWT"}"#);
    let payload = URL_SAFE_NO_PAD.encode(claims.to_string());
    assert_refused_at_the_edge(&app, &format!("{header}.{payload}.")).await;
    // Nor with the signature of a real token left on.
    let real_signature = staff.access_token.rsplit('.').next().unwrap();
    assert_refused_at_the_edge(&app, &format!("{header}.{payload}.{real_signature}")).await;
}

#[tokio::test]
async fn a_token_whose_claims_were_edited_is_refused_at_the_edge() {
    let app = TestApp::spawn().await;
    let moderator = app.staff(&[Role::Moderator]).await;
    let admin = app.staff(&[Role::Admin]).await;
    let theirs = claims_of(&admin.access_token);
    let ours = claims_of(&moderator.access_token);
    let parts: Vec<&str> = moderator.access_token.split('.').collect();
    let payload = String::from_utf8(URL_SAFE_NO_PAD.decode(parts[1]).unwrap()).unwrap();
    // The moderator's payload text, edited in place, under its own signature.
    let edited = |edits: &[(String, String)]| {
        let mut text = payload.clone();
        for (from, to) in edits {
            assert!(text.contains(from.as_str()), "{from} in {text}");
            text = text.replace(from.as_str(), to);
        }
        format!(
            "{}.{}.{}",
            parts[0],
            URL_SAFE_NO_PAD.encode(&text),
            parts[2]
        )
    };
    let sub = (
        ours["sub"].as_str().unwrap().to_owned(),
        theirs["sub"].as_str().unwrap().to_owned(),
    );
    let sid = (
        ours["sid"].as_str().unwrap().to_owned(),
        theirs["sid"].as_str().unwrap().to_owned(),
    );
    let exp = ours["exp"].as_i64().unwrap();
    let exp = (
        format!("\"exp\":{exp}"),
        format!("\"exp\":{}", exp + 86_400),
    );
    // Unedited, it is the moderator's good token.
    assert_eq!(edited(&[]), moderator.access_token);
    assert_accepted(&app, &edited(&[]), &moderator).await;

    // Claiming to be the admin, in the moderator's session or the admin's.
    assert_refused_at_the_edge(&app, &edited(std::slice::from_ref(&sub))).await;
    assert_refused_at_the_edge(&app, &edited(&[sub, sid])).await;
    // Living longer.
    assert_refused_at_the_edge(&app, &edited(&[exp])).await;
    assert_accepted(&app, &admin.access_token, &admin).await;
}

#[tokio::test]
async fn a_token_signed_with_hs512_is_refused_even_with_the_right_secret() {
    let app = TestApp::spawn().await;
    let staff = app.staff(&[Role::Moderator]).await;
    let claims = good_claims(&staff);
    assert_accepted(&app, &sign(Algorithm::HS256, &claims, JWT_SECRET), &staff).await;
    assert_refused_at_the_edge(&app, &sign(Algorithm::HS512, &claims, JWT_SECRET)).await;
    assert_refused_at_the_edge(&app, &sign(Algorithm::HS384, &claims, JWT_SECRET)).await;
}

#[tokio::test]
async fn a_refresh_token_or_anything_else_is_not_an_access_token() {
    let app = TestApp::spawn().await;
    let staff = app.staff(&[Role::Moderator]).await;
    assert!(staff.refresh_token.starts_with("hr_"));
    for token in [
        staff.refresh_token.as_str(),
        "not-a-jwt",
        "a.b.c",
        "hk_not_a_kiosk_either",
    ] {
        assert_refused_at_the_edge(&app, token).await;
    }
    // The refresh token still works as what it is.
    let renewed = refresh(&app, &staff.refresh_token).await;
    assert!(renewed.get("errors").is_none(), "{renewed}");
}

#[tokio::test]
async fn a_refused_token_does_not_fall_back_to_anonymous_and_stores_nothing() {
    let app = TestApp::spawn().await;
    let staff = app.staff(&[Role::Moderator]).await;
    let forged = sign(
        Algorithm::HS256,
        &good_claims(&staff),
        "not the secret at all, no",
    );
    let input = feedback();
    let response = app
        .submit_feedback(
            input.clone(),
            headers(&[("authorization", &format!("Bearer {forged}"))]),
        )
        .await;
    assert_eq!(response.status(), 401);
    let body: Value = response.json().await.unwrap();
    assert_eq!(first_error_code(&body), "UNAUTHENTICATED", "{body}");

    let queue = app.data_as(&staff, QUEUE, json!({})).await;
    assert_eq!(
        queue["feedbackQueue"]["totalCount"], 0,
        "nothing was stored"
    );
    // Sent again without the token, it is a first submission, not a replay.
    let body: Value = app
        .submit_feedback(input, headers(&[]))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(body["data"]["submitFeedback"]["replayed"], false, "{body}");
}

#[tokio::test]
async fn an_access_token_stops_working_when_its_session_is_logged_out() {
    let app = TestApp::spawn().await;
    let staff = app.staff(&[Role::Moderator]).await;
    let elsewhere = sign_in_again(&app, &staff).await;
    assert_accepted(&app, &staff.access_token, &staff).await;

    let out = app
        .data(LOGOUT, json!({ "token": staff.refresh_token }))
        .await;
    assert_eq!(out["logout"], true);
    assert_refused_at_the_edge(&app, &staff.access_token).await;
    let again = refresh(&app, &staff.refresh_token).await;
    assert_eq!(first_error_code(&again), "UNAUTHENTICATED", "{again}");
    // Only that session ended.
    assert_accepted(&app, &elsewhere.access_token, &staff).await;
    // Logging out with a token that is not one reveals nothing.
    let out = app.data(LOGOUT, json!({ "token": "hr_nonsense" })).await;
    assert_eq!(out["logout"], true);
    assert_accepted(&app, &elsewhere.access_token, &staff).await;
}

#[tokio::test]
async fn refreshing_rotates_both_tokens_and_the_old_refresh_token_stops_working() {
    let app = TestApp::spawn().await;
    let staff = app.staff(&[Role::Moderator]).await;
    let first = app
        .data(REFRESH, json!({ "token": staff.refresh_token }))
        .await;
    let first = &first["refresh"];
    assert_eq!(first["staff"]["id"], staff.id.as_str());
    let access = first["accessToken"].as_str().unwrap();
    let renewed = first["refreshToken"].as_str().unwrap();
    assert!(renewed.starts_with("hr_"));
    assert_ne!(renewed, staff.refresh_token);
    assert_eq!(
        claims_of(access)["sid"],
        claims_of(&staff.access_token)["sid"],
        "the same session goes on"
    );
    assert_accepted(&app, access, &staff).await;

    // The new refresh token works once in turn.
    let second = refresh(&app, renewed).await;
    assert!(second.get("errors").is_none(), "{second}");
    assert_accepted(
        &app,
        second["data"]["refresh"]["accessToken"].as_str().unwrap(),
        &staff,
    )
    .await;

    let old = refresh(&app, &staff.refresh_token).await;
    assert_eq!(first_error_code(&old), "UNAUTHENTICATED", "{old}");
    assert!(
        old["data"].is_null(),
        "no tokens for a used refresh token: {old}"
    );
    let unknown = refresh(&app, "hr_never_issued").await;
    assert_eq!(first_error_code(&unknown), "UNAUTHENTICATED", "{unknown}");
}

#[tokio::test]
async fn presenting_a_used_refresh_token_again_ends_its_whole_session() {
    let app = TestApp::spawn().await;
    let staff = app.staff(&[Role::Moderator]).await;
    let elsewhere = sign_in_again(&app, &staff).await;
    // The session's chain: login → second → newest.
    let second = app
        .data(REFRESH, json!({ "token": staff.refresh_token }))
        .await;
    let newest = app
        .data(
            REFRESH,
            json!({ "token": second["refresh"]["refreshToken"] }),
        )
        .await;
    let newest_access = newest["refresh"]["accessToken"].as_str().unwrap();
    let newest_refresh = newest["refresh"]["refreshToken"].as_str().unwrap();
    assert_accepted(&app, newest_access, &staff).await;

    // Someone replays the first refresh token, which only a stolen copy would do.
    let stolen = refresh(&app, &staff.refresh_token).await;
    assert_eq!(first_error_code(&stolen), "UNAUTHENTICATED", "{stolen}");

    assert_refused_at_the_edge(&app, newest_access).await;
    assert_refused_at_the_edge(&app, &staff.access_token).await;
    let rightful = refresh(&app, newest_refresh).await;
    assert_eq!(first_error_code(&rightful), "UNAUTHENTICATED", "{rightful}");
    // The member's other session is a different family and goes on.
    assert_accepted(&app, &elsewhere.access_token, &staff).await;
    let renewed = refresh(&app, &elsewhere.refresh_token).await;
    assert!(renewed.get("errors").is_none(), "{renewed}");
}

#[tokio::test]
async fn changing_the_password_ends_the_other_sessions_but_not_this_one() {
    let app = TestApp::spawn().await;
    let staff = app.staff(&[Role::Editor]).await;
    let elsewhere = sign_in_again(&app, &staff).await;

    // A wrong current password changes nothing.
    let wrong = app
        .graphql_as(
            &staff,
            CHANGE_PASSWORD,
            json!({ "current": "not my password at all", "new": NEW_PASSWORD }),
        )
        .await;
    assert_eq!(first_error_code(&wrong), "BAD_USER_INPUT", "{wrong}");
    assert_eq!(wrong["errors"][0]["extensions"]["field"], "currentPassword");
    assert_accepted(&app, &elsewhere.access_token, &staff).await;

    let changed = app
        .data_as(
            &staff,
            CHANGE_PASSWORD,
            json!({ "current": PASSWORD, "new": NEW_PASSWORD }),
        )
        .await;
    assert_eq!(changed["changePassword"], true);

    // This session goes on, access and refresh alike.
    assert_accepted(&app, &staff.access_token, &staff).await;
    let renewed = refresh(&app, &staff.refresh_token).await;
    assert!(renewed.get("errors").is_none(), "{renewed}");
    // The other one ended at once.
    assert_refused_at_the_edge(&app, &elsewhere.access_token).await;
    let other = refresh(&app, &elsewhere.refresh_token).await;
    assert_eq!(first_error_code(&other), "UNAUTHENTICATED", "{other}");

    let (_, old) = login_answer(&app, &staff.email, PASSWORD).await;
    assert_eq!(first_error_code(&old), "UNAUTHENTICATED", "{old}");
    let new = sign_in(&app, &staff, NEW_PASSWORD).await;
    assert_accepted(&app, &new.access_token, &staff).await;
}

#[tokio::test]
async fn a_deactivated_member_is_shut_out_at_once_and_cannot_sign_in() {
    let app = TestApp::spawn().await;
    let admin = app.staff(&[Role::Admin]).await;
    let member = app.staff(&[Role::Moderator]).await;
    let elsewhere = sign_in_again(&app, &member).await;
    assert_accepted(&app, &member.access_token, &member).await;

    let updated = app
        .data_as(
            &admin,
            UPDATE_STAFF,
            json!({ "input": { "id": member.id, "active": false } }),
        )
        .await;
    assert_eq!(updated["updateStaff"]["active"], false);

    assert_refused_at_the_edge(&app, &member.access_token).await;
    assert_refused_at_the_edge(&app, &elsewhere.access_token).await;
    for token in [&member.refresh_token, &elsewhere.refresh_token] {
        let renewed = refresh(&app, token).await;
        assert_eq!(first_error_code(&renewed), "UNAUTHENTICATED", "{renewed}");
    }
    let (status, refused) = login_answer(&app, &member.email, PASSWORD).await;
    let (_, unknown) = login_answer(&app, "nobody@towerhamlets.example", PASSWORD).await;
    assert_eq!(status, 200);
    assert_eq!(first_error_code(&refused), "UNAUTHENTICATED", "{refused}");
    assert_eq!(refused, unknown, "an inactive account is not told apart");
}

#[tokio::test]
async fn a_demoted_member_loses_the_role_on_the_next_request() {
    let app = TestApp::spawn().await;
    let admin = app.staff(&[Role::Admin]).await;
    let member = app.staff(&[Role::Moderator]).await;
    let queue = app.data_as(&member, QUEUE, json!({})).await;
    assert_eq!(queue["feedbackQueue"]["totalCount"], 0);

    app.data_as(
        &admin,
        UPDATE_STAFF,
        json!({ "input": { "id": member.id, "roles": ["EDITOR"] } }),
    )
    .await;
    let refused = app.graphql_as(&member, QUEUE, json!({})).await;
    assert_eq!(first_error_code(&refused), "FORBIDDEN", "{refused}");
    assert!(refused["data"].is_null(), "{refused}");
    // Still signed in, with the same token, as an editor.
    let me = app.data_as(&member, ME, json!({})).await;
    assert_eq!(me["me"]["roles"], json!(["EDITOR"]));

    // And promotion acts as fast.
    app.data_as(
        &admin,
        UPDATE_STAFF,
        json!({ "input": { "id": member.id, "roles": ["MODERATOR"] } }),
    )
    .await;
    let queue = app.data_as(&member, QUEUE, json!({})).await;
    assert_eq!(queue["feedbackQueue"]["totalCount"], 0);
}

#[tokio::test]
async fn a_wrong_password_and_an_unknown_email_get_the_same_answer() {
    let app = TestApp::spawn().await;
    let staff = app.staff(&[Role::Moderator]).await;
    let (status, wrong_password) = login_answer(&app, &staff.email, "not the password 1").await;
    assert_eq!(status, 200);
    assert_eq!(first_error_code(&wrong_password), "UNAUTHENTICATED");
    assert!(wrong_password["data"].is_null(), "{wrong_password}");
    for (email, password) in [
        ("nobody@towerhamlets.example", "not the password 1"),
        ("nobody@towerhamlets.example", PASSWORD),
        ("not an email", PASSWORD),
        ("", ""),
    ] {
        let (status, answer) = login_answer(&app, email, password).await;
        assert_eq!(status, 200);
        assert_eq!(answer, wrong_password, "{email:?}");
    }
    // The right password still signs in: none of that locked the account.
    let (_, right) = login_answer(&app, &staff.email, PASSWORD).await;
    assert!(right.get("errors").is_none(), "{right}");
}

/// A staff member who has not signed in, so no login attempt is spent.
async fn member_not_signed_in(app: &TestApp, email: &str) {
    let db = app.db().await;
    let new = NewStaff {
        email: StaffEmail::parse(email, "email").unwrap(),
        display_name: DisplayName::parse("Rate Limited", "displayName").unwrap(),
        roles: Roles::parse(&[Role::Moderator], "roles").unwrap(),
        password_hash: Passwords::default().hash(PASSWORD).await.unwrap(),
    };
    hamlet::staff::actions::create_staff(&db, &new, None)
        .await
        .unwrap();
    db.close().await.ok();
}

/// Checks a rate-limited answer: HTTP 429 with a `Retry-After` that agrees
/// with `extensions.retryAfterSeconds`. Returns the body.
async fn assert_rate_limited(response: reqwest::Response) -> Value {
    assert_eq!(response.status(), 429);
    let retry_after: u64 = response.headers()["retry-after"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    let body: Value = response.json().await.unwrap();
    let limited = body["errors"]
        .as_array()
        .unwrap()
        .iter()
        .find(|error| error["extensions"]["code"] == "RATE_LIMITED")
        .unwrap_or_else(|| panic!("no RATE_LIMITED error: {body}"));
    let seconds = limited["extensions"]["retryAfterSeconds"].as_u64().unwrap();
    assert!((1..=60).contains(&seconds), "{body}");
    assert_eq!(retry_after, seconds);
    body
}

#[tokio::test]
async fn login_attempts_beyond_the_limit_are_refused_even_with_the_right_password() {
    let app = TestApp::spawn_with(Seed::BuiltIn, |config| config.login_per_minute = 3).await;
    let email = "limited.member@towerhamlets.example";
    member_not_signed_in(&app, email).await;
    for attempt in 1..=3 {
        let (status, body) = login_answer(&app, email, &format!("guess number {attempt} x")).await;
        assert_eq!(status, 200, "attempt {attempt}: {body}");
        assert_eq!(
            first_error_code(&body),
            "UNAUTHENTICATED",
            "attempt {attempt}"
        );
    }
    let response = app
        .post(LOGIN, json!({ "email": email, "password": PASSWORD }))
        .await;
    let body = assert_rate_limited(response).await;
    assert_eq!(first_error_code(&body), "RATE_LIMITED");
    assert!(body["data"].is_null(), "no tokens: {body}");
    // Other emails from the same address are held back too.
    let response = app
        .post(
            LOGIN,
            json!({ "email": "someone.else@towerhamlets.example", "password": PASSWORD }),
        )
        .await;
    assert_rate_limited(response).await;
}

#[tokio::test]
async fn login_guesses_batched_as_aliases_in_one_request_each_count_against_the_limit() {
    let app = TestApp::spawn_with(Seed::BuiltIn, |config| config.login_per_minute = 3).await;
    let email = "batched.member@towerhamlets.example";
    member_not_signed_in(&app, email).await;
    // Ten guesses in one request; the last is the right password.
    let aliases: Vec<String> = (1..=10)
        .map(|n| {
            let password = if n == 10 {
                PASSWORD.to_owned()
            } else {
                format!("guess number {n} x")
            };
            format!("a{n}: login(email: $email, password: \"{password}\") {{ accessToken }}")
        })
        .collect();
    let document = format!("mutation($email: String!) {{ {} }}", aliases.join(" "));
    let response = app.post(&document, json!({ "email": email })).await;
    let body = assert_rate_limited(response).await;

    let errors = body["errors"].as_array().unwrap();
    let by_code = |code: &str| -> Vec<String> {
        errors
            .iter()
            .filter(|error| error["extensions"]["code"] == code)
            .map(|error| error["path"][0].as_str().unwrap().to_owned())
            .collect()
    };
    assert_eq!(by_code("UNAUTHENTICATED"), ["a1", "a2", "a3"], "{body}");
    assert_eq!(
        by_code("RATE_LIMITED"),
        ["a4", "a5", "a6", "a7", "a8", "a9", "a10"],
        "{body}"
    );
    assert_eq!(errors.len(), 10, "{body}");
    assert!(
        !body.to_string().contains("accessToken\":\""),
        "the right password, past the limit, got no token: {body}"
    );

    // The allowance is spent for the next request too.
    let response = app
        .post(LOGIN, json!({ "email": email, "password": PASSWORD }))
        .await;
    assert_rate_limited(response).await;
}

#[tokio::test]
async fn one_email_guessed_from_many_addresses_is_rate_limited() {
    let app = TestApp::spawn_with(Seed::BuiltIn, |config| {
        config.login_per_minute = 3;
        // The test client stands in for a proxy that forwards many residents.
        config.trusted_proxies = vec!["127.0.0.1/32".parse().unwrap()];
    })
    .await;
    let email = "popular.member@towerhamlets.example";
    member_not_signed_in(&app, email).await;
    let from = |n: u8| headers(&[("x-forwarded-for", &format!("198.51.100.{n}"))]);
    // However the email is written, it is the same email.
    for (n, written) in [
        (1, email.to_owned()),
        (2, email.to_uppercase()),
        (3, format!(" {email} ")),
    ] {
        let response = app
            .post_with(
                LOGIN,
                json!({ "email": written, "password": "guess number one x" }),
                from(n),
            )
            .await;
        assert_eq!(response.status(), 200);
        let body: Value = response.json().await.unwrap();
        assert_eq!(first_error_code(&body), "UNAUTHENTICATED", "{body}");
    }
    let response = app
        .post_with(
            LOGIN,
            json!({ "email": email, "password": PASSWORD }),
            from(4),
        )
        .await;
    assert_rate_limited(response).await;
    // A fifth address with another email is not held back by that email.
    member_not_signed_in(&app, "quiet.member@towerhamlets.example").await;
    let response = app
        .post_with(
            LOGIN,
            json!({ "email": "quiet.member@towerhamlets.example", "password": PASSWORD }),
            from(5),
        )
        .await;
    assert_eq!(response.status(), 200);
    let body: Value = response.json().await.unwrap();
    assert!(body.get("errors").is_none(), "{body}");
}

#[tokio::test]
async fn a_well_signed_token_must_name_a_live_session_of_its_own_member() {
    let app = TestApp::spawn().await;
    let moderator = app.staff(&[Role::Moderator]).await;
    let admin = app.staff(&[Role::Admin]).await;
    let mut claims = good_claims(&moderator);
    assert_accepted(
        &app,
        &sign(Algorithm::HS256, &claims, JWT_SECRET),
        &moderator,
    )
    .await;

    // A session that never existed.
    claims["sid"] = json!(uuid::Uuid::now_v7());
    assert_refused_at_the_edge(&app, &sign(Algorithm::HS256, &claims, JWT_SECRET)).await;
    // The admin's live session, claimed by the moderator.
    claims["sid"] = claims_of(&admin.access_token)["sid"].clone();
    assert_refused_at_the_edge(&app, &sign(Algorithm::HS256, &claims, JWT_SECRET)).await;
    // A member who does not exist.
    let mut claims = good_claims(&moderator);
    claims["sub"] = json!(uuid::Uuid::now_v7());
    assert_refused_at_the_edge(&app, &sign(Algorithm::HS256, &claims, JWT_SECRET)).await;
    // Without the claims the server requires.
    for missing in ["exp", "nbf", "iss", "aud", "sub", "sid"] {
        let mut claims = good_claims(&moderator);
        claims.as_object_mut().unwrap().remove(missing);
        let token = sign(Algorithm::HS256, &claims, JWT_SECRET);
        let response = app.post_as(&token, ME, json!({})).await;
        assert_eq!(response.status(), 401, "without {missing}");
    }
}

#[tokio::test]
async fn two_refreshes_racing_with_one_token_do_not_fork_the_session() {
    let app = TestApp::spawn().await;
    let staff = app.staff(&[Role::Moderator]).await;
    let (one, two) = tokio::join!(
        refresh(&app, &staff.refresh_token),
        refresh(&app, &staff.refresh_token)
    );
    let winners: Vec<&Value> = [&one, &two]
        .into_iter()
        .filter(|answer| answer.get("errors").is_none())
        .collect();
    assert!(winners.len() <= 1, "both refreshed: {one} {two}");
    for loser in [&one, &two]
        .into_iter()
        .filter(|answer| answer.get("errors").is_some())
    {
        assert_eq!(first_error_code(loser), "UNAUTHENTICATED", "{loser}");
    }
    // The second presentation is a reuse: the session is over for both.
    for winner in winners {
        let access = winner["data"]["refresh"]["accessToken"].as_str().unwrap();
        assert_refused_at_the_edge(&app, access).await;
        let next = winner["data"]["refresh"]["refreshToken"].as_str().unwrap();
        let again = refresh(&app, next).await;
        assert_eq!(first_error_code(&again), "UNAUTHENTICATED", "{again}");
    }
    assert_refused_at_the_edge(&app, &staff.access_token).await;
}

#[tokio::test]
async fn reactivating_a_member_does_not_revive_their_old_sessions() {
    let app = TestApp::spawn().await;
    let admin = app.staff(&[Role::Admin]).await;
    let member = app.staff(&[Role::Moderator]).await;
    for active in [false, true] {
        app.data_as(
            &admin,
            UPDATE_STAFF,
            json!({ "input": { "id": member.id, "active": active } }),
        )
        .await;
    }
    assert_refused_at_the_edge(&app, &member.access_token).await;
    let renewed = refresh(&app, &member.refresh_token).await;
    assert_eq!(first_error_code(&renewed), "UNAUTHENTICATED", "{renewed}");
    // They sign in afresh.
    let back = sign_in_again(&app, &member).await;
    assert_accepted(&app, &back.access_token, &member).await;
}
