//! Startup: connect, migrate, seed a fresh database, build the schema and the
//! router, and listen. `main` and the tests both start hamlet through [`App`].

use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;

use anyhow::Context as _;
use axum::Router;
use sea_orm::{DatabaseConnection, EntityTrait as _, PaginatorTrait as _};
use tokio::net::TcpListener;

use crate::background::{self, BackgroundSettings};
use crate::config::Config;
use crate::content::ContentSignals;
use crate::content::seed::{self, SeedFiles};
use crate::http::{self, AppState};
use crate::metrics::Metrics;
use crate::staff::password::Passwords;
use crate::staff::store as staff_store;
use crate::staff::token::TokenKeys;
use crate::submissions::SubmissionEvents;
use crate::{db, graphql};

/// A hamlet ready to serve: migrated, seeded and listening.
pub struct App {
    listener: TcpListener,
    router: Router,
    db: DatabaseConnection,
    events: SubmissionEvents,
    signals: ContentSignals,
    background: BackgroundSettings,
    /// Other processes' announcements, on PostgreSQL.
    others: Option<crate::cluster::Listener>,
    header_timeout: std::time::Duration,
}

impl App {
    pub async fn build(config: Config) -> anyhow::Result<Self> {
        // Broken safeguarding rules stop hamlet here, naming the file,
        // rather than on the first submission.
        let started = std::time::Instant::now();
        crate::privacy::safeguarding::load().context("loading the safeguarding rules")?;
        tracing::debug!(elapsed = ?started.elapsed(), "safeguarding rules loaded");
        // So do broken locale files for the residents' pages.
        crate::residents::strings::check()
            .map_err(|error| anyhow::anyhow!("loading the residents' pages' words: {error}"))?;
        let mut db = db::connect(&config).await?;
        db::migrate(&db).await?;
        seed_if_fresh(&db, &config).await?;
        let metrics = Metrics::new(config.db_max_connections).context("setting up metrics")?;
        let statements = metrics.db_statements.clone();
        db.set_metric_callback(move |_| statements.inc());
        let notifier = crate::cluster::Notifier::for_database(&db);
        let others = match notifier {
            Some(_) => Some(
                crate::cluster::Listener::connect(&db)
                    .await
                    .context("listening for other hamlet processes")?,
            ),
            None => None,
        };
        let events = SubmissionEvents::clustered(notifier.clone());
        let keys = Arc::new(token_keys(&db, &config).await?);
        let viewers = Arc::new(crate::auth::Viewers::for_database(&db));
        let signals = ContentSignals {
            others: notifier,
            ..ContentSignals::default()
        };
        let services = graphql::Services {
            db: db.clone(),
            events: events.clone(),
            keys: keys.clone(),
            passwords: Passwords::default(),
            signals: signals.clone(),
            viewers: viewers.clone(),
        };
        let staff_answers = crate::cache::StaffAnswers::for_database(
            config.database_url.expose(),
            config.cache_bounds.staff_pages,
            metrics.db_statements.clone(),
        )
        .await
        .context("opening the database's version connection")?;
        let state = Arc::new(AppState {
            schema: graphql::schema(&config, services),
            db: db.clone(),
            keys,
            viewers,
            metrics,
            cache_max_age: config.cache_max_age_seconds,
            max_body_bytes: config.max_body_bytes,
            trusted_proxies: config.trusted_proxies.clone(),
            answers: crate::cache::ResponseCache::new(
                signals.generation.clone(),
                config.cache_bounds.answers,
            ),
            staff_answers,
            persisted: crate::cache::PersistedQueries::new(config.cache_bounds.persisted_queries),
            storage: db::Storage::for_url(config.database_url.expose()),
            pages: config.pages.clone(),
        });
        let router = http::router(state, &config);
        let listener = TcpListener::bind(config.bind)
            .await
            .with_context(|| format!("HAMLET_BIND: cannot listen on {}", config.bind))?;
        Ok(Self {
            listener,
            router,
            db,
            events,
            signals,
            background: config.background.clone(),
            others,
            header_timeout: config.header_timeout,
        })
    }

    /// The address it listens on (useful when `HAMLET_BIND` asked for port 0).
    pub fn local_addr(&self) -> std::io::Result<SocketAddr> {
        self.listener.local_addr()
    }

    pub fn db(&self) -> &DatabaseConnection {
        &self.db
    }

    /// The channel on which every stored submission is announced.
    pub fn submission_events(&self) -> &SubmissionEvents {
        &self.events
    }

    /// Serves until `shutdown` completes, then finishes the requests in flight.
    pub async fn run(
        self,
        shutdown: impl Future<Output = ()> + Send + 'static,
    ) -> std::io::Result<()> {
        // Stopped when the set is dropped, after the server has stopped.
        let mut _background =
            background::spawn(self.db.clone(), self.signals.clone(), self.background);
        if let Some(others) = self.others {
            _background.spawn(crate::cluster::listen(
                self.db.clone(),
                others,
                self.events.clone(),
                self.signals.generation.clone(),
            ));
        }
        http::serve(self.listener, self.router, self.header_timeout, shutdown).await
    }
}

/// The keys staff tokens are signed with: from `HAMLET_JWT_SECRET`, or the
/// secret generated once and kept in the database, so tokens survive a
/// restart and every process on one database accepts the others' tokens.
async fn token_keys(db: &DatabaseConnection, config: &Config) -> anyhow::Result<TokenKeys> {
    let secret = match &config.jwt_secret {
        Some(secret) => secret.expose().clone(),
        None => staff_store::signing_secret(db)
            .await
            .map_err(|error| anyhow::anyhow!("reading the token-signing secret: {error}"))?,
    };
    Ok(TokenKeys::new(secret.as_bytes()))
}

/// Loads the seed into a database that has no organisation yet.
async fn seed_if_fresh(db: &DatabaseConnection, config: &Config) -> anyhow::Result<()> {
    let organisations = crate::content::entity::organisation::Entity::find()
        .count(db)
        .await?;
    if organisations > 0 {
        return Ok(());
    }
    let files = match &config.seed_dir {
        Some(dir) => SeedFiles::from_dir(dir).context("HAMLET_SEED_DIR")?,
        None => SeedFiles::built_in(),
    };
    let report = seed::load(db, &files)
        .await
        .context("seeding a fresh database")?;
    tracing::info!(?report, "seeded a fresh database");
    Ok(())
}

/// Completes on Ctrl-C or SIGTERM.
pub async fn shutdown_signal() {
    let interrupt = async {
        if let Err(error) = tokio::signal::ctrl_c().await {
            tracing::error!(%error, "cannot listen for Ctrl-C");
            std::future::pending::<()>().await;
        }
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut signal) => {
                signal.recv().await;
            }
            Err(error) => {
                tracing::error!(%error, "cannot listen for SIGTERM");
                std::future::pending::<()>().await;
            }
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        () = interrupt => {},
        () = terminate => {},
    }
    tracing::info!("shutting down: finishing requests in flight");
}
