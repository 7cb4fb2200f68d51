//! Configuration: one typed struct read from `HAMLET_*` environment variables.
//!
//! Every variable has a default that serves the seeded content on a laptop. A bad
//! value stops startup with a message naming the variable, never a silent default.

use std::fmt;
use std::net::SocketAddr;
use std::str::FromStr;
use std::time::Duration;

use ipnet::IpNet;

/// A value that must never be printed: `Debug` and `Display` show `[redacted]`.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret<T>(T);

impl<T> Secret<T> {
    pub fn new(value: T) -> Self {
        Self(value)
    }

    /// The secret itself, for the one place that needs it.
    pub fn expose(&self) -> &T {
        &self.0
    }
}

impl<T> fmt::Debug for Secret<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("[redacted]")
    }
}

/// How log lines are written.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LogFormat {
    /// Human-readable lines when standard output is a terminal, JSON otherwise.
    Auto,
    Json,
    Text,
}

/// Everything hamlet can be told from its environment.
#[derive(Clone, Debug)]
pub struct Config {
    pub bind: SocketAddr,
    pub database_url: Secret<String>,
    pub jwt_secret: Option<Secret<String>>,
    pub cors_origins: Vec<String>,
    /// Partner origins allowed to show the residents' pages in a frame
    /// (`frame-ancestors`); none by default.
    pub frame_ancestors: Vec<String>,
    pub trusted_proxies: Vec<IpNet>,
    pub submit_per_minute: u32,
    pub login_per_minute: u32,
    pub retention_days: u32,
    pub max_body_bytes: usize,
    pub max_depth: usize,
    pub max_complexity: usize,
    pub max_page_size: u32,
    /// Aliased fields one operation may hold, fragments included.
    pub max_aliases: usize,
    /// Directives one field may carry.
    pub max_directives: usize,
    /// A whole request, body included, must arrive and be answered within this.
    pub request_timeout: Duration,
    /// A client must send a request's headers within this; an idle
    /// keep-alive connection is closed after it too.
    pub header_timeout: Duration,
    /// The longest a run of failed sign-ins makes an email or an address wait.
    pub login_backoff_max: Duration,
    pub cache_max_age_seconds: u32,
    /// Bytes each in-memory store may hold.
    pub cache_bounds: crate::cache::CacheBounds,
    pub db_max_connections: u32,
    pub log_filter: String,
    pub log_format: LogFormat,
    /// How the background loops pace themselves (tests make them quick).
    pub background: crate::background::BackgroundSettings,
    pub seed_dir: Option<std::path::PathBuf>,
    /// How the residents' pages behave (the kiosk's idle reset).
    pub pages: crate::residents::PageSettings,
    /// The time rate limits and sign-in waits read: always the real clock
    /// when read from the environment. Tests set a manual one in code
    /// ([`crate::clock::ManualClock`]); nothing else can.
    pub clock: crate::clock::Clock,
}

/// One documented variable: its name, default and meaning. `hamlet --help` prints
/// this table, so the help can never disagree with what is read.
pub struct Variable {
    pub name: &'static str,
    pub default: &'static str,
    pub meaning: &'static str,
}

