//! `TestApp`: one hamlet per test, on its own fresh database.

use std::path::PathBuf;

use hamlet::clock::ManualClock;
use hamlet::staff::model::{DisplayName, Role, Roles, StaffEmail};
use hamlet::staff::password::Passwords;
use hamlet::staff::store::NewStaff;
use hamlet::{App, Config};
use reqwest::header::{HeaderMap, HeaderValue};
use sea_orm::{ConnectionTrait as _, Database};
use serde_json::{Value, json};
use tokio::sync::oneshot;

/// Where a test's database lives, kept alive as long as the test and
/// removed after it: the SQLite file's folder is deleted, the PostgreSQL
/// database dropped.
pub enum TestDatabase {
    Sqlite {
        _dir: tempfile::TempDir,
    },
    Postgres {
        /// The server's own database, to drop this one from.
        admin_url: String,
        name: String,
    },
}

impl Drop for TestDatabase {
    fn drop(&mut self) {
        if let Self::Postgres { admin_url, name } = self {
            // Drop runs inside the test's runtime, which may have one thread
            // (so it cannot be blocked on), and may run while a panic
            // unwinds: the drop gets a thread and a runtime of its own.
            // `WITH (FORCE)` ends whatever connections the stopped app's pool
            // still holds.
            let (admin_url, database) = (admin_url.clone(), name.clone());
            let dropped = std::thread::spawn(move || drop_database(&admin_url, &database)).join();
            if let Ok(Err(error)) = dropped {
                eprintln!("the test database {name} could not be dropped: {error}");
            }
        }
    }
}

/// `DROP DATABASE name WITH (FORCE)` on the server at `admin_url`, from a
/// runtime of its own.
fn drop_database(admin_url: &str, name: &str) -> Result<(), String> {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|error| error.to_string())?;
    runtime.block_on(async {
        let admin = Database::connect(admin_url)
            .await
            .map_err(|error| error.to_string())?;
        let dropped = admin
            .execute_unprepared(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
            .await
            .map(|_| ())
            .map_err(|error| error.to_string());
        admin.close().await.ok();
        dropped
    })
}

