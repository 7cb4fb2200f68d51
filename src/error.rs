//! The errors a client can act on, and how they appear in a GraphQL answer.
//!
//! Every error a resolver returns is an [`AppError`]; its variant becomes
//! `extensions.code` ([`Code`]). `Internal` keeps its cause for the log and
//! shows the client nothing of it.

use async_graphql::ErrorExtensions;

/// An outcome a client can act on.
#[derive(Debug, thiserror::Error)]
pub enum AppError {
    /// The input broke a rule; `field` names the input field at fault.
    #[error("{field}: {reason}")]
    BadInput { field: String, reason: String },
    #[error("authentication is required")]
    Unauthenticated,
    #[error("you are not allowed to do this")]
    Forbidden,
    #[error("{0} was not found")]
    NotFound(&'static str),
    #[error("{0}")]
    Conflict(String),
    #[error("too many requests; try again in {retry_after_seconds} seconds")]
    RateLimited { retry_after_seconds: u64 },
    #[error("the service is unavailable; try again shortly")]
    Unavailable,
    /// The database refused a write for a conflict with a concurrent one (a
    /// PostgreSQL deadlock or serialization failure). [`crate::db::transaction`]
    /// runs the write again; a client only sees it, as `SERVICE_UNAVAILABLE`,
    /// when every attempt conflicted.
    #[error("the service is busy; try again shortly")]
    Busy,
    /// Something went wrong on our side. The cause is logged, never shown.
    #[error("internal error")]
    Internal(#[source] anyhow::Error),
    /// An error from the GraphQL layer itself; see the `From` impl below.
    #[error("{}", .0.message)]
    Schema(async_graphql::Error),
}

/// Cloned only because async-graphql asks its resolvers' error types to be
/// `Clone`; a cloned `Internal` keeps its cause's message chain.
impl Clone for AppError {
    fn clone(&self) -> Self {
        match self {
            Self::BadInput { field, reason } => Self::BadInput {
                field: field.clone(),
                reason: reason.clone(),
            },
            Self::Unauthenticated => Self::Unauthenticated,
            Self::Forbidden => Self::Forbidden,
            Self::NotFound(what) => Self::NotFound(what),
            Self::Conflict(why) => Self::Conflict(why.clone()),
            Self::RateLimited {
                retry_after_seconds,
            } => Self::RateLimited {
                retry_after_seconds: *retry_after_seconds,
            },
            Self::Unavailable => Self::Unavailable,
            Self::Busy => Self::Busy,
            Self::Internal(cause) => Self::Internal(anyhow::anyhow!("{cause:#}")),
            Self::Schema(error) => Self::Schema(error.clone()),
        }
    }
}

impl AppError {
    pub fn bad_input(field: impl Into<String>, reason: impl Into<String>) -> Self {
        Self::BadInput {
            field: field.into(),
            reason: reason.into(),
        }
    }

    /// The `extensions.code` this error carries.
    pub fn code(&self) -> &'static str {
        self.code_kind().as_str()
    }
}

impl From<sea_orm::DbErr> for AppError {
    fn from(error: sea_orm::DbErr) -> Self {
        use crate::db::Failure;
        match crate::db::failure(&error) {
            Failure::Unavailable => {
                crate::db::outage::failed(&error);
                Self::Unavailable
            }
            Failure::Conflict => {
                tracing::info!(error = %error, "a write conflicted with a concurrent one");
                Self::Busy
            }
            Failure::Other => Self::Internal(error.into()),
        }
    }
}

impl From<anyhow::Error> for AppError {
    fn from(error: anyhow::Error) -> Self {
        Self::Internal(error)
    }
}

impl ErrorExtensions for AppError {
    fn extend(&self) -> async_graphql::Error {
        match self {
            Self::Internal(cause) => {
                // The cause chain's messages, not its debug form: a database
                // error's debug form carries PostgreSQL's detail, which for a
                // constraint failure is the whole failing row, free text and
                // contact details included.
                tracing::error!(error = format!("{cause:#}"), "internal error");
            }
            Self::Schema(error) if self.code_kind() == Code::Internal => {
                tracing::error!(error = %error.message, "internal error in the GraphQL layer");
            }
            _ => {}
        }
        let coded = self.coded();
        let message = match (self, coded.code) {
            // Nothing of an internal error's text reaches the client.
            (Self::Schema(_), Code::Internal) => "internal error".to_owned(),
            _ => self.to_string(),
        };
        let mut error = async_graphql::Error::new(message).extend_with(|_, extensions| {
            extensions.set("code", coded.code.as_str());
            if let Self::BadInput { field, .. } = self {
                extensions.set("field", field.as_str());
            }
            if let Some(seconds) = coded.retry_after_seconds {
                extensions.set("retryAfterSeconds", seconds);
            }
        });
        error.source = Some(std::sync::Arc::new(coded));
        error
    }
}

/// What store, domain and resolver functions return.
pub type AppResult<T> = Result<T, AppError>;

/// Every `extensions.code` hamlet answers with, and what each means for the
/// HTTP status. Ours come from [`AppError`]; the request-level ones from the
/// GraphQL layer itself (a document that does not parse, does not fit the
/// schema or asks too much).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Code {
    BadUserInput,
    Unauthenticated,
    Forbidden,
    NotFound,
    Conflict,
    RateLimited,
    ServiceUnavailable,
    Internal,
    QueryTooComplex,
    GraphqlParseFailed,
    GraphqlValidationFailed,
}

