//! Drives the server with wrk, pinned to its own core, and reads back the
//! JSON line that `lua/report.lua` prints when wrk is done.
//!
//! The Lua scripts live in `bench/lua/` and are built into the binary; each
//! run writes one file made of a generated `BENCH` table (the requests'
//! bodies, the moderator's token), `report.lua` and the workload's script,
//! because wrk takes a single script.

use std::fmt::Write as _;
use std::net::SocketAddr;
use std::path::Path;
use std::process::Command;
use std::time::Duration;

use anyhow::{Context as _, bail};

const REPORT: &str = include_str!("../lua/report.lua");

/// The Lua script for each way of loading the server.
#[derive(Clone, Copy, Debug)]
pub enum Script {
    ContentPost,
    ContentGet,
    Submit,
    Queue,
    ConsoleQueue,
    ResidentsPage,
    Mixed,
}

impl Script {
    fn source(self) -> (&'static str, &'static str) {
        match self {
            Self::ContentPost => ("content_post", include_str!("../lua/content_post.lua")),
            Self::ContentGet => ("content_get", include_str!("../lua/content_get.lua")),
            Self::Submit => ("submit", include_str!("../lua/submit.lua")),
            Self::Queue => ("queue", include_str!("../lua/queue.lua")),
            Self::ConsoleQueue => ("console_queue", include_str!("../lua/console_queue.lua")),
            Self::ResidentsPage => ("residents_page", include_str!("../lua/residents_page.lua")),
            Self::Mixed => ("mixed", include_str!("../lua/mixed.lua")),
        }
    }
}

/// Values the scripts read from their `BENCH` table.
#[derive(Clone)]
pub struct Params {
    pub run_id: String,
    pub content_post_body: String,
    pub content_get_path: String,
    /// The same read by its persisted query's hash alone.
    pub persisted_get_path: String,
    pub submit_body_before: String,
    pub submit_body_after: String,
    /// The realistic submission's body, split where the key goes.
    pub realistic_submit_body: (String, String),
    pub queue_body: String,
    /// The console's queue page for the same service.
    pub console_queue_path: String,
    /// The residents' feedback page.
    pub residents_page_path: String,
    pub token: String,
}

impl Params {
    /// The same, with the realistic submission as the one `submit.lua` sends.
    pub fn realistic_submit(&self) -> Self {
        let (before, after) = self.realistic_submit_body.clone();
        Self {
            submit_body_before: before,
            submit_body_after: after,
            ..self.clone()
        }
    }
}

/// One wrk run, as `report.lua` tells it.
#[derive(Debug, Clone, serde::Deserialize, serde::Serialize)]
pub struct Outcome {
    pub requests: u64,
    pub duration_us: u64,
    pub bytes: u64,
    pub connect_errors: u64,
    pub read_errors: u64,
    pub write_errors: u64,
    /// Answers with an HTTP status of 400 or above.
    pub status_errors: u64,
    pub timeouts: u64,
    /// 200 answers with GraphQL `errors`.
    pub graphql_errors: u64,
    pub mean_us: f64,
    pub p50_us: u64,
    pub p90_us: u64,
    pub p99_us: u64,
    pub max_us: u64,
}

impl Outcome {
    pub fn requests_per_second(&self) -> f64 {
        if self.duration_us == 0 {
            return 0.0;
        }
        self.requests as f64 / (self.duration_us as f64 / 1e6)
    }

    /// Socket-level failures: the request got no HTTP answer.
    pub fn socket_errors(&self) -> u64 {
        self.connect_errors + self.read_errors + self.write_errors + self.timeouts
    }

    /// Requests answered 2xx without GraphQL errors.
    pub fn succeeded(&self) -> u64 {
        self.requests
            .saturating_sub(self.status_errors)
            .saturating_sub(self.graphql_errors)
    }
}

