//! The bench's own database: a fresh SQLite file in a temporary folder, or a
//! fresh `hamlet_bench_…` database on a PostgreSQL server, removed at the end.

use std::path::{Path, PathBuf};

use anyhow::{Context as _, bail};
use sea_orm::{ConnectionTrait as _, Database, DatabaseConnection, Statement};

/// Which database engine a run used.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    Sqlite,
    Postgres,
}

impl Kind {
    pub fn name(self) -> &'static str {
        match self {
            Self::Sqlite => "sqlite",
            Self::Postgres => "postgresql",
        }
    }
}

/// A database made for one run.
pub struct BenchDatabase {
    pub kind: Kind,
    /// What the server gets as `HAMLET_DATABASE_URL`.
    pub url: String,
    /// For PostgreSQL: the server's URL to connect to for `DROP DATABASE`.
    admin_url: Option<String>,
    name: Option<String>,
}

impl BenchDatabase {
    /// A new SQLite file inside `dir` (which the caller removes).
    pub fn sqlite(dir: &Path) -> Self {
        let file: PathBuf = dir.join("hamlet-bench.db");
        Self {
            kind: Kind::Sqlite,
            url: format!("sqlite://{}?mode=rwc", file.display()),
            admin_url: None,
            name: None,
        }
    }

    /// Creates `hamlet_bench_<random>` on the server that `admin_url` reaches
    /// (e.g. `postgres://postgres@127.0.0.1:5432/postgres`).
    pub async fn postgres(admin_url: &str) -> anyhow::Result<Self> {
        if !(admin_url.starts_with("postgres://") || admin_url.starts_with("postgresql://")) {
            bail!("--database-url takes a PostgreSQL server's URL (SQLite is the default)");
        }
        let name = format!("hamlet_bench_{}", uuid::Uuid::new_v4().simple());
        let admin = Database::connect(admin_url)
            .await
            .with_context(|| format!("connecting to {}", redact(admin_url)))?;
        // The name is ours (letters, digits, underscores), so quoting is enough.
        admin
            .execute_unprepared(&format!("CREATE DATABASE \"{name}\""))
            .await
            .with_context(|| format!("creating database {name}"))?;
        admin.close().await?;
        Ok(Self {
            kind: Kind::Postgres,
            url: with_database_name(admin_url, &name)?,
            admin_url: Some(admin_url.to_owned()),
            name: Some(name),
        })
    }

    /// Opens a connection of the bench's own, for filling and counting.
    pub async fn connect(&self) -> anyhow::Result<DatabaseConnection> {
        let mut options = sea_orm::ConnectOptions::new(self.url.clone());
        options.max_connections(1).sqlx_logging(false);
        Database::connect(options)
            .await
            .with_context(|| format!("connecting to {}", redact(&self.url)))
    }

    /// The engine's own version string, for the report.
    pub async fn engine_version(&self, db: &DatabaseConnection) -> anyhow::Result<String> {
        let sql = match self.kind {
            Kind::Sqlite => "SELECT 'SQLite ' || sqlite_version() AS v",
            Kind::Postgres => "SELECT version() AS v",
        };
        let row = db
            .query_one_raw(Statement::from_string(db.get_database_backend(), sql))
            .await?
            .context("no version row")?;
        let version: String = row.try_get("", "v")?;
        // "PostgreSQL 15.20 (Debian …) on x86_64-pc-linux-gnu, compiled by …"
        Ok(version.split(" on ").next().unwrap_or(&version).to_owned())
    }

    /// How many feedback rows there are.
    pub async fn count_feedback(db: &DatabaseConnection) -> anyhow::Result<i64> {
        let row = db
            .query_one_raw(Statement::from_string(
                db.get_database_backend(),
                "SELECT COUNT(*) AS n FROM feedback",
            ))
            .await?
            .context("no count row")?;
        Ok(row.try_get("", "n")?)
    }

    /// Drops the PostgreSQL database (SQLite files go with their folder).
    pub async fn drop_database(&self) -> anyhow::Result<()> {
        let (Some(admin_url), Some(name)) = (&self.admin_url, &self.name) else {
            return Ok(());
        };
        let admin = Database::connect(admin_url.as_str()).await?;
        // FORCE ends any connection the server left behind (PostgreSQL 13+).
        admin
            .execute_unprepared(&format!("DROP DATABASE IF EXISTS \"{name}\" WITH (FORCE)"))
            .await
            .with_context(|| format!("dropping database {name}"))?;
        admin.close().await?;
        Ok(())
    }
}

/// `postgres://user@host:5432/postgres?x=y` with its database name replaced.
fn with_database_name(url: &str, name: &str) -> anyhow::Result<String> {
    let (base, query) = match url.split_once('?') {
        Some((base, query)) => (base, Some(query)),
        None => (url, None),
    };
    let Some((scheme, rest)) = base.split_once("://") else {
        bail!("--database-url must look like postgres://user@host:5432/postgres");
    };
    let authority = rest.split('/').next().unwrap_or_default();
    let mut out = format!("{scheme}://{authority}/{name}");
    if let Some(query) = query {
        out.push('?');
        out.push_str(query);
    }
    Ok(out)
}

/// A URL fit for printing: any password replaced.
pub fn redact(url: &str) -> String {
    let Some((scheme, rest)) = url.split_once("://") else {
        return url.to_owned();
    };
    let Some((userinfo, host)) = rest.split_once('@') else {
        return url.to_owned();
    };
    match userinfo.split_once(':') {
        Some((user, _)) => format!("{scheme}://{user}:***@{host}"),
        None => url.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_database_name_is_replaced_and_the_rest_kept() {
        assert_eq!(
            with_database_name("postgres://postgres@127.0.0.1:5432/postgres", "b").unwrap(),
            "postgres://postgres@127.0.0.1:5432/b"
        );
        assert_eq!(
            with_database_name("postgres://u:p@h/db?sslmode=disable", "b").unwrap(),
            "postgres://u:p@h/b?sslmode=disable"
        );
        assert_eq!(
            with_database_name("postgres://h", "b").unwrap(),
            "postgres://h/b"
        );
    }

    #[test]
    fn passwords_are_not_printed() {
        assert_eq!(redact("postgres://u:secret@h/db"), "postgres://u:***@h/db");
        assert_eq!(redact("postgres://u@h/db"), "postgres://u@h/db");
    }
}