/// Drops `hamlet_test_…` databases left by test runs more than a day old
/// (killed before they could clean up), once per test process. A database's
/// name is a UUIDv7, so its age is in its name; runs still going, of this
/// worktree or any other on the same server, are younger than that.
async fn drop_stale_databases(admin: &sea_orm::DatabaseConnection) {
    static SWEPT: std::sync::atomic::AtomicBool = std::sync::atomic::AtomicBool::new(false);
    if SWEPT.swap(true, std::sync::atomic::Ordering::SeqCst) {
        return;
    }
    let Ok(rows) = admin
        .query_all_raw(sea_orm::Statement::from_string(
            admin.get_database_backend(),
            "SELECT datname FROM pg_database WHERE datname LIKE 'hamlet\\_test\\_%'",
        ))
        .await
    else {
        return;
    };
    let a_day_ago = std::time::SystemTime::now() - std::time::Duration::from_secs(24 * 60 * 60);
    for row in rows {
        let Ok(name) = row.try_get_by_index::<String>(0) else {
            continue;
        };
        let created = name
            .strip_prefix("hamlet_test_")
            .and_then(|id| uuid::Uuid::parse_str(id).ok())
            .and_then(|id| id.get_timestamp())
            .map(|timestamp| {
                let (seconds, nanos) = timestamp.to_unix();
                std::time::UNIX_EPOCH + std::time::Duration::new(seconds, nanos)
            });
        if created.is_some_and(|created| created < a_day_ago) {
            let _ = admin
                .execute_unprepared(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
                .await;
        }
    }
}

pub struct TestApp {
    pub address: String,
    pub client: reqwest::Client,
    /// The database this hamlet runs on, for the command line and for checks
    /// of what was (not) written.
    pub database_url: String,
    pub events: hamlet::submissions::SubmissionEvents,
    /// The configuration it was started with.
    pub config: Config,
    /// The time its rate limits and sign-in waits read: it stands still
    /// unless a test moves it on, so no limit refills while a slow machine
    /// runs a test.
    pub clock: ManualClock,
    /// Dropped after the app is told to stop (see `Drop`); `None` only
    /// while a restart hands it to the next app.
    _database: Option<TestDatabase>,
    _shutdown: Option<(oneshot::Sender<()>, oneshot::Receiver<()>)>,
}

impl Drop for TestApp {
    fn drop(&mut self) {
        // Stop serving first; the database goes after, with the fields.
        if let Some((shutdown, _)) = self._shutdown.take() {
            let _ = shutdown.send(());
        }
    }
}

/// Which seed a test starts from.
pub enum Seed {
    /// The partnership's real content, built into the binary.
    BuiltIn,
    /// `tests/fixtures/seed`: two locales, a draft, hostile Markdown.
    Fixture,
}

impl TestApp {
    /// hamlet with the partnership's real seed.
    pub async fn spawn() -> Self {
        Self::spawn_with(Seed::BuiltIn, |_| {}).await
    }

    /// hamlet with the test fixture seed.
    pub async fn spawn_fixture() -> Self {
        Self::spawn_with(Seed::Fixture, |_| {}).await
    }

    /// hamlet with the real seed and its background loops quiet, so that
    /// what [`TestApp::statements`] counts is the requests' doing alone.
    pub async fn spawn_quiet() -> Self {
        Self::spawn_with(Seed::BuiltIn, |config| {
            config.background.schedule_poll = std::time::Duration::from_secs(3600);
            config.background.webhooks.poll = std::time::Duration::from_secs(3600);
        })
        .await
    }

    /// What `/metrics` says now.
    pub async fn metrics(&self) -> String {
        self.client
            .get(self.url("/metrics"))
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap()
    }

    /// SQL statements run so far (`hamlet_db_statements_total` in `/metrics`).
    pub async fn statements(&self) -> u64 {
        let text = self.metrics().await;
        text.lines()
            .find_map(|line| line.strip_prefix("hamlet_db_statements_total "))
            .unwrap_or_else(|| panic!("no statement count in {text}"))
            .trim()
            .parse()
            .unwrap()
    }

    pub async fn spawn_with(seed: Seed, configure: impl FnOnce(&mut Config)) -> Self {
        let (database_url, database) = fresh_database().await;
        let mut config = Config::for_database(&database_url).expect("test configuration");
        let clock = ManualClock::new();
        config.clock = clock.clock();
        if let Seed::Fixture = seed {
            config.seed_dir = Some(fixture_seed());
        }
        config.jwt_secret = Some(hamlet::config::Secret::new(JWT_SECRET.to_owned()));
        // Tests sign in many personas from one address; the login limit has
        // tests of its own that lower it again.
        config.login_per_minute = 10_000;
        // Background work runs at test speed.
        config.background.schedule_poll = std::time::Duration::from_millis(100);
        config.background.webhooks.poll = std::time::Duration::from_millis(100);
        config.background.webhooks.retry_base = std::time::Duration::from_millis(200);
        configure(&mut config);
        Self::start(config, clock, database_url, database).await
    }

    async fn start(
        config: Config,
        clock: ManualClock,
        database_url: String,
        database: TestDatabase,
    ) -> Self {
        let app = App::build(config.clone()).await.expect("hamlet starts");
        let address = format!("http://{}", app.local_addr().unwrap());
        let events = app.submission_events().clone();
        let (shutdown, stopped) = oneshot::channel::<()>();
        let (finished, done) = oneshot::channel::<()>();
        tokio::spawn(async move {
            let _ = app
                .run(async {
                    let _ = stopped.await;
                })
                .await;
            let _ = finished.send(());
        });
        Self {
            address,
            client: reqwest::Client::builder().build().unwrap(),
            database_url,
            events,
            config,
            clock,
            _database: Some(database),
            _shutdown: Some((shutdown, done)),
        }
    }

    /// Stops this hamlet (as SIGTERM would) and starts a new one on the same
    /// database, as a restart does.
    pub async fn restart(mut self) -> Self {
        if let Some((shutdown, done)) = self._shutdown.take() {
            let _ = shutdown.send(());
            let _ = done.await;
        }
        let database = self
            ._database
            .take()
            .expect("a running app has its database");
        let mut config = self.config.clone();
        config.bind = "127.0.0.1:0".parse().unwrap();
        Self::start(
            config,
            self.clock.clone(),
            self.database_url.clone(),
            database,
        )
        .await
    }

    /// Stops this hamlet (as SIGTERM would) and keeps what it needs to start
    /// again on the same address and database: clients see it go away and
    /// come back where it was.
    pub async fn stop(mut self) -> StoppedApp {
        if let Some((shutdown, done)) = self._shutdown.take() {
            let _ = shutdown.send(());
            let _ = done.await;
        }
        let mut config = self.config.clone();
        config.bind = self
            .address
            .trim_start_matches("http://")
            .parse()
            .expect("a running app listens on an address");
        StoppedApp {
            config,
            clock: self.clock.clone(),
            database_url: self.database_url.clone(),
            database: self
                ._database
                .take()
                .expect("a running app has its database"),
        }
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.address)
    }

    /// POSTs a GraphQL request and returns the raw response.
    pub async fn post(&self, query: &str, variables: Value) -> reqwest::Response {
        self.post_with(query, variables, HeaderMap::new()).await
    }

    pub async fn post_with(
        &self,
        query: &str,
        variables: Value,
        headers: HeaderMap,
    ) -> reqwest::Response {
        self.client
            .post(self.url("/graphql"))
            .headers(headers)
            .json(&json!({ "query": query, "variables": variables }))
            .send()
            .await
            .expect("request sent")
    }

    /// POSTs a GraphQL request, checks it is a 200, and returns its JSON.
    pub async fn graphql(&self, query: &str, variables: Value) -> Value {
        let response = self.post(query, variables).await;
        assert_eq!(response.status(), 200, "status");
        response.json().await.expect("a JSON body")
    }

    /// Like [`graphql`](Self::graphql), and also checks there were no errors.
    pub async fn data(&self, query: &str, variables: Value) -> Value {
        let body = self.graphql(query, variables).await;
        assert!(body.get("errors").is_none(), "unexpected errors: {body}");
        body["data"].clone()
    }

    /// A direct connection to this app's database, for checking what was stored.
    pub async fn db(&self) -> sea_orm::DatabaseConnection {
        sea_orm::Database::connect(&self.database_url)
            .await
            .unwrap()
    }

    /// Runs the `hamlet` command line against this app's database.
    pub fn cli(&self, args: &[&str]) -> String {
        let output = std::process::Command::new(env!("CARGO_BIN_EXE_hamlet"))
            .args(args)
            .env("HAMLET_DATABASE_URL", &self.database_url)
            .env("HAMLET_LOG", "warn")
            .output()
            .unwrap();
        assert!(
            output.status.success(),
            "{args:?}: {}",
            String::from_utf8_lossy(&output.stderr)
        );
        String::from_utf8(output.stdout).unwrap()
    }

    /// Submits feedback; returns the whole answer.
    pub async fn submit_feedback(&self, input: Value, headers: HeaderMap) -> reqwest::Response {
        self.post_with(SUBMIT_FEEDBACK, json!({ "input": input }), headers)
            .await
    }

    /// Submits an idea; returns the whole answer.
    pub async fn submit_idea(&self, input: Value, headers: HeaderMap) -> reqwest::Response {
        self.post_with(SUBMIT_IDEA, json!({ "input": input }), headers)
            .await
    }

    /// Creates a staff member with these roles (as `hamlet staff create`
    /// would) and signs them in over HTTP.
    pub async fn staff(&self, roles: &[Role]) -> Staff {
        let email = format!("{}@towerhamlets.example", uuid::Uuid::new_v4().simple());
        self.staff_with(&email, roles).await
    }

    pub async fn staff_with(&self, email: &str, roles: &[Role]) -> Staff {
        let db = self.db().await;
        let new = NewStaff {
            email: StaffEmail::parse(email, "email").unwrap(),
            display_name: DisplayName::parse("Test Persona", "displayName").unwrap(),
            roles: Roles::parse(roles, "roles").unwrap(),
            password_hash: Passwords::default().hash(PASSWORD).await.unwrap(),
        };
        let created = hamlet::staff::actions::create_staff(&db, &new, None)
            .await
            .unwrap();
        db.close().await.ok();
        let body = self
            .data(LOGIN, json!({ "email": email, "password": PASSWORD }))
            .await;
        let login = &body["login"];
        Staff {
            id: created.id.to_string(),
            email: email.to_owned(),
            access_token: login["accessToken"].as_str().unwrap().to_owned(),
            refresh_token: login["refreshToken"].as_str().unwrap().to_owned(),
        }
    }

    /// POSTs a GraphQL request with `Authorization: Bearer <token>`.
    pub async fn post_as(&self, token: &str, query: &str, variables: Value) -> reqwest::Response {
        self.post_with(
            query,
            variables,
            headers(&[("authorization", &format!("Bearer {token}"))]),
        )
        .await
    }

    /// As [`post_as`](Self::post_as), checking for a 200 and returning the JSON.
    pub async fn graphql_as(&self, staff: &Staff, query: &str, variables: Value) -> Value {
        let response = self.post_as(&staff.access_token, query, variables).await;
        assert_eq!(response.status(), 200, "status");
        response.json().await.expect("a JSON body")
    }

    /// As [`graphql_as`](Self::graphql_as), checking there were no errors.
    /// The references of the feedback (at most 100) in `status`, sorted.
    pub async fn feedback_references_in(&self, staff: &Staff, status: &str) -> Vec<String> {
        let data = self
            .data_as(
                staff,
                "query($s: FeedbackStatus!) {
                   feedbackQueue(first: 100, filter: { status: [$s] }) { nodes { reference } } }",
                json!({ "s": status }),
            )
            .await;
        let mut references: Vec<String> = data["feedbackQueue"]["nodes"]
            .as_array()
            .expect("a list")
            .iter()
            .map(|node| node["reference"].as_str().expect("a reference").to_owned())
            .collect();
        references.sort();
        references
    }

    pub async fn data_as(&self, staff: &Staff, query: &str, variables: Value) -> Value {
        let body = self.graphql_as(staff, query, variables).await;
        assert!(body.get("errors").is_none(), "unexpected errors: {body}");
        body["data"].clone()
    }

    /// Submits feedback and returns its reference.
    pub async fn feedback_reference(&self, input: Value) -> String {
        let response = self.submit_feedback(input, HeaderMap::new()).await;
        let body: Value = response.json().await.unwrap();
        body["data"]["submitFeedback"]["reference"]
            .as_str()
            .unwrap_or_else(|| panic!("no receipt: {body}"))
            .to_owned()
    }

    /// Submits an idea and returns its reference.
    pub async fn idea_reference(&self, input: Value) -> String {
        let response = self.submit_idea(input, HeaderMap::new()).await;
        let body: Value = response.json().await.unwrap();
        body["data"]["submitIdea"]["reference"]
            .as_str()
            .unwrap_or_else(|| panic!("no receipt: {body}"))
            .to_owned()
    }

    /// GETs `/graphql` with these query-string parameters.
    pub async fn get(&self, params: &[(&str, &str)], headers: HeaderMap) -> reqwest::Response {
        self.client
            .get(self.url("/graphql"))
            .query(params)
            .headers(headers)
            .send()
            .await
            .expect("request sent")
    }
}

