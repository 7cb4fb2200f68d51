//! The GraphQL schema: the features' roots merged, the limits that bound a
//! query's cost, and [`Api`], which checks every document against them and
//! gives every error an `extensions.code`.

use std::sync::Arc;

use async_graphql::futures_util::stream::{BoxStream, StreamExt as _};
use async_graphql::parser::types::ExecutableDocument;
use async_graphql::{
    Data, Executor, MergedObject, MergedSubscription, Request, Response, Schema, SchemaBuilder,
    ServerError,
};
use sea_orm::DatabaseConnection;

use crate::audit::graphql::AuditQuery;
use crate::config::Config;
use crate::content::ContentSignals;
use crate::content::graphql::{ContentMutation, ContentQuery};
use crate::error::{Code, Coded};
use crate::moderation::graphql::{
    BoardMutation, BoardQuery, ConcernMutation, ConcernQuery, ModerationMutation, ModerationQuery,
    ModerationSubscription,
};
use crate::pagination::Limits;
use crate::privacy::graphql::PrivacyMutation;
use crate::query_limits::{self, DocumentLimits};
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
    BoardQuery,
    StaffQuery,
    ModerationQuery,
    AuditQuery,
    KioskQuery,
    WebhookQuery,
    ReportsQuery,
    ConcernQuery,
);

/// Every mutation, from every feature.
#[derive(MergedObject, Default)]
pub struct Mutation(
    SubmissionsMutation,
    BoardMutation,
    StaffMutation,
    ModerationMutation,
    KioskMutation,
    ContentMutation,
    WebhookMutation,
    PrivacyMutation,
    ConcernMutation,
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
}

/// The API, serving from the database and announcing submissions on the
/// events channel.
pub fn schema(config: &Config, services: Services) -> Api {
    let db = services.db.clone();
    let directory = crate::submissions::services::ServiceDirectory::default();
    let schema = builder(config)
        .data(crate::loaders::shared(
            services.db.clone(),
            directory.clone(),
        ))
        .data(crate::submissions::writer::SubmissionWriter::start(
            services.db.clone(),
            crate::db::Storage::for_url(config.database_url.expose()),
        ))
        .data(directory)
        .data(services.db)
        .data(services.events)
        .data(services.keys)
        .data(services.passwords)
        .data(services.signals)
        .data(services.viewers)
        .data(LoginLimit(
            RateLimiter::for_database(config.login_per_minute, &db, "login")
                .with_clock(config.clock.clone()),
        ))
        .data(LoginThrottle::new(config.login_backoff_max).with_clock(config.clock.clone()))
        .data(SubmissionLimits {
            submissions: RateLimiter::for_database(config.submit_per_minute, &db, "submit")
                .with_clock(config.clock.clone()),
            lookups: RateLimiter::for_database(
                config
                    .submit_per_minute
                    .saturating_mul(LOOKUPS_PER_SUBMISSION),
                &db,
                "lookup",
            )
            .with_clock(config.clock.clone()),
        })
        .finish();
    Api {
        schema,
        limits: DocumentLimits::new(config.max_depth, config.max_aliases, config.max_complexity),
        documents: Arc::new(Documents::new(config.cache_bounds.documents)),
    }
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

/// The schema behind its gate: every request, over HTTP or WebSocket, has its
/// document checked against [`DocumentLimits`] before async-graphql validates
/// or runs it, and every error answered carries an `extensions.code`.
///
/// This is deliberately not an async-graphql extension: a schema with any
/// extension sends every field of every answer through the extension chain
/// (a registry look-up and boxed futures per field), which cost a queue page
/// of twenty items about a fifth of its time.
#[derive(Clone)]
pub struct Api {
    schema: HamletSchema,
    limits: DocumentLimits,
    documents: Arc<Documents>,
}

/// Documents already parsed and found within the limits, by their text:
/// clients send the same few queries over and over, and parsing one costs
/// several times more than copying it.
struct Documents(crate::cache::Bounded<String, ExecutableDocument>);

impl Documents {
    /// Longer documents are not kept (a client's usual queries are far
    /// shorter).
    const MAX_LENGTH: usize = 4 * 1024;
    /// A parsed document holds about this many bytes per byte of its text
    /// (measured: 30 to 38 for queries of 55 bytes to 6 KB; less for long
    /// string literals).
    const BYTES_PER_BYTE: usize = 40;

    fn new(capacity: u64) -> Self {
        Self(crate::cache::Bounded::new(
            "documents",
            capacity,
            |query: &String, _| {
                query.len() * (Self::BYTES_PER_BYTE + 1) + crate::cache::ENTRY_OVERHEAD
            },
        ))
    }

    fn get(&self, query: &str) -> Option<ExecutableDocument> {
        self.0.get(query)
    }

    fn put(&self, query: &str, document: &ExecutableDocument) {
        if query.len() > Self::MAX_LENGTH {
            return;
        }
        self.0.insert(query.to_owned(), document.clone());
    }
}

impl Api {
    /// How full the store of parsed documents is.
    pub fn document_usage(&self) -> crate::cache::Usage {
        self.documents.0.usage()
    }

    /// Parses the request's document, or takes it from those parsed before,
    /// refusing one that is nested too deep, does not parse, or asks for too
    /// much once its fragments are expanded, or whose variables are missing
    /// or null where their declared types say they may not be.
    pub fn admit<'r>(
        &self,
        request: &'r mut Request,
    ) -> Result<&'r ExecutableDocument, ServerError> {
        if let Some(document) = self.documents.get(&request.query) {
            check_variables(&document, request)?;
            request.set_parsed_query(document);
        } else {
            query_limits::check_nesting(&request.query, self.limits.max_nesting)?;
            let document = async_graphql::parser::parse_query(&request.query).map_err(|error| {
                let error = ServerError::from(error);
                let code = if error.message.contains("recursion") {
                    Code::QueryTooComplex
                } else {
                    Code::GraphqlParseFailed
                };
                with_code(error, code)
            })?;
            query_limits::check_document(&document, &self.limits)?;
            self.documents.put(&request.query, &document);
            check_variables(&document, request)?;
            request.set_parsed_query(document);
        }
        request.parsed_query()
    }

    /// Runs one query or mutation.
    pub async fn execute(&self, mut request: Request) -> Response {
        if let Err(error) = self.admit(&mut request) {
            return Outcome::of(Response::from_errors(vec![error])).response;
        }
        self.run(request).await.response
    }

    /// Runs one query or mutation that [`Api::admit`] has admitted.
    pub async fn run(&self, request: Request) -> Outcome {
        Outcome::of(self.schema.execute(request).await)
    }
}

