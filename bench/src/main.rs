//! hamlet-bench: hamlet's load benchmark.
//!
//! ```sh
//! cargo run --release -p hamlet-bench -- --rows 100000
//! ```
//!
//! One run builds the release server, makes a fresh database (a SQLite file
//! in a temporary folder, or `hamlet_bench_…` on the PostgreSQL server given
//! with `--database-url`), migrates and seeds it with the `hamlet` binary,
//! fills it with realistic feedback, starts the server pinned to one core and
//! drives each workload with wrk pinned to another, then prints a table,
//! writes the same as JSON and removes everything it made.
//!
//! It measures; it changes nothing in the server. The numbers mean most on an
//! otherwise idle machine with at least two cores.

mod alongside;
mod database;
mod fill;
mod http;
mod report;
mod server;
mod wrk;

use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Duration;

use anyhow::{Context as _, bail};
use clap::{Parser, ValueEnum};
use sea_orm::DatabaseConnection;

use crate::database::BenchDatabase;
use crate::report::{Machine, Report, Screening, StartupTargets, Stored, WorkloadResult, mb};
use crate::server::{Server, Setup};

/// The service every feedback workload writes about and the moderator's
/// queue reads: the partnership's busiest.
const SERVICE_SLUG: &str = "royal-london-emergency-department";
const PAGE_QUERY: &str =
    r#"{ page(slug: "vision-and-purpose") { title body bodyHtml media { kind title url } } }"#;
const SUBMIT_MUTATION: &str = "mutation Submit($input: SubmitFeedbackInput!) { \
     submitFeedback(input: $input) { reference receivedAt replayed } }";
const QUEUE_QUERY: &str = r#"{ feedbackQueue(filter: {status: NEW, serviceSlug: "royal-london-emergency-department"}, first: 20) { totalCount edges { node { id reference rating comment receivedAt service { name } } } } }"#;
const LOGIN_MUTATION: &str = "mutation Login($email: String!, $password: String!) { \
     login(email: $email, password: $password) { accessToken } }";
const MODERATOR_EMAIL: &str = "bench-moderator@example.org";
/// An admin who is also an editor: sets up a webhook, then publishes.
const EDITOR_EMAIL: &str = "bench-editor@example.org";
/// Sign-ins in flight at once in `signin-flood`, as in the test it measures.
const FLOOD_SENDERS: usize = 96;
/// Where the idempotency key goes in the submit body; the Lua scripts put a
/// new key there on every request.
const KEY_SLOT: &str = "@@IDEMPOTENCY_KEY@@";

#[derive(Parser, Debug)]
#[command(
    name = "hamlet-bench",
    about = "Load benchmark for hamlet: fresh database, realistic data, release server on one core, wrk on another"
)]
struct Cli {
    /// Feedback rows to fill the database with before measuring.
    #[arg(long, default_value_t = 100_000)]
    rows: u64,
    /// A PostgreSQL server to bench on instead of SQLite, as a URL to a
    /// database the user may create databases from (e.g.
    /// postgres://postgres@127.0.0.1:5432/postgres). A fresh
    /// hamlet_bench_<random> database is created there and dropped at the end.
    #[arg(long, env = "HAMLET_BENCH_DATABASE_URL")]
    database_url: Option<String>,
    /// Seconds each workload runs.
    #[arg(long, default_value_t = 10)]
    duration: u64,
    /// Workloads to run, in order.
    #[arg(
        long,
        value_delimiter = ',',
        default_value = "content,submit,queue,mixed"
    )]
    workloads: Vec<Workload>,
    /// Also write the results here as JSON (always written to
    /// bench/results/latest.json).
    #[arg(long)]
    json: Option<PathBuf>,
    /// Seed for the generated data.
    #[arg(long, default_value_t = 1)]
    seed: u64,
    /// wrk threads (they share wrk's one core).
    #[arg(long, default_value_t = 1)]
    wrk_threads: u32,
    /// The core the server is pinned to.
    #[arg(long, default_value_t = 0)]
    server_cpu: u32,
    /// The core wrk is pinned to.
    #[arg(long, default_value_t = 1)]
    wrk_cpu: u32,
    /// Use this server binary instead of building target/release/hamlet.
    #[arg(long)]
    hamlet: Option<PathBuf>,
    /// Keep the database and the scratch folder (server log, Lua scripts)
    /// for a look afterwards, e.g. at query plans.
    #[arg(long)]
    keep: bool,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
