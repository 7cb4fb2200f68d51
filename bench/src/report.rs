//! What a run measured: the machine, the setup and one row per workload,
//! printed as a table and written as JSON.

use std::path::Path;
use std::process::Command;

use anyhow::Context as _;
use serde::Serialize;

use crate::fill::FillReport;
use crate::wrk::Outcome;

/// The machine the numbers come from.
#[derive(Debug, Serialize)]
pub struct Machine {
    pub cpus: usize,
    pub cpu_model: String,
    pub memory_gib: f64,
    pub kernel: String,
    pub wrk: String,
}

impl Machine {
    pub fn describe(wrk_version: String) -> Self {
        let cpuinfo = std::fs::read_to_string("/proc/cpuinfo").unwrap_or_default();
        let cpus = cpuinfo
            .lines()
            .filter(|line| line.starts_with("processor"))
            .count();
        let cpu_model = cpuinfo
            .lines()
            .find(|line| line.starts_with("model name"))
            .and_then(|line| line.split_once(':'))
            .map(|(_, model)| model.trim().to_owned())
            .unwrap_or_else(|| "unknown".to_owned());
        let memory_kib: f64 = std::fs::read_to_string("/proc/meminfo")
            .unwrap_or_default()
            .lines()
            .find(|line| line.starts_with("MemTotal:"))
            .and_then(|line| line.split_whitespace().nth(1))
            .and_then(|kib| kib.parse().ok())
            .unwrap_or(0.0);
        let kernel = std::fs::read_to_string("/proc/sys/kernel/osrelease")
            .map(|text| text.trim().to_owned())
            .unwrap_or_default();
        Self {
            cpus,
            cpu_model,
            memory_gib: (memory_kib / 1024.0 / 1024.0 * 10.0).round() / 10.0,
            kernel,
            wrk: wrk_version,
        }
    }
}

/// The sources measured: the commit, and whether the tree differed from it.
pub fn git_commit(workspace: &Path) -> String {
    let git = |args: &[&str]| {
        Command::new("git")
            .arg("-C")
            .arg(workspace)
            .args(args)
            .output()
            .ok()
            .filter(|output| output.status.success())
            .map(|output| String::from_utf8_lossy(&output.stdout).trim().to_owned())
    };
    match git(&["rev-parse", "--short=12", "HEAD"]) {
        Some(commit) => match git(&["status", "--porcelain", "--untracked-files=no"]) {
            Some(changes) if !changes.is_empty() => format!("{commit}-dirty"),
            _ => commit,
        },
        None => "unknown".to_owned(),
    }
}

/// Rows written while a workload ran, against what wrk saw acknowledged.
#[derive(Debug, Clone, Serialize)]
pub struct Stored {
    pub before: i64,
    pub after: i64,
    pub stored: i64,
    /// 2xx answers without GraphQL errors, for workloads where each one
    /// stores a row.
    pub acknowledged: Option<u64>,
    /// Whether every acknowledged submission was stored. A few more rows than
    /// acknowledged is right: requests still in flight when wrk stopped are
    /// stored, but wrk does not count their answers.
    pub consistent: Option<bool>,
}

/// One workload's result, or why it did not run.
#[derive(Debug, Clone, Serialize)]
pub struct WorkloadResult {
    pub name: String,
    pub workload: String,
    pub connections: u32,
    pub available: bool,
    pub note: Option<String>,
    pub requests_per_second: Option<f64>,
    pub p50_ms: Option<f64>,
    pub p99_ms: Option<f64>,
    pub wrk: Option<Outcome>,
    pub peak_rss_bytes: Option<u64>,
    /// `clear_refs` (peak reset before the workload) or `restart` (a fresh
    /// server for the workload, where the reset was refused).
    pub peak_rss_method: Option<String>,
    pub stored: Option<Stored>,
    pub target: Option<String>,
    pub meets_target: Option<bool>,
}

impl WorkloadResult {
    pub fn unavailable(name: &str, workload: &str, connections: u32, note: String) -> Self {
        Self {
            name: name.to_owned(),
            workload: workload.to_owned(),
            connections,
            available: false,
            note: Some(note),
            requests_per_second: None,
            p50_ms: None,
            p99_ms: None,
            wrk: None,
            peak_rss_bytes: None,
            peak_rss_method: None,
            stored: None,
            target: None,
            meets_target: None,
        }
    }
}

/// A whole run.
#[derive(Debug, Serialize)]
pub struct Report {
    pub date: String,
    pub git_commit: String,
    pub machine: Machine,
    pub database: String,
    pub database_version: String,
    pub rows: u64,
    pub fill: FillReport,
    pub duration_seconds: u64,
    pub server_cpu: u32,
    pub wrk_cpu: u32,
    pub wrk_threads: u32,
    pub start_to_ready_ms: f64,
    pub idle_rss_bytes: u64,
    pub startup_targets_met: StartupTargets,
    /// Screening one long comment for safeguarding concerns, on the
    /// server's core, outside the server.
    pub screening: Option<Screening>,
    pub workloads: Vec<WorkloadResult>,
}