/// Where and how hard to push.
pub struct Load<'a> {
    pub addr: SocketAddr,
    pub connections: u32,
    pub threads: u32,
    pub duration: Duration,
    /// The core wrk is pinned to.
    pub cpu: u32,
    pub scratch: &'a Path,
}

/// Runs wrk with `script` and returns what it measured.
pub fn run(script: Script, params: &Params, load: &Load<'_>) -> anyhow::Result<Outcome> {
    let (name, source) = script.source();
    let path = load.scratch.join(format!("{name}.lua"));
    let text = format!("{}\n{REPORT}\n{source}", prelude(params));
    std::fs::write(&path, text).with_context(|| format!("writing {}", path.display()))?;

    let output = Command::new("taskset")
        .arg("-c")
        .arg(load.cpu.to_string())
        .arg("wrk")
        .arg(format!("--threads={}", load.threads))
        .arg(format!("--connections={}", load.connections))
        .arg(format!("--duration={}s", load.duration.as_secs().max(1)))
        .arg("--timeout=5s")
        .arg(format!("--script={}", path.display()))
        .arg(format!("http://{}/graphql", load.addr))
        .output()
        .context("running wrk through taskset (install wrk: apt-get install -y wrk)")?;
    let stdout = String::from_utf8_lossy(&output.stdout);
    if !output.status.success() {
        bail!(
            "wrk failed ({}): {}{}",
            output.status,
            stdout,
            String::from_utf8_lossy(&output.stderr)
        );
    }
    let line = stdout
        .lines()
        .find_map(|line| line.strip_prefix("HAMLET_BENCH_RESULT "))
        .with_context(|| format!("wrk printed no result line:\n{stdout}"))?;
    serde_json::from_str(line).with_context(|| format!("reading wrk's result {line}"))
}

/// wrk's version line, for the report.
pub fn version() -> String {
    Command::new("wrk")
        .arg("--version")
        .output()
        .map(|output| {
            // wrk prints its version, then its usage, and exits 1.
            let text = String::from_utf8_lossy(&output.stdout).into_owned()
                + &String::from_utf8_lossy(&output.stderr);
            let first = text.lines().next().unwrap_or_default();
            // "wrk debian/4.1.0-3+b2 [epoll] Copyright …": keep the version.
            first.split(" [").next().unwrap_or(first).trim().to_owned()
        })
        .unwrap_or_else(|_| "not installed".to_owned())
}

fn prelude(params: &Params) -> String {
    let mut lua = String::from("BENCH = {\n");
    for (key, value) in [
        ("run_id", &params.run_id),
        ("content_post_body", &params.content_post_body),
        ("content_get_path", &params.content_get_path),
        ("submit_body_before", &params.submit_body_before),
        ("submit_body_after", &params.submit_body_after),
        ("queue_body", &params.queue_body),
        ("console_queue_path", &params.console_queue_path),
        ("residents_page_path", &params.residents_page_path),
        ("token", &params.token),
    ] {
        let _ = writeln!(lua, "  {key} = {},", lua_string(value));
    }
    lua.push_str("}\n");
    lua
}

/// A Lua string literal holding exactly `text`.
fn lua_string(text: &str) -> String {
    let mut out = String::with_capacity(text.len() + 2);
    out.push('"');
    for byte in text.bytes() {
        match byte {
            b'"' => out.push_str("\\\""),
            b'\\' => out.push_str("\\\\"),
            // Decimal escapes keep newlines and any other byte exact.
            b' '..=b'~' => out.push(char::from(byte)),
            _ => {
                let _ = write!(out, "\\{byte:03}");
            }
        }
    }
    out.push('"');
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lua_strings_escape_quotes_backslashes_and_other_bytes() {
        assert_eq!(lua_string(r#"{"a":"b\n"}"#), r#""{\"a\":\"b\\n\"}""#);
        assert_eq!(lua_string("a\nb"), "\"a\\010b\"");
        assert_eq!(lua_string("é"), "\"\\195\\169\"");
    }
}
