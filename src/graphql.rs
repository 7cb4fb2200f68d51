//! The GraphQL schema: the features' roots merged, the limits that bound a
//! query's cost, and the extension that gives every error an `extensions.code`.

use std::sync::Arc;

use async_graphql::extensions::{
    Extension, ExtensionContext, ExtensionFactory, NextParseQuery, NextRequest, NextValidation,
};
use async_graphql::parser::types::ExecutableDocument;
use async_graphql::{
    MergedObject, MergedSubscription, Response, Schema, SchemaBuilder, ServerError, ServerResult,
    ValidationResult, Variables,
};
use sea_orm::DatabaseConnection;

use crate::config::Config;
use crate::content::ContentSignals;
use crate::content::graphql::{ContentMutation, ContentQuery};
use crate::moderation::graphql::{ModerationMutation, ModerationQuery, ModerationSubscription};
use crate::pagination::Limits;
use crate::privacy::graphql::PrivacyMutation;
use crate::query_limits::{DocumentGuard, DocumentLimits};
use crate::rate_limit::RateLimiter;
use crate::reports::graphql::ReportsQuery;
use crate::staff::graphql::{LoginLimit, StaffMutation, StaffQuery};
use crate::staff::password::Passwords;
use crate::staff::throttle::LoginThrottle;
use crate::staff::token::TokenKeys;
use crate::submissions::SubmissionEvents;
use crate::submissions::graphql::{
    KioskMutation, KioskQuery, SubmissionLimits, SubmissionsMutation, SubmissionsQuery,
};
use crate::webhooks::graphql::{WebhookMutation, WebhookQuery};

/// Every query, from every feature.
#[derive(MergedObject, Default)]
pub struct Query(
    ContentQuery,
    SubmissionsQuery,
    StaffQuery,
    ModerationQuery,
    KioskQuery,
    WebhookQuery,
    ReportsQuery,
);

/// Every mutation, from every feature.
#[derive(MergedObject, Default)]
pub struct Mutation(
    SubmissionsMutation,
    StaffMutation,
    ModerationMutation,
    KioskMutation,
    ContentMutation,
    WebhookMutation,
    PrivacyMutation,
);

/// Every subscription, from every feature.
#[derive(MergedSubscription, Default)]
pub struct Subscription(ModerationSubscription);

pub type HamletSchema = Schema<Query, Mutation, Subscription>;

/// What the schema serves with, made once at startup.
pub struct Services {
    pub db: DatabaseConnection,
    pub events: SubmissionEvents,
    pub keys: Arc<TokenKeys>,
    pub passwords: Passwords,
    pub signals: ContentSignals,
    pub viewers: Arc<crate::auth::Viewers>,
}

/// Receipt look-ups allowed per submission allowed: enough for a resident
/// checking on a few submissions, far too few to guess references (35 random
/// bits behind a checksum).
const LOOKUPS_PER_SUBMISSION: u32 = 3;

fn builder(config: &Config) -> SchemaBuilder<Query, Mutation, Subscription> {
    Schema::build(
        Query::default(),
        Mutation::default(),
        Subscription::default(),
    )
    .limit_depth(config.max_depth)
    .limit_complexity(config.max_complexity)
    .limit_recursive_depth(config.max_depth.saturating_mul(2).max(16))
    .limit_directives(config.max_directives)
    .data(Limits {
        max_page_size: config.max_page_size,
    })
    .extension(DocumentGuard(DocumentLimits::new(
        config.max_depth,
        config.max_aliases,
        config.max_complexity,
    )))
    .extension(ErrorCodes)
}

/// The schema, serving from the database and announcing submissions on the
/// events channel.
pub fn schema(config: &Config, services: Services) -> HamletSchema {
    let db = services.db.clone();
    let directory = crate::submissions::services::ServiceDirectory::default();
    builder(config)
        .data(crate::loaders::shared(
            services.db.clone(),
            directory.clone(),
        ))
        .data(crate::submissions::writer::SubmissionWriter::start(
            services.db.clone(),
        ))
        .data(directory)
        .data(services.db)
        .data(services.events)
        .data(services.keys)
        .data(services.passwords)
        .data(services.signals)
        .data(services.viewers)
        .data(LoginLimit(RateLimiter::for_database(
            config.login_per_minute,
            &db,
            "login",
        )))
        .data(LoginThrottle::new(config.login_backoff_max))
        .data(SubmissionLimits {
            submissions: RateLimiter::for_database(config.submit_per_minute, &db, "submit"),
            lookups: RateLimiter::for_database(
                config
                    .submit_per_minute
                    .saturating_mul(LOOKUPS_PER_SUBMISSION),
                &db,
                "lookup",
            ),
        })
        .finish()
}

/// The schema's SDL, as `hamlet schema` prints it and `schema.graphql` holds it.
/// Limits and data do not change the SDL, so none are needed.
pub fn sdl() -> String {
    Schema::build(
        Query::default(),
        Mutation::default(),
        Subscription::default(),
    )
    .finish()
    .sdl()
}

/// Error codes for errors that async-graphql raises itself, before or around
/// our resolvers: a query that does not parse, does not validate, or is too
/// costly, and argument values of the wrong type.
pub struct ErrorCodes;

impl ExtensionFactory for ErrorCodes {
    fn create(&self) -> Arc<dyn Extension> {
        Arc::new(ErrorCodes)
    }
}

fn with_code(mut error: ServerError, code: &str) -> ServerError {
    let extensions = error.extensions.get_or_insert_with(Default::default);
    if extensions.get("code").is_none() {
        extensions.set("code", code);
    }
    error
}

#[async_trait::async_trait]
impl Extension for ErrorCodes {
    async fn request(&self, ctx: &ExtensionContext<'_>, next: NextRequest<'_>) -> Response {
        let mut response = next.run(ctx).await;
        // What is left without a code failed while coercing an argument's value.
        response.errors = std::mem::take(&mut response.errors)
            .into_iter()
            .map(|error| with_code(error, "BAD_USER_INPUT"))
            .collect();
        response
    }

    async fn parse_query(
        &self,
        ctx: &ExtensionContext<'_>,
        query: &str,
        variables: &Variables,
        next: NextParseQuery<'_>,
    ) -> ServerResult<ExecutableDocument> {
        next.run(ctx, query, variables).await.map_err(|error| {
            let code =
                if error.message.contains("recursion") || error.message.contains("directives") {
                    "QUERY_TOO_COMPLEX"
                } else {
                    "GRAPHQL_PARSE_FAILED"
                };
            with_code(error, code)
        })
    }

    async fn validation(
        &self,
        ctx: &ExtensionContext<'_>,
        next: NextValidation<'_>,
    ) -> Result<ValidationResult, Vec<ServerError>> {
        next.run(ctx).await.map_err(|errors| {
            errors
                .into_iter()
                .map(|error| {
                    let code = if error.message.starts_with("Query is too complex")
                        || error.message.starts_with("Query is nested too deep")
                    {
                        "QUERY_TOO_COMPLEX"
                    } else if error.message.starts_with("Invalid value for argument")
                        || error.message.starts_with("Variable")
                    {
                        "BAD_USER_INPUT"
                    } else {
                        "GRAPHQL_VALIDATION_FAILED"
                    };
                    with_code(error, code)
                })
                .collect()
        })
    }
}
