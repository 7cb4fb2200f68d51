//! Prometheus metrics: GraphQL requests and their latency by operation, errors
//! by code, HTTP responses by status, database pool use and SQL statements run.

use std::collections::HashSet;
use std::sync::Mutex;
use std::time::Duration;

use prometheus::{
    Encoder as _, HistogramOpts, HistogramVec, IntCounter, IntCounterVec, IntGauge, IntGaugeVec,
    Opts, Registry, TextEncoder,
};
use sea_orm::DatabaseConnection;

/// Operation names are chosen by clients; past this many distinct names, new
/// ones are counted as `other` so a hostile client cannot grow the registry.
const MAX_OPERATION_NAMES: usize = 200;

pub struct Metrics {
    registry: Registry,
    requests: IntCounterVec,
    latency: HistogramVec,
    errors: IntCounterVec,
    responses: IntCounterVec,
    pool_open: IntGauge,
    pool_idle: IntGauge,
    cache_bytes: IntGaugeVec,
    cache_capacity: IntGaugeVec,
    cache_entries: IntGaugeVec,
    /// SQL statements run, counted by the database connection's callback.
    pub db_statements: IntCounter,
    operation_names: Mutex<HashSet<String>>,
}

impl Metrics {
    pub fn new(pool_size: u32) -> Result<Self, prometheus::Error> {
        let registry = Registry::new_custom(Some("hamlet".into()), None)?;
        let requests = IntCounterVec::new(
            Opts::new(
                "graphql_requests_total",
                "GraphQL requests by operation name and type",
            ),
            &["operation", "type"],
        )?;
        let latency = HistogramVec::new(
            HistogramOpts::new(
                "graphql_request_duration_seconds",
                "GraphQL request latency by operation name",
            )
            .buckets(vec![
                0.0005, 0.001, 0.002, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0,
            ]),
            &["operation"],
        )?;
        let errors = IntCounterVec::new(
            Opts::new("graphql_errors_total", "GraphQL errors by extensions.code"),
            &["code"],
        )?;
        let responses = IntCounterVec::new(
            Opts::new(
                "http_responses_total",
                "HTTP responses from /graphql by status",
            ),
            &["status"],
        )?;
        let pool_open = IntGauge::new("db_pool_connections_open", "Database connections open")?;
        let pool_idle = IntGauge::new(
            "db_pool_connections_idle",
            "Database connections open and idle",
        )?;
        let pool_max = IntGauge::new("db_pool_connections_max", "Database connection pool size")?;
        pool_max.set(i64::from(pool_size));
        let db_statements = IntCounter::new("db_statements_total", "SQL statements run")?;
        let cache_bytes = IntGaugeVec::new(
            Opts::new("cache_bytes", "Bytes held by each in-memory store"),
            &["cache"],
        )?;
        let cache_capacity = IntGaugeVec::new(
            Opts::new(
                "cache_capacity_bytes",
                "Bytes each in-memory store may hold",
            ),
            &["cache"],
        )?;
        let cache_entries = IntGaugeVec::new(
            Opts::new("cache_entries", "Entries in each in-memory store"),
            &["cache"],
        )?;
        registry.register(Box::new(cache_bytes.clone()))?;
        registry.register(Box::new(cache_capacity.clone()))?;
        registry.register(Box::new(cache_entries.clone()))?;
        registry.register(Box::new(db_statements.clone()))?;
        registry.register(Box::new(requests.clone()))?;
        registry.register(Box::new(latency.clone()))?;
        registry.register(Box::new(errors.clone()))?;
        registry.register(Box::new(responses.clone()))?;
        registry.register(Box::new(pool_open.clone()))?;
        registry.register(Box::new(pool_idle.clone()))?;
        registry.register(Box::new(pool_max.clone()))?;
        Ok(Self {
            registry,
            requests,
            latency,
            errors,
            responses,
            pool_open,
            pool_idle,
            cache_bytes,
            cache_capacity,
            cache_entries,
            db_statements,
            operation_names: Mutex::new(HashSet::new()),
        })
    }

    /// The label for a client's operation name.
    pub fn operation_label(&self, name: Option<&str>) -> String {
        let Some(name) = name else {
            return "anonymous".into();
        };
        let well_formed = !name.is_empty()
            && name.len() <= 64
            && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_');
        if !well_formed {
            return "other".into();
        }
        let Ok(mut names) = self.operation_names.lock() else {
            return "other".into();
        };
        if names.contains(name) || names.len() < MAX_OPERATION_NAMES {
            names.insert(name.to_owned());
            name.to_owned()
        } else {
            "other".into()
        }
    }

    pub fn observe_request(
        &self,
        operation: &str,
        kind: &str,
        elapsed: Duration,
        error_codes: &[&str],
    ) {
        self.requests.with_label_values(&[operation, kind]).inc();
        self.latency
            .with_label_values(&[operation])
            .observe(elapsed.as_secs_f64());
        for code in error_codes {
            self.errors.with_label_values(&[code]).inc();
        }
    }

    pub fn observe_response(&self, status: u16) {
        self.responses
            .with_label_values(&[&status.to_string()])
            .inc();
    }

    /// The Prometheus text exposition of every metric, with the pool's and
    /// the in-memory stores' sizes as they are now.
    pub fn render(&self, db: &DatabaseConnection, caches: &[crate::cache::Usage]) -> String {
        let (open, idle) = crate::db::pool_usage(db);
        self.pool_open.set(i64::from(open));
        self.pool_idle.set(idle as i64);
        for cache in caches {
            let gauge = |vec: &IntGaugeVec, value: u64| {
                vec.with_label_values(&[cache.name])
                    .set(i64::try_from(value).unwrap_or(i64::MAX));
            };
            gauge(&self.cache_bytes, cache.bytes);
            gauge(&self.cache_capacity, cache.capacity);
            gauge(&self.cache_entries, cache.entries);
        }
        let mut buffer = Vec::new();
        if let Err(error) = TextEncoder::new().encode(&self.registry.gather(), &mut buffer) {
            tracing::error!(%error, "encoding metrics");
        }
        String::from_utf8(buffer).unwrap_or_default()
    }
}
