//! When what lies under hamlet fails (the disk fills up, the database server
//! drops a connection), hamlet refuses what it cannot store, never
//! acknowledges what it did not store, and serves again once the fault is
//! gone, without a restart.

use std::collections::HashSet;
use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use sea_orm::ConnectionTrait as _;
use serde_json::{Value, json};

use crate::durability::Server;
use crate::helpers::{SUBMIT_FEEDBACK, feedback};

/// A small filesystem of its own (a `tmpfs`), so a test can fill it up.
/// Unmounted when dropped.
struct SmallDisk {
    dir: tempfile::TempDir,
}

impl SmallDisk {
    /// A `tmpfs` of `bytes`, or `None` (having said why) where one cannot be
    /// mounted: it takes Linux and root. In CI, where both hold, failing to
    /// mount one fails the test instead.
    fn mount(bytes: u64) -> Option<Self> {
        let dir = tempfile::tempdir().unwrap();
        let mounted = std::process::Command::new("mount")
            .args(["-t", "tmpfs", "-o", &format!("size={bytes}"), "tmpfs"])
            .arg(dir.path())
            .output();
        match mounted {
            Ok(output) if output.status.success() => Some(Self { dir }),
            other => {
                let why = match other {
                    Ok(output) => String::from_utf8_lossy(&output.stderr).trim().to_owned(),
                    Err(error) => error.to_string(),
                };
                assert!(
                    std::env::var("CI").as_deref() != Ok("true"),
                    "CI runs as root on Linux, so a tmpfs must mount: {why}"
                );
                eprintln!(
                    "not run: a full disk is simulated with a small tmpfs, which takes Linux \
                     and root to mount ({why})"
                );
                None
            }
        }
    }

    fn path(&self) -> &Path {
        self.dir.path()
    }

    /// Fills the disk up, leaving about `headroom` bytes free; returns the
    /// filler file, whose removal gives the space back.
    fn fill_leaving(&self, headroom: u64) -> PathBuf {
        let filler = self.path().join("filler");
        let mut file = std::fs::File::create(&filler).unwrap();
        let chunk = vec![0x5a_u8; 16 * 1024];
        let mut written = 0u64;
        while file.write_all(&chunk).is_ok() {
            written += chunk.len() as u64;
        }
        // Whatever of the last chunk fit may be on disk too.
        let _ = file.sync_all();
        file.set_len(written.saturating_sub(headroom)).unwrap();
        file.sync_all().unwrap();
        filler
    }
}

impl Drop for SmallDisk {
    fn drop(&mut self) {
        let _ = std::process::Command::new("umount")
            .arg("-l")
            .arg(self.dir.path())
            .status();
    }
}

/// What a submission load saw.
#[derive(Default)]
struct Seen {
    /// Receipts given out.
    acknowledged: Mutex<Vec<String>>,
    /// Refusals: 503 with `SERVICE_UNAVAILABLE` and a `Retry-After`.
    refused: AtomicUsize,
    /// Refusals of any other shape (status, code or missing header).
    malformed: Mutex<Vec<String>>,
    /// When the first receipt after `since_free` was given.
    stored_after_free: Mutex<Option<Instant>>,
    since_free: Mutex<Option<Instant>>,
}

