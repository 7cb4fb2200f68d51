//! Who may do what: every protected operation against every role and an
//! anonymous caller, the guarded fields of ideas reached through public
//! paths, and the analyst who must never see what residents wrote.

use hamlet::staff::model::Role;
use serde_json::{Value, json};

use crate::helpers::{Staff, TestApp, feedback, first_error_code, headers, idea, key};

/// What a caller should get from one operation.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Expect {
    /// A clean answer: the guard let the caller through and the call worked.
    Answer,
    /// A GraphQL error with this `extensions.code`, and no data for the field.
    Refused(&'static str),
}

/// One protected operation: a document that is valid for a caller holding
/// one of `allowed`, and for mutations a read that a refused call must leave
/// exactly as it was.
struct Rule {
    operation: &'static str,
    document: &'static str,
    variables: Value,
    /// Empty means any signed-in staff member.
    allowed: &'static [Role],
    /// What an allowed call answers, where that is known: a JSON pointer
    /// into `data` and the value there.
    answers: Option<(&'static str, Value)>,
    unchanged: Option<(&'static str, Value)>,
}

const ANY_STAFF: &[Role] = &[];
const MODERATOR: &[Role] = &[Role::Moderator];
const ADMIN: &[Role] = &[Role::Admin];
const EDITOR: &[Role] = &[Role::Editor];
const CONTACT: &[Role] = &[Role::Moderator, Role::Admin];

const AUDIT_COUNT: &str = "{ auditLog(first: 0) { totalCount } }";
const STAFF_LIST: &str = "{ staffMembers { id email displayName roles active } }";
const KIOSK_LIST: &str = "{ kiosks { id name site active } }";
const FEEDBACK_STATE: &str = "query($id: ID!) {
  feedback(id: $id) { status version tags assignee { id } publicResponse updatedAt notes { id } }
}";
const IDEA_STATE: &str = "query($id: ID!) {
  idea(id: $id) { status version published tags updatedAt mergedInto { id } notes { id } }
}";
const NEW_PASSWORD: &str = "a brand new passphrase 9";
const NEW_ADMIN_EMAIL: &str = "new.admin@towerhamlets.example";

fn expected(allowed: &[Role], caller: Option<Role>) -> Expect {
    match caller {
        None => Expect::Refused("UNAUTHENTICATED"),
        Some(role) if allowed.is_empty() || allowed.contains(&role) => Expect::Answer,
        Some(_) => Expect::Refused("FORBIDDEN"),
    }
}

fn label(caller: Option<Role>) -> String {
    caller.map_or("anonymous", Role::as_str).to_owned()
}

/// POSTs as `caller` (anonymous when `None`) and returns the status and body.
async fn call(
    app: &TestApp,
    caller: Option<&Staff>,
    document: &str,
    variables: Value,
) -> (u16, Value) {
    let response = match caller {
        Some(staff) => app.post_as(&staff.access_token, document, variables).await,
        None => app.post(document, variables).await,
    };
    let status = response.status().as_u16();
    (status, response.json().await.expect("a JSON body"))
}

/// Why `body` is not what `expect` says, if it is not.
fn mismatch(status: u16, body: &Value, operation: &str, expect: Expect) -> Option<String> {
    if status != 200 {
        return Some(format!("HTTP {status}, wanted 200: {body}"));
    }
    match expect {
        Expect::Answer => body
            .get("errors")
            .map(|errors| format!("wanted an answer, got errors {errors}")),
        Expect::Refused(code) => {
            let got = body["errors"][0]["extensions"]["code"].as_str();
            if got != Some(code) {
                return Some(format!("wanted {code}, got {body}"));
            }
            if body["errors"][0]["path"][0] != operation {
                return Some(format!("the error is not about {operation}: {body}"));
            }
            if !(body["data"].is_null() || body["data"][operation].is_null()) {
                return Some(format!("refused, yet data came back: {body}"));
            }
            None
        }
    }
}

/// Feedback and ideas a moderator can find by reference.
async fn feedback_id(app: &TestApp, moderator: &Staff, reference: &str) -> String {
    let data = app
        .data_as(
            moderator,
            "{ feedbackQueue(first: 100) { edges { node { id reference } } } }",
            json!({}),
        )
        .await;
    find_id(&data["feedbackQueue"], reference)
}

async fn idea_id(app: &TestApp, moderator: &Staff, reference: &str) -> String {
    let data = app
        .data_as(
            moderator,
            "{ ideas(first: 100) { edges { node { id reference } } } }",
            json!({}),
        )
        .await;
    find_id(&data["ideas"], reference)
}