/// A hamlet that was stopped with [`TestApp::stop`].
pub struct StoppedApp {
    config: Config,
    clock: ManualClock,
    database_url: String,
    database: TestDatabase,
}

impl StoppedApp {
    /// Starts it again on the address and database it had.
    pub async fn start(self) -> TestApp {
        // The old listener is closed once the server has stopped; wait
        // until the port can be taken again.
        for _ in 0..100 {
            if std::net::TcpListener::bind(self.config.bind).is_ok() {
                break;
            }
            tokio::time::sleep(std::time::Duration::from_millis(50)).await;
        }
        TestApp::start(self.config, self.clock, self.database_url, self.database).await
    }
}

/// The secret test apps sign staff tokens with, so tests can forge tokens.
pub const JWT_SECRET: &str = "a test secret for hamlet, long enough for HS256";

/// Every test persona's password.
pub const PASSWORD: &str = "plum kettle orbit 42";

pub const LOGIN: &str = "mutation($email: String!, $password: String!) {
  login(email: $email, password: $password) {
    accessToken accessTokenExpiresAt refreshToken staff { id email roles active }
  }
}";

/// A signed-in staff member.
#[derive(Clone, Debug)]
pub struct Staff {
    pub id: String,
    pub email: String,
    pub access_token: String,
    pub refresh_token: String,
}