/// What running a request gave: the answer, every error in it with its
/// `extensions.code`, and what the HTTP layer needs of those errors as types:
/// their codes and the longest wait any of them asks for.
pub struct Outcome {
    pub response: Response,
    pub codes: Vec<Code>,
    pub retry_after_seconds: Option<u64>,
}

impl Outcome {
    /// The outcome of `response`, each of its errors given its code.
    pub fn of(mut response: Response) -> Self {
        let mut codes = Vec::with_capacity(response.errors.len());
        let mut retry_after_seconds: Option<u64> = None;
        for error in &mut response.errors {
            let coded = coded(error);
            codes.push(coded.code);
            if let Some(seconds) = coded.retry_after_seconds {
                retry_after_seconds = Some(retry_after_seconds.map_or(seconds, |s| s.max(seconds)));
            }
        }
        Self {
            response,
            codes,
            retry_after_seconds,
        }
    }
}

impl Outcome {
    /// Whether the request was refused before any field ran: a document
    /// that does not parse, validate or fit the limits, an operation that is
    /// not there, variables that do not fit their types. Only such errors
    /// come without a path (a field's error has the field's path), and they
    /// leave no data.
    pub fn never_ran(&self) -> bool {
        let response = &self.response;
        response.data == async_graphql::Value::Null
            && !response.errors.is_empty()
            && response.errors.iter().all(|error| error.path.is_empty())
    }
}

impl Executor for Api {
    async fn execute(&self, request: Request) -> Response {
        Api::execute(self, request).await
    }

    fn execute_stream(
        &self,
        mut request: Request,
        session_data: Option<Arc<Data>>,
    ) -> BoxStream<'static, Response> {
        if let Err(error) = self.admit(&mut request) {
            return async_graphql::futures_util::stream::once(async move {
                Outcome::of(Response::from_errors(vec![error])).response
            })
            .boxed();
        }
        self.schema
            .execute_stream_with_session_data(request, session_data.unwrap_or_default())
            .map(|response| Outcome::of(response).response)
            .boxed()
    }
}

/// Refuses a request whose variables do not fit the non-null and list
/// shape of their declared types: a `$n: Int!` that is missing (with no
/// default) or `null`, or a `[ID!]` holding a `null`. async-graphql checks a
/// variable's value only where it is used, against the argument's type, so
/// without this a `$n: Int!` given `null` and passed to a nullable argument
/// would run as if it were absent. What the values are (an `Int`, an enum's
/// name, an input object's fields) async-graphql checks, against the schema.
///
/// The error is `BAD_USER_INPUT` with the variable's name in
/// `extensions.field`, and no path: the request never ran.
fn check_variables(document: &ExecutableDocument, request: &Request) -> Result<(), ServerError> {
    use async_graphql::parser::types::DocumentOperations;
    let operation = match (&document.operations, request.operation_name.as_deref()) {
        (DocumentOperations::Single(operation), _) => operation,
        (DocumentOperations::Multiple(operations), Some(name)) => match operations.get(name) {
            Some(operation) => operation,
            None => return Ok(()),
        },
        (DocumentOperations::Multiple(operations), None) => {
            match (operations.len(), operations.values().next()) {
                (1, Some(operation)) => operation,
                // async-graphql says which operation to name.
                _ => return Ok(()),
            }
        }
    };
    for definition in &operation.node.variable_definitions {
        let name = &definition.node.name.node;
        let declared = &definition.node.var_type.node;
        let problem = match request.variables.get(name) {
            None if declared.nullable || definition.node.default_value.is_some() => None,
            None => Some("was not given"),
            Some(value) => fits(declared, value, true).err(),
        };
        if let Some(problem) = problem {
            let mut error = ServerError::new(
                format!("Variable \"${name}\" of type \"{declared}\" {problem}"),
                Some(definition.pos),
            );
            error
                .extensions
                .get_or_insert_with(Default::default)
                .set("field", name.as_str());
            return Err(with_code(error, Code::BadUserInput));
        }
    }
    Ok(())
}