/// Sixteen residents submitting as fast as they can until `stop` is set.
fn submit_until(
    address: &str,
    stop: Arc<AtomicBool>,
    seen: Arc<Seen>,
) -> Vec<tokio::task::JoinHandle<()>> {
    let client = reqwest::Client::builder()
        .timeout(Duration::from_secs(10))
        .build()
        .unwrap();
    (0..16)
        .map(|_| {
            let client = client.clone();
            let url = format!("{address}/graphql");
            let stop = stop.clone();
            let seen = seen.clone();
            tokio::spawn(async move {
                while !stop.load(Ordering::Acquire) {
                    let request = client.post(&url).json(
                        &json!({ "query": SUBMIT_FEEDBACK, "variables": { "input": feedback() } }),
                    );
                    let Ok(response) = request.send().await else {
                        tokio::time::sleep(Duration::from_millis(20)).await;
                        continue;
                    };
                    let status = response.status().as_u16();
                    let retry_after = response.headers().contains_key("retry-after");
                    let Ok(body) = response.json::<Value>().await else {
                        continue;
                    };
                    if let Some(reference) = body["data"]["submitFeedback"]["reference"].as_str() {
                        seen.acknowledged.lock().unwrap().push(reference.to_owned());
                        if seen.since_free.lock().unwrap().is_some() {
                            seen.stored_after_free
                                .lock()
                                .unwrap()
                                .get_or_insert_with(Instant::now);
                        }
                        continue;
                    }
                    let code = body["errors"][0]["extensions"]["code"].as_str();
                    if status == 503 && code == Some("SERVICE_UNAVAILABLE") && retry_after {
                        seen.refused.fetch_add(1, Ordering::AcqRel);
                        // A resident's app waits a little before trying again.
                        tokio::time::sleep(Duration::from_millis(20)).await;
                    } else {
                        seen.malformed
                            .lock()
                            .unwrap()
                            .push(format!("{status} {retry_after} {body}"));
                    }
                }
            })
        })
        .collect()
}