pub const SUBMIT_FEEDBACK: &str = "mutation Submit($input: SubmitFeedbackInput!) {
  submitFeedback(input: $input) { reference kind receivedAt replayed }
}";

pub const SUBMIT_IDEA: &str = "mutation Submit($input: SubmitIdeaInput!) {
  submitIdea(input: $input) { reference kind receivedAt replayed }
}";

/// A fresh idempotency key.
pub fn key() -> String {
    uuid::Uuid::new_v4().to_string()
}

/// Valid feedback with a fresh key.
pub fn feedback() -> Value {
    json!({
        "idempotencyKey": key(),
        "serviceSlug": "royal-london-emergency-department",
        "rating": "GOOD",
        "comment": "Seen quickly and kindly.",
    })
}

/// A valid idea with a fresh key.
pub fn idea() -> Value {
    json!({
        "idempotencyKey": key(),
        "title": "Evening drop-in at the health centre",
        "description": "Working people cannot come in the day. An evening drop-in once a week would help.",
        "theme": "access",
    })
}

/// The `extensions.code` of the first error in a GraphQL answer.
pub fn first_error_code(body: &Value) -> String {
    body["errors"][0]["extensions"]["code"]
        .as_str()
        .unwrap_or_else(|| panic!("no error code in {body}"))
        .to_owned()
}

