//! Two hamlet processes on one PostgreSQL database behave as one service:
//! live events, rate limits, token revocation and content changes cross from
//! one to the other. (Scale-out is a PostgreSQL feature: on SQLite hamlet is
//! one process, and this test says so and stops; CI runs it on PostgreSQL.)

use std::io::{BufRead as _, BufReader, Write as _};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use futures_util::{SinkExt as _, StreamExt as _};
use serde_json::{Value, json};
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::client::IntoClientRequest as _;

use crate::helpers::{LOGIN, PASSWORD, SUBMIT_FEEDBACK, feedback, fresh_database};

struct Process {
    child: Child,
    address: String,
}

impl Process {
    fn start(database_url: &str) -> Self {
        let mut child = Command::new(env!("CARGO_BIN_EXE_hamlet"))
            .arg("serve")
            .env("HAMLET_DATABASE_URL", database_url)
            .env("HAMLET_BIND", "127.0.0.1:0")
            .env("HAMLET_SUBMIT_PER_MINUTE", "4")
            .env("HAMLET_LOGIN_PER_MINUTE", "100")
            .env("HAMLET_LOG_FORMAT", "json")
            .env("HAMLET_LOG", "info")
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
        let address = loop {
            let line = lines.next().expect("the server logs its address").unwrap();
            if let Ok(entry) = serde_json::from_str::<Value>(&line)
                && let Some(address) = entry["address"].as_str()
            {
                break format!("http://{address}");
            }
        };
        std::thread::spawn(move || for _ in lines {});
        Self { child, address }
    }

    async fn post(&self, token: Option<&str>, query: &str, variables: Value) -> reqwest::Response {
        let mut request = reqwest::Client::new()
            .post(format!("{}/graphql", self.address))
            .json(&json!({ "query": query, "variables": variables }));
        if let Some(token) = token {
            request = request.bearer_auth(token);
        }
        request.send().await.unwrap()
    }

    async fn json(&self, token: Option<&str>, query: &str, variables: Value) -> Value {
        self.post(token, query, variables)
            .await
            .json()
            .await
            .unwrap()
    }
}