pub const VARIABLES: &[Variable] = &[
    Variable {
        name: "HAMLET_BIND",
        default: "127.0.0.1:8080",
        meaning: "listen address",
    },
    Variable {
        name: "HAMLET_DATABASE_URL",
        default: "sqlite://hamlet.db?mode=rwc",
        meaning: "SQLite file or postgres://user:password@host/db",
    },
    Variable {
        name: "HAMLET_JWT_SECRET",
        default: "generated once, kept in the database",
        meaning: "HS256 signing secret for staff tokens (at least 32 bytes)",
    },
    Variable {
        name: "HAMLET_CORS_ORIGINS",
        default: "none",
        meaning: "comma-separated origins allowed to call the API from browsers",
    },
    Variable {
        name: "HAMLET_FRAME_ANCESTORS",
        default: "none",
        meaning: "comma-separated partner origins that may embed the residents' pages in a frame",
    },
    Variable {
        name: "HAMLET_TRUSTED_PROXIES",
        default: "none",
        meaning: "comma-separated CIDRs whose X-Forwarded-For is believed",
    },
    Variable {
        name: "HAMLET_SUBMIT_PER_MINUTE",
        default: "20",
        meaning: "submissions per client address per minute (kiosk tokens get 10x)",
    },
    Variable {
        name: "HAMLET_LOGIN_PER_MINUTE",
        default: "5",
        meaning: "login attempts per address and email per minute",
    },
    Variable {
        name: "HAMLET_RETENTION_DAYS",
        default: "365",
        meaning: "days before closed items lose free text and contact details",
    },
    Variable {
        name: "HAMLET_MAX_BODY_BYTES",
        default: "65536",
        meaning: "largest request body accepted (413 above it)",
    },
    Variable {
        name: "HAMLET_MAX_DEPTH",
        default: "15",
        meaning: "deepest query accepted",
    },
    Variable {
        name: "HAMLET_MAX_COMPLEXITY",
        default: "5000",
        meaning: "costliest query accepted (list fields weigh by page size)",
    },
    Variable {
        name: "HAMLET_MAX_PAGE_SIZE",
        default: "100",
        meaning: "largest `first` a connection accepts",
    },
    Variable {
        name: "HAMLET_MAX_ALIASES",
        default: "30",
        meaning: "most aliased fields one query may hold",
    },
    Variable {
        name: "HAMLET_MAX_DIRECTIVES",
        default: "4",
        meaning: "most directives one field may carry",
    },
    Variable {
        name: "HAMLET_REQUEST_TIMEOUT",
        default: "30",
        meaning: "seconds a whole request may take, body included (408 after)",
    },
    Variable {
        name: "HAMLET_HEADER_TIMEOUT",
        default: "10",
        meaning: "seconds a client has to send request headers; idle connections close after it",
    },
    Variable {
        name: "HAMLET_LOGIN_BACKOFF_MAX",
        default: "900",
        meaning: "most seconds failed sign-ins make an email or address wait",
    },
    Variable {
        name: "HAMLET_CACHE_MAX_AGE",
        default: "60",
        meaning: "seconds public content answers may be cached (Cache-Control max-age)",
    },
    Variable {
        name: "HAMLET_CACHE_ANSWERS_BYTES",
        default: "8MiB",
        meaning: "memory for public answers kept between requests (bytes, or with KiB/MiB)",
    },
    Variable {
        name: "HAMLET_CACHE_STAFF_PAGES_BYTES",
        default: "8MiB",
        meaning: "memory for staff queue pages kept while nothing changes (SQLite)",
    },
    Variable {
        name: "HAMLET_CACHE_DOCUMENTS_BYTES",
        default: "4MiB",
        meaning: "memory for parsed GraphQL documents",
    },
    Variable {
        name: "HAMLET_CACHE_PERSISTED_QUERIES_BYTES",
        default: "4MiB",
        meaning: "memory for automatic persisted queries",
    },
    Variable {
        name: "HAMLET_DB_MAX_CONNECTIONS",
        default: "16 (PostgreSQL), 4 (SQLite)",
        meaning: "database connection pool size",
    },
    Variable {
        name: "HAMLET_SEED_DIR",
        default: "the seed built into the binary",
        meaning: "folder of seed files loaded into a fresh database on first start",
    },
    Variable {
        name: "HAMLET_LOG",
        default: "info",
        meaning: "log filter, e.g. `info` or `hamlet=debug,info`",
    },
    Variable {
        name: "HAMLET_LOG_FORMAT",
        default: "auto",
        meaning: "`json`, `text`, or `auto` (text on a terminal, JSON otherwise)",
    },
];

/// The help text listing every variable, for `hamlet --help`.
pub fn variables_help() -> String {
    let mut help =
        String::from("Configuration (environment variables; a .env file is read if present):\n");
    for variable in VARIABLES {
        help.push_str(&format!(
            "  {:<26} {} [default: {}]\n",
            variable.name, variable.meaning, variable.default
        ));
    }
    help
}

/// A variable that was set to something hamlet cannot use.
#[derive(Debug, thiserror::Error)]
#[error("{variable}: {reason}")]
pub struct ConfigError {
    pub variable: &'static str,
    pub reason: String,
}

impl Config {
    /// Reads the process environment.
    pub fn from_env() -> Result<Self, ConfigError> {
        Self::from_lookup(|name| std::env::var(name).ok())
    }

