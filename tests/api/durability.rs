//! What hamlet acknowledged, it keeps: a server killed with SIGKILL in the
//! middle of a burst of parallel submissions loses none of the receipts it
//! gave out, and its SQLite database passes `PRAGMA integrity_check`.

use std::io::{BufRead as _, BufReader};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use sea_orm::ConnectionTrait as _;
use serde_json::{Value, json};

use crate::helpers::{SUBMIT_FEEDBACK, feedback, fresh_database};

/// A hamlet server process on its own port, its log kept for inspection.
/// Dropping it kills the process.
pub struct Server {
    pub child: Child,
    pub address: String,
    log: Arc<Mutex<String>>,
}

impl Server {
    pub fn start(database_url: &str) -> Self {
        Self::start_with(database_url, &[])
    }

    /// Starts `hamlet serve` with these variables set besides the database.
    pub fn start_with(database_url: &str, env: &[(&str, &str)]) -> Self {
        let mut child = Command::new(env!("CARGO_BIN_EXE_hamlet"))
            .arg("serve")
            .env("HAMLET_DATABASE_URL", database_url)
            .env("HAMLET_BIND", "127.0.0.1:0")
            .env("HAMLET_SUBMIT_PER_MINUTE", "1000000")
            .env("HAMLET_LOG_FORMAT", "json")
            .env("HAMLET_LOG", "info")
            .envs(env.iter().copied())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let log = Arc::new(Mutex::new(String::new()));
        let stderr = child.stderr.take().unwrap();
        let stderr_log = log.clone();
        std::thread::spawn(move || {
            for line in BufReader::new(stderr).lines().map_while(Result::ok) {
                let mut log = stderr_log.lock().unwrap();
                log.push_str(&line);
                log.push('\n');
            }
        });
        let stdout = child.stdout.take().unwrap();
        let mut lines = BufReader::new(stdout).lines();
        let address = loop {
            let line = lines.next().expect("the server logs its address").unwrap();
            log.lock().unwrap().push_str(&format!("{line}\n"));
            let Ok(entry) = serde_json::from_str::<Value>(&line) else {
                continue;
            };
            if let Some(address) = entry["address"].as_str() {
                break format!("http://{address}");
            }
        };
        // Keep draining the log so the server never blocks on a full pipe.
        let stdout_log = log.clone();
        std::thread::spawn(move || {
            for line in lines.map_while(Result::ok) {
                let mut log = stdout_log.lock().unwrap();
                log.push_str(&line);
                log.push('\n');
            }
        });
        Self {
            child,
            address,
            log,
        }
    }

    /// Stops the server as SIGTERM does, letting it finish what is in
    /// flight, and waits for it to exit.
    pub fn stop(&mut self) {
        let status = Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status()
            .unwrap();
        assert!(status.success());
        let exit = self.child.wait().unwrap();
        assert!(exit.success(), "hamlet exited with {exit}");
    }

    /// Everything the server has written to standard output and error so far.
    pub fn log(&self) -> String {
        self.log.lock().unwrap().clone()
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_killed_server_keeps_every_receipt_it_gave_out() {
    let (database_url, _database) = fresh_database().await;
    let mut server = Server::start(&database_url);
    let client = reqwest::Client::builder()
        .timeout(Duration::from_secs(5))
        .build()
        .unwrap();

    // Sixteen clients submit as fast as they can; the server is killed while
    // they are still sending, once the burst has had a second and a half and
    // given out more than twenty receipts, however slow the machine.
    let started = Instant::now();
    let receipts = Arc::new(AtomicUsize::new(0));
    let mut senders = Vec::new();
    for _ in 0..16 {
        let client = client.clone();
        let url = format!("{}/graphql", server.address);
        let receipts = receipts.clone();
        senders.push(tokio::spawn(async move {
            let mut acknowledged = Vec::new();
            // Until the server is killed and a request fails.
            loop {
                let request = client.post(&url).json(
                    &json!({ "query": SUBMIT_FEEDBACK, "variables": { "input": feedback() } }),
                );
                let Ok(response) = request.send().await else {
                    break;
                };
                let Ok(body) = response.json::<Value>().await else {
                    break;
                };
                if let Some(reference) = body["data"]["submitFeedback"]["reference"].as_str() {
                    acknowledged.push(reference.to_owned());
                    receipts.fetch_add(1, Ordering::SeqCst);
                }
            }
            acknowledged
        }));
    }
    let deadline = started + Duration::from_secs(30);
    while started.elapsed() < Duration::from_millis(1500) || receipts.load(Ordering::SeqCst) <= 20 {
        assert!(
            Instant::now() < deadline,
            "only {} receipts in 30 s",
            receipts.load(Ordering::SeqCst)
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    server.child.kill().unwrap(); // SIGKILL: no chance to flush or shut down
    server.child.wait().unwrap();
    let mut acknowledged = Vec::new();
    for sender in senders {
        acknowledged.extend(sender.await.unwrap());
    }
    assert!(
        acknowledged.len() > 20,
        "the burst was real: {} receipts",
        acknowledged.len()
    );

    let restarted = Server::start(&database_url);
    let mut missing = Vec::new();
    for reference in &acknowledged {
        let body: Value = client
            .post(format!("{}/graphql", restarted.address))
            .json(&json!({
                "query": "query($r: String!) { submission(reference: $r) { reference } }",
                "variables": { "r": reference },
            }))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        if body["data"]["submission"]["reference"] != reference.as_str() {
            missing.push((reference.clone(), body));
        }
    }
    drop(restarted);
    assert!(
        missing.is_empty(),
        "{} of {} acknowledged receipts lost: {missing:?}",
        missing.len(),
        acknowledged.len()
    );

    if database_url.starts_with("sqlite:") {
        let db = sea_orm::Database::connect(&database_url).await.unwrap();
        let check = db
            .query_one_raw(sea_orm::Statement::from_string(
                sea_orm::DbBackend::Sqlite,
                "PRAGMA integrity_check",
            ))
            .await
            .unwrap()
            .unwrap();
        let verdict: String = check.try_get_by_index(0).unwrap();
        assert_eq!(verdict, "ok");
        db.close().await.unwrap();
    }
}