pub fn headers(pairs: &[(&'static str, &str)]) -> HeaderMap {
    let mut map = HeaderMap::new();
    for (name, value) in pairs {
        map.insert(*name, HeaderValue::from_str(value).unwrap());
    }
    map
}

fn fixture_seed() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/seed")
}

/// A new, empty database: a SQLite file in a temporary folder, or a new
/// PostgreSQL database when `HAMLET_TEST_DATABASE_URL` names a server.
pub async fn fresh_database() -> (String, TestDatabase) {
    match std::env::var("HAMLET_TEST_DATABASE_URL") {
        Ok(admin_url) if !admin_url.is_empty() => {
            let name = format!("hamlet_test_{}", uuid::Uuid::now_v7().simple());
            let admin = Database::connect(&admin_url)
                .await
                .expect("the PostgreSQL server answers");
            drop_stale_databases(&admin).await;
            admin
                .execute_unprepared(&format!("CREATE DATABASE {name}"))
                .await
                .expect("a test database can be created");
            admin.close().await.ok();
            (
                with_database_name(&admin_url, &name),
                TestDatabase::Postgres { admin_url, name },
            )
        }
        _ => {
            let dir = tempfile::tempdir().unwrap();
            let url = format!(
                "sqlite://{}?mode=rwc",
                dir.path().join("hamlet.db").display()
            );
            (url, TestDatabase::Sqlite { _dir: dir })
        }
    }
}

/// `postgres://u@h:5432/postgres?x=y` with `name` in place of `postgres`.
fn with_database_name(url: &str, name: &str) -> String {
    let (base, query) = match url.split_once('?') {
        Some((base, query)) => (base, Some(query)),
        None => (url, None),
    };
    let scheme_end = base.find("://").map_or(0, |i| i + 3);
    let root = match base[scheme_end..].find('/') {
        Some(slash) => &base[..scheme_end + slash],
        None => base,
    };
    match query {
        Some(query) => format!("{root}/{name}?{query}"),
        None => format!("{root}/{name}"),
    }
}