fn find_id(connection: &Value, reference: &str) -> String {
    connection["edges"]
        .as_array()
        .unwrap()
        .iter()
        .find(|edge| edge["node"]["reference"] == reference)
        .unwrap_or_else(|| panic!("{reference} is not in {connection}"))["node"]["id"]
        .as_str()
        .unwrap()
        .to_owned()
}

async fn version_of(app: &TestApp, moderator: &Staff, query: &str, id: &str) -> i64 {
    let data = app.data_as(moderator, query, json!({ "id": id })).await;
    let item = data.as_object().unwrap().values().next().unwrap().clone();
    item["version"].as_i64().unwrap()
}

/// Every protected query and mutation, with variables valid for the roles it
/// allows, pointing at real items so an allowed call really works.
async fn rules(app: &TestApp, supervisor: &Staff, bystander: &Staff) -> Vec<Rule> {
    let feedback_to_moderate =
        feedback_id(app, supervisor, &app.feedback_reference(feedback()).await).await;
    let feedback_in_bulk =
        feedback_id(app, supervisor, &app.feedback_reference(feedback()).await).await;
    let feedback_to_read =
        feedback_id(app, supervisor, &app.feedback_reference(feedback()).await).await;
    let mut ideas = Vec::new();
    for _ in 0..6 {
        ideas.push(idea_id(app, supervisor, &app.idea_reference(idea()).await).await);
    }
    let [
        idea_to_moderate,
        idea_in_bulk,
        idea_to_note,
        source,
        target,
        idea_to_read,
    ] = <[String; 6]>::try_from(ideas).unwrap();
    let feedback_version = version_of(app, supervisor, FEEDBACK_STATE, &feedback_to_moderate).await;
    let idea_version = version_of(app, supervisor, IDEA_STATE, &idea_to_moderate).await;
    let kiosk = app
        .data_as(
            supervisor,
            "mutation { createKiosk(name: \"Waiting room\", site: \"Barkantine\") { kiosk { id } } }",
            json!({}),
        )
        .await["createKiosk"]["kiosk"]["id"]
        .clone();
    let save = "mutation($input: SavePageInput!) { savePage(input: $input) { id version } }";
    let mut pages = Vec::new();
    for slug in ["roles-to-publish", "roles-to-unpublish", "roles-to-restore"] {
        let saved = app
            .data_as(
                bystander,
                save,
                json!({ "input": { "slug": slug, "title": "A page", "body": "Text." } }),
            )
            .await;
        pages.push(saved["savePage"]["id"].as_str().unwrap().to_owned());
    }
    let [to_publish, to_unpublish, to_restore] = <[String; 3]>::try_from(pages).unwrap();
    app.data_as(
        bystander,
        "mutation($id: ID!) { publishPage(id: $id) { id } }",
        json!({ "id": to_unpublish }),
    )
    .await;
    let webhook = app
        .data_as(
            supervisor,
            "mutation { createWebhook(url: \"http://127.0.0.1:9/hook\") { webhook { id } } }",
            json!({}),
        )
        .await["createWebhook"]["webhook"]["id"]
        .clone();
    let to_erase = app.feedback_reference(feedback()).await;

    vec![
        Rule {
            operation: "page",
            document: "{ page(slug: \"roles-to-publish\", preview: true) { title revisions { version } } }",
            variables: json!({}),
            allowed: EDITOR,
            answers: Some(("/page/title", json!("A page"))),
            unchanged: None,
        },
        Rule {
            operation: "savePage",
            document: save,
            variables: json!({ "input": { "slug": "roles-new-page", "title": "New", "body": "Body." } }),
            allowed: EDITOR,
            answers: Some(("/savePage/version", json!(1))),
            unchanged: None,
        },
        Rule {
            operation: "publishPage",
            document: "mutation($id: ID!) { publishPage(id: $id) { status } }",
            variables: json!({ "id": to_publish }),
            allowed: EDITOR,
            answers: Some(("/publishPage/status", json!("PUBLISHED"))),
            unchanged: None,
        },
        Rule {
            operation: "unpublishPage",
            document: "mutation($id: ID!) { unpublishPage(id: $id) { status } }",
            variables: json!({ "id": to_unpublish }),
            allowed: EDITOR,
            answers: Some(("/unpublishPage/status", json!("ARCHIVED"))),
            unchanged: None,
        },
        Rule {
            operation: "restorePageRevision",
            document: "mutation($id: ID!) { restorePageRevision(id: $id, version: 1, expectedVersion: 1) { version } }",
            variables: json!({ "id": to_restore }),
            allowed: EDITOR,
            answers: Some(("/restorePageRevision/version", json!(2))),
            unchanged: None,
        },
        Rule {
            operation: "updateOrganisation",
            document:
                "mutation { updateOrganisation(input: { locale: \"cy\", name: \"N\", vision: \"V\",
              mission: \"M\", purpose: \"P\", values: [] }) { locale } }",
            variables: json!({}),
            allowed: EDITOR,
            answers: Some(("/updateOrganisation/locale", json!("cy"))),
            unchanged: None,
        },
        Rule {
            operation: "webhooks",
            document: "{ webhooks { id url } }",
            variables: json!({}),
            allowed: ADMIN,
            answers: Some(("/webhooks/0/url", json!("http://127.0.0.1:9/hook"))),
            unchanged: None,
        },
        Rule {
            operation: "createWebhook",
            document: "mutation { createWebhook(url: \"http://127.0.0.1:9/other\") { webhook { url } } }",
            variables: json!({}),
            allowed: ADMIN,
            answers: Some((
                "/createWebhook/webhook/url",
                json!("http://127.0.0.1:9/other"),
            )),
            unchanged: None,
        },
        Rule {
            operation: "deleteWebhook",
            document: "mutation($id: ID!) { deleteWebhook(id: $id) }",
            variables: json!({ "id": webhook }),
            allowed: ADMIN,
            answers: Some(("/deleteWebhook", json!(true))),
            unchanged: None,
        },
        Rule {
            operation: "eraseSubmission",
            document: "mutation($r: String!) { eraseSubmission(reference: $r) }",
            variables: json!({ "r": to_erase }),
            allowed: ADMIN,
            answers: Some(("/eraseSubmission", json!(true))),
            unchanged: None,
        },
        Rule {
            operation: "me",
            document: "{ me { id roles } }",
            variables: json!({}),
            allowed: ANY_STAFF,
            answers: None,
            unchanged: None,
        },
        Rule {
            operation: "staffMembers",
            document: "{ staffMembers { id email roles } }",
            variables: json!({}),
            allowed: ADMIN,
            answers: None,
            unchanged: None,
        },
        Rule {
            operation: "kiosks",
            document: "{ kiosks { id name active } }",
            variables: json!({}),
            allowed: ADMIN,
            answers: Some(("/kiosks/0/name", json!("Waiting room"))),
            unchanged: None,
        },
        Rule {
            operation: "feedbackQueue",
            document: "{ feedbackQueue(first: 5) { totalCount edges { node { id comment } } } }",
            variables: json!({}),
            allowed: MODERATOR,
            answers: Some(("/feedbackQueue/totalCount", json!(4))),
            unchanged: None,
        },
        Rule {
            operation: "feedback",
            document: "query($id: ID!) { feedback(id: $id) { id comment status } }",
            variables: json!({ "id": feedback_to_read }),
            allowed: MODERATOR,
            answers: Some(("/feedback/id", json!(feedback_to_read))),
            unchanged: None,
        },
        Rule {
            operation: "ideas",
            document: "{ ideas(first: 5) { totalCount edges { node { id description } } } }",
            variables: json!({}),
            allowed: MODERATOR,
            answers: Some(("/ideas/totalCount", json!(6))),
            unchanged: None,
        },
        Rule {
            operation: "idea",
            document: "query($id: ID!) { idea(id: $id) { id description status } }",
            variables: json!({ "id": idea_to_read }),
            allowed: MODERATOR,
            answers: Some(("/idea/id", json!(idea_to_read))),
            unchanged: None,
        },
        Rule {
            operation: "auditLog",
            document: "{ auditLog(first: 5) { totalCount edges { node { action } } } }",
            variables: json!({}),
            allowed: ADMIN,
            answers: None,
            unchanged: None,
        },
        Rule {
            operation: "changePassword",
            document: "mutation($current: String!, $new: String!) {
              changePassword(currentPassword: $current, newPassword: $new)
            }",
            variables: json!({ "current": crate::helpers::PASSWORD, "new": NEW_PASSWORD }),
            allowed: ANY_STAFF,
            answers: Some(("/changePassword", json!(true))),
            unchanged: None,
        },
        Rule {
            operation: "createStaff",
            document: "mutation($input: CreateStaffInput!) { createStaff(input: $input) { id email roles } }",
            variables: json!({ "input": {
                "email": NEW_ADMIN_EMAIL,
                "displayName": "New Admin",
                "roles": ["ADMIN"],
                "password": "copper lantern meadow 7",
            }}),
            allowed: ADMIN,
            answers: Some(("/createStaff/roles", json!(["ADMIN"]))),
            unchanged: Some((STAFF_LIST, json!({}))),
        },
        Rule {
            operation: "updateStaff",
            document: "mutation($input: UpdateStaffInput!) { updateStaff(input: $input) { id roles } }",
            variables: json!({ "input": { "id": bystander.id, "roles": ["ADMIN", "EDITOR"] } }),
            allowed: ADMIN,
            answers: Some(("/updateStaff/roles", json!(["EDITOR", "ADMIN"]))),
            unchanged: Some((STAFF_LIST, json!({}))),
        },
        Rule {
            operation: "createKiosk",
            document: "mutation { createKiosk(name: \"Library kiosk\", site: \"Idea Store\") { kiosk { id } token } }",
            variables: json!({}),
            allowed: ADMIN,
            answers: None,
            unchanged: Some((KIOSK_LIST, json!({}))),
        },
        Rule {
            operation: "revokeKiosk",
            document: "mutation($id: ID!) { revokeKiosk(id: $id) { id active } }",
            variables: json!({ "id": kiosk }),
            allowed: ADMIN,
            answers: Some(("/revokeKiosk/active", json!(false))),
            unchanged: Some((KIOSK_LIST, json!({}))),
        },
        Rule {
            operation: "moderateFeedback",
            document: "mutation($input: ModerateFeedbackInput!) {
              moderateFeedback(input: $input) { id status version }
            }",
            variables: json!({ "input": {
                "id": feedback_to_moderate,
                "expectedVersion": feedback_version,
                "status": "IN_REVIEW",
                "tags": ["kindness"],
                "publicResponse": "Thank you.",
            }}),
            allowed: MODERATOR,
            answers: Some(("/moderateFeedback/status", json!("IN_REVIEW"))),
            unchanged: Some((FEEDBACK_STATE, json!({ "id": feedback_to_moderate }))),
        },
        Rule {
            operation: "moderateIdea",
            document: "mutation($input: ModerateIdeaInput!) {
              moderateIdea(input: $input) { id status version published }
            }",
            variables: json!({ "input": {
                "id": idea_to_moderate,
                "expectedVersion": idea_version,
                "status": "UNDER_REVIEW",
                "published": true,
            }}),
            allowed: MODERATOR,
            answers: Some(("/moderateIdea/published", json!(true))),
            unchanged: Some((IDEA_STATE, json!({ "id": idea_to_moderate }))),
        },
        Rule {
            operation: "bulkModerateFeedback",
            document: "mutation($input: BulkModerateFeedbackInput!) {
              bulkModerateFeedback(input: $input) { id ok code version }
            }",
            variables: json!({ "input": {
                "ids": [feedback_in_bulk],
                "status": "SPAM",
                "addTags": ["spam-wave"],
            }}),
            allowed: MODERATOR,
            answers: Some(("/bulkModerateFeedback/0/ok", json!(true))),
            unchanged: Some((FEEDBACK_STATE, json!({ "id": feedback_in_bulk }))),
        },
        Rule {
            operation: "bulkModerateIdeas",
            document: "mutation($input: BulkModerateIdeasInput!) {
              bulkModerateIdeas(input: $input) { id ok code version }
            }",
            variables: json!({ "input": { "ids": [idea_in_bulk], "status": "DECLINED" } }),
            allowed: MODERATOR,
            answers: Some(("/bulkModerateIdeas/0/ok", json!(true))),
            unchanged: Some((IDEA_STATE, json!({ "id": idea_in_bulk }))),
        },
        Rule {
            operation: "addNote",
            document: "mutation($id: ID!) { addNote(subjectId: $id, body: \"Rang the resident back.\") { id subjectId } }",
            variables: json!({ "id": idea_to_note }),
            allowed: MODERATOR,
            answers: Some(("/addNote/subjectId", json!(idea_to_note))),
            unchanged: Some((IDEA_STATE, json!({ "id": idea_to_note }))),
        },
        Rule {
            operation: "mergeIdea",
            document: "mutation($source: ID!, $target: ID!) {
              mergeIdea(sourceId: $source, targetId: $target) { id supportCount }
            }",
            variables: json!({ "source": source, "target": target }),
            allowed: MODERATOR,
            answers: Some(("/mergeIdea/id", json!(target))),
            unchanged: Some((IDEA_STATE, json!({ "id": source }))),
        },
    ]
}