/// The safeguarding detector's own cost, as `hamlet evaluate safeguarding
/// --timing` measures it.
#[derive(Debug, Serialize)]
pub struct Screening {
    pub rules_load_ms: f64,
    pub comment_bytes: u64,
    pub per_comment_us: f64,
    /// Loading under 50 ms and screening the comment in at most 50 µs.
    pub meets_target: bool,
}

#[derive(Debug, Serialize)]
pub struct StartupTargets {
    /// Start to ready under 300 ms.
    pub start_to_ready: bool,
    /// Idle RSS under 30 MB.
    pub idle_rss: bool,
}

/// Megabytes (10^6 bytes), as the targets are written.
pub fn mb(bytes: u64) -> f64 {
    bytes as f64 / 1e6
}

impl Report {
    pub fn print(&self) {
        println!();
        println!(
            "hamlet {} on {} ({} CPUs, {} GiB), {}",
            self.git_commit,
            self.machine.cpu_model,
            self.machine.cpus,
            self.machine.memory_gib,
            self.date
        );
        println!(
            "database: {} ({}), {} feedback rows (filled in {:.1} s, {:.0} rows/s)",
            self.database,
            self.database_version,
            self.rows,
            self.fill.seconds,
            self.rows as f64 / self.fill.seconds.max(1e-9)
        );
        println!(
            "server pinned to CPU {}, {} on CPU {} ({} thread), {} s per workload",
            self.server_cpu,
            self.machine.wrk,
            self.wrk_cpu,
            self.wrk_threads,
            self.duration_seconds
        );
        println!(
            "start to ready: {:.0} ms (target < 300 ms: {}); idle RSS: {:.1} MB (target < 30 MB: {})",
            self.start_to_ready_ms,
            yes_no(self.startup_targets_met.start_to_ready),
            mb(self.idle_rss_bytes),
            yes_no(self.startup_targets_met.idle_rss)
        );
        match &self.screening {
            Some(screening) => println!(
                "safeguarding screening: {:.1} µs for a {} byte comment, rules load {:.1} ms (targets ≤ 50 µs, < 50 ms: {})",
                screening.per_comment_us,
                screening.comment_bytes,
                screening.rules_load_ms,
                yes_no(screening.meets_target)
            ),
            None => println!("safeguarding screening: not measured"),
        }
        println!();
        println!(
            "{:<16} {:>5} {:>10} {:>8} {:>8} {:>8} {:>7} {:>8} {:>9}  {:<26} met",
            "workload",
            "conns",
            "req/s",
            "p50 ms",
            "p99 ms",
            "non-2xx",
            "socket",
            "gql-err",
            "peak MB",
            "target",
        );
        for result in &self.workloads {
            match (&result.wrk, result.available) {
                (Some(outcome), true) => println!(
                    "{:<16} {:>5} {:>10.0} {:>8.2} {:>8.2} {:>8} {:>7} {:>8} {:>9.1}  {:<26} {}",
                    result.name,
                    result.connections,
                    outcome.requests_per_second(),
                    outcome.p50_us as f64 / 1000.0,
                    outcome.p99_us as f64 / 1000.0,
                    outcome.status_errors,
                    outcome.socket_errors(),
                    outcome.graphql_errors,
                    result.peak_rss_bytes.map_or(f64::NAN, mb),
                    result.target.as_deref().unwrap_or("-"),
                    result.meets_target.map_or("-", yes_no)
                ),
                _ => println!(
                    "{:<16} {:>5}  {}",
                    result.name,
                    result.connections,
                    result.note.as_deref().unwrap_or("did not run")
                ),
            }
        }
        for result in &self.workloads {
            if let Some(stored) = &result.stored {
                match (stored.acknowledged, stored.consistent) {
                    (Some(acknowledged), Some(consistent)) => println!(
                        "{}: {} rows stored for {} acknowledged submissions ({})",
                        result.name,
                        stored.stored,
                        acknowledged,
                        if consistent { "consistent" } else { "MISMATCH" }
                    ),
                    _ => println!("{}: {} rows stored", result.name, stored.stored),
                }
            }
        }
    }

    pub fn write_json(&self, path: &Path) -> anyhow::Result<()> {
        if let Some(dir) = path.parent().filter(|dir| !dir.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
        }
        let text = serde_json::to_string_pretty(self)?;
        std::fs::write(path, text + "\n").with_context(|| format!("writing {}", path.display()))
    }
}

fn yes_no(value: bool) -> &'static str {
    if value { "yes" } else { "no" }
}
