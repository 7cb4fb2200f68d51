//! `TestApp`: one hamlet per test, on its own fresh database.

use std::path::PathBuf;

use hamlet::{App, Config};
use reqwest::header::{HeaderMap, HeaderValue};
use sea_orm::{ConnectionTrait as _, Database};
use serde_json::{Value, json};
use tokio::sync::oneshot;

/// Where a test's database lives, kept alive as long as the test.
pub enum TestDatabase {
    Sqlite { _dir: tempfile::TempDir },
    Postgres,
}

pub struct TestApp {
    pub address: String,
    pub client: reqwest::Client,
    _database: TestDatabase,
    _shutdown: oneshot::Sender<()>,
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

    pub async fn spawn_with(seed: Seed, configure: impl FnOnce(&mut Config)) -> Self {
        let (database_url, database) = fresh_database().await;
        let mut config = Config::for_database(&database_url).expect("test configuration");
        if let Seed::Fixture = seed {
            config.seed_dir = Some(fixture_seed());
        }
        configure(&mut config);
        let app = App::build(config).await.expect("hamlet starts");
        let address = format!("http://{}", app.local_addr().unwrap());
        let (shutdown, stopped) = oneshot::channel::<()>();
        tokio::spawn(app.run(async {
            let _ = stopped.await;
        }));
        Self {
            address,
            client: reqwest::Client::builder().build().unwrap(),
            _database: database,
            _shutdown: shutdown,
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
            admin
                .execute_unprepared(&format!("CREATE DATABASE {name}"))
                .await
                .expect("a test database can be created");
            admin.close().await.ok();
            (
                with_database_name(&admin_url, &name),
                TestDatabase::Postgres,
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