    /// Reads configuration through `lookup`, so tests can supply their own values.
    pub fn from_lookup(lookup: impl Fn(&str) -> Option<String>) -> Result<Self, ConfigError> {
        let get = |name: &'static str| {
            lookup(name)
                .map(|value| value.trim().to_owned())
                .filter(|value| !value.is_empty())
        };
        let database_url =
            get("HAMLET_DATABASE_URL").unwrap_or_else(|| "sqlite://hamlet.db?mode=rwc".into());
        if !(database_url.starts_with("sqlite:")
            || database_url.starts_with("postgres://")
            || database_url.starts_with("postgresql://"))
        {
            return Err(ConfigError {
                variable: "HAMLET_DATABASE_URL",
                reason: "must start with sqlite: or postgres://".into(),
            });
        }
        let is_sqlite = database_url.starts_with("sqlite:");
        let jwt_secret = match get("HAMLET_JWT_SECRET") {
            Some(secret) if secret.len() < 32 => {
                return Err(ConfigError {
                    variable: "HAMLET_JWT_SECRET",
                    reason: format!("must be at least 32 bytes, got {}", secret.len()),
                });
            }
            other => other.map(Secret::new),
        };
        let cors_origins = origins(get("HAMLET_CORS_ORIGINS"), "HAMLET_CORS_ORIGINS")?;
        let frame_ancestors = origins(get("HAMLET_FRAME_ANCESTORS"), "HAMLET_FRAME_ANCESTORS")?;
        let trusted_proxies = list(get("HAMLET_TRUSTED_PROXIES"))
            .into_iter()
            .map(|cidr| {
                cidr.parse::<IpNet>()
                    .or_else(|_| cidr.parse::<std::net::IpAddr>().map(IpNet::from))
                    .map_err(|_| ConfigError {
                        variable: "HAMLET_TRUSTED_PROXIES",
                        reason: format!("{cidr:?} is not a CIDR like 10.0.0.0/8"),
                    })
            })
            .collect::<Result<Vec<_>, _>>()?;
        let log_format = match get("HAMLET_LOG_FORMAT").as_deref() {
            None | Some("auto") => LogFormat::Auto,
            Some("json") => LogFormat::Json,
            Some("text") => LogFormat::Text,
            Some(other) => {
                return Err(ConfigError {
                    variable: "HAMLET_LOG_FORMAT",
                    reason: format!("{other:?} is not one of json, text, auto"),
                });
            }
        };
        let retention_days = positive(
            parse(&get, "HAMLET_RETENTION_DAYS", "365")?,
            "HAMLET_RETENTION_DAYS",
        )?;
        Ok(Self {
            bind: parse(&get, "HAMLET_BIND", "127.0.0.1:8080")?,
            database_url: Secret::new(database_url),
            jwt_secret,
            cors_origins,
            frame_ancestors,
            trusted_proxies,
            submit_per_minute: positive(
                parse(&get, "HAMLET_SUBMIT_PER_MINUTE", "20")?,
                "HAMLET_SUBMIT_PER_MINUTE",
            )?,
            login_per_minute: positive(
                parse(&get, "HAMLET_LOGIN_PER_MINUTE", "5")?,
                "HAMLET_LOGIN_PER_MINUTE",
            )?,
            retention_days,
            max_body_bytes: positive(
                parse(&get, "HAMLET_MAX_BODY_BYTES", "65536")?,
                "HAMLET_MAX_BODY_BYTES",
            )?,
            // GraphiQL's introspection query, for its documentation explorer,
            // is 13 deep; the rest is headroom.
            max_depth: positive(parse(&get, "HAMLET_MAX_DEPTH", "15")?, "HAMLET_MAX_DEPTH")?,
            max_complexity: positive(
                parse(&get, "HAMLET_MAX_COMPLEXITY", "5000")?,
                "HAMLET_MAX_COMPLEXITY",
            )?,
            max_page_size: positive(
                parse(&get, "HAMLET_MAX_PAGE_SIZE", "100")?,
                "HAMLET_MAX_PAGE_SIZE",
            )?,
            max_aliases: positive(
                parse(&get, "HAMLET_MAX_ALIASES", "30")?,
                "HAMLET_MAX_ALIASES",
            )?,
            max_directives: positive(
                parse(&get, "HAMLET_MAX_DIRECTIVES", "4")?,
                "HAMLET_MAX_DIRECTIVES",
            )?,
            request_timeout: seconds(&get, "HAMLET_REQUEST_TIMEOUT", "30")?,
            header_timeout: seconds(&get, "HAMLET_HEADER_TIMEOUT", "10")?,
            login_backoff_max: seconds(&get, "HAMLET_LOGIN_BACKOFF_MAX", "900")?,
            cache_max_age_seconds: parse(&get, "HAMLET_CACHE_MAX_AGE", "60")?,
            cache_bounds: crate::cache::CacheBounds {
                answers: bytes(&get, "HAMLET_CACHE_ANSWERS_BYTES", "8MiB")?,
                staff_pages: bytes(&get, "HAMLET_CACHE_STAFF_PAGES_BYTES", "8MiB")?,
                documents: bytes(&get, "HAMLET_CACHE_DOCUMENTS_BYTES", "4MiB")?,
                persisted_queries: bytes(&get, "HAMLET_CACHE_PERSISTED_QUERIES_BYTES", "4MiB")?,
            },
            db_max_connections: positive(
                parse(
                    &get,
                    "HAMLET_DB_MAX_CONNECTIONS",
                    if is_sqlite { "4" } else { "16" },
                )?,
                "HAMLET_DB_MAX_CONNECTIONS",
            )?,
            log_filter: get("HAMLET_LOG").unwrap_or_else(|| "info".into()),
            log_format,
            seed_dir: get("HAMLET_SEED_DIR").map(Into::into),
            pages: crate::residents::PageSettings::default(),
            background: crate::background::BackgroundSettings::new(retention_days),
            clock: crate::clock::Clock::system(),
        })
    }

    /// Defaults for everything but the database: what tests start from.
    pub fn for_database(database_url: &str) -> Result<Self, ConfigError> {
        let database_url = database_url.to_owned();
        Self::from_lookup(move |name| match name {
            "HAMLET_DATABASE_URL" => Some(database_url.clone()),
            "HAMLET_BIND" => Some("127.0.0.1:0".into()),
            _ => None,
        })
    }

    pub fn is_sqlite(&self) -> bool {
        self.database_url.expose().starts_with("sqlite:")
    }
}

