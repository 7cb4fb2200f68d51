//! The errors a client can act on, and how they appear in a GraphQL answer.
//!
//! Every error a resolver returns is an [`AppError`]; its variant becomes
//! `extensions.code`. `Internal` keeps its cause for the log and shows the client
//! nothing of it.

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
        match self {
            Self::BadInput { .. } => "BAD_USER_INPUT",
            Self::Unauthenticated => "UNAUTHENTICATED",
            Self::Forbidden => "FORBIDDEN",
            Self::NotFound(_) => "NOT_FOUND",
            Self::Conflict(_) => "CONFLICT",
            Self::RateLimited { .. } => "RATE_LIMITED",
            Self::Unavailable | Self::Busy => "SERVICE_UNAVAILABLE",
            Self::Internal(_) => "INTERNAL",
        }
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
        if let Self::Internal(cause) = self {
            // The cause chain's messages, not its debug form: a database
            // error's debug form carries PostgreSQL's detail, which for a
            // constraint failure is the whole failing row, free text and
            // contact details included.
            tracing::error!(error = format!("{cause:#}"), "internal error");
        }
        async_graphql::Error::new(self.to_string()).extend_with(|_, extensions| {
            extensions.set("code", self.code());
            match self {
                Self::BadInput { field, .. } => extensions.set("field", field.as_str()),
                Self::RateLimited {
                    retry_after_seconds,
                } => extensions.set("retryAfterSeconds", *retry_after_seconds),
                // Retryable: the database may be back in a moment.
                Self::Unavailable | Self::Busy => extensions.set("retryAfterSeconds", 1),
                _ => {}
            }
        })
    }
}

/// What store and domain functions return.
pub type AppResult<T> = Result<T, AppError>;

/// Turns an [`AppResult`] into what a resolver returns, keeping the error code.
///
/// async-graphql converts any `Display` error into a bare message, which would
/// drop `extensions.code`; resolvers call this instead of `?` on our errors.
pub trait IntoGraphql<T> {
    fn into_graphql(self) -> async_graphql::Result<T>;
}

impl<T> IntoGraphql<T> for AppResult<T> {
    fn into_graphql(self) -> async_graphql::Result<T> {
        self.map_err(|error| error.extend())
    }
}
