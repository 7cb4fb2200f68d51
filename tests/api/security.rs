//! Hostile clients, bad input and faults, through HTTP, on SQLite and on
//! PostgreSQL: each refusal has its exact code and status, and nothing is
//! written by a request that was refused. (Forged tokens and role
//! escalation are in `tokens.rs` and `roles.rs`.)

use std::sync::Arc;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{Duration, Instant};

use hamlet::staff::model::Role;
use hamlet::submissions::reference::{Reference, ReferenceKind};
use sea_orm::{ConnectionTrait as _, Database, DbBackend, Statement};
use serde_json::{Value, json};
use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
use tokio::net::TcpStream;

use crate::durability::Server;
use crate::helpers::{
    LOGIN, PASSWORD, SUBMIT_FEEDBACK, Seed, TestApp, feedback, first_error_code, headers, idea,
};

/// Rows in `table` of this app's database.
async fn count(app: &TestApp, table: &str) -> i64 {
    let db = app.db().await;
    let row = db
        .query_one_raw(Statement::from_string(
            db.get_database_backend(),
            format!("SELECT COUNT(*) FROM {table}"),
        ))
        .await
        .unwrap()
        .unwrap();
    let rows: i64 = row.try_get_by_index(0).unwrap();
    db.close().await.ok();
    rows
}

/// POSTs `body` as it is, with this content type.
async fn post_raw(app: &TestApp, content_type: Option<&str>, body: String) -> reqwest::Response {
    let mut request = app.client.post(app.url("/graphql")).body(body);
    if let Some(content_type) = content_type {
        request = request.header("content-type", content_type);
    }
    request.send().await.unwrap()
}

/// A feedback submission as JSON text, with `raw` (JSON string contents,
/// escapes and all, such as `\ud800`) as the value of `field`
/// (`contact.email` for the contact's email).
fn feedback_with_raw(field: &str, raw: &str) -> String {
    let mut input = feedback();
    match field.split_once('.') {
        Some(("contact", inner)) => {
            input["contact"] = json!({ "consentToContact": true });
            input["contact"][inner] = json!("@@HOSTILE@@");
        }
        _ => input[field] = json!("@@HOSTILE@@"),
    }
    json!({ "query": SUBMIT_FEEDBACK, "variables": { "input": input } })
        .to_string()
        .replace("@@HOSTILE@@", raw)
}

// --- The HTTP edge ----------------------------------------------------------

#[tokio::test]
async fn a_post_in_any_media_type_but_json_is_415_and_stores_nothing() {
    let app = TestApp::spawn().await;
    let body =
        json!({ "query": SUBMIT_FEEDBACK, "variables": { "input": feedback() } }).to_string();
    // text/plain and form types are what a cross-site page can send without
    // a preflight; application/graphql is a request type we do not take.
    for content_type in [
        Some("text/plain"),
        Some("application/x-www-form-urlencoded"),
        Some("multipart/form-data; boundary=x"),
        Some("application/graphql"),
        Some("application/jsonp"),
        None,
    ] {
        let response = post_raw(&app, content_type, body.clone()).await;
        assert_eq!(response.status(), 415, "{content_type:?}");
        let answer: Value = response.json().await.unwrap();
        assert_eq!(first_error_code(&answer), "UNSUPPORTED_MEDIA_TYPE");
    }
    assert_eq!(count(&app, "feedback").await, 0);
    // JSON with a charset is JSON.
    let response = post_raw(&app, Some("application/json; charset=utf-8"), body).await;
    assert_eq!(response.status(), 200);
    assert_eq!(count(&app, "feedback").await, 1);
}

#[tokio::test]
async fn a_client_that_asks_for_graphql_response_json_gets_it() {
    let app = TestApp::spawn().await;
    let accept = headers(&[("accept", "application/graphql-response+json")]);
    let response = app
        .post_with("{ services { slug } }", json!({}), accept.clone())
        .await;
    assert_eq!(response.status(), 200);
    assert_eq!(
        response.headers()["content-type"],
        "application/graphql-response+json"
    );
    // A request that cannot run at all is a 400 in that media type...
    let response = app
        .post_with("{ services { slug ", json!({}), accept.clone())
        .await;
    assert_eq!(response.status(), 400);
    let body: Value = response.json().await.unwrap();
    assert_eq!(first_error_code(&body), "GRAPHQL_PARSE_FAILED");
    let response = app.post_with("{ noSuchField }", json!({}), accept).await;
    assert_eq!(response.status(), 400);
    // ...and a 200 in plain JSON, as before.
    let response = app.post("{ noSuchField }", json!({})).await;
    assert_eq!(response.status(), 200);
    assert_eq!(response.headers()["content-type"], "application/json");
}

#[tokio::test]
async fn a_batch_of_operations_is_refused_whole_and_runs_none_of_them() {
    let app = TestApp::spawn().await;
    let one = json!({ "query": SUBMIT_FEEDBACK, "variables": { "input": feedback() } });
    let two = json!({ "query": SUBMIT_FEEDBACK, "variables": { "input": feedback() } });
    let response = post_raw(
        &app,
        Some("application/json"),
        json!([one, two]).to_string(),
    )
    .await;
    assert_eq!(response.status(), 400);
    let body: Value = response.json().await.unwrap();
    assert_eq!(first_error_code(&body), "BAD_REQUEST");
    assert_eq!(count(&app, "feedback").await, 0);
}

#[tokio::test]
async fn a_chunked_body_over_the_limit_is_413_before_it_is_parsed() {
    let app = TestApp::spawn_with(Seed::BuiltIn, |config| config.max_body_bytes = 4096).await;
    let mut input = feedback();
    input["comment"] = json!("a".repeat(1900));
    let body = json!({ "query": SUBMIT_FEEDBACK, "variables": { "input": input, "pad": "b".repeat(4000) } })
        .to_string()
        .into_bytes();
    // No Content-Length: the body arrives in chunks, slowly.
    let chunks = futures_util::stream::unfold(body, |mut rest| async move {
        if rest.is_empty() {
            return None;
        }
        let tail = rest.split_off(rest.len().min(512));
        tokio::time::sleep(Duration::from_millis(10)).await;
        Some((Ok::<_, std::io::Error>(bytes::Bytes::from(rest)), tail))
    });
    let response = app
        .client
        .post(app.url("/graphql"))
        .header("content-type", "application/json")
        .body(reqwest::Body::wrap_stream(chunks))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 413);
    let body: Value = response.json().await.unwrap();
    assert_eq!(first_error_code(&body), "PAYLOAD_TOO_LARGE");
    assert_eq!(count(&app, "feedback").await, 0);
}