impl Code {
    pub const ALL: [Code; 11] = [
        Code::BadUserInput,
        Code::Unauthenticated,
        Code::Forbidden,
        Code::NotFound,
        Code::Conflict,
        Code::RateLimited,
        Code::ServiceUnavailable,
        Code::Internal,
        Code::QueryTooComplex,
        Code::GraphqlParseFailed,
        Code::GraphqlValidationFailed,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::BadUserInput => "BAD_USER_INPUT",
            Self::Unauthenticated => "UNAUTHENTICATED",
            Self::Forbidden => "FORBIDDEN",
            Self::NotFound => "NOT_FOUND",
            Self::Conflict => "CONFLICT",
            Self::RateLimited => "RATE_LIMITED",
            Self::ServiceUnavailable => "SERVICE_UNAVAILABLE",
            Self::Internal => "INTERNAL",
            Self::QueryTooComplex => "QUERY_TOO_COMPLEX",
            Self::GraphqlParseFailed => "GRAPHQL_PARSE_FAILED",
            Self::GraphqlValidationFailed => "GRAPHQL_VALIDATION_FAILED",
        }
    }

    pub fn parse(code: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|known| known.as_str() == code)
    }
}

/// What an answered error carries besides its message, kept as the GraphQL
/// error's `source` so the HTTP layer reads the code and the wait as types
/// instead of reading them back out of the answer.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Coded {
    pub code: Code,
    pub retry_after_seconds: Option<u64>,
}

impl AppError {
    /// The code and wait this error answers with.
    pub fn coded(&self) -> Coded {
        Coded {
            code: self.code_kind(),
            retry_after_seconds: match self {
                Self::RateLimited {
                    retry_after_seconds,
                } => Some(*retry_after_seconds),
                // Retryable: the database may be back in a moment.
                Self::Unavailable | Self::Busy => Some(1),
                _ => None,
            },
        }
    }

    fn code_kind(&self) -> Code {
        match self {
            Self::BadInput { .. } => Code::BadUserInput,
            Self::Unauthenticated => Code::Unauthenticated,
            Self::Forbidden => Code::Forbidden,
            Self::NotFound(_) => Code::NotFound,
            Self::Conflict(_) => Code::Conflict,
            Self::RateLimited { .. } => Code::RateLimited,
            Self::Unavailable | Self::Busy => Code::ServiceUnavailable,
            Self::Internal(_) => Code::Internal,
            Self::Schema(error) => coded_of(error)
                .map(|coded| coded.code)
                .or_else(|| {
                    let extensions = error.extensions.as_ref()?;
                    match extensions.get("code")? {
                        async_graphql::Value::String(code) => Code::parse(code),
                        _ => None,
                    }
                })
                .unwrap_or(Code::Internal),
        }
    }
}

/// Every error a resolver returns becomes a GraphQL error through here, with
/// its `extensions.code` (and `field` or `retryAfterSeconds`) set and its
/// [`Coded`] summary as the source. async-graphql is built with
/// `custom-error-conversion`, so nothing else converts: an error without a
/// code does not compile.
impl From<AppError> for async_graphql::Error {
    fn from(error: AppError) -> Self {
        if let AppError::Schema(inner) = &error
            && coded_of(inner).is_some()
        {
            return inner.clone();
        }
        let coded = error.coded();
        let mut answer = error.extend();
        answer.source = Some(std::sync::Arc::new(coded));
        answer
    }
}

/// The [`Coded`] summary an error made from an [`AppError`] carries.
pub fn coded_of(error: &async_graphql::Error) -> Option<Coded> {
    error.source.as_ref()?.downcast_ref::<Coded>().copied()
}

/// An error from the GraphQL layer (a loader's, or schema data that is
/// missing) inside one of our resolvers: kept as it is if it carries a code
/// (a loader's error is one of ours, converted), otherwise INTERNAL.
impl From<async_graphql::Error> for AppError {
    fn from(error: async_graphql::Error) -> Self {
        Self::Schema(error)
    }
}