#[tokio::test]
async fn every_protected_operation_admits_exactly_its_roles_and_a_refusal_writes_nothing() {
    let app = TestApp::spawn().await;
    // Reads the state before and after each refused call; holds both roles
    // the reads need and is never a caller in the table.
    let supervisor = app.staff(&[Role::Moderator, Role::Admin]).await;
    let bystander = app.staff(&[Role::Editor]).await;
    let rules = rules(&app, &supervisor, &bystander).await;
    let mut personas: Vec<(Option<Role>, Option<Staff>)> = vec![(None, None)];
    for role in Role::ALL {
        personas.push((Some(role), Some(app.staff(&[role]).await)));
    }

    let mut failures = Vec::new();
    for rule in &rules {
        let is_mutation = rule.document.trim_start().starts_with("mutation");
        for (role, staff) in &personas {
            let expect = expected(rule.allowed, *role);
            let refused = matches!(expect, Expect::Refused(_));
            let probes = if refused && is_mutation {
                let mut probes = vec![app.data_as(&supervisor, AUDIT_COUNT, json!({})).await];
                if let Some((query, variables)) = &rule.unchanged {
                    probes.push(app.data_as(&supervisor, query, variables.clone()).await);
                }
                Some(probes)
            } else {
                None
            };

            let (status, body) =
                call(&app, staff.as_ref(), rule.document, rule.variables.clone()).await;
            if let Some(why) = mismatch(status, &body, rule.operation, expect) {
                failures.push(format!("{} as {}: {why}", rule.operation, label(*role)));
            } else if let (Expect::Answer, Some((pointer, value))) = (expect, &rule.answers)
                && body["data"].pointer(pointer) != Some(value)
            {
                failures.push(format!(
                    "{} as {}: wanted {value} at {pointer}, got {body}",
                    rule.operation,
                    label(*role)
                ));
            }

            if let Some(before) = probes {
                let mut after = vec![app.data_as(&supervisor, AUDIT_COUNT, json!({})).await];
                if let Some((query, variables)) = &rule.unchanged {
                    after.push(app.data_as(&supervisor, query, variables.clone()).await);
                }
                if before != after {
                    failures.push(format!(
                        "{} as {} was refused but wrote: before {before:?}, after {after:?}",
                        rule.operation,
                        label(*role)
                    ));
                }
            }
        }
    }
    assert!(
        failures.is_empty(),
        "{} of {} calls went wrong:\n{}",
        failures.len(),
        rules.len() * personas.len(),
        failures.join("\n")
    );

    // The admin's allowed calls did what they say, and no refused caller's did.
    let staff = app.data_as(&supervisor, STAFF_LIST, json!({})).await;
    let created: Vec<&Value> = staff["staffMembers"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|member| member["email"] == NEW_ADMIN_EMAIL)
        .collect();
    assert_eq!(created.len(), 1, "{staff}");
    let kiosks = app.data_as(&supervisor, KIOSK_LIST, json!({})).await;
    assert_eq!(
        kiosks["kiosks"].as_array().unwrap().len(),
        2,
        "the fixture's kiosk and the admin's: {kiosks}"
    );
}

