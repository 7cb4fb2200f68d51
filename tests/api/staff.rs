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
}
