//! Load that runs alongside a measured workload, and workloads that are
//! timed request by request from here rather than by wrk.
//!
//! These take over what the integration tests once bounded by the wall
//! clock: the tests check the behaviour (submissions are answered during a
//! flood of sign-ins; a failing webhook receiver is retried after the publish
//! has answered), and the numbers, which depend on the machine, are measured
//! here on a release build.

use std::io::{Read as _, Write as _};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use anyhow::{Context as _, bail};

use crate::http;
use crate::wrk::Outcome;

/// Sign-ins sent as fast as `senders` clients can, until stopped: each one
/// is a deliberately costly password check on the server
/// (`a_flood_of_sign_ins_does_not_starve_submissions` in `tests/api`).
pub struct SignInFlood {
    stop: Arc<AtomicBool>,
    signed_in: Arc<AtomicU64>,
    refused: Arc<AtomicU64>,
    senders: Vec<JoinHandle<()>>,
}

impl SignInFlood {
    pub fn start(addr: SocketAddr, email: &str, password: &str, senders: usize) -> Self {
        let stop = Arc::new(AtomicBool::new(false));
        let signed_in = Arc::new(AtomicU64::new(0));
        let refused = Arc::new(AtomicU64::new(0));
        let body = serde_json::json!({
            "query": crate::LOGIN_MUTATION,
            "variables": { "email": email, "password": password },
        });
        let senders = (0..senders)
            .map(|_| {
                let (stop, signed_in, refused, body) = (
                    stop.clone(),
                    signed_in.clone(),
                    refused.clone(),
                    body.clone(),
                );
                std::thread::spawn(move || {
                    while !stop.load(Ordering::Relaxed) {
                        let answered = http::graphql(addr, &body, None);
                        let counter = match &answered {
                            Ok(answer) if answer["data"]["login"]["accessToken"].is_string() => {
                                &signed_in
                            }
                            _ => &refused,
                        };
                        counter.fetch_add(1, Ordering::Relaxed);
                    }
                })
            })
            .collect();
        Self {
            stop,
            signed_in,
            refused,
            senders,
        }
    }

    /// Stops the flood once each sender's sign-in in flight is answered;
    /// answers how many signed in and how many did not.
    pub fn stop(self) -> (u64, u64) {
        self.stop.store(true, Ordering::Relaxed);
        for sender in self.senders {
            let _ = sender.join();
        }
        (
            self.signed_in.load(Ordering::Relaxed),
            self.refused.load(Ordering::Relaxed),
        )
    }
}

/// A webhook receiver that answers every delivery 503, so each one is
/// retried later; it runs until dropped.
pub struct FailingReceiver {
    pub url: String,
    /// Deliveries answered 503 so far.
    pub refused: Arc<AtomicU64>,
    addr: SocketAddr,
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<()>>,
}

impl FailingReceiver {
    pub fn start() -> anyhow::Result<Self> {
        let listener = TcpListener::bind("127.0.0.1:0").context("binding the webhook receiver")?;
        let addr = listener.local_addr()?;
        let stop = Arc::new(AtomicBool::new(false));
        let refused = Arc::new(AtomicU64::new(0));
        let (stopping, counted) = (stop.clone(), refused.clone());
        let thread = std::thread::spawn(move || {
            for stream in listener.incoming() {
                if stopping.load(Ordering::Relaxed) {
                    return;
                }
                if let Ok(stream) = stream {
                    refuse(stream);
                    counted.fetch_add(1, Ordering::Relaxed);
                }
            }
        });
        Ok(Self {
            url: format!("http://{addr}/hook"),
            refused,
            addr,
            stop,
            thread: Some(thread),
        })
    }
}