/// Reads from `stream` until the server closes it; answers what was read.
async fn read_until_closed(mut stream: tokio::net::tcp::OwnedReadHalf) -> Vec<u8> {
    let mut received = Vec::new();
    let mut buffer = [0u8; 1024];
    loop {
        match stream.read(&mut buffer).await {
            Ok(0) | Err(_) => return received,
            Ok(read) => received.extend_from_slice(&buffer[..read]),
        }
    }
}

#[tokio::test]
async fn a_client_sending_its_headers_a_byte_at_a_time_is_cut_off() {
    let app = TestApp::spawn_with(Seed::BuiltIn, |config| {
        config.header_timeout = Duration::from_secs(1);
    })
    .await;
    let address = app.address.trim_start_matches("http://").to_owned();

    // A slowloris: a header that never ends, one byte every 100 ms.
    let (reader, mut writer) = TcpStream::connect(&address).await.unwrap().into_split();
    let started = Instant::now();
    let closed = tokio::spawn(async move {
        read_until_closed(reader).await;
        started.elapsed()
    });
    let head = b"POST /graphql HTTP/1.1\r\nHost: hamlet\r\nX-Slow: ";
    let mut bytes = head.iter().chain(std::iter::repeat(&b'a'));
    while !closed.is_finished() && started.elapsed() < Duration::from_secs(10) {
        let byte = *bytes.next().unwrap();
        if writer.write_all(&[byte]).await.is_err() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let cut_off_after = tokio::time::timeout(Duration::from_secs(5), closed)
        .await
        .expect("the server closed the connection")
        .unwrap();
    assert!(
        cut_off_after >= Duration::from_millis(900) && cut_off_after < Duration::from_secs(5),
        "cut off after {cut_off_after:?}"
    );

    // A client that connects and says nothing is closed too.
    let (reader, _writer) = TcpStream::connect(&address).await.unwrap().into_split();
    let started = Instant::now();
    tokio::time::timeout(Duration::from_secs(5), read_until_closed(reader))
        .await
        .expect("a silent connection is closed");
    assert!(started.elapsed() >= Duration::from_millis(900));

    // Everyone else was served all along.
    app.data("{ services { slug } }", json!({})).await;
}

#[tokio::test]
async fn a_client_trickling_its_body_gets_408_and_nothing_is_stored() {
    let app = TestApp::spawn_with(Seed::BuiltIn, |config| {
        config.request_timeout = Duration::from_secs(1);
    })
    .await;
    let address = app.address.trim_start_matches("http://").to_owned();
    let body =
        json!({ "query": SUBMIT_FEEDBACK, "variables": { "input": feedback() } }).to_string();
    let (reader, mut writer) = TcpStream::connect(&address).await.unwrap().into_split();
    let head = format!(
        "POST /graphql HTTP/1.1\r\nHost: hamlet\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n",
        body.len()
    );
    writer.write_all(head.as_bytes()).await.unwrap();
    let answered = tokio::spawn(read_until_closed(reader));
    for byte in body.as_bytes().iter().take(body.len() - 1) {
        if answered.is_finished() || writer.write_all(&[*byte]).await.is_err() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let answer = tokio::time::timeout(Duration::from_secs(5), answered)
        .await
        .expect("the server answered")
        .unwrap();
    let answer = String::from_utf8_lossy(&answer);
    assert!(answer.starts_with("HTTP/1.1 408"), "{answer}");
    assert!(answer.contains("\"code\":\"REQUEST_TIMEOUT\""), "{answer}");
    assert_eq!(count(&app, "feedback").await, 0);
}

/// Sends `head` and then `body` on a raw connection, closes the sending
/// side, and answers what the server said.
async fn raw_exchange(app: &TestApp, head: &str, body: &[u8]) -> String {
    let address = app.address.trim_start_matches("http://").to_owned();
    let (reader, mut writer) = TcpStream::connect(&address).await.unwrap().into_split();
    let answered = tokio::spawn(read_until_closed(reader));
    writer.write_all(head.as_bytes()).await.unwrap();
    writer.write_all(body).await.unwrap();
    writer.shutdown().await.unwrap();
    let answer = tokio::time::timeout(Duration::from_secs(5), answered)
        .await
        .expect("the server answered")
        .unwrap();
    String::from_utf8_lossy(&answer).into_owned()
}

#[tokio::test]
async fn broken_chunked_encoding_is_400_not_413() {
    let app = TestApp::spawn().await;
    let body =
        json!({ "query": SUBMIT_FEEDBACK, "variables": { "input": feedback() } }).to_string();
    // A chunk that says it is 0x20 bytes long and is followed by something
    // that is not a chunk size at all.
    let chunked = format!("20\r\n{}\r\nzz-not-a-size\r\n", &body[..32]);
    let answer = raw_exchange(
        &app,
        "POST /graphql HTTP/1.1\r\nHost: hamlet\r\nContent-Type: application/json\r\n\
         Transfer-Encoding: chunked\r\n\r\n",
        chunked.as_bytes(),
    )
    .await;
    assert!(answer.starts_with("HTTP/1.1 400"), "{answer}");
    assert!(answer.contains("\"code\":\"BAD_REQUEST\""), "{answer}");
    assert_eq!(count(&app, "feedback").await, 0);
}

#[tokio::test]
async fn a_client_hanging_up_mid_body_is_400_and_nothing_is_stored() {
    let app = TestApp::spawn().await;
    let body =
        json!({ "query": SUBMIT_FEEDBACK, "variables": { "input": feedback() } }).to_string();
    // It promises the whole body, sends half, and stops sending.
    let head = format!(
        "POST /graphql HTTP/1.1\r\nHost: hamlet\r\nContent-Type: application/json\r\n\
         Content-Length: {}\r\n\r\n",
        body.len()
    );
    let answer = raw_exchange(&app, &head, &body.as_bytes()[..body.len() / 2]).await;
    assert!(answer.starts_with("HTTP/1.1 400"), "{answer}");
    assert!(answer.contains("\"code\":\"BAD_REQUEST\""), "{answer}");
    assert_eq!(count(&app, "feedback").await, 0);

    // A body over the limit is still 413, on the same kind of connection.
    let big = "x".repeat(app.config.max_body_bytes + 1);
    let head = format!(
        "POST /graphql HTTP/1.1\r\nHost: hamlet\r\nContent-Type: application/json\r\n\
         Transfer-Encoding: chunked\r\n\r\n{:x}\r\n",
        big.len()
    );
    let answer = raw_exchange(&app, &head, format!("{big}\r\n0\r\n\r\n").as_bytes()).await;
    assert!(answer.starts_with("HTTP/1.1 413"), "{answer}");
}

// --- GraphQL limits -----------------------------------------------------------

/// A mutation submitting feedback under `n` aliases.
fn aliased_submissions(n: usize) -> (String, Value) {
    let mut query = String::from("mutation(");
    let mut selections = String::new();
    let mut variables = serde_json::Map::new();
    for i in 0..n {
        query.push_str(&format!("$i{i}: SubmitFeedbackInput! "));
        selections.push_str(&format!(
            "s{i}: submitFeedback(input: $i{i}) {{ reference }} "
        ));
        variables.insert(format!("i{i}"), feedback());
    }
    query.push_str(&format!(") {{ {selections} }}"));
    (query, Value::Object(variables))
}

#[tokio::test]
async fn too_many_aliases_are_refused_before_anything_is_written() {
    let app = TestApp::spawn_with(Seed::BuiltIn, |config| config.submit_per_minute = 1000).await;
    let (query, variables) = aliased_submissions(31);
    // Refused every time: a refused document is not kept as a parsed one.
    for _ in 0..2 {
        let body = app.graphql(&query, variables.clone()).await;
        assert_eq!(first_error_code(&body), "QUERY_TOO_COMPLEX");
        assert!(body["data"].is_null());
    }
    assert_eq!(count(&app, "feedback").await, 0);
    assert_eq!(count(&app, "idempotency_key").await, 0);

    // Thirty is the default allowance, and fragments count.
    let (query, variables) = aliased_submissions(3);
    let body = app.data(&query, variables).await;
    assert!(body["s2"]["reference"].is_string());
    let body = app
        .graphql(
            &format!(
                "{{ ...F ...F }} fragment F on Query {{ {} }}",
                (0..16)
                    .map(|i| format!("a{i}: services {{ slug }} "))
                    .collect::<String>()
            ),
            json!({}),
        )
        .await;
    assert_eq!(first_error_code(&body), "QUERY_TOO_COMPLEX");
}

#[tokio::test]
async fn a_mutation_over_the_depth_or_cost_limit_writes_nothing() {
    for configure in [
        (|config: &mut hamlet::Config| config.max_depth = 1) as fn(&mut hamlet::Config),
        |config| config.max_complexity = 1,
    ] {
        let app = TestApp::spawn_with(Seed::BuiltIn, configure).await;
        let response = app.submit_feedback(feedback(), headers(&[])).await;
        assert_eq!(response.status(), 200);
        let body: Value = response.json().await.unwrap();
        assert_eq!(first_error_code(&body), "QUERY_TOO_COMPLEX");
        assert_eq!(count(&app, "feedback").await, 0);
    }
}

#[tokio::test]
async fn more_directives_on_a_field_than_allowed_are_refused() {
    let app = TestApp::spawn().await;
    let five = "@include(if: true) ".repeat(5);
    let body = app
        .graphql(&format!("{{ services {five} {{ slug }} }}"), json!({}))
        .await;
    assert_eq!(first_error_code(&body), "QUERY_TOO_COMPLEX");
    app.data(
        "{ services @include(if: true) @skip(if: false) { slug } }",
        json!({}),
    )
    .await;
}

#[tokio::test]
async fn a_fragment_bomb_and_deep_nesting_are_refused_at_once() {
    let app = TestApp::spawn().await;
    // Each fragment spreads the next ten times: 10^30 fields if expanded.
    let mut bomb = String::from("{ ...F0 }\n");
    for level in 0..30 {
        let spreads = format!("...F{} ", level + 1).repeat(10);
        bomb.push_str(&format!("fragment F{level} on Query {{ {spreads} }}\n"));
    }
    bomb.push_str("fragment F30 on Query { services { slug } }\n");
    let started = Instant::now();
    let body = app.graphql(&bomb, json!({})).await;
    assert_eq!(first_error_code(&body), "QUERY_TOO_COMPLEX");
    assert!(
        started.elapsed() < Duration::from_secs(5),
        "{:?}",
        started.elapsed()
    );

    let cycle = "{ ...A } fragment A on Query { ...B } fragment B on Query { ...A ...A }";
    let body = app.graphql(cycle, json!({})).await;
    assert_eq!(first_error_code(&body), "GRAPHQL_VALIDATION_FAILED");

    // Twenty thousand levels of braces: refused before the parser recurses
    // into them.
    let deep = format!("{}{}", "{a".repeat(20_000), "}".repeat(20_000));
    let body = app.graphql(&deep, json!({})).await;
    assert_eq!(first_error_code(&body), "QUERY_TOO_COMPLEX");
    let response = app
        .get(
            &[(
                "query",
                &format!("{}{}", "[".repeat(5_000), "]".repeat(5_000)),
            )],
            headers(&[]),
        )
        .await;
    let body: Value = response.json().await.unwrap();
    assert_eq!(first_error_code(&body), "QUERY_TOO_COMPLEX");
    app.data("{ services { slug } }", json!({})).await;
}

// --- Input hygiene -------------------------------------------------------------

/// Characters no identifier may hold, as JSON string escapes.
const HIDDEN: [(&str, &str); 6] = [
    ("NUL", "\\u0000"),
    ("a lone surrogate", "\\ud800"),
    ("a right-to-left override", "\\u202e"),
    ("a left-to-right isolate", "\\u2066"),
    ("a zero-width space", "\\u200b"),
    ("a byte order mark", "\\ufeff"),
];

#[tokio::test]
async fn identifiers_holding_hidden_characters_are_refused_naming_the_field() {
    let app = TestApp::spawn_with(Seed::BuiltIn, |config| config.submit_per_minute = 1000).await;
    for (name, hidden) in HIDDEN {
        for (field, value) in [
            ("idempotencyKey", format!("0195f3a2-7c1e{hidden}-7000-8000")),
            (
                "serviceSlug",
                format!("royal-london{hidden}-emergency-department"),
            ),
            ("locale", format!("en{hidden}")),
            ("contact.email", format!("ada{hidden}@example.org")),
        ] {
            let response = post_raw(
                &app,
                Some("application/json"),
                feedback_with_raw(field, &value),
            )
            .await;
            assert_eq!(response.status(), 200, "{field} with {name}");
            let body: Value = response.json().await.unwrap();
            assert_eq!(
                first_error_code(&body),
                "BAD_USER_INPUT",
                "{field} with {name}: {body}"
            );
            assert_eq!(body["errors"][0]["extensions"]["field"], field, "{name}");
        }
        let support = format!(
            r#"{{"query":"mutation($k: String!) {{ supportIdea(ideaId: \"{}\", supporterKey: $k) {{ id }} }}","variables":{{"k":"supporter{hidden}-key-1"}}}}"#,
            uuid::Uuid::now_v7()
        );
        let body: Value = post_raw(&app, Some("application/json"), support)
            .await
            .json()
            .await
            .unwrap();
        assert_eq!(
            body["errors"][0]["extensions"]["field"], "supporterKey",
            "{name}: {body}"
        );
        let lookup = format!(
            r#"{{"query":"query($r: String!) {{ submission(reference: $r) {{ status }} }}","variables":{{"r":"FB-7K3Q{hidden}-9XMD"}}}}"#
        );
        let body: Value = post_raw(&app, Some("application/json"), lookup)
            .await
            .json()
            .await
            .unwrap();
        assert_eq!(first_error_code(&body), "BAD_USER_INPUT", "{name}: {body}");
        assert_eq!(body["errors"][0]["extensions"]["field"], "reference");
    }
    // The same in a GET's variables.
    let response = app
        .get(
            &[
                (
                    "query",
                    "query($r: String!) { submission(reference: $r) { status } }",
                ),
                ("variables", r#"{"r":"FB-7K3Q\ud800-9XMD"}"#),
            ],
            headers(&[]),
        )
        .await;
    let body: Value = response.json().await.unwrap();
    assert_eq!(
        body["errors"][0]["extensions"]["field"], "reference",
        "{body}"
    );
    assert_eq!(count(&app, "feedback").await, 0);
    assert_eq!(count(&app, "idempotency_key").await, 0);

    let moderator = app.staff(&[Role::Moderator]).await;
    let reference = app.feedback_reference(feedback()).await;
    let id = app
        .data_as(
            &moderator,
            "{ feedbackQueue(first: 5) { edges { node { id reference version } } } }",
            json!({}),
        )
        .await["feedbackQueue"]["edges"][0]["node"]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    for (name, hidden) in HIDDEN {
        let body = format!(
            r#"{{"query":"mutation($input: ModerateFeedbackInput!) {{ moderateFeedback(input: $input) {{ version }} }}","variables":{{"input":{{"id":"{id}","expectedVersion":1,"tags":["wait{hidden}ing"]}}}}}}"#
        );
        let response = app
            .client
            .post(app.url("/graphql"))
            .header("content-type", "application/json")
            .bearer_auth(&moderator.access_token)
            .body(body)
            .send()
            .await
            .unwrap();
        let body: Value = response.json().await.unwrap();
        assert_eq!(first_error_code(&body), "BAD_USER_INPUT", "{name}: {body}");
        assert_eq!(body["errors"][0]["extensions"]["field"], "tags");
    }
    let row = app
        .data_as(
            &moderator,
            "{ feedbackQueue(first: 5) { edges { node { reference version tags } } } }",
            json!({}),
        )
        .await;
    assert_eq!(
        row["feedbackQueue"]["edges"][0]["node"]["reference"],
        reference.as_str()
    );
    assert_eq!(
        row["feedbackQueue"]["edges"][0]["node"]["version"], 1,
        "nothing changed"
    );
}

#[tokio::test]
async fn hidden_characters_in_free_text_are_removed_the_same_on_every_database() {
    let app = TestApp::spawn().await;
    let moderator = app.staff(&[Role::Moderator]).await;
    // NUL, a right-to-left override, a zero-width space, a lone surrogate and
    // a decomposed é; then a phone number and a word split by hidden
    // characters, which must still be found.
    let comment = r"Kind\u0000 staff\u202e, quick\u200b service\ud800 and cafe\u0301. Call 07700\u200b900123, I feel sui\u200dcidal";
    let mut input = feedback();
    input["contact"] =
        json!({ "name": "@@NAME@@", "email": "ada@example.org", "consentToContact": true });
    input["comment"] = json!("@@COMMENT@@");
    let body = json!({ "query": SUBMIT_FEEDBACK, "variables": { "input": input } })
        .to_string()
        .replace("@@COMMENT@@", comment)
        .replace("@@NAME@@", r"Ada\u2066 Lovelace\u0000");
    let response = post_raw(&app, Some("application/json"), body).await;
    let answer: Value = response.json().await.unwrap();
    let reference = answer["data"]["submitFeedback"]["reference"]
        .as_str()
        .unwrap_or_else(|| panic!("{answer}"))
        .to_owned();

    let body = app
        .data_as(
            &moderator,
            "{ feedbackQueue(first: 5) { edges { node { reference comment piiFlags safeguarding contact { name } } } } }",
            json!({}),
        )
        .await;
    let row = &body["feedbackQueue"]["edges"][0]["node"];
    assert_eq!(row["reference"], reference.as_str());
    assert_eq!(
        row["comment"],
        "Kind staff, quick service and caf\u{e9}. Call 07700900123, I feel suicidal"
    );
    assert_eq!(row["contact"]["name"], "Ada Lovelace");
    assert!(
        row["piiFlags"]
            .as_array()
            .unwrap()
            .contains(&json!("PHONE")),
        "{row}"
    );
    assert_eq!(row["safeguarding"], true);

    // A comment of nothing but hidden characters is empty, and refused.
    let body = post_raw(
        &app,
        Some("application/json"),
        feedback_with_raw("comment", r"\u200b\u0000\ufeff\ud800"),
    )
    .await
    .json::<Value>()
    .await
    .unwrap();
    assert_eq!(first_error_code(&body), "BAD_USER_INPUT");
    assert_eq!(body["errors"][0]["extensions"]["field"], "comment");
    assert_eq!(count(&app, "feedback").await, 1);
}

/// What a hostile string argument must be answered with, per value of
/// `no_string_argument_makes_the_server_fail`'s `values`: `D` data from the
/// resolver and no error, `B` `BAD_USER_INPUT` naming the argument, `N`
/// `NOT_FOUND`, `U` `UNAUTHENTICATED`. Each is an answer only the resolver
/// gives, so each input provably got that far.
#[tokio::test]
async fn no_string_argument_makes_the_server_fail() {
    let app = TestApp::spawn_with(Seed::BuiltIn, |config| {
        config.submit_per_minute = 10_000;
        // No sign-in waits: a dozen failed sign-ins for the same (unparseable,
        // so empty) email would otherwise be refused before the resolver.
        config.login_backoff_max = Duration::ZERO;
    })
    .await;
    let moderator = app.staff(&[Role::Moderator]).await;
    let idea_reference = app.idea_reference(idea()).await;
    let subject = app
        .data_as(
            &moderator,
            "{ ideas(first: 1) { edges { node { id reference } } } }",
            json!({}),
        )
        .await["ideas"]["edges"][0]["node"]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    assert!(!idea_reference.is_empty());
    let long = "a".repeat(10_000);
    let values = [
        "",
        r"\u0000",
        r"a\u0000b",
        r"\ud800",
        r"\udfff\ud800",
        r"\u202e\u2066",
        r"\ufeff",
        r"' OR 1=1 --",
        r"%_\\",
        r"\ud83d\ude00",
        "FB-0000-0000",
        long.as_str(),
    ];
    // Invisible characters are removed first, so the values in columns 0,
    // 1 and 3 to 6 are all empty by the time they are checked.
    //                         values: 0123456789ab
    let public = [
        (
            "query($v: String!) { page(slug: $v) { title } }",
            "slug",
            "BBBBBBBBBBBB",
        ),
        (
            "query($v: String) { organisation(locale: $v) { name } }",
            "locale",
            "BBBBBBBBBBBB",
        ),
        (
            "query($v: String!) { search(text: $v) { slug } }",
            "text",
            "BBDBBBBDBBDB",
        ),
        (
            "query($v: String) { ideaBoard(theme: $v) { totalCount } }",
            "theme",
            "DDDDDDDDDDDD",
        ),
        (
            "query($v: String) { ideaBoard(after: $v) { totalCount } }",
            "after",
            "BBBBBBBBBBBB",
        ),
        (
            "query($v: String) { pages(after: $v) { totalCount } }",
            "after",
            "BBBBBBBBBBBB",
        ),
        (
            "query($v: String!) { submission(reference: $v) { status } }",
            "reference",
            "NBBBBBBNNNNN",
        ),
        (
            "mutation($v: String!) { login(email: $v, password: $v) { accessToken } }",
            "email",
            "UUUUUUUUUUUU",
        ),
        (
            "mutation($v: String!) { refresh(refreshToken: $v) { accessToken } }",
            "refreshToken",
            "UUUUUUUUUUUU",
        ),
        (
            "mutation($v: String!) { logout(refreshToken: $v) }",
            "refreshToken",
            "DDDDDDDDDDDD",
        ),
    ];
    let staff = [
        (
            "query($v: String) { feedbackQueue(filter: { text: $v }) { totalCount } }",
            "filter.text",
            "BBDBBBBDDDDB",
        ),
        (
            "query($v: String) { feedbackQueue(filter: { tag: $v }) { totalCount } }",
            "filter.tag",
            "BBBBBBBBBBDB",
        ),
        (
            "query($v: String) { feedbackQueue(after: $v) { totalCount } }",
            "after",
            "BBBBBBBBBBBB",
        ),
        (
            "query($v: String) { ideas(filter: { theme: $v }) { totalCount } }",
            "filter.theme",
            "DDDDDDDDDDDD",
        ),
        (
            "query($v: ID!) { feedback(id: $v) { id } }",
            "id",
            "DDDDDDDDDDDD",
        ),
        (
            "mutation($v: String!, $s: ID!) { addNote(subjectId: $s, body: $v) { id } }",
            "body",
            "BBDBBBBDDDDB",
        ),
    ];
    for (queries, token) in [
        (&public[..], None),
        (&staff[..], Some(&moderator.access_token)),
    ] {
        for (query, field, expected) in queries {
            assert_eq!(expected.len(), values.len(), "{query}");
            for (value, expected) in values.iter().zip(expected.chars()) {
                let body = json!({ "query": query, "variables": { "v": "@@V@@", "s": subject } })
                    .to_string()
                    .replace("@@V@@", value);
                let mut request = app
                    .client
                    .post(app.url("/graphql"))
                    .header("content-type", "application/json")
                    .body(body);
                if let Some(token) = token {
                    request = request.bearer_auth(token);
                }
                let response = request.send().await.unwrap();
                let status = response.status().as_u16();
                let answer: Value = response.json().await.unwrap();
                let case = format!("{query} with {value:.40}: {status} {answer}");
                assert_eq!(status, 200, "{case}");
                let codes: Vec<&str> = answer["errors"]
                    .as_array()
                    .map(|errors| {
                        errors
                            .iter()
                            .map(|error| error["extensions"]["code"].as_str().unwrap_or("none"))
                            .collect()
                    })
                    .unwrap_or_default();
                match expected {
                    'D' => {
                        assert!(codes.is_empty(), "{case}");
                        assert!(answer["data"].is_object(), "{case}");
                    }
                    'B' => {
                        assert_eq!(codes, ["BAD_USER_INPUT"], "{case}");
                        assert_eq!(answer["errors"][0]["extensions"]["field"], *field, "{case}");
                    }
                    'N' => assert_eq!(codes, ["NOT_FOUND"], "{case}"),
                    'U' => assert_eq!(codes, ["UNAUTHENTICATED"], "{case}"),
                    other => panic!("no such expectation {other}"),
                }
            }
        }
    }
}

#[tokio::test]
async fn free_text_and_contact_details_never_reach_the_log() {
    let (database_url, _database) = crate::helpers::fresh_database().await;
    let server = Server::start_with(&database_url, &[("HAMLET_LOG", "debug")]);
    let client = reqwest::Client::new();
    let url = format!("{}/graphql", server.address);
    let send = |query: &'static str, variables: Value| {
        let request = client
            .post(&url)
            .json(&json!({ "query": query, "variables": variables }));
        async move { request.send().await.unwrap().json::<Value>().await.unwrap() }
    };
    let mut stored = feedback();
    stored["comment"] = json!("SECRET-COMMENT-7f3a my neighbour needs help");
    stored["contact"] = json!({
        "name": "SECRET-NAME-7f3a",
        "email": "secret-7f3a@example.org",
        "phone": "07700 900982",
        "consentToContact": true,
    });
    let body = send(SUBMIT_FEEDBACK, json!({ "input": stored })).await;
    assert!(
        body["data"]["submitFeedback"]["reference"].is_string(),
        "{body}"
    );
    let mut refused = feedback();
    refused["comment"] = json!(format!("SECRET-REFUSED-7f3a {}", "x".repeat(2100)));
    let body = send(SUBMIT_FEEDBACK, json!({ "input": refused })).await;
    assert_eq!(first_error_code(&body), "BAD_USER_INPUT");
    let mut unknown = feedback();
    unknown["serviceSlug"] = json!("no-such-service");
    unknown["comment"] = json!("SECRET-UNKNOWN-7f3a");
    let body = send(SUBMIT_FEEDBACK, json!({ "input": unknown })).await;
    assert_eq!(first_error_code(&body), "BAD_USER_INPUT");
    let mut an_idea = idea();
    an_idea["title"] = json!("SECRET-TITLE-7f3a");
    an_idea["description"] = json!("SECRET-DESCRIPTION-7f3a");
    let body = send(
        "mutation($input: SubmitIdeaInput!) { submitIdea(input: $input) { reference } }",
        json!({ "input": an_idea }),
    )
    .await;
    assert!(
        body["data"]["submitIdea"]["reference"].is_string(),
        "{body}"
    );
    let body = send(
        LOGIN,
        json!({ "email": "nobody@example.org", "password": "SECRET-PASSWORD-7f3a" }),
    )
    .await;
    assert_eq!(first_error_code(&body), "UNAUTHENTICATED");

    // One more request, named by its own request id: once the server has
    // logged it, everything logged for the requests before it has been read.
    let marker = format!("log-caught-up-{}", uuid::Uuid::new_v4().simple());
    let answered = client
        .get(format!("{}/healthz", server.address))
        .header("x-request-id", &marker)
        .send()
        .await
        .unwrap();
    assert_eq!(answered.status(), 200);
    let deadline = Instant::now() + Duration::from_secs(10);
    let log = loop {
        let log = server.log();
        if log.contains(&marker) {
            break log;
        }
        assert!(
            Instant::now() < deadline,
            "the last request was not logged within 10 s: {log:.500}"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    };
    assert!(log.contains("request"), "the log was captured: {log:.500}");
    for secret in [
        "SECRET-",
        "7f3a",
        "07700 900982",
        "07700900982",
        "neighbour",
    ] {
        assert!(!log.contains(secret), "{secret} is in the log:\n{log}");
    }
}

// --- Signing in -------------------------------------------------------------------

async fn login(app: &TestApp, email: &str, password: &str) -> (u16, Option<String>, Value) {
    let response = app
        .post(LOGIN, json!({ "email": email, "password": password }))
        .await;
    let status = response.status().as_u16();
    let retry_after = response
        .headers()
        .get("retry-after")
        .map(|value| value.to_str().unwrap().to_owned());
    (status, retry_after, response.json().await.unwrap())
}

#[tokio::test]
async fn failed_sign_ins_in_a_row_wait_longer_each_time_and_a_success_ends_the_run() {
    let app = TestApp::spawn().await;
    let staff = app.staff(&[Role::Moderator]).await;
    let free = hamlet::staff::throttle::FREE_FAILURES_PER_EMAIL;
    for _ in 0..=free {
        let (status, _, body) = login(&app, &staff.email, "not the password").await;
        assert_eq!(status, 200);
        assert_eq!(first_error_code(&body), "UNAUTHENTICATED");
    }
    // One failure beyond the free ones: a second's wait, even for the right
    // password, and without spending a password check.
    let (status, retry_after, body) = login(&app, &staff.email, PASSWORD).await;
    assert_eq!(status, 429);
    assert_eq!(first_error_code(&body), "RATE_LIMITED");
    assert_eq!(body["errors"][0]["extensions"]["retryAfterSeconds"], 1);
    assert_eq!(retry_after.as_deref(), Some("1"));

    // Not a moment before the second is up.
    app.clock.advance(Duration::from_millis(999));
    let (status, retry_after, _) = login(&app, &staff.email, PASSWORD).await;
    assert_eq!(status, 429);
    assert_eq!(retry_after.as_deref(), Some("1"));
    app.clock.advance(Duration::from_millis(1));
    let (_, _, body) = login(&app, &staff.email, "still not it").await;
    assert_eq!(first_error_code(&body), "UNAUTHENTICATED");
    let (_, _, body) = login(&app, &staff.email, PASSWORD).await;
    assert_eq!(
        body["errors"][0]["extensions"]["retryAfterSeconds"], 2,
        "doubled"
    );

    app.clock.advance(Duration::from_secs(2));
    let (status, _, body) = login(&app, &staff.email, PASSWORD).await;
    assert_eq!(status, 200);
    assert!(body["data"]["login"]["accessToken"].is_string(), "{body}");
    // The success ended the run: a slip now costs nothing.
    let (_, _, body) = login(&app, &staff.email, "a slip").await;
    assert_eq!(first_error_code(&body), "UNAUTHENTICATED");
    let (_, _, body) = login(&app, &staff.email, PASSWORD).await;
    assert!(body["data"]["login"]["accessToken"].is_string(), "{body}");
}

#[tokio::test]
async fn guessing_passwords_under_aliases_is_limited_like_separate_attempts() {
    // The per-minute allowance as configured by default, and an account
    // that has not signed in yet, so the whole allowance is left.
    let app = TestApp::spawn_with(Seed::BuiltIn, |config| config.login_per_minute = 5).await;
    let staff_email = format!("{}@towerhamlets.example", uuid::Uuid::new_v4().simple());
    let db = app.db().await;
    let new = hamlet::staff::store::NewStaff {
        email: hamlet::staff::model::StaffEmail::parse(&staff_email, "email").unwrap(),
        display_name: hamlet::staff::model::DisplayName::parse("Guessed", "displayName").unwrap(),
        roles: hamlet::staff::model::Roles::parse(&[Role::Moderator], "roles").unwrap(),
        password_hash: hamlet::staff::password::Passwords::default()
            .hash(PASSWORD)
            .await
            .unwrap(),
    };
    hamlet::staff::actions::create_staff(&db, &new, None)
        .await
        .unwrap();
    db.close().await.ok();

    // Twenty guesses in one request, the right password last.
    let mut selections = String::new();
    for i in 0..20 {
        let password = if i == 19 {
            PASSWORD.to_owned()
        } else {
            format!("guess number {i}")
        };
        selections.push_str(&format!(
            "g{i}: login(email: \"{staff_email}\", password: \"{password}\") {{ accessToken }} "
        ));
    }
    let response = app
        .post(&format!("mutation {{ {selections} }}"), json!({}))
        .await;
    assert_eq!(response.status(), 429);
    let body: Value = response.json().await.unwrap();
    let codes: Vec<&str> = body["errors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|error| error["extensions"]["code"].as_str().unwrap())
        .collect();
    assert_eq!(codes.len(), 20, "{body}");
    assert_eq!(
        codes
            .iter()
            .filter(|code| **code == "UNAUTHENTICATED")
            .count(),
        5
    );
    assert_eq!(
        codes.iter().filter(|code| **code == "RATE_LIMITED").count(),
        15
    );
    assert!(
        !body.to_string().contains("accessToken\":\""),
        "no token: {body}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_flood_of_sign_ins_does_not_starve_submissions() {
    let app = Arc::new(
        TestApp::spawn_with(Seed::BuiltIn, |config| config.submit_per_minute = 1000).await,
    );
    let staff = app.staff(&[Role::Moderator]).await;
    let flood: Vec<_> = (0..96)
        .map(|_| {
            let app = app.clone();
            let email = staff.email.clone();
            tokio::spawn(async move { login(&app, &email, PASSWORD).await.0 })
        })
        .collect();
    // Each submission is answered while sign-ins still wait for their
    // password checks. How fast it is answered is the benchmark's to say
    // (`hamlet-bench --workloads signin-flood`), not a test's.
    for _ in 0..10 {
        let response = app.submit_feedback(feedback(), headers(&[])).await;
        assert_eq!(response.status(), 200);
    }
    let still_flooding = flood.iter().filter(|login| !login.is_finished()).count();
    assert!(still_flooding > 0, "the submissions ran during the flood");
    for login in flood {
        assert_eq!(login.await.unwrap(), 200);
    }
    assert_eq!(count(&app, "feedback").await, 10);
}

// --- Enumeration --------------------------------------------------------------------

#[tokio::test]
async fn guessing_references_is_rate_limited_and_reveals_nothing() {
    let app = TestApp::spawn_with(Seed::BuiltIn, |config| config.submit_per_minute = 2).await;
    let real = app.feedback_reference(feedback()).await;
    // Six look-ups a minute at two submissions a minute. Well-formed guesses
    // with valid check symbols, a mistyped one and an unknown kind all answer
    // alike.
    let mut answers = Vec::new();
    let mut guesses: Vec<String> = (0..4)
        .map(|_| Reference::generate(ReferenceKind::Feedback).to_string())
        .collect();
    guesses.push("FB-7K3Q-9XMQ".into());
    guesses.push("ZZ-0000-0000".into());
    for guess in &guesses {
        let body = app
            .graphql(
                "query($r: String!) { submission(reference: $r) { status } }",
                json!({ "r": guess }),
            )
            .await;
        assert_eq!(first_error_code(&body), "NOT_FOUND", "{guess}: {body}");
        answers.push(body["errors"][0]["message"].clone());
    }
    assert!(
        answers.windows(2).all(|pair| pair[0] == pair[1]),
        "{answers:?}"
    );
    // The allowance is spent: even the real reference waits now.
    let response = app
        .post(
            "query($r: String!) { submission(reference: $r) { status } }",
            json!({ "r": real }),
        )
        .await;
    assert_eq!(response.status(), 429);
    let body: Value = response.json().await.unwrap();
    assert_eq!(first_error_code(&body), "RATE_LIMITED");
    assert!(
        body["errors"][0]["extensions"]["retryAfterSeconds"]
            .as_u64()
            .unwrap()
            >= 1
    );
    assert!(body["data"].is_null());
}

// --- Storage under load and faults -------------------------------------------------

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_hundred_parallel_submissions_with_moderation_alongside_all_succeed() {
    let app = Arc::new(
        TestApp::spawn_with(Seed::BuiltIn, |config| config.submit_per_minute = 10_000).await,
    );
    let moderator = Arc::new(app.staff(&[Role::Moderator]).await);
    for _ in 0..20 {
        app.feedback_reference(feedback()).await;
    }
    let ids: Vec<String> = app
        .data_as(
            &moderator,
            "{ feedbackQueue(first: 20) { edges { node { id } } } }",
            json!({}),
        )
        .await["feedbackQueue"]["edges"]
        .as_array()
        .unwrap()
        .iter()
        .map(|edge| edge["node"]["id"].as_str().unwrap().to_owned())
        .collect();

    let mut tasks = Vec::new();
    for _ in 0..100 {
        let app = app.clone();
        tasks.push(tokio::spawn(async move {
            let response = app.submit_feedback(feedback(), headers(&[])).await;
            let status = response.status();
            let body: Value = response.json().await.unwrap();
            (status, body)
        }));
    }
    // Half the items are moderated one by one, each with a note; the other
    // half get two bulk changes at once, in opposite orders (on PostgreSQL
    // the classic deadlock, which is retried).
    let (single, bulk) = ids.split_at(10);
    for (i, id) in single.iter().enumerate() {
        let (app, moderator, id) = (app.clone(), moderator.clone(), id.clone());
        let note = format!("checked {i}");
        tasks.push(tokio::spawn(async move {
            let response = app
                .post_as(
                    &moderator.access_token,
                    "mutation($input: ModerateFeedbackInput!, $id: ID!, $note: String!) {
                       moderateFeedback(input: $input) { version }
                       addNote(subjectId: $id, body: $note) { id }
                     }",
                    json!({ "input": { "id": id, "expectedVersion": 1, "status": "IN_REVIEW" }, "id": id, "note": note }),
                )
                .await;
            (response.status(), response.json().await.unwrap())
        }));
    }
    let (forward, backward) = (
        bulk.to_vec(),
        bulk.iter().rev().cloned().collect::<Vec<_>>(),
    );
    for (order, tag) in [(forward, "wave-a"), (backward, "wave-b")] {
        let (app, moderator) = (app.clone(), moderator.clone());
        tasks.push(tokio::spawn(async move {
            let response = app
                .post_as(
                    &moderator.access_token,
                    "mutation($input: BulkModerateFeedbackInput!) { bulkModerateFeedback(input: $input) { ok code } }",
                    json!({ "input": { "ids": order, "addTags": [tag] } }),
                )
                .await;
            (response.status(), response.json().await.unwrap())
        }));
    }
    for task in tasks {
        let (status, body) = task.await.unwrap();
        assert_eq!(status, 200, "{body}");
        assert!(body.get("errors").is_none(), "{body}");
        if let Some(results) = body["data"]["bulkModerateFeedback"].as_array() {
            assert!(results.iter().all(|result| result["ok"] == true), "{body}");
        }
    }
    assert_eq!(count(&app, "feedback").await, 120);
    assert_eq!(count(&app, "moderation_note").await, 10);
    // Both bulk changes kept their tags on every item.
    for tag in ["wave-a", "wave-b"] {
        let body = app
            .data_as(
                &moderator,
                "query($tag: String) { feedbackQueue(first: 100, filter: { tag: $tag }) { totalCount } }",
                json!({ "tag": tag }),
            )
            .await;
        assert_eq!(body["feedbackQueue"]["totalCount"], 10, "{tag}");
    }
}

#[tokio::test]
async fn a_deadlocked_write_is_run_again_and_both_writes_succeed() {
    let (database_url, _database) = crate::helpers::fresh_database().await;
    if !database_url.starts_with("postgres") {
        // SQLite takes the write lock at BEGIN, so two writes never deadlock.
        return;
    }
    let config = hamlet::Config::for_database(&database_url).unwrap();
    let db = hamlet::db::connect(&config).await.unwrap();
    hamlet::db::migrate(&db).await.unwrap();
    db.execute_unprepared("CREATE TABLE tally (id INT PRIMARY KEY, n INT NOT NULL); INSERT INTO tally VALUES (1, 0), (2, 0)")
        .await
        .unwrap();
    let both_hold_one = Arc::new(tokio::sync::Barrier::new(2));
    let attempts = Arc::new(AtomicU32::new(0));
    // Each write takes one row, waits until the other holds the other row,
    // then wants it: a deadlock, which PostgreSQL breaks by aborting one.
    let write = |first: i32, second: i32| {
        let (db, barrier, attempts) = (db.clone(), both_hold_one.clone(), attempts.clone());
        tokio::spawn(async move {
            let mine = AtomicU32::new(0);
            hamlet::db::retrying(|| {
                let (db, barrier, attempts, mine) = (&db, &barrier, &attempts, &mine);
                async move {
                    attempts.fetch_add(1, Ordering::SeqCst);
                    let txn = hamlet::db::write(db).await?;
                    let bump = |id: i32| {
                        Statement::from_sql_and_values(
                            DbBackend::Postgres,
                            "UPDATE tally SET n = n + 1 WHERE id = $1",
                            [id.into()],
                        )
                    };
                    txn.execute_raw(bump(first)).await?;
                    if mine.fetch_add(1, Ordering::SeqCst) == 0 {
                        barrier.wait().await;
                    }
                    txn.execute_raw(bump(second)).await?;
                    txn.commit().await?;
                    Ok(())
                }
            })
            .await
        })
    };
    let (one, two) = (write(1, 2), write(2, 1));
    let (one, two) = (one.await.unwrap(), two.await.unwrap());
    assert!(one.is_ok(), "{one:?}");
    assert!(two.is_ok(), "{two:?}");
    assert_eq!(attempts.load(Ordering::SeqCst), 3, "one of them ran twice");
    let row = db
        .query_one_raw(Statement::from_string(
            DbBackend::Postgres,
            "SELECT SUM(n)::INT FROM tally",
        ))
        .await
        .unwrap()
        .unwrap();
    let total: i32 = row.try_get_by_index(0).unwrap();
    assert_eq!(total, 4, "each write counted once");
}

#[tokio::test]
async fn an_unavailable_database_answers_503_and_stores_nothing() {
    let app = TestApp::spawn().await;
    let admin_url = std::env::var("HAMLET_TEST_DATABASE_URL").unwrap_or_default();
    let postgres = app.database_url.starts_with("postgres");
    // Make the database refuse: on PostgreSQL, refuse new connections and end
    // the app's; on SQLite, hold the write lock past the busy timeout, as a
    // long backup or another process would.
    let sqlite_lock = if postgres {
        let name = app
            .database_url
            .rsplit('/')
            .next()
            .unwrap()
            .split('?')
            .next()
            .unwrap()
            .to_owned();
        let admin = Database::connect(&admin_url).await.unwrap();
        admin
            .execute_unprepared(&format!("ALTER DATABASE {name} ALLOW_CONNECTIONS false"))
            .await
            .unwrap();
        admin
            .execute_unprepared(&format!(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = '{name}'"
            ))
            .await
            .unwrap();
        Err((admin, name))
    } else {
        let db = app.db().await;
        let txn = hamlet::db::write(&db).await.unwrap();
        Ok((db, txn))
    };

    let response = app.submit_feedback(feedback(), headers(&[])).await;
    assert_eq!(response.status(), 503);
    assert_eq!(response.headers()["retry-after"], "1");
    let body: Value = response.json().await.unwrap();
    assert_eq!(first_error_code(&body), "SERVICE_UNAVAILABLE");
    assert!(body["data"].is_null(), "no receipt: {body}");
    if postgres {
        let ready = app.client.get(app.url("/readyz")).send().await.unwrap();
        assert_eq!(ready.status(), 503);
    }

    // Once the database is back, so is hamlet, and the refused submission
    // was never stored.
    match sqlite_lock {
        Ok((db, txn)) => {
            txn.rollback().await.unwrap();
            db.close().await.ok();
        }
        Err((admin, name)) => {
            admin
                .execute_unprepared(&format!("ALTER DATABASE {name} ALLOW_CONNECTIONS true"))
                .await
                .unwrap();
            admin.close().await.ok();
        }
    }
    assert_eq!(count(&app, "feedback").await, 0);
    let mut stored = false;
    for _ in 0..20 {
        let response = app.submit_feedback(feedback(), headers(&[])).await;
        if response.status() == 200 {
            stored = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
    assert!(stored, "hamlet recovers");
    assert_eq!(count(&app, "feedback").await, 1);
}

#[tokio::test]
async fn a_backup_is_a_consistent_copy_that_opens_with_every_row() {
    let app = TestApp::spawn().await;
    for _ in 0..3 {
        app.feedback_reference(feedback()).await;
    }
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("hamlet-backup.db");
    let run = || {
        std::process::Command::new(env!("CARGO_BIN_EXE_hamlet"))
            .args(["backup", "--out", out.to_str().unwrap()])
            .env("HAMLET_DATABASE_URL", &app.database_url)
            .env("HAMLET_LOG", "warn")
            .output()
            .unwrap()
    };
    let output = run();
    if app.database_url.starts_with("postgres") {
        assert!(!output.status.success());
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert!(stderr.contains("pg_dump"), "{stderr}");
        assert!(!out.exists());
        return;
    }
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let backup = Database::connect(format!("sqlite://{}?mode=ro", out.display()))
        .await
        .unwrap();
    let scalar = |sql: &'static str| {
        let backup = &backup;
        async move {
            backup
                .query_one_raw(Statement::from_string(DbBackend::Sqlite, sql))
                .await
                .unwrap()
                .unwrap()
        }
    };
    let rows: i64 = scalar("SELECT COUNT(*) FROM feedback")
        .await
        .try_get_by_index(0)
        .unwrap();
    assert_eq!(rows, 3);
    let services: i64 = scalar("SELECT COUNT(*) FROM service")
        .await
        .try_get_by_index(0)
        .unwrap();
    assert!(services > 0);
    let verdict: String = scalar("PRAGMA integrity_check")
        .await
        .try_get_by_index(0)
        .unwrap();
    assert_eq!(verdict, "ok");
    backup.close().await.ok();
    // An existing file is never overwritten.
    let again = run();
    assert!(!again.status.success());
    assert!(String::from_utf8_lossy(&again.stderr).contains("exists"));
}

/// The introspection query GraphiQL sends for its documentation explorer
/// (graphql-js's, with one more level of `ofType` than it has had).
const INTROSPECTION: &str = "query IntrospectionQuery {
  __schema {
    queryType { name } mutationType { name } subscriptionType { name }
    types { ...FullType }
    directives { name description locations args { ...InputValue } }
  }
}
fragment FullType on __Type {
  kind name description
  fields(includeDeprecated: true) {
    name description args { ...InputValue } type { ...TypeRef } isDeprecated deprecationReason
  }
  inputFields { ...InputValue }
  interfaces { ...TypeRef }
  enumValues(includeDeprecated: true) { name description isDeprecated deprecationReason }
  possibleTypes { ...TypeRef }
}
fragment InputValue on __InputValue { name description type { ...TypeRef } defaultValue }
fragment TypeRef on __Type {
  kind name
  ofType { kind name ofType { kind name ofType { kind name ofType { kind name
    ofType { kind name ofType { kind name ofType { kind name ofType { kind name } } } } } } } }
}";

#[tokio::test]
async fn the_limits_leave_room_for_graphiqls_introspection_query() {
    let app = TestApp::spawn().await;
    let body = app.data(INTROSPECTION, json!({})).await;
    assert!(body["__schema"]["types"].as_array().unwrap().len() > 10);
}