/// An idea on the public board with something behind every guarded field:
/// contact details, a note, a tag, an assignee, personal data in its text and
/// the kiosk it came from.
struct BoardIdea {
    id: String,
    contact_email: &'static str,
    note: &'static str,
    tag: &'static str,
    kiosk_name: &'static str,
    assignee_email: String,
}

async fn idea_on_the_board(app: &TestApp, moderator: &Staff, admin: &Staff) -> BoardIdea {
    let contact_email = "amina.resident@example.org";
    let note = "Spoke to the practice manager about late opening.";
    let tag = "late-opening";
    let kiosk_name = "Whitechapel waiting room";
    let token = app
        .data_as(
            admin,
            "mutation($name: String!) { createKiosk(name: $name) { token } }",
            json!({ "name": kiosk_name }),
        )
        .await["createKiosk"]["token"]
        .as_str()
        .unwrap()
        .to_owned();
    let mut input = idea();
    input["description"] =
        json!("Open the surgery until 8pm. Call me on 07700 900123 to talk about it.");
    input["capturedAt"] = json!("2025-01-02T09:30:00Z");
    input["contact"] = json!({ "name": "Amina", "email": contact_email, "consentToContact": true });
    let response = app
        .submit_idea(
            input,
            headers(&[("authorization", &format!("Kiosk {token}"))]),
        )
        .await;
    let body: Value = response.json().await.unwrap();
    let reference = body["data"]["submitIdea"]["reference"]
        .as_str()
        .unwrap_or_else(|| panic!("no receipt: {body}"))
        .to_owned();
    let id = idea_id(app, moderator, &reference).await;
    let version = version_of(app, moderator, IDEA_STATE, &id).await;
    app.data_as(
        moderator,
        "mutation($input: ModerateIdeaInput!) { moderateIdea(input: $input) { id } }",
        json!({ "input": {
            "id": id,
            "expectedVersion": version,
            "status": "UNDER_REVIEW",
            "published": true,
            "tags": [tag],
            "assigneeId": moderator.id,
        }}),
    )
    .await;
    app.data_as(
        moderator,
        "mutation($id: ID!, $body: String!) { addNote(subjectId: $id, body: $body) { id } }",
        json!({ "id": id, "body": note }),
    )
    .await;
    BoardIdea {
        id,
        contact_email,
        note,
        tag,
        kiosk_name,
        assignee_email: moderator.email.clone(),
    }
}