impl Drop for FailingReceiver {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        // Wake the accept loop so it sees the flag.
        let _ = TcpStream::connect_timeout(&self.addr, Duration::from_secs(1));
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

/// Reads one request (headers, then a body of its Content-Length) and
/// answers 503.
fn refuse(mut stream: TcpStream) {
    let _ = stream.set_read_timeout(Some(Duration::from_secs(5)));
    let mut request = Vec::new();
    let mut buffer = [0u8; 4096];
    let body_end = loop {
        let Ok(read) = stream.read(&mut buffer) else {
            return;
        };
        if read == 0 {
            return;
        }
        request.extend_from_slice(&buffer[..read]);
        if let Some(split) = request.windows(4).position(|window| window == b"\r\n\r\n") {
            let head = String::from_utf8_lossy(&request[..split]).to_ascii_lowercase();
            let length: usize = head
                .lines()
                .find_map(|line| line.strip_prefix("content-length:"))
                .and_then(|value| value.trim().parse().ok())
                .unwrap_or(0);
            break split + 4 + length;
        }
    };
    while request.len() < body_end {
        match stream.read(&mut buffer) {
            Ok(0) | Err(_) => break,
            Ok(read) => request.extend_from_slice(&buffer[..read]),
        }
    }
    let _ = stream.write_all(
        b"HTTP/1.1 503 Service Unavailable\r\nContent-Length: 0\r\nConnection: close\r\n\r\n",
    );
}

const CREATE_WEBHOOK: &str =
    "mutation($url: String!) { createWebhook(url: $url) { webhook { id } secret } }";
const SAVE_PAGE: &str = "mutation($input: SavePageInput!) { savePage(input: $input) { id } }";
const PUBLISH: &str = "mutation($id: ID!) { publishPage(id: $id) { status } }";
const UNPUBLISH: &str = "mutation($id: ID!) { unpublishPage(id: $id) { status } }";

/// Publishes and unpublishes one page of its own, one request at a time, for
/// `duration`, while every webhook delivery those changes queue fails: how
/// long an edit takes while a receiver is down
/// (`webhooks_get_signed_deliveries_retried_until_they_succeed` in
/// `tests/api` checks the retries). `token` is an admin's and editor's.
pub fn publish_with_a_failing_webhook(
    addr: SocketAddr,
    token: &str,
    receiver: &FailingReceiver,
    duration: Duration,
) -> anyhow::Result<Outcome> {
    let created = http::graphql(
        addr,
        &serde_json::json!({ "query": CREATE_WEBHOOK, "variables": { "url": receiver.url } }),
        Some(token),
    )?;
    if created["data"]["createWebhook"]["webhook"]["id"]
        .as_str()
        .is_none()
    {
        bail!("createWebhook did not answer with a webhook: {created}");
    }
    let slug = format!("bench-{}", &uuid::Uuid::new_v4().simple().to_string()[..12]);
    let saved = http::graphql(
        addr,
        &serde_json::json!({ "query": SAVE_PAGE, "variables": { "input": {
            "slug": slug, "title": "Bench page", "body": "Published and unpublished by the bench.",
        } } }),
        Some(token),
    )?;
    let Some(page) = saved["data"]["savePage"]["id"].as_str().map(str::to_owned) else {
        bail!("savePage did not answer with a page: {saved}");
    };

    let mut latencies = Vec::new();
    let (mut read_errors, mut graphql_errors) = (0, 0);
    let started = Instant::now();
    while started.elapsed() < duration {
        let query = if latencies.len() % 2 == 0 {
            PUBLISH
        } else {
            UNPUBLISH
        };
        let body = serde_json::json!({ "query": query, "variables": { "id": page } });
        let sent = Instant::now();
        let answer = http::graphql(addr, &body, Some(token));
        latencies.push(sent.elapsed());
        match answer {
            Ok(answer) if !http::error_codes(&answer).is_empty() => graphql_errors += 1,
            Ok(_) => {}
            Err(_) => read_errors += 1,
        }
    }
    Ok(outcome(
        &mut latencies,
        started.elapsed(),
        read_errors,
        graphql_errors,
    ))
}

/// wrk's summary of requests timed one by one here.
fn outcome(
    latencies: &mut [Duration],
    elapsed: Duration,
    read_errors: u64,
    graphql_errors: u64,
) -> Outcome {
    latencies.sort_unstable();
    let micros = |latency: Option<&Duration>| {
        latency.map_or(0, |latency| {
            u64::try_from(latency.as_micros()).unwrap_or(u64::MAX)
        })
    };
    let at = |fraction: f64| {
        let index = ((latencies.len() as f64 * fraction).ceil() as usize).saturating_sub(1);
        micros(latencies.get(index))
    };
    let total: u128 = latencies.iter().map(Duration::as_micros).sum();
    Outcome {
        requests: latencies.len() as u64,
        duration_us: u64::try_from(elapsed.as_micros()).unwrap_or(u64::MAX),
        bytes: 0,
        connect_errors: 0,
        read_errors,
        write_errors: 0,
        status_errors: 0,
        timeouts: 0,
        graphql_errors,
        mean_us: total as f64 / latencies.len().max(1) as f64,
        p50_us: at(0.50),
        p90_us: at(0.90),
        p99_us: at(0.99),
        max_us: micros(latencies.last()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn timed_requests_are_summed_up_as_wrk_would() {
        let mut latencies: Vec<Duration> = (1..=100).rev().map(Duration::from_millis).collect();
        let summary = outcome(&mut latencies, Duration::from_secs(2), 1, 2);
        assert_eq!(summary.requests, 100);
        assert_eq!(summary.p50_us, 50_000);
        assert_eq!(summary.p99_us, 99_000);
        assert_eq!(summary.max_us, 100_000);
        assert!((summary.requests_per_second() - 50.0).abs() < 1e-9);
        assert_eq!(summary.socket_errors(), 1);
    }
}