/// Waits up to `limit` for `done`, checking every 50 ms.
async fn wait_for(limit: Duration, mut done: impl FnMut() -> bool) -> bool {
    let deadline = Instant::now() + limit;
    while Instant::now() < deadline {
        if done() {
            return true;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    done()
}

async fn ready_status(client: &reqwest::Client, address: &str) -> u16 {
    client
        .get(format!("{address}/readyz"))
        .send()
        .await
        .map_or(0, |response| response.status().as_u16())
}

/// Every receipt in `acknowledged` that the database at `url` does not hold,
/// and its `PRAGMA integrity_check` verdict.
async fn missing_from(url: &str, acknowledged: &[String]) -> (Vec<String>, String) {
    let db = sea_orm::Database::connect(url).await.unwrap();
    let rows = db
        .query_all_raw(sea_orm::Statement::from_string(
            sea_orm::DbBackend::Sqlite,
            "SELECT reference FROM feedback",
        ))
        .await
        .unwrap();
    let stored: HashSet<String> = rows
        .iter()
        .map(|row| row.try_get_by_index::<String>(0).unwrap())
        .collect();
    let verdict: String = db
        .query_one_raw(sea_orm::Statement::from_string(
            sea_orm::DbBackend::Sqlite,
            "PRAGMA integrity_check",
        ))
        .await
        .unwrap()
        .unwrap()
        .try_get_by_index(0)
        .unwrap();
    db.close().await.unwrap();
    let missing = acknowledged
        .iter()
        .filter(|reference| !stored.contains(*reference))
        .cloned()
        .collect();
    (missing, verdict)
}

/// Runs one outage against `server`: a load fills the disk, hamlet refuses
/// and says it is not ready, the space comes back, hamlet stores again.
/// Returns every receipt given out.
async fn fill_and_free(server: &Server, disk: &SmallDisk) -> Vec<String> {
    let client = reqwest::Client::new();
    assert_eq!(ready_status(&client, &server.address).await, 200);
    let filler = disk.fill_leaving(192 * 1024);

    let stop = Arc::new(AtomicBool::new(false));
    let seen = Arc::new(Seen::default());
    let load = submit_until(&server.address, stop.clone(), seen.clone());

    // The disk fills: submissions are refused, and the service says it is
    // not ready.
    assert!(
        wait_for(Duration::from_secs(30), || seen
            .refused
            .load(Ordering::Acquire)
            >= 50)
        .await,
        "the disk never filled: {} receipts, {} refusals, {:?}\n{}",
        seen.acknowledged.lock().unwrap().len(),
        seen.refused.load(Ordering::Acquire),
        &seen.malformed.lock().unwrap()[..],
        tail(&server.log())
    );
    let mut not_ready = false;
    for _ in 0..40 {
        if ready_status(&client, &server.address).await == 503 {
            not_ready = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert!(
        not_ready,
        "/readyz kept saying ready while the disk was full"
    );

    // The space comes back: hamlet stores again within seconds.
    std::fs::remove_file(&filler).unwrap();
    *seen.since_free.lock().unwrap() = Some(Instant::now());
    let freed = Instant::now();
    let recovered = wait_for(Duration::from_secs(10), || {
        seen.stored_after_free.lock().unwrap().is_some()
    })
    .await;
    assert!(
        recovered,
        "nothing was stored in the 10 s after the space came back ({} refusals in all)\n{}",
        seen.refused.load(Ordering::Acquire),
        tail(&server.log())
    );
    eprintln!(
        "stored again {:?} after the space came back",
        seen.stored_after_free.lock().unwrap().unwrap() - freed
    );
    let mut ready_again = false;
    for _ in 0..100 {
        if ready_status(&client, &server.address).await == 200 {
            ready_again = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(ready_again, "/readyz did not say ready again");

    // A moment more of ordinary load, then the residents stop.
    tokio::time::sleep(Duration::from_millis(500)).await;
    stop.store(true, Ordering::Release);
    for task in load {
        task.await.unwrap();
    }
    let malformed = seen.malformed.lock().unwrap().clone();
    assert!(
        malformed.is_empty(),
        "refusals not as SERVICE_UNAVAILABLE with Retry-After: {:?}",
        &malformed[..malformed.len().min(5)]
    );

    // Every receipt can be tracked while the server runs.
    let acknowledged = seen.acknowledged.lock().unwrap().clone();
    let mut untracked = Vec::new();
    for reference in &acknowledged {
        let body: Value = client
            .post(format!("{}/graphql", server.address))
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
            untracked.push(reference.clone());
        }
    }
    assert!(
        untracked.is_empty(),
        "{} of {} receipts cannot be tracked: {:?}",
        untracked.len(),
        acknowledged.len(),
        &untracked[..untracked.len().min(5)]
    );
    acknowledged
}

/// The last lines of a log, for a failure message.
fn tail(log: &str) -> String {
    let lines: Vec<&str> = log.lines().collect();
    lines[lines.len().saturating_sub(15)..].join("\n")
}

/// The log lines that carry `message`.
fn count_lines(log: &str, message: &str) -> usize {
    log.lines().filter(|line| line.contains(message)).count()
}

/// The tmpfs outage, on SQLite (this is SQLite's failure: PostgreSQL runs
/// its own server with its own disk, see the connection-lost test below).
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_full_disk_refuses_submissions_keeps_every_receipt_and_recovers_without_a_restart() {
    let Some(disk) = SmallDisk::mount(6 * 1024 * 1024) else {
        return;
    };
    let url = format!(
        "sqlite://{}?mode=rwc",
        disk.path().join("hamlet.db").display()
    );

    // An outage, then a clean stop.
    let mut server = Server::start(&url);
    let acknowledged = fill_and_free(&server, &disk).await;
    assert!(acknowledged.len() > 20, "{} receipts", acknowledged.len());
    let log = server.log();
    let storage: Vec<&str> = log
        .lines()
        .filter(|line| line.contains("storage is"))
        .collect();
    assert_eq!(
        count_lines(&log, "storage is failing"),
        1,
        "the outage is logged once, not once per refusal:\n{}",
        storage.join("\n")
    );
    assert_eq!(count_lines(&log, "storage is back"), 1, "{}", tail(&log));
    server.stop();
    let (missing, verdict) = missing_from(&url, &acknowledged).await;
    assert!(
        missing.is_empty(),
        "after a clean stop, {} of {} acknowledged receipts are not stored: {:?}",
        missing.len(),
        acknowledged.len(),
        &missing[..missing.len().min(5)]
    );
    assert_eq!(verdict, "ok");

    // Another outage, then SIGKILL.
    let mut server = Server::start(&url);
    let acknowledged = fill_and_free(&server, &disk).await;
    server.child.kill().unwrap();
    server.child.wait().unwrap();
    let (missing, verdict) = missing_from(&url, &acknowledged).await;
    assert!(
        missing.is_empty(),
        "after SIGKILL, {} of {} acknowledged receipts are not stored: {:?}",
        missing.len(),
        acknowledged.len(),
        &missing[..missing.len().min(5)]
    );
    assert_eq!(verdict, "ok");
}

/// PostgreSQL's counterpart: the server ends hamlet's connections again and
/// again in the middle of a submission load (as a failover or a restarted
/// server would). No receipt is given for a transaction that did not
/// commit, refusals are `SERVICE_UNAVAILABLE`, and once the connections
/// are left alone hamlet stores again without a restart.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn lost_database_connections_lose_no_receipt_and_hamlet_reconnects() {
    let (url, _database) = crate::helpers::fresh_database().await;
    if !url.starts_with("postgres") {
        eprintln!("not run on SQLite: it has no connections to lose (see the full-disk test)");
        return;
    }
    let server = Server::start(&url);
    let killer = sea_orm::Database::connect(&url).await.unwrap();
    let stop = Arc::new(AtomicBool::new(false));
    let seen = Arc::new(Seen::default());
    let load = submit_until(&server.address, stop.clone(), seen.clone());

    // For three seconds, and on until more than ten connections were ended
    // (a slow machine makes fewer rounds), within a deadline.
    let mut terminated = 0;
    let started = Instant::now();
    while started.elapsed() < Duration::from_secs(3) || terminated <= 10 {
        assert!(
            started.elapsed() < Duration::from_secs(30),
            "only {terminated} connections were ended in 30 s"
        );
        tokio::time::sleep(Duration::from_millis(150)).await;
        let rows = killer
            .query_all_raw(sea_orm::Statement::from_string(
                sea_orm::DbBackend::Postgres,
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity \
                 WHERE datname = current_database() AND pid <> pg_backend_pid()",
            ))
            .await
            .unwrap();
        terminated += rows.len();
    }
    *seen.since_free.lock().unwrap() = Some(Instant::now());
    assert!(
        wait_for(Duration::from_secs(10), || seen
            .stored_after_free
            .lock()
            .unwrap()
            .is_some())
        .await,
        "nothing stored in the 10 s after the connections were left alone\n{}",
        tail(&server.log())
    );
    tokio::time::sleep(Duration::from_millis(300)).await;
    stop.store(true, Ordering::Release);
    for task in load {
        task.await.unwrap();
    }
    assert!(terminated > 10, "only {terminated} connections were ended");
    let malformed = seen.malformed.lock().unwrap().clone();
    assert!(
        malformed.is_empty(),
        "refusals not as SERVICE_UNAVAILABLE with Retry-After: {:?}",
        &malformed[..malformed.len().min(5)]
    );
    let client = reqwest::Client::new();
    assert_eq!(ready_status(&client, &server.address).await, 200);

    let acknowledged = seen.acknowledged.lock().unwrap().clone();
    let rows = killer
        .query_all_raw(sea_orm::Statement::from_string(
            sea_orm::DbBackend::Postgres,
            "SELECT reference FROM feedback",
        ))
        .await
        .unwrap();
    let stored: HashSet<String> = rows
        .iter()
        .map(|row| row.try_get_by_index::<String>(0).unwrap())
        .collect();
    let missing: Vec<&String> = acknowledged
        .iter()
        .filter(|reference| !stored.contains(*reference))
        .collect();
    eprintln!(
        "{terminated} connections ended; {} receipts, {} refusals",
        acknowledged.len(),
        seen.refused.load(Ordering::Acquire)
    );
    assert!(
        missing.is_empty(),
        "{} of {} acknowledged receipts are not stored: {:?}",
        missing.len(),
        acknowledged.len(),
        &missing[..missing.len().min(5)]
    );
    killer.close().await.unwrap();
}