/// The guarded fields of `Idea`, what selects them, and who may see them.
const GUARDED_IDEA_FIELDS: &[(&str, &str, &[Role])] = &[
    ("contact", "contact { name email phone }", CONTACT),
    ("notes", "notes { body }", MODERATOR),
    ("tags", "tags", MODERATOR),
    ("assignee", "assignee { email }", MODERATOR),
    ("piiFlags", "piiFlags", MODERATOR),
    ("kiosk", "kiosk { name }", MODERATOR),
    ("channel", "channel", MODERATOR),
    ("locale", "locale", MODERATOR),
    ("capturedAt", "capturedAt", MODERATOR),
];

#[tokio::test]
async fn guarded_idea_fields_are_refused_on_the_public_board_to_all_but_their_roles() {
    let app = TestApp::spawn().await;
    let moderator = app.staff(&[Role::Moderator]).await;
    let admin = app.staff(&[Role::Admin]).await;
    let on_board = idea_on_the_board(&app, &moderator, &admin).await;
    let mut personas: Vec<(Option<Role>, Option<Staff>)> = vec![(None, None)];
    for role in Role::ALL {
        let staff = match role {
            Role::Moderator => moderator.clone(),
            Role::Admin => admin.clone(),
            _ => app.staff(&[role]).await,
        };
        personas.push((Some(role), Some(staff)));
    }
    let secrets = [
        on_board.contact_email,
        on_board.note,
        on_board.tag,
        on_board.kiosk_name,
        on_board.assignee_email.as_str(),
    ];

    let mut failures = Vec::new();
    for (field, selection, allowed) in GUARDED_IDEA_FIELDS {
        let document =
            format!("{{ ideaBoard(first: 10) {{ edges {{ node {{ id {selection} }} }} }} }}");
        for (role, staff) in &personas {
            let who = format!("ideaBoard {{ {field} }} as {}", label(*role));
            let (status, body) = call(&app, staff.as_ref(), &document, json!({})).await;
            let node = &body["data"]["ideaBoard"]["edges"][0]["node"];
            match expected(allowed, *role) {
                Expect::Answer => {
                    if status != 200 || body.get("errors").is_some() {
                        failures.push(format!("{who}: wanted an answer, got {status} {body}"));
                    } else if node["id"] != on_board.id.as_str() || node[*field].is_null() {
                        failures.push(format!("{who}: the idea's {field} is missing: {body}"));
                    }
                }
                Expect::Refused(code) => {
                    let text = body.to_string();
                    if status != 200 {
                        failures.push(format!("{who}: HTTP {status}: {body}"));
                    } else if body["errors"][0]["extensions"]["code"] != code {
                        failures.push(format!("{who}: wanted {code}, got {body}"));
                    } else if body["errors"][0]["path"].as_array().and_then(|p| p.last())
                        != Some(&json!(field))
                    {
                        failures.push(format!("{who}: the error is not about {field}: {body}"));
                    } else if !node[*field].is_null() {
                        failures.push(format!("{who}: refused, yet {field} came back: {body}"));
                    } else if let Some(secret) = secrets.iter().find(|s| text.contains(**s)) {
                        failures.push(format!("{who}: {secret:?} leaked: {body}"));
                    }
                }
            }
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));

    // What the allowed roles saw is the real thing.
    let seen = app
        .data_as(
            &moderator,
            "{ ideaBoard { edges { node { contact { email } notes { body } tags assignee { email } kiosk { name } piiFlags } } } }",
            json!({}),
        )
        .await;
    let node = &seen["ideaBoard"]["edges"][0]["node"];
    assert_eq!(node["contact"]["email"], on_board.contact_email);
    assert_eq!(node["notes"][0]["body"], on_board.note);
    assert_eq!(node["tags"], json!([on_board.tag]));
    assert_eq!(node["assignee"]["email"], on_board.assignee_email.as_str());
    assert_eq!(node["kiosk"]["name"], on_board.kiosk_name);
    assert_eq!(node["piiFlags"], json!(["PHONE"]));
    let seen = app
        .data_as(
            &admin,
            "{ ideaBoard { edges { node { contact { email } } } } }",
            json!({}),
        )
        .await;
    assert_eq!(
        seen["ideaBoard"]["edges"][0]["node"]["contact"]["email"],
        on_board.contact_email
    );
}