/// A comma-separated list of origins such as `https://example.org`.
fn origins(value: Option<String>, variable: &'static str) -> Result<Vec<String>, ConfigError> {
    list(value)
        .into_iter()
        .map(|origin| {
            let valid = (origin.starts_with("https://") || origin.starts_with("http://"))
                && !origin.ends_with('/')
                && origin.is_ascii()
                && !origin.contains(char::is_whitespace)
                && !origin.contains([';', ',', '\'', '"']);
            if valid {
                Ok(origin)
            } else {
                Err(ConfigError {
                    variable,
                    reason: format!("{origin:?} is not an origin like https://example.org"),
                })
            }
        })
        .collect()
}

fn list(value: Option<String>) -> Vec<String> {
    value
        .map(|value| {
            value
                .split(',')
                .map(str::trim)
                .filter(|item| !item.is_empty())
                .map(str::to_owned)
                .collect()
        })
        .unwrap_or_default()
}

fn parse<T: FromStr>(
    get: &impl Fn(&'static str) -> Option<String>,
    variable: &'static str,
    default: &str,
) -> Result<T, ConfigError>
where
    T::Err: fmt::Display,
{
    let value = get(variable).unwrap_or_else(|| default.to_owned());
    value.parse().map_err(|error| ConfigError {
        variable,
        reason: format!("{value:?}: {error}"),
    })
}

/// A size in bytes: a whole number, or one with `KiB`, `MiB` or `GiB`.
fn bytes(
    get: &impl Fn(&'static str) -> Option<String>,
    variable: &'static str,
    default: &str,
) -> Result<u64, ConfigError> {
    let value = get(variable).unwrap_or_else(|| default.to_owned());
    let (number, unit) = value.split_at(
        value
            .find(|c: char| !c.is_ascii_digit())
            .unwrap_or(value.len()),
    );
    let scale: u64 = match unit.trim() {
        "" | "B" => 1,
        "KiB" => 1 << 10,
        "MiB" => 1 << 20,
        "GiB" => 1 << 30,
        _ => 0,
    };
    number
        .parse::<u64>()
        .ok()
        .filter(|_| scale > 0)
        .and_then(|number| number.checked_mul(scale))
        .ok_or_else(|| ConfigError {
            variable,
            reason: format!("{value:?} is not a size like 4194304 or 4MiB"),
        })
}

/// A positive whole number of seconds.
fn seconds(
    get: &impl Fn(&'static str) -> Option<String>,
    variable: &'static str,
    default: &str,
) -> Result<Duration, ConfigError> {
    positive(parse::<u64>(get, variable, default)?, variable).map(Duration::from_secs)
}

fn positive<T: PartialOrd + Default>(value: T, variable: &'static str) -> Result<T, ConfigError> {
    if value > T::default() {
        Ok(value)
    } else {
        Err(ConfigError {
            variable,
            reason: "must be greater than zero".into(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cache_sizes_are_read_in_bytes_or_binary_units() {
        let bounds = |value: &str| {
            config(&[("HAMLET_CACHE_ANSWERS_BYTES", value)]).map(|c| c.cache_bounds.answers)
        };
        assert_eq!(bounds("1048576").unwrap(), 1 << 20);
        assert_eq!(bounds("512KiB").unwrap(), 512 << 10);
        assert_eq!(bounds("2 MiB").unwrap(), 2 << 20);
        assert_eq!(bounds("1GiB").unwrap(), 1 << 30);
        assert_eq!(
            config(&[]).unwrap().cache_bounds,
            crate::cache::CacheBounds::default()
        );
        for bad in ["8MB", "lots", "-1", "99999999999999999999GiB"] {
            let error = bounds(bad).unwrap_err();
            assert_eq!(error.variable, "HAMLET_CACHE_ANSWERS_BYTES", "{bad}");
        }
    }

    fn config(pairs: &[(&str, &str)]) -> Result<Config, ConfigError> {
        let pairs: Vec<(String, String)> = pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        Config::from_lookup(move |name| {
            pairs
                .iter()
                .find(|(k, _)| k == name)
                .map(|(_, v)| v.clone())
        })
    }

    #[test]
    fn defaults_serve_sqlite_on_localhost() {
        let config = config(&[]).unwrap();
        assert_eq!(config.bind.to_string(), "127.0.0.1:8080");
        assert!(config.is_sqlite());
        assert_eq!(config.submit_per_minute, 20);
        assert_eq!(config.login_per_minute, 5);
        assert_eq!(config.retention_days, 365);
        assert!(config.jwt_secret.is_none());
        assert_eq!(config.max_aliases, 30);
        assert_eq!(config.max_directives, 4);
        assert_eq!(config.request_timeout, Duration::from_secs(30));
        assert_eq!(config.header_timeout, Duration::from_secs(10));
        assert_eq!(config.login_backoff_max, Duration::from_secs(900));
        assert!(config.frame_ancestors.is_empty());
    }

    #[test]
    fn a_bad_value_names_its_variable() {
        for (variable, value) in [
            ("HAMLET_BIND", "not-an-address"),
            ("HAMLET_SUBMIT_PER_MINUTE", "lots"),
            ("HAMLET_SUBMIT_PER_MINUTE", "0"),
            ("HAMLET_JWT_SECRET", "short"),
            ("HAMLET_TRUSTED_PROXIES", "10.0.0.0/99"),
            ("HAMLET_CORS_ORIGINS", "example.org"),
            ("HAMLET_FRAME_ANCESTORS", "partner.example"),
            ("HAMLET_FRAME_ANCESTORS", "https://a.example; script-src *"),
            ("HAMLET_DATABASE_URL", "mysql://x"),
            ("HAMLET_LOG_FORMAT", "xml"),
            ("HAMLET_MAX_ALIASES", "0"),
            ("HAMLET_HEADER_TIMEOUT", "soon"),
        ] {
            let error = config(&[(variable, value)]).unwrap_err();
            assert_eq!(error.variable, variable);
            assert!(error.to_string().starts_with(variable), "{error}");
        }
    }

    #[test]
    fn secrets_never_print() {
        let config = config(&[
            (
                "HAMLET_JWT_SECRET",
                "0123456789abcdef0123456789abcdef-secret",
            ),
            ("HAMLET_DATABASE_URL", "postgres://hamlet:hunter2@db/hamlet"),
        ])
        .unwrap();
        let printed = format!("{config:?}");
        assert!(!printed.contains("0123456789abcdef"), "{printed}");
        assert!(!printed.contains("hunter2"), "{printed}");
    }

    #[test]
    fn lists_are_split_on_commas() {
        let config = config(&[
            (
                "HAMLET_CORS_ORIGINS",
                "https://a.example, https://b.example",
            ),
            ("HAMLET_TRUSTED_PROXIES", "10.0.0.0/8,127.0.0.1"),
        ])
        .unwrap();
        assert_eq!(config.cors_origins.len(), 2);
        assert_eq!(config.trusted_proxies.len(), 2);
    }
}