impl Drop for Process {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn create_staff(database_url: &str, email: &str, role: &str) {
    let mut child = Command::new(env!("CARGO_BIN_EXE_hamlet"))
        .args([
            "staff",
            "create",
            "--email",
            email,
            "--name",
            "Cluster Tester",
            "--role",
            role,
            "--password-stdin",
        ])
        .env("HAMLET_DATABASE_URL", database_url)
        .env("HAMLET_LOG", "warn")
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .spawn()
        .unwrap();
    writeln!(child.stdin.take().unwrap(), "{PASSWORD}").unwrap();
    assert!(child.wait().unwrap().success());
}

/// Creates a kiosk with the `hamlet` command; answers its token.
fn create_kiosk(database_url: &str) -> String {
    let output = Command::new(env!("CARGO_BIN_EXE_hamlet"))
        .args(["kiosk", "create", "--name", "Cluster kiosk"])
        .env("HAMLET_DATABASE_URL", database_url)
        .env("HAMLET_LOG", "warn")
        .output()
        .unwrap();
    assert!(output.status.success());
    String::from_utf8(output.stdout)
        .unwrap()
        .lines()
        .last()
        .unwrap()
        .trim()
        .to_owned()
}

/// The next message other than a ping, if one comes within `wait`.
async fn message_within(
    socket: &mut tokio_tungstenite::WebSocketStream<
        tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>,
    >,
    wait: Duration,
) -> Option<Value> {
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

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_processes_on_one_postgresql_database_behave_as_one() {
    if std::env::var("HAMLET_TEST_DATABASE_URL").is_err() {
        eprintln!("scale-out runs on PostgreSQL only; set HAMLET_TEST_DATABASE_URL (CI does)");
        return;
    }
    let (database_url, _database) = fresh_database().await;
    let a = Process::start(&database_url);
    let b = Process::start(&database_url);
    create_staff(&database_url, "mo@cluster.example", "MODERATOR");
    create_staff(&database_url, "ed@cluster.example", "EDITOR");
    let login = |process: &Process, email: &'static str| {
        let process_address = process.address.clone();
        async move {
            let body: Value = reqwest::Client::new()
                .post(format!("{process_address}/graphql"))
                .json(&json!({ "query": LOGIN, "variables": { "email": email, "password": PASSWORD } }))
                .send()
                .await
                .unwrap()
                .json()
                .await
                .unwrap();
            body["data"]["login"].clone()
        }
    };

    // A moderator signed in through A watches the live queue on B.
    let moderator = login(&a, "mo@cluster.example").await;
    let token = moderator["accessToken"].as_str().unwrap().to_owned();
    let mut request = format!("{}/graphql/ws", b.address.replace("http://", "ws://"))
        .into_client_request()
        .unwrap();
    request.headers_mut().insert(
        "sec-websocket-protocol",
        "graphql-transport-ws".parse().unwrap(),
    );
    let (mut socket, _) = tokio_tungstenite::connect_async(request).await.unwrap();
    let send = |value: Value| Message::Text(value.to_string().into());
    socket
        .send(send(json!({ "type": "connection_init", "payload": { "authorization": format!("Bearer {token}") } })))
        .await
        .unwrap();
    let ack = message_within(&mut socket, Duration::from_secs(5))
        .await
        .expect("B acknowledges the connection within 5 s");
    assert_eq!(ack["type"], "connection_ack", "{ack}");
    socket
        .send(send(json!({ "id": "1", "type": "subscribe",
            "payload": { "query": "subscription { submissionReceived { reference } }" } })))
        .await
        .unwrap();
    // The protocol says nothing when a subscription starts. A kiosk, whose
    // allowance is its own (the address's is counted below), submits through
    // A until one of its submissions reaches B; then once more, read up to,
    // so that none of its submissions is left to be taken for the event below.
    let kiosk = create_kiosk(&database_url);
    let by_kiosk = || {
        let (address, kiosk) = (a.address.clone(), kiosk.clone());
        async move {
            let body: Value = reqwest::Client::new()
                .post(format!("{address}/graphql"))
                .header("authorization", format!("Kiosk {kiosk}"))
                .json(&json!({ "query": SUBMIT_FEEDBACK, "variables": { "input": feedback() } }))
                .send()
                .await
                .unwrap()
                .json()
                .await
                .unwrap();
            body["data"]["submitFeedback"]["reference"]
                .as_str()
                .unwrap_or_else(|| panic!("the kiosk's submission was refused: {body}"))
                .to_owned()
        }
    };
    // At most 30 tries in 15 s, within the kiosk's 40 a minute.
    let deadline = std::time::Instant::now() + Duration::from_secs(15);
    let mut tried = Vec::new();
    loop {
        assert!(
            std::time::Instant::now() < deadline,
            "B's subscription was not live within 15 s"
        );
        tried.push(by_kiosk().await);
        if let Some(event) = message_within(&mut socket, Duration::from_millis(500)).await {
            let reference = &event["payload"]["data"]["submissionReceived"]["reference"];
            assert!(
                tried.iter().any(|tried| reference == tried.as_str()),
                "{event}"
            );
            break;
        }
    }
    let last = by_kiosk().await;
    loop {
        let event = message_within(&mut socket, Duration::from_secs(5))
            .await
            .expect("the kiosk's last submission reaches B within 5 s");
        let reference = &event["payload"]["data"]["submissionReceived"]["reference"];
        if reference == last.as_str() {
            break;
        }
        assert!(
            tried.iter().any(|tried| reference == tried.as_str()),
            "{event}"
        );
    }

    let submitted = a
        .json(None, SUBMIT_FEEDBACK, json!({ "input": feedback() }))
        .await;
    let reference = submitted["data"]["submitFeedback"]["reference"]
        .as_str()
        .unwrap()
        .to_owned();
    let event = message_within(&mut socket, Duration::from_secs(5))
        .await
        .expect("the event reaches B within 5 s");
    assert_eq!(event["type"], "next", "{event}");
    assert_eq!(
        event["payload"]["data"]["submissionReceived"]["reference"],
        reference.as_str()
    );

    // One address's allowance (4 a minute) is shared: 1 above, then A, B, B,
    // and the fifth, on B, is refused.
    for process in [&a, &b, &b] {
        let response = process
            .post(None, SUBMIT_FEEDBACK, json!({ "input": feedback() }))
            .await;
        assert_eq!(response.status(), 200);
    }
    let refused = b
        .post(None, SUBMIT_FEEDBACK, json!({ "input": feedback() }))
        .await;
    assert_eq!(
        refused.status(),
        429,
        "the allowance holds across both processes"
    );

    // A refresh token rotated on B and then reused on A ends the session on both.
    let first_refresh = moderator["refreshToken"].as_str().unwrap().to_owned();
    let refresh =
        "mutation($t: String!) { refresh(refreshToken: $t) { accessToken refreshToken } }";
    let renewed = b.json(None, refresh, json!({ "t": first_refresh })).await;
    let new_access = renewed["data"]["refresh"]["accessToken"]
        .as_str()
        .unwrap()
        .to_owned();
    assert_eq!(
        b.post(Some(&new_access), "{ me { id } }", json!({}))
            .await
            .status(),
        200
    );
    let reused = a.json(None, refresh, json!({ "t": first_refresh })).await;
    assert_eq!(reused["errors"][0]["extensions"]["code"], "UNAUTHENTICATED");
    assert_eq!(
        b.post(Some(&new_access), "{ me { id } }", json!({}))
            .await
            .status(),
        401
    );
    assert_eq!(
        a.post(Some(&new_access), "{ me { id } }", json!({}))
            .await
            .status(),
        401
    );

    // A content change made through A is what B serves next.
    let before = b.json(None, "{ organisation { vision } }", json!({})).await;
    assert!(
        before["data"]["organisation"]["vision"]
            .as_str()
            .unwrap()
            .contains("Tower Hamlets")
    );
    let editor = login(&a, "ed@cluster.example").await;
    let edited = a
        .json(
            editor["accessToken"].as_str(),
            "mutation { updateOrganisation(input: { name: \"Tower Hamlets Together\",
               vision: \"Changed through A.\", mission: \"M\", purpose: \"P\", values: [] }) { vision } }",
            json!({}),
        )
        .await;
    assert_eq!(
        edited["data"]["updateOrganisation"]["vision"],
        "Changed through A."
    );
    let deadline = std::time::Instant::now() + Duration::from_secs(5);
    loop {
        let after = b.json(None, "{ organisation { vision } }", json!({})).await;
        if after["data"]["organisation"]["vision"] == "Changed through A." {
            break;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "B still serves {after}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}