#[tokio::test]
async fn supporting_an_idea_does_not_open_its_guarded_fields_to_the_public() {
    let app = TestApp::spawn().await;
    let moderator = app.staff(&[Role::Moderator]).await;
    let admin = app.staff(&[Role::Admin]).await;
    let editor = app.staff(&[Role::Editor]).await;
    let on_board = idea_on_the_board(&app, &moderator, &admin).await;
    let document = "mutation($id: ID!, $key: String!) {
      supportIdea(ideaId: $id, supporterKey: $key) { id supportCount contact { email } assignee { email } }
    }";

    let (status, body) = call(
        &app,
        None,
        document,
        json!({ "id": on_board.id, "key": key() }),
    )
    .await;
    assert_eq!(status, 200, "{body}");
    let codes: Vec<&str> = body["errors"]
        .as_array()
        .unwrap_or_else(|| panic!("no errors: {body}"))
        .iter()
        .map(|error| error["extensions"]["code"].as_str().unwrap())
        .collect();
    assert_eq!(codes, ["UNAUTHENTICATED", "UNAUTHENTICATED"], "{body}");
    let text = body.to_string();
    assert!(!text.contains(on_board.contact_email), "{body}");
    assert!(!text.contains(&on_board.assignee_email), "{body}");
    // The public part of the answer is still given.
    assert_eq!(body["data"]["supportIdea"]["supportCount"], 1, "{body}");

    let (status, body) = call(
        &app,
        Some(&editor),
        document,
        json!({ "id": on_board.id, "key": key() }),
    )
    .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(first_error_code(&body), "FORBIDDEN", "{body}");
    assert!(!body.to_string().contains(on_board.contact_email), "{body}");
}