/// Whether `value` fits the non-null and list shape of `declared`.
fn fits(
    declared: &async_graphql::parser::types::Type,
    value: &async_graphql::Value,
    top: bool,
) -> Result<(), &'static str> {
    use async_graphql::parser::types::BaseType;
    match (value, &declared.base) {
        (async_graphql::Value::Null, _) if declared.nullable => Ok(()),
        (async_graphql::Value::Null, _) if top => Err("must not be null"),
        (async_graphql::Value::Null, _) => Err("holds a null where its type allows none"),
        (async_graphql::Value::List(items), BaseType::List(item)) => {
            items.iter().try_for_each(|value| fits(item, value, false))
        }
        // A single value where a list is declared is a list of one.
        (single, BaseType::List(item)) => fits(item, single, false),
        (_, BaseType::Named(_)) => Ok(()),
    }
}

fn with_code(mut error: ServerError, code: Code) -> ServerError {
    error
        .extensions
        .get_or_insert_with(Default::default)
        .set("code", code.as_str());
    error.source = Some(Arc::new(Coded {
        code,
        retry_after_seconds: None,
    }));
    error
}

/// The code of one answered error. Ours carry theirs from [`AppError`] (as
/// the error's source). The rest are async-graphql's own, raised before or
/// around our resolvers, which carry no type to say what they are: limits
/// (told by their message), a document that does not fit the schema (raised
/// before any field ran, so without a path) and argument values that could
/// not be read (raised at a field). Those are given their code here.
fn coded(error: &mut ServerError) -> Coded {
    if let Some(coded) = error
        .source
        .as_ref()
        .and_then(|source| source.downcast_ref::<Coded>())
    {
        return *coded;
    }
    let given = error
        .extensions
        .as_ref()
        .and_then(|extensions| extensions.get("code"))
        .and_then(|code| match code {
            async_graphql::Value::String(code) => Code::parse(code),
            _ => None,
        });
    let message = error.message.as_str();
    let code = given.unwrap_or_else(|| {
        if message.starts_with("Query is too complex")
            || message.starts_with("Query is nested too deep")
            || message.starts_with("The recursion depth")
            || message.starts_with("The number of directives")
        {
            Code::QueryTooComplex
        } else if message.starts_with("Invalid value for argument")
            || message.starts_with("Variable")
        {
            Code::BadUserInput
        } else if error.path.is_empty() {
            // Raised before any field ran: the document does not fit the
            // schema.
            Code::GraphqlValidationFailed
        } else {
            // Raised while a field's argument was being read.
            Code::BadUserInput
        }
    });
    *error = with_code(std::mem::replace(error, ServerError::new("", None)), code);
    Coded {
        code,
        retry_after_seconds: None,
    }
}

#[cfg(test)]
mod tests {
    use super::fits;
    use async_graphql::Value;
    use async_graphql::parser::types::Type;

    fn check(declared: &str, value: Value) -> Result<(), &'static str> {
        let declared = Type::new(declared).unwrap_or_else(|| panic!("a type: {declared}"));
        fits(&declared, &value, true)
    }

    #[test]
    fn a_variable_fits_the_non_null_and_list_shape_of_its_type_or_is_refused() {
        let list = |items: Vec<Value>| Value::List(items);
        assert_eq!(check("Int", Value::Null), Ok(()));
        assert_eq!(check("Int!", Value::Null), Err("must not be null"));
        assert_eq!(check("Int!", Value::from(3)), Ok(()));
        assert_eq!(check("[ID!]", Value::Null), Ok(()));
        assert_eq!(check("[ID!]!", Value::Null), Err("must not be null"));
        assert_eq!(check("[ID]!", list(vec![Value::Null])), Ok(()));
        assert_eq!(
            check("[ID!]", list(vec![Value::from("a"), Value::Null])),
            Err("holds a null where its type allows none")
        );
        assert_eq!(
            check("[[ID!]!]", list(vec![list(vec![]), Value::Null])),
            Err("holds a null where its type allows none")
        );
        // A single value where a list is declared is a list of one.
        assert_eq!(check("[ID!]!", Value::from("a")), Ok(()));
    }
}