enum Workload {
    /// The vision-and-purpose page, as POST and as GET, 32 connections.
    Content,
    /// submitFeedback with a new idempotency key each time, 64 connections.
    Submit,
    /// submitFeedback as residents send it: a 300-character comment and an
    /// email with consent, a new idempotency key each time, 64 connections.
    SubmitRealistic,
    /// A moderator's first 20 new feedback for one service, 32 connections.
    Queue,
    /// The console's queue page for the same service, signed in, 32
    /// connections.
    ConsoleQueue,
    /// The residents' feedback page (rendered HTML, no session), 32
    /// connections.
    ResidentsPage,
    /// 90% content GET, 9% submit, 1% queue, 32 connections.
    Mixed,
    /// submitFeedback as in `submit`, 16 connections, while 96 clients sign
    /// in over and over (each a costly password check): how promptly
    /// submissions are answered during a flood of sign-ins.
    SigninFlood,
    /// publishPage and unpublishPage in turn, one at a time, while the
    /// webhook every change is delivered to answers 503: how long an edit
    /// takes while a receiver is down.
    PublishWebhook,
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(error) => {
            eprintln!("hamlet-bench: cannot start the async runtime: {error}");
            return ExitCode::FAILURE;
        }
    };
    match run(&cli, &runtime) {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("hamlet-bench: {error:#}");
            ExitCode::FAILURE
        }
    }
}

/// A folder for the run's database, scripts and server log, removed on drop
/// unless kept.
struct Scratch(PathBuf, bool);