#[tokio::test]
async fn an_analyst_never_sees_free_text_or_contact_details() {
    let app = TestApp::spawn().await;
    let moderator = app.staff(&[Role::Moderator]).await;
    let admin = app.staff(&[Role::Admin]).await;
    let analyst = app.staff(&[Role::Analyst]).await;
    let comment = "The district nurse came twice a day for my father.";
    let email = "bilal.resident@example.org";
    let mut input = feedback();
    input["comment"] = json!(comment);
    input["contact"] = json!({ "name": "Bilal", "email": email, "consentToContact": true });
    let feedback = feedback_id(&app, &moderator, &app.feedback_reference(input).await).await;
    let description = "A walking group for carers that meets after school drop-off.";
    let mut input = idea();
    input["description"] = json!(description);
    input["contact"] = json!({ "name": "Bilal", "email": email, "consentToContact": true });
    let unpublished = idea_id(&app, &moderator, &app.idea_reference(input).await).await;
    let on_board = idea_on_the_board(&app, &moderator, &admin).await;

    // The moderator's view shows what the analyst must not see, so the
    // refusals below are refusals of something real.
    let seen = app
        .data_as(
            &moderator,
            "query($f: ID!, $i: ID!) {
               feedback(id: $f) { comment contact { email } }
               idea(id: $i) { description contact { email } }
             }",
            json!({ "f": feedback, "i": unpublished }),
        )
        .await;
    assert_eq!(seen["feedback"]["comment"], comment);
    assert_eq!(seen["feedback"]["contact"]["email"], email);
    assert_eq!(seen["idea"]["description"], description);
    assert_eq!(seen["idea"]["contact"]["email"], email);

    let attempts = [
        (
            "feedbackQueue",
            "{ feedbackQueue { edges { node { comment contact { email } } } } }",
            json!({}),
        ),
        (
            "feedbackQueue",
            "query($t: String!) { feedbackQueue(filter: { text: $t }) { totalCount } }",
            json!({ "t": "district nurse" }),
        ),
        (
            "feedback",
            "query($id: ID!) { feedback(id: $id) { comment contact { email } } }",
            json!({ "id": feedback }),
        ),
        (
            "ideas",
            "{ ideas { edges { node { description contact { email } } } } }",
            json!({}),
        ),
        (
            "idea",
            "query($id: ID!) { idea(id: $id) { description contact { email } } }",
            json!({ "id": unpublished }),
        ),
        (
            "contact",
            "{ ideaBoard { edges { node { contact { email } } } } }",
            json!({}),
        ),
        (
            "notes",
            "{ ideaBoard { edges { node { notes { body } } } } }",
            json!({}),
        ),
    ];
    for (field, document, variables) in attempts {
        let (status, body) = call(&app, Some(&analyst), document, variables).await;
        assert_eq!(status, 200, "{document}: {body}");
        assert_eq!(first_error_code(&body), "FORBIDDEN", "{document}: {body}");
        assert_eq!(
            body["errors"][0]["path"].as_array().and_then(|p| p.last()),
            Some(&json!(field)),
            "{document}: {body}"
        );
        let text = body.to_string();
        for secret in [
            comment,
            email,
            description,
            on_board.note,
            on_board.contact_email,
        ] {
            assert!(
                !text.contains(secret),
                "{document} showed {secret:?}: {body}"
            );
        }
    }
}