impl Scratch {
    fn new(keep: bool) -> anyhow::Result<Self> {
        let dir =
            std::env::temp_dir().join(format!("hamlet-bench-{}", uuid::Uuid::new_v4().simple()));
        std::fs::create_dir_all(&dir).with_context(|| format!("creating {}", dir.display()))?;
        Ok(Self(dir, keep))
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        if self.1 {
            eprintln!("kept {}", self.0.display());
            return;
        }
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

fn run(cli: &Cli, runtime: &tokio::runtime::Runtime) -> anyhow::Result<()> {
    if cli.rows == 0 || cli.duration == 0 {
        bail!("--rows and --duration must be at least 1");
    }
    let wrk_version = wrk::version();
    if wrk_version == "not installed" {
        bail!("wrk is not installed: apt-get install -y wrk");
    }
    let workspace = Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .context("the bench crate sits inside the workspace")?
        .to_path_buf();
    let binary = match &cli.hamlet {
        Some(binary) => binary.clone(),
        None => server::build(&workspace)?,
    };

    let scratch = Scratch::new(cli.keep)?;
    let database = match &cli.database_url {
        None => BenchDatabase::sqlite(&scratch.0),
        Some(url) => runtime.block_on(BenchDatabase::postgres(url))?,
    };
    eprintln!("bench database: {}", database::redact(&database.url));
    let outcome = bench(
        cli,
        runtime,
        &workspace,
        binary,
        &scratch.0,
        &database,
        wrk_version,
    );
    if cli.keep {
        eprintln!("kept the database {}", database::redact(&database.url));
    } else if let Err(error) = runtime.block_on(database.drop_database()) {
        eprintln!("hamlet-bench: could not drop the bench database: {error:#}");
    }
    let report = outcome?;
    report.print();
    let mut paths = vec![workspace.join("bench/results/latest.json")];
    paths.extend(cli.json.clone());
    for path in paths {
        report.write_json(&path)?;
        eprintln!("results written to {}", path.display());
    }
    Ok(())
}

fn bench(
    cli: &Cli,
    runtime: &tokio::runtime::Runtime,
    workspace: &Path,
    binary: PathBuf,
    scratch: &Path,
    database: &BenchDatabase,
    wrk_version: String,
) -> anyhow::Result<Report> {
    let setup = Setup {
        binary,
        database_url: database.url.clone(),
        dir: scratch.to_path_buf(),
        cpu: cli.server_cpu,
    };
    eprintln!("migrating and seeding");
    setup.run(&["migrate"], None)?;
    setup.run(&["seed"], None)?;
    for (name, site) in [
        ("Emergency department kiosk", "Royal London Hospital"),
        ("Outpatients kiosk", "Mile End Hospital"),
        ("Library kiosk", "Idea Store Whitechapel"),
    ] {
        setup.run(&["kiosk", "create", "--name", name, "--site", site], None)?;
    }

    let db = runtime.block_on(database.connect())?;
    let database_version = runtime.block_on(database.engine_version(&db))?;
    eprintln!("filling {} feedback rows", cli.rows);
    let fill = runtime.block_on(fill::fill(&db, cli.rows, cli.seed, SERVICE_SLUG))?;
    eprintln!(
        "filled {} rows in {:.1} s ({:.0} rows/s); {} new for {SERVICE_SLUG}",
        fill.rows,
        fill.seconds,
        fill.rows as f64 / fill.seconds.max(1e-9),
        fill.new_for_queue_service
    );

    eprintln!("timing safeguarding screening");
    let screening = match measure_screening(&setup) {
        Ok(screening) => Some(screening),
        Err(error) => {
            eprintln!("safeguarding screening not measured: {error:#}");
            None
        }
    };

    let mut server = Server::start(&setup)?;
    let start_to_ready = server.start_to_ready;
    std::thread::sleep(Duration::from_secs(1));
    let idle_rss = server.rss()?;
    eprintln!(
        "server ready in {:.0} ms at {}, idle RSS {:.1} MB",
        start_to_ready.as_secs_f64() * 1000.0,
        server.addr,
        mb(idle_rss)
    );

    let mut params = check_and_prepare(&server)?;
    let staff = prepare_moderator(&server, &setup);
    if let Err(reason) = &staff {
        eprintln!("queue, mixed and signin-flood: {reason}");
    }
    let editor = if cli.workloads.contains(&Workload::PublishWebhook) {
        prepare_editor(&setup)
    } else {
        Err("not asked for".to_owned())
    };

    let load = |server: &Server, connections: u32| wrk::Load {
        addr: server.addr,
        connections,
        threads: cli.wrk_threads.min(connections),
        duration: Duration::from_secs(cli.duration),
        cpu: cli.wrk_cpu,
        scratch,
    };
    let mut results = Vec::new();
    for workload in &cli.workloads {
        match workload {
            Workload::Content => {
                let persisted = wrk::Params {
                    content_get_path: params.persisted_get_path.clone(),
                    ..params.clone()
                };
                for (name, script, params) in [
                    ("content (POST)", wrk::Script::ContentPost, &params),
                    ("content (GET)", wrk::Script::ContentGet, &params),
                    (
                        "content (GET, persisted)",
                        wrk::Script::ContentGet,
                        &persisted,
                    ),
                ] {
                    eprintln!("running {name}");
                    let (next, result) = measure(server, &setup, |server| {
                        wrk::run(script, params, &load(server, 32))
                    })?;
                    server = next;
                    results.push(finish(name, "content", 32, result, None, |rps, p99| {
                        ("≥50000/s p99<2ms", rps >= 50_000.0 && p99 < 2.0)
                    }));
                }
                // The reference: a bare axum handler answering hamlet's own
                // bytes for the same read from memory, on the same core.
                let answer = http::get(server.addr, &params.content_get_path)?;
                let body = setup.dir.join("content-answer.json");
                std::fs::write(&body, answer.body.as_bytes())?;
                eprintln!("running bare handler (GET)");
                let bare = Server::start_bare(&setup, &body)?;
                let (bare, result) = measure(bare, &setup, |bare| {
                    wrk::run(wrk::Script::ContentGet, &params, &load(bare, 32))
                })?;
                bare.stop()?;
                let reference = result.0.requests_per_second();
                results.push(finish(
                    "bare handler (GET)",
                    "content",
                    32,
                    result,
                    None,
                    |_, _| ("reference", true),
                ));
                let hamlet_get = results
                    .iter()
                    .rev()
                    .find(|result| result.name == "content (GET)")
                    .and_then(|result| result.requests_per_second);
                if let Some(hamlet_get) = hamlet_get.filter(|_| reference > 0.0) {
                    eprintln!(
                        "content GET: {:.2}x the bare handler (target ≥ 0.5x)",
                        hamlet_get / reference
                    );
                }
            }
            Workload::ResidentsPage => {
                let name = "residents-page";
                eprintln!("running {name}");
                let (next, result) = measure(server, &setup, |server| {
                    wrk::run(wrk::Script::ResidentsPage, &params, &load(server, 32))
                })?;
                server = next;
                results.push(finish(name, name, 32, result, None, |_, _| {
                    ("peak RSS<100MB", true)
                }));
            }
            Workload::Submit | Workload::SubmitRealistic => {
                let (name, params) = if *workload == Workload::Submit {
                    ("submit", params.clone())
                } else {
                    ("submit-realistic", params.realistic_submit())
                };
                eprintln!("running {name}");
                let before = runtime.block_on(BenchDatabase::count_feedback(&db))?;
                let (next, result) = measure(server, &setup, |server| {
                    wrk::run(wrk::Script::Submit, &params, &load(server, 64))
                })?;
                server = next;
                let stored = stored_rows(runtime, &db, before, &result.0, Some(64))?;
                results.push(finish(name, name, 64, result, Some(stored), |rps, p99| {
                    ("≥10000/s p99<20ms", rps >= 10_000.0 && p99 < 20.0)
                }));
            }
            Workload::SigninFlood => {
                let (name, connections) = ("signin-flood", 16);
                let password = match &staff {
                    Ok(password) => password,
                    Err(reason) => {
                        results.push(WorkloadResult::unavailable(
                            name,
                            name,
                            connections,
                            reason.clone(),
                        ));
                        continue;
                    }
                };
                eprintln!("running {name} ({FLOOD_SENDERS} sign-ins in flight)");
                let before = runtime.block_on(BenchDatabase::count_feedback(&db))?;
                let mut sign_ins = (0, 0);
                let (next, result) = measure(server, &setup, |server| {
                    let flood = alongside::SignInFlood::start(
                        server.addr,
                        MODERATOR_EMAIL,
                        password,
                        FLOOD_SENDERS,
                    );
                    let outcome =
                        wrk::run(wrk::Script::Submit, &params, &load(server, connections));
                    sign_ins = flood.stop();
                    outcome
                })?;
                server = next;
                let stored = stored_rows(runtime, &db, before, &result.0, Some(connections))?;
                let mut result = finish(name, name, connections, result, Some(stored), |_, p99| {
                    ("submit p99<2000ms", p99 < 2000.0)
                });
                let (signed_in, refused) = sign_ins;
                let flood_note = format!("{signed_in} sign-ins answered, {refused} refused");
                result.note = Some(match result.note.take() {
                    Some(note) => format!("{note}; {flood_note}"),
                    None => flood_note,
                });
                if refused > 0 {
                    result.meets_target = Some(false);
                }
                results.push(result);
            }
            Workload::PublishWebhook => {
                let name = "publish-webhook";
                let token = editor
                    .clone()
                    .and_then(|password| login(&server, EDITOR_EMAIL, &password));
                let token = match token {
                    Ok(token) => token,
                    Err(reason) => {
                        results.push(WorkloadResult::unavailable(name, name, 1, reason));
                        continue;
                    }
                };
                eprintln!("running {name}");
                let receiver = alongside::FailingReceiver::start()?;
                let (next, result) = measure(server, &setup, |server| {
                    alongside::publish_with_a_failing_webhook(
                        server.addr,
                        &token,
                        &receiver,
                        Duration::from_secs(cli.duration),
                    )
                })?;
                server = next;
                let mut result = finish(name, name, 1, result, None, |_, p99| {
                    ("p99<2000ms", p99 < 2000.0)
                });
                let refused = receiver.refused.load(std::sync::atomic::Ordering::Relaxed);
                let receiver_note = format!("{refused} webhook deliveries answered 503");
                result.note = Some(match result.note.take() {
                    Some(note) => format!("{note}; {receiver_note}"),
                    None => receiver_note,
                });
                if refused == 0 {
                    // Nothing was delivered: the receiver was never down for it.
                    result.meets_target = Some(false);
                }
                results.push(result);
            }
            Workload::Queue | Workload::ConsoleQueue | Workload::Mixed => {
                let (name, connections, script) = match workload {
                    Workload::Queue => ("queue", 32, wrk::Script::Queue),
                    Workload::ConsoleQueue => ("console-queue", 32, wrk::Script::ConsoleQueue),
                    _ => ("mixed", 32, wrk::Script::Mixed),
                };
                let password = match &staff {
                    Ok(password) => password,
                    Err(reason) => {
                        results.push(WorkloadResult::unavailable(
                            name,
                            name,
                            connections,
                            reason.clone(),
                        ));
                        continue;
                    }
                };
                // Access tokens last 15 minutes: sign in right before.
                params.token = match login(&server, MODERATOR_EMAIL, password) {
                    Ok(token) => token,
                    Err(reason) => {
                        eprintln!("{name}: {reason}");
                        results.push(WorkloadResult::unavailable(name, name, connections, reason));
                        continue;
                    }
                };
                if *workload == Workload::Queue {
                    match check_queue(&server, &params.token) {
                        Ok(total) => eprintln!("queue: {total} new feedback for {SERVICE_SLUG}"),
                        Err(reason) => {
                            eprintln!("queue: {reason}");
                            results.push(WorkloadResult::unavailable(
                                name,
                                name,
                                connections,
                                reason,
                            ));
                            continue;
                        }
                    }
                }
                eprintln!("running {name}");
                let before = runtime.block_on(BenchDatabase::count_feedback(&db))?;
                let (next, result) = measure(server, &setup, |server| {
                    wrk::run(script, &params, &load(server, connections))
                })?;
                server = next;
                if *workload == Workload::Queue {
                    results.push(finish(name, name, connections, result, None, |rps, p99| {
                        ("≥5000/s p99<10ms", rps >= 5_000.0 && p99 < 10.0)
                    }));
                } else if *workload == Workload::ConsoleQueue {
                    // Issue 15: the page answers in under 50 ms.
                    results.push(finish(name, name, connections, result, None, |_, p99| {
                        ("p99<50ms", p99 < 50.0)
                    }));
                } else {
                    let stored = stored_rows(runtime, &db, before, &result.0, None)?;
                    results.push(finish(
                        name,
                        name,
                        connections,
                        result,
                        Some(stored),
                        |_, _| ("peak RSS<100MB", true),
                    ));
                }
            }
        }
    }
    server.stop()?;
    runtime.block_on(db.close())?;

    Ok(Report {
        date: chrono::Utc::now().format("%Y-%m-%dT%H:%M:%SZ").to_string(),
        git_commit: report::git_commit(workspace),
        machine: Machine::describe(wrk_version),
        database: database.kind.name().to_owned(),
        database_version,
        rows: cli.rows,
        fill,
        duration_seconds: cli.duration,
        server_cpu: cli.server_cpu,
        wrk_cpu: cli.wrk_cpu,
        wrk_threads: cli.wrk_threads,
        start_to_ready_ms: start_to_ready.as_secs_f64() * 1000.0,
        idle_rss_bytes: idle_rss,
        startup_targets_met: StartupTargets {
            start_to_ready: start_to_ready < Duration::from_millis(300),
            idle_rss: idle_rss < 30_000_000,
        },
        screening,
        workloads: results,
    })
}

/// Times the safeguarding detector with `hamlet evaluate safeguarding
/// --timing`, pinned to the server's core: loading the rules, and screening
/// a 2 KB comment (the median of three runs of 20,000 screenings each).
fn measure_screening(setup: &Setup) -> anyhow::Result<Screening> {
    let cpu = setup.cpu.to_string();
    let binary = setup.binary.to_string_lossy().into_owned();
    let mut runs = Vec::new();
    for _ in 0..3 {
        let output = setup.run_via(
            "taskset",
            &[
                "-c",
                &cpu,
                &binary,
                "evaluate",
                "safeguarding",
                "--corpus",
                "/dev/null",
                "--timing",
            ],
        )?;
        runs.push(parse_screening(&output).context("reading hamlet evaluate's timing")?);
    }
    runs.sort_by(|a, b| a.per_comment_us.total_cmp(&b.per_comment_us));
    let median = runs.swap_remove(1);
    Ok(median)
}

/// Reads "rules load: 17.61 ms" and "screening a 1793 byte comment: 355.2 µs".
fn parse_screening(output: &str) -> Option<Screening> {
    let mut load = None;
    let mut comment = None;
    for line in output.lines() {
        if let Some(rest) = line.strip_prefix("rules load: ") {
            load = rest.strip_suffix(" ms")?.parse::<f64>().ok();
        } else if let Some(rest) = line.strip_prefix("screening a ") {
            let (bytes, rest) = rest.split_once(" byte comment: ")?;
            comment = Some((
                bytes.parse::<u64>().ok()?,
                rest.strip_suffix(" µs")?.parse::<f64>().ok()?,
            ));
        }
    }
    let (rules_load_ms, (comment_bytes, per_comment_us)) = (load?, comment?);
    Some(Screening {
        rules_load_ms,
        comment_bytes,
        per_comment_us,
        meets_target: rules_load_ms < 50.0 && per_comment_us <= 50.0,
    })
}

/// Runs one workload with the server's peak RSS reset first, and returns the
/// server (a new one if the reset was refused), wrk's outcome, the peak and
/// how the peak was isolated.
fn measure(
    mut server: Server,
    setup: &Setup,
    workload: impl FnOnce(&Server) -> anyhow::Result<wrk::Outcome>,
) -> anyhow::Result<(Server, (wrk::Outcome, u64, &'static str))> {
    let method = if server.reset_peak()? {
        "clear_refs"
    } else {
        // The kernel would not reset the peak: a fresh server's peak covers
        // only its start and this workload.
        server.stop()?;
        server = Server::start(setup)?;
        std::thread::sleep(Duration::from_secs(1));
        "restart"
    };
    let outcome = workload(&server)?;
    let peak = server.peak_rss()?;
    // Let writes still in flight when wrk stopped land before anyone counts.
    std::thread::sleep(Duration::from_millis(500));
    Ok((server, (outcome, peak, method)))
}

fn finish(
    name: &str,
    workload: &str,
    connections: u32,
    (outcome, peak, method): (wrk::Outcome, u64, &'static str),
    stored: Option<Stored>,
    target: impl FnOnce(f64, f64) -> (&'static str, bool),
) -> WorkloadResult {
    let rps = outcome.requests_per_second();
    let p99_ms = outcome.p99_us as f64 / 1000.0;
    let (target, met) = target(rps, p99_ms);
    let clean = outcome.status_errors == 0
        && outcome.socket_errors() == 0
        && outcome.graphql_errors == 0
        && stored
            .as_ref()
            .and_then(|stored| stored.consistent)
            .unwrap_or(true);
    let memory_ok = peak < 100_000_000;
    let target = if target.contains("RSS") {
        target.to_owned()
    } else {
        format!("{target} RSS<100MB")
    };
    WorkloadResult {
        name: name.to_owned(),
        workload: workload.to_owned(),
        connections,
        available: true,
        note: (!clean).then(|| "errors or unstored submissions: see the JSON".to_owned()),
        requests_per_second: Some(rps),
        p50_ms: Some(outcome.p50_us as f64 / 1000.0),
        p99_ms: Some(p99_ms),
        wrk: Some(outcome),
        peak_rss_bytes: Some(peak),
        peak_rss_method: Some(method.to_owned()),
        stored,
        target: Some(target),
        meets_target: Some(met && memory_ok && clean),
    }
}

fn stored_rows(
    runtime: &tokio::runtime::Runtime,
    db: &DatabaseConnection,
    before: i64,
    outcome: &wrk::Outcome,
    in_flight: Option<u32>,
) -> anyhow::Result<Stored> {
    let after = runtime.block_on(BenchDatabase::count_feedback(db))?;
    let stored = after - before;
    let acknowledged = in_flight.map(|_| outcome.succeeded());
    let consistent = in_flight
        .zip(acknowledged)
        .map(|(in_flight, acknowledged)| {
            let acknowledged = i64::try_from(acknowledged).unwrap_or(i64::MAX);
            stored >= acknowledged && stored <= acknowledged + i64::from(in_flight)
        });
    Ok(Stored {
        before,
        after,
        stored,
        acknowledged,
        consistent,
    })
}

/// The residents' feedback page: the Friends and Family Test question and
/// the services to choose from.
const RESIDENTS_PAGE: &str = "/feedback";

/// A resident's comment as they are often written: 300 characters, about
/// the wait and the building, asking for a call back.
const REALISTIC_COMMENT: &str = "We waited nearly two hours in A&E with my dad last Tuesday evening. \
The triage nurse was kind and explained why, but the screens showed the wrong wait all night \
and nobody told us when the doctors changed shift. The toilets by the waiting area were out \
of order too. Please call me about his visit.";

/// A submitFeedback body for `input`, split at its idempotency key's slot,
/// once the server has answered one such submission with a receipt.
fn submit_halves(server: &Server, input: serde_json::Value) -> anyhow::Result<(String, String)> {
    let body = serde_json::json!({
        "query": SUBMIT_MUTATION,
        "variables": { "input": input },
    })
    .to_string();
    let (before, after) = body
        .split_once(KEY_SLOT)
        .context("the submit body has a slot for the key")?;
    let check_key = format!("bench-check-{}", uuid::Uuid::new_v4().simple());
    let receipt = http::graphql(
        server.addr,
        &serde_json::from_str(&format!("{before}{check_key}{after}"))?,
        None,
    )?;
    if receipt["data"]["submitFeedback"]["reference"]
        .as_str()
        .is_none()
    {
        bail!("submitFeedback did not answer with a receipt: {receipt}");
    }
    Ok((before.to_owned(), after.to_owned()))
}

/// Checks that the seed has what the workloads ask for, and builds the
/// requests the Lua scripts send.
fn check_and_prepare(server: &Server) -> anyhow::Result<wrk::Params> {
    let services = http::graphql(
        server.addr,
        &serde_json::json!({ "query": "{ services { slug } }" }),
        None,
    )?;
    let known = services["data"]["services"]
        .as_array()
        .is_some_and(|list| list.iter().any(|s| s["slug"] == SERVICE_SLUG));
    if !known {
        bail!("the seed has no service {SERVICE_SLUG}: {services}");
    }

    let content_post_body = serde_json::json!({ "query": PAGE_QUERY }).to_string();
    let page = http::graphql(
        server.addr,
        &serde_json::json!({ "query": PAGE_QUERY }),
        None,
    )?;
    if page["data"]["page"]["title"].as_str().is_none() {
        bail!("the page vision-and-purpose is not published: {page}");
    }
    let content_get_path = format!("/graphql?query={}", percent_encode(PAGE_QUERY));
    // The same read as a partner site's CDN would send it: the persisted
    // query's hash alone, once hamlet has been told its text.
    let extensions = serde_json::json!({ "persistedQuery": {
        "version": 1,
        "sha256Hash": hex_sha256(PAGE_QUERY),
    }})
    .to_string();
    let persisted_get_path = format!("/graphql?extensions={}", percent_encode(&extensions));
    let register = format!(
        "{content_get_path}&extensions={}",
        percent_encode(&extensions)
    );
    for path in [&content_get_path, &register, &persisted_get_path] {
        let answer = http::get(server.addr, path)?;
        if answer.status != 200 || answer.body.contains("\"errors\"") {
            bail!("GET {path} answered {}: {}", answer.status, answer.body);
        }
    }

    let short = serde_json::json!({
        "idempotencyKey": KEY_SLOT,
        "serviceSlug": SERVICE_SLUG,
        "rating": "GOOD",
        "comment": "Seen within the hour. The nurse explained what would happen next and checked on us twice.",
    });
    let realistic = serde_json::json!({
        "idempotencyKey": KEY_SLOT,
        "serviceSlug": SERVICE_SLUG,
        "rating": "POOR",
        "comment": REALISTIC_COMMENT,
        "contact": {
            "name": "Aisha Rahman",
            "email": "aisha.rahman@example.org",
            "consentToContact": true,
        },
    });
    let (before, after) = submit_halves(server, short)?;
    let residents_page_path = RESIDENTS_PAGE;
    let page = http::get(server.addr, residents_page_path)?;
    if page.status != 200 || !page.body.contains("<form") {
        bail!(
            "GET {residents_page_path} answered {} without a form",
            page.status
        );
    }
    let realistic = submit_halves(server, realistic)?;

    Ok(wrk::Params {
        run_id: uuid::Uuid::new_v4().simple().to_string()[..8].to_owned(),
        content_post_body,
        content_get_path,
        persisted_get_path,
        submit_body_before: before,
        submit_body_after: after,
        realistic_submit_body: realistic,
        queue_body: serde_json::json!({ "query": QUEUE_QUERY }).to_string(),
        console_queue_path: format!("/console/queue?service={SERVICE_SLUG}&kind=feedback"),
        residents_page_path: residents_page_path.to_owned(),
        token: String::new(),
    })
}

/// Makes the moderator the queue workloads sign in as, and returns their
/// password; or, when this build of hamlet has no staff yet, why not.
fn prepare_moderator(server: &Server, setup: &Setup) -> Result<String, String> {
    let unavailable = |why: &str| format!("not available in this build ({why})");
    let probe = http::graphql(
        server.addr,
        &serde_json::json!({ "query": QUEUE_QUERY }),
        None,
    )
    .map_err(|error| format!("probing feedbackQueue: {error:#}"))?;
    if http::error_codes(&probe)
        .iter()
        .any(|code| code == "GRAPHQL_VALIDATION_FAILED")
    {
        return Err(unavailable("the schema has no feedbackQueue"));
    }
    let password = format!("bench-{}", uuid::Uuid::new_v4().simple());
    setup
        .run(
            &[
                "staff",
                "create",
                "--email",
                MODERATOR_EMAIL,
                "--name",
                "Bench Moderator",
                "--role",
                "MODERATOR",
                "--password-stdin",
            ],
            Some(&format!("{password}\n")),
        )
        .map_err(|error| unavailable(&format!("hamlet staff create failed: {error:#}")))?;
    Ok(password)
}

/// Makes the admin and editor `publish-webhook` signs in as, and returns
/// their password.
fn prepare_editor(setup: &Setup) -> Result<String, String> {
    let password = format!("bench-{}", uuid::Uuid::new_v4().simple());
    setup
        .run(
            &[
                "staff",
                "create",
                "--email",
                EDITOR_EMAIL,
                "--name",
                "Bench Editor",
                "--role",
                "ADMIN",
                "--role",
                "EDITOR",
                "--password-stdin",
            ],
            Some(&format!("{password}\n")),
        )
        .map_err(|error| format!("hamlet staff create failed: {error:#}"))?;
    Ok(password)
}

/// Signs a staff member in and returns an access token.
fn login(server: &Server, email: &str, password: &str) -> Result<String, String> {
    let answer = http::graphql(
        server.addr,
        &serde_json::json!({
            "query": LOGIN_MUTATION,
            "variables": { "email": email, "password": password },
        }),
        None,
    )
    .map_err(|error| format!("login: {error:#}"))?;
    if http::error_codes(&answer)
        .iter()
        .any(|code| code == "GRAPHQL_VALIDATION_FAILED")
    {
        return Err("not available in this build (the schema has no login)".to_owned());
    }
    answer["data"]["login"]["accessToken"]
        .as_str()
        .map(str::to_owned)
        .ok_or_else(|| format!("login did not answer with a token: {answer}"))
}

/// Runs the queue query once as the moderator; returns its totalCount.
fn check_queue(server: &Server, token: &str) -> Result<i64, String> {
    let answer = http::graphql(
        server.addr,
        &serde_json::json!({ "query": QUEUE_QUERY }),
        Some(token),
    )
    .map_err(|error| format!("feedbackQueue: {error:#}"))?;
    if !http::error_codes(&answer).is_empty() {
        return Err(format!("feedbackQueue answered errors: {answer}"));
    }
    answer["data"]["feedbackQueue"]["totalCount"]
        .as_i64()
        .ok_or_else(|| format!("feedbackQueue answered no totalCount: {answer}"))
}

/// Percent-encodes everything but RFC 3986's unreserved characters.
/// The SHA-256 of `text` in lower-case hex, as persisted queries name it.
fn hex_sha256(text: &str) -> String {
    use sha2::Digest as _;
    sha2::Sha256::digest(text.as_bytes())
        .iter()
        .map(|byte| format!("{byte:02x}"))
        .collect()
}

fn percent_encode(text: &str) -> String {
    let mut out = String::with_capacity(text.len() * 3);
    for byte in text.bytes() {
        match byte {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'~' => {
                out.push(char::from(byte));
            }
            _ => out.push_str(&format!("%{byte:02X}")),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn queries_in_urls_are_percent_encoded() {
        assert_eq!(
            percent_encode(r#"{ page(slug: "a-b") }"#),
            "%7B%20page%28slug%3A%20%22a-b%22%29%20%7D"
        );
    }

    #[test]
    fn the_screening_timing_is_read_from_hamlet_evaluate() {
        let output = "safeguarding detector\n\nrules load: 17.61 ms\nscreening a 1793 byte comment: 355.2 µs\n";
        let screening = parse_screening(output).expect("both lines are there");
        assert_eq!(screening.comment_bytes, 1793);
        assert!((screening.per_comment_us - 355.2).abs() < 1e-9);
        assert!((screening.rules_load_ms - 17.61).abs() < 1e-9);
        assert!(!screening.meets_target);
        assert!(parse_screening("rules load: 3 ms\n").is_none());
    }

    #[test]
    fn the_command_line_reads_a_list_of_workloads() {
        let cli = Cli::try_parse_from([
            "hamlet-bench",
            "--rows",
            "10",
            "--workloads",
            "content,queue",
        ])
        .unwrap();
        assert_eq!(cli.workloads, vec![Workload::Content, Workload::Queue]);
        assert_eq!(cli.duration, 10);
    }
}