#[tokio::test]
async fn no_one_but_an_admin_can_make_an_admin() {
    let app = TestApp::spawn().await;
    let supervisor = app.staff(&[Role::Admin]).await;
    for role in [Role::Moderator, Role::Editor, Role::Analyst] {
        let member = app.staff(&[role]).await;
        let (status, body) = call(
            &app,
            Some(&member),
            "mutation($input: UpdateStaffInput!) { updateStaff(input: $input) { roles } }",
            json!({ "input": { "id": member.id, "roles": ["ADMIN", role.as_str()] } }),
        )
        .await;
        assert_eq!(
            (status, first_error_code(&body)),
            (200, "FORBIDDEN".into()),
            "{body}"
        );
        let me = app.data_as(&member, "{ me { roles } }", json!({})).await;
        assert_eq!(me["me"]["roles"], json!([role.as_str()]), "{role:?}");
        let (status, body) = call(&app, Some(&member), "{ staffMembers { id } }", json!({})).await;
        assert_eq!(
            (status, first_error_code(&body)),
            (200, "FORBIDDEN".into()),
            "{body}"
        );

        let email = format!(
            "accomplice.{}@towerhamlets.example",
            role.as_str().to_lowercase()
        );
        let (status, body) = call(
            &app,
            Some(&member),
            "mutation($input: CreateStaffInput!) { createStaff(input: $input) { id } }",
            json!({ "input": {
                "email": email,
                "displayName": "Accomplice",
                "roles": ["ADMIN"],
                "password": "copper lantern meadow 7",
            }}),
        )
        .await;
        assert_eq!(
            (status, first_error_code(&body)),
            (200, "FORBIDDEN".into()),
            "{body}"
        );
        let login = app
            .graphql(
                crate::helpers::LOGIN,
                json!({ "email": email, "password": "copper lantern meadow 7" }),
            )
            .await;
        assert_eq!(first_error_code(&login), "UNAUTHENTICATED", "{login}");
    }
    let staff = app
        .data_as(&supervisor, "{ staffMembers { roles } }", json!({}))
        .await;
    let admins = staff["staffMembers"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|member| {
            member["roles"]
                .as_array()
                .unwrap()
                .contains(&json!("ADMIN"))
        })
        .count();
    assert_eq!(admins, 1, "{staff}");
}

#[tokio::test]
async fn a_member_with_several_roles_gets_each_of_them_and_nothing_more() {
    let app = TestApp::spawn().await;
    let editor_analyst = app.staff(&[Role::Editor, Role::Analyst]).await;
    let moderator_analyst = app.staff(&[Role::Moderator, Role::Analyst]).await;
    let cases = [
        (&editor_analyst, "{ me { roles } }", "me", None),
        (
            &editor_analyst,
            "{ feedbackQueue { totalCount } }",
            "feedbackQueue",
            Some("FORBIDDEN"),
        ),
        (
            &editor_analyst,
            "{ auditLog { totalCount } }",
            "auditLog",
            Some("FORBIDDEN"),
        ),
        (
            &moderator_analyst,
            "{ feedbackQueue { totalCount } }",
            "feedbackQueue",
            None,
        ),
        (
            &moderator_analyst,
            "{ ideas { totalCount } }",
            "ideas",
            None,
        ),
        (
            &moderator_analyst,
            "{ staffMembers { id } }",
            "staffMembers",
            Some("FORBIDDEN"),
        ),
        (
            &moderator_analyst,
            "{ kiosks { id } }",
            "kiosks",
            Some("FORBIDDEN"),
        ),
    ];
    for (staff, document, operation, refused) in cases {
        let (status, body) = call(&app, Some(staff), document, json!({})).await;
        let expect = refused.map_or(Expect::Answer, Expect::Refused);
        if let Some(why) = mismatch(status, &body, operation, expect) {
            panic!("{document} as {:?}: {why}", staff.email);
        }
    }
}
