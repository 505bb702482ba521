//! HTTP: GraphQL over HTTP as its spec says (graphql.github.io/graphql-over-http), bearer
//! tokens, and the REST routes of the runtime contract.
//!
//! async-graphql's stock integration always answers `application/graphql-response+json` and
//! 200 for documents that do not parse or validate; this handler negotiates the media type by
//! Accept and answers 4xx where the spec asks for it.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use async_graphql::parser::types::{DocumentOperations, ExecutableDocument, OperationType};
use axum::extract::{DefaultBodyLimit, RawQuery, State};
use axum::http::{HeaderMap, HeaderName, HeaderValue, Method, StatusCode, header};
use axum::response::{Html, IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use secrecy::{ExposeSecret, SecretString};
use serde_json::{Value, json};
use subtle::ConstantTimeEq;
use tower_http::cors::{AllowOrigin, CorsLayer};
use tower_http::limit::RequestBodyLimitLayer;
use tower_http::request_id::{MakeRequestUuid, PropagateRequestIdLayer, SetRequestIdLayer};
use tower_http::trace::{DefaultOnResponse, TraceLayer};
use utoipa::OpenApi;

use crate::limits::{LimitExceeded, RequestLimits};
pub use crate::metrics::HttpMetrics;
use crate::schema::{Caller, PromoHubSchema};

/// Bodies above this are refused with 413.
pub const MAX_BODY: usize = 1024 * 1024;
const GRAPHQL_RESPONSE: &str = "application/graphql-response+json";
const JSON: &str = "application/json";

/// The API tokens: `scope:token` pairs, scope `read` or `write` (write implies read).
#[derive(Clone, Default)]
pub struct Tokens(Vec<(SecretString, Caller)>);

impl std::fmt::Debug for Tokens {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Tokens({} configured)", self.0.len())
    }
}

impl Tokens {
    /// Parses `PROMOHUB_API_TOKENS`. The error never repeats a token.
    pub fn parse(text: &str) -> Result<Self, String> {
        let mut tokens = Vec::new();
        for (index, pair) in text
            .split(',')
            .map(str::trim)
            .filter(|p| !p.is_empty())
            .enumerate()
        {
            let (scope, token) = pair
                .split_once(':')
                .ok_or_else(|| format!("token #{} is not scope:token", index + 1))?;
            let can_write = match scope {
                "write" => true,
                "read" => false,
                _ => return Err(format!("token #{}: scope must be read or write", index + 1)),
            };
            if token.len() < 8 {
                return Err(format!("token #{} is shorter than 8 characters", index + 1));
            }
            tokens.push((
                SecretString::from(token),
                Caller {
                    can_write,
                    actor: format!("{scope}-token-{}", index + 1),
                },
            ));
        }
        if tokens.is_empty() {
            return Err("no tokens given".into());
        }
        Ok(Self(tokens))
    }

    fn caller(&self, headers: &HeaderMap) -> Option<Caller> {
        self.caller_of(headers.get(header::AUTHORIZATION)?.to_str().ok()?)
    }

    /// The caller of an Authorization value (`Bearer <token>`), from a header or elsewhere
    /// (a WebSocket's `connection_init`).
    pub(crate) fn caller_of(&self, authorization: &str) -> Option<Caller> {
        let given = authorization.strip_prefix("Bearer ")?.trim();
        // Every token is compared, in constant time, whichever matches.
        self.0.iter().fold(None, |found, (token, caller)| {
            if same_secret(token, given) {
                Some(caller.clone())
            } else {
                found
            }
        })
    }
}

/// Compares without stopping at the first difference (`subtle`), so timing tells nothing of a
/// secret but, at most, its length.
fn same_secret(secret: &SecretString, given: &str) -> bool {
    secret
        .expose_secret()
        .as_bytes()
        .ct_eq(given.as_bytes())
        .into()
}

/// How the HTTP layer bounds a request (runtime.md lists each variable).
#[derive(Clone, Debug)]
pub struct HttpConfig {
    pub limits: RequestLimits,
    /// Longest a GraphQL request may run before it is answered with REQUEST_TIMEOUT.
    pub request_timeout: Duration,
    /// After SIGTERM, how long requests in flight may take before the server exits anyway.
    pub shutdown_grace: Duration,
    /// Who may read `/metrics`, and where.
    pub metrics: MetricsConfig,
    /// Requests handled at once on the API listener; more are answered 503 at once.
    pub max_concurrent_requests: usize,
    /// A connection that has not sent a whole request head within this is closed.
    pub header_read_timeout: Duration,
    /// Subscriptions over WebSocket (crate::ws).
    pub ws: crate::ws::WsConfig,
}

/// `/metrics`: an optional scrape token, an optional listener of its own, the label bound.
#[derive(Clone, Debug)]
pub struct MetricsConfig {
    /// `PROMOHUB_METRICS_TOKEN`: when set, a scrape needs `Authorization: Bearer <token>`.
    pub token: Option<SecretString>,
    /// `PROMOHUB_METRICS_LISTEN`: when set, `/metrics` is served there only, not beside the API.
    pub listen: Option<std::net::SocketAddr>,
    /// `PROMOHUB_METRICS_MAX_OPERATIONS`: distinct operation names kept apart.
    pub max_operation_names: usize,
}

impl Default for MetricsConfig {
    fn default() -> Self {
        Self {
            token: None,
            listen: None,
            max_operation_names: crate::metrics::DEFAULT_MAX_OPERATION_NAMES,
        }
    }
}

impl Default for HttpConfig {
    fn default() -> Self {
        Self {
            limits: RequestLimits::default(),
            request_timeout: Duration::from_secs(30),
            shutdown_grace: Duration::from_secs(30),
            metrics: MetricsConfig::default(),
            max_concurrent_requests: 256,
            header_read_timeout: Duration::from_secs(10),
            ws: crate::ws::WsConfig::default(),
        }
    }
}

#[derive(Clone)]
pub struct AppState {
    pub schema: PromoHubSchema,
    pub service: promohub_domain::PromoService,
    pub tokens: Tokens,
    pub metrics: Arc<HttpMetrics>,
    pub config: Arc<HttpConfig>,
    /// The background tasks; a required one that is down makes `/readyz` answer 503.
    pub supervisor: crate::supervisor::Supervisor,
    /// Open WebSocket connections (subscriptions).
    pub sockets: crate::ws::Sockets,
}

/// The whole HTTP surface of runtime.md.
/// `/metrics` is on it unless `PROMOHUB_METRICS_LISTEN` gives it a listener of its own.
pub fn router(state: AppState, cors_origins: &[String]) -> Router {
    let mut router = Router::new()
        .route("/graphql", get(graphql_get_or_upgrade).post(graphql_post))
        .route(
            "/graphql/ws",
            get(
                |State(state): State<AppState>, request: axum::extract::Request| {
                    crate::ws::upgrade(state, request)
                },
            ),
        )
        .route("/healthz", get(healthz))
        .route("/readyz", get(readyz))
        .route("/openapi.json", get(openapi));
    if state.config.metrics.listen.is_none() {
        router = router.route("/metrics", get(metrics));
    }
    let limit = Arc::new(tokio::sync::Semaphore::new(
        state.config.max_concurrent_requests.max(1),
    ));
    let mut router = router
        .layer(DefaultBodyLimit::max(MAX_BODY))
        // Before any handler, so before auth: a declared body over the limit is answered 413
        // unread, and a request past the concurrency limit 503 at once.
        .layer(RequestBodyLimitLayer::new(MAX_BODY))
        .layer(axum::middleware::from_fn(
            move |request: axum::extract::Request, next: axum::middleware::Next| {
                let limit = limit.clone();
                async move { concurrency_limit(&limit, request, next).await }
            },
        ))
        .with_state(state);
    let origins: Vec<HeaderValue> = cors_origins
        .iter()
        .filter_map(|o| HeaderValue::from_str(o).ok())
        .collect();
    if !origins.is_empty() {
        router = router.layer(
            CorsLayer::new()
                .allow_origin(AllowOrigin::list(origins))
                .allow_methods([Method::GET, Method::POST])
                .allow_headers([
                    header::AUTHORIZATION,
                    header::CONTENT_TYPE,
                    header::ACCEPT,
                    HeaderName::from_static(crate::idempotency::HEADER),
                ])
                .expose_headers([HeaderName::from_static(crate::idempotency::REPLAYED)])
                .max_age(Duration::from_secs(600)),
        );
    }
    router
        .layer(
            TraceLayer::new_for_http()
                .make_span_with(|request: &axum::http::Request<_>| {
                    let id = request
                        .headers()
                        .get("x-request-id")
                        .and_then(|v| v.to_str().ok())
                        .unwrap_or("-");
                    tracing::info_span!("request", method = %request.method(),
                    path = %request.uri().path(), request_id = %id)
                })
                // One line per request at the default `info` level: status and latency.
                .on_response(DefaultOnResponse::new().level(tracing::Level::INFO)),
        )
        .layer(PropagateRequestIdLayer::x_request_id())
        .layer(SetRequestIdLayer::x_request_id(MakeRequestUuid))
}

/// Answers 503 with Retry-After at once when `PROMOHUB_MAX_CONCURRENT_REQUESTS` requests are
/// being handled; `/healthz` is never refused (a busy process is alive).
async fn concurrency_limit(
    limit: &Arc<tokio::sync::Semaphore>,
    request: axum::extract::Request,
    next: axum::middleware::Next,
) -> Response {
    if request.uri().path() == "/healthz" {
        return next.run(request).await;
    }
    let Ok(_permit) = limit.clone().try_acquire_owned() else {
        return (
            StatusCode::SERVICE_UNAVAILABLE,
            [(header::RETRY_AFTER, "1")],
            "too many requests in flight (PROMOHUB_MAX_CONCURRENT_REQUESTS): try again",
        )
            .into_response();
    };
    next.run(request).await
}

/// `/metrics` alone, for `PROMOHUB_METRICS_LISTEN`.
pub fn metrics_router(state: AppState) -> Router {
    Router::new()
        .route("/metrics", get(metrics))
        .with_state(state)
}

/// Which media type to answer in, from Accept; None when the client accepts neither.
fn negotiate(headers: &HeaderMap) -> Option<&'static str> {
    let Some(accept) = headers.get(header::ACCEPT).and_then(|v| v.to_str().ok()) else {
        // No Accept: the spec's legacy default.
        return Some(JSON);
    };
    let types: Vec<&str> = accept
        .split(',')
        .map(|t| t.split(';').next().unwrap_or("").trim())
        .collect();
    if types.contains(&GRAPHQL_RESPONSE) {
        Some(GRAPHQL_RESPONSE)
    } else if types
        .iter()
        .any(|t| *t == JSON || *t == "*/*" || *t == "application/*")
    {
        Some(JSON)
    } else {
        None
    }
}

fn graphql_body(status: StatusCode, media: &'static str, body: &Value) -> Response {
    graphql_bytes(status, media, body.to_string().into_bytes())
}

pub(crate) fn graphql_bytes(status: StatusCode, media: &'static str, body: Vec<u8>) -> Response {
    let mut response = (status, body).into_response();
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static(match media {
            GRAPHQL_RESPONSE => "application/graphql-response+json; charset=utf-8",
            _ => "application/json; charset=utf-8",
        }),
    );
    response
}

pub(crate) fn request_error(
    status: StatusCode,
    media: &'static str,
    message: &str,
    code: &str,
) -> Response {
    graphql_body(
        status,
        media,
        &json!({ "errors": [{ "message": message, "extensions": { "code": code } }] }),
    )
}

/// A GraphQL request as parsed from JSON (POST body) or the query string (GET).
pub(crate) struct Incoming {
    pub(crate) query: String,
    pub(crate) variables: Option<Value>,
    pub(crate) operation_name: Option<String>,
}

pub(crate) fn incoming(value: &Value) -> Result<Incoming, &'static str> {
    let object = value.as_object().ok_or("the body must be a JSON object")?;
    let query = match object.get("query") {
        Some(Value::String(q)) => q.clone(),
        _ => return Err("query must be a string"),
    };
    let variables = match object.get("variables") {
        None | Some(Value::Null) => None,
        Some(v @ Value::Object(_)) => Some(v.clone()),
        Some(_) => return Err("variables must be an object"),
    };
    if !matches!(
        object.get("extensions"),
        None | Some(Value::Null | Value::Object(_))
    ) {
        return Err("extensions must be an object");
    }
    let operation_name = match object.get("operationName") {
        None | Some(Value::Null) => None,
        Some(Value::String(name)) => Some(name.clone()),
        Some(_) => return Err("operationName must be a string"),
    };
    Ok(Incoming {
        query,
        variables,
        operation_name,
    })
}

/// graphql-response+json answers a request error with 400; legacy application/json with 200.
fn request_error_status(media: &'static str) -> StatusCode {
    if media == GRAPHQL_RESPONSE {
        StatusCode::BAD_REQUEST
    } else {
        StatusCode::OK
    }
}

fn limit_error(media: &'static str, error: &LimitExceeded) -> Response {
    graphql_body(
        request_error_status(media),
        media,
        &json!({ "errors": [{ "message": error.message, "extensions": {
            "code": "LIMIT_EXCEEDED", "limit": error.limit, "max": error.max,
            "actual": error.actual, "setting": error.env_var } }] }),
    )
}

/// Runs a request: the shared path of GET and POST. Limits first, then parsing, then the limits
/// of the parsed document, and only then async-graphql.
pub(crate) async fn execute(
    state: &AppState,
    media: &'static str,
    caller: Caller,
    request: Incoming,
    over_get: bool,
) -> Response {
    let started = Instant::now();
    let limits = &state.config.limits;
    let checked = limits.check_text(&request.query).and_then(|()| {
        request
            .variables
            .as_ref()
            .map_or(Ok(()), |v| limits.check_variables(v))
    });
    if let Err(error) = checked {
        state
            .metrics
            .record(None, request_error_status(media), started.elapsed());
        return limit_error(media, &error);
    }
    let document = match async_graphql::parser::parse_query(&request.query) {
        Ok(document) => document,
        Err(error) => {
            let status = request_error_status(media);
            let response = request_error(status, media, &error.to_string(), "GRAPHQL_PARSE_FAILED");
            state.metrics.record(None, status, started.elapsed());
            return response;
        }
    };
    if let Err(error) = limits.check_document(&document, request.variables.as_ref()) {
        state
            .metrics
            .record(None, request_error_status(media), started.elapsed());
        return limit_error(media, &error);
    }
    // Only a name the document defines becomes a metrics label.
    let operation = operation_label(&document, request.operation_name.as_deref());
    let syncs = root_field_count(
        &document,
        request.operation_name.as_deref(),
        ONCE_PER_REQUEST,
    );
    if syncs > 1 {
        let status = request_error_status(media);
        state
            .metrics
            .record(operation.as_deref(), status, started.elapsed());
        return request_error(
            status,
            media,
            &format!(
                "{ONCE_PER_REQUEST} may be selected once per request, and this one selects it {syncs} times (aliases and fragments count): send one"
            ),
            "ONCE_PER_REQUEST",
        );
    }
    let is_mutation = selects_mutation(&document.operations, request.operation_name.as_deref());
    if over_get && is_mutation {
        let mut response = request_error(
            StatusCode::METHOD_NOT_ALLOWED,
            media,
            "mutations are only accepted over POST",
            "METHOD_NOT_ALLOWED",
        );
        response
            .headers_mut()
            .insert(header::ALLOW, HeaderValue::from_static("POST"));
        return response;
    }
    let queries = Arc::new(AtomicUsize::new(0));
    let mut gql = crate::schema::with_request_data(
        async_graphql::Request::new(request.query).data(caller),
        &state.service,
        queries.clone(),
    );
    gql.set_parsed_query(document);
    if let Some(name) = request.operation_name {
        gql = gql.operation_name(name);
    }
    if let Some(variables) = request.variables {
        gql = gql.variables(async_graphql::Variables::from_json(variables));
    }
    // Run in a task of its own: a mutation then finishes (and is recorded) even when its
    // caller goes away or the timeout answers first, and a panic is an error, not a crash.
    let schema = state.schema.clone();
    let counter = queries.clone();
    let task = tokio::spawn(promohub_domain::store::counting_queries(
        counter,
        async move { schema.execute(gql).await },
    ));
    let response = match tokio::time::timeout(state.config.request_timeout, task).await {
        Ok(Ok(response)) => response,
        Ok(Err(join_error)) => {
            tracing::error!(error = %join_error, "a GraphQL request failed unexpectedly");
            let status = StatusCode::OK;
            state
                .metrics
                .record(operation.as_deref(), status, started.elapsed());
            return request_error(status, media, "internal error", "INTERNAL");
        }
        Err(_) => {
            let limit = state.config.request_timeout.as_millis();
            let message = if is_mutation {
                format!(
                    "the request ran past {limit} ms (PROMOHUB_REQUEST_TIMEOUT_MS); the change goes on and is recorded: read the code to see its outcome"
                )
            } else {
                format!("the request ran past {limit} ms (PROMOHUB_REQUEST_TIMEOUT_MS)")
            };
            tracing::warn!(
                operation = operation.as_deref().unwrap_or("-"),
                "request timed out"
            );
            let status = StatusCode::OK;
            state
                .metrics
                .record(operation.as_deref(), status, started.elapsed());
            return request_error(status, media, &message, "REQUEST_TIMEOUT");
        }
    };
    tracing::debug!(
        operation = operation.as_deref().unwrap_or("-"),
        sql_statements = queries.load(Ordering::Relaxed),
        "request done"
    );
    // Errors without a path happened before execution (validation): a bad request.
    let rejected = response.data == async_graphql::Value::Null
        && !response.errors.is_empty()
        && response.errors.iter().all(|e| e.path.is_empty());
    let status = if rejected {
        request_error_status(media)
    } else {
        StatusCode::OK
    };
    state
        .metrics
        .record(operation.as_deref(), status, started.elapsed());
    // Straight to bytes: a serde_json::Value in between cost a copy of every answer.
    match serde_json::to_vec(&response) {
        Ok(body) => graphql_bytes(status, media, body),
        Err(error) => {
            tracing::error!(%error, "a GraphQL response does not serialize");
            request_error(StatusCode::OK, media, "internal error", "INTERNAL")
        }
    }
}

/// The requested operation name when the document defines it (never what the caller merely
/// claims: that would let anyone mint metrics labels).
fn operation_label(document: &ExecutableDocument, requested: Option<&str>) -> Option<String> {
    let requested = requested?;
    document
        .operations
        .iter()
        .any(|(name, _)| name.is_some_and(|name| name.as_str() == requested))
        .then(|| requested.to_string())
}

/// The root field that may appear once per request: a sync pages through every provider.
const ONCE_PER_REQUEST: &str = "syncFromProviders";

/// How often the operation that runs selects root field `field`, through aliases, inline
/// fragments and fragment spreads (each fragment expanded once per spread, cycles cut).
fn root_field_count(document: &ExecutableDocument, name: Option<&str>, field: &str) -> usize {
    use async_graphql::parser::types::{Selection, SelectionSet};
    fn count(
        document: &ExecutableDocument,
        set: &SelectionSet,
        field: &str,
        path: &mut Vec<String>,
    ) -> usize {
        set.items
            .iter()
            .map(|item| match &item.node {
                Selection::Field(f) => usize::from(f.node.name.node.as_str() == field),
                Selection::InlineFragment(inline) => {
                    count(document, &inline.node.selection_set.node, field, path)
                }
                Selection::FragmentSpread(spread) => {
                    let name = spread.node.fragment_name.node.to_string();
                    if path.contains(&name) {
                        return 0;
                    }
                    let Some(fragment) = document.fragments.get(&spread.node.fragment_name.node)
                    else {
                        return 0;
                    };
                    path.push(name);
                    let n = count(document, &fragment.node.selection_set.node, field, path);
                    path.pop();
                    n
                }
            })
            .sum()
    }
    let operation = match (&document.operations, name) {
        (DocumentOperations::Single(op), _) => Some(op),
        (DocumentOperations::Multiple(ops), Some(name)) => ops
            .iter()
            .find(|(n, _)| n.as_str() == name)
            .map(|(_, op)| op),
        (DocumentOperations::Multiple(ops), None) if ops.len() == 1 => ops.values().next(),
        (DocumentOperations::Multiple(_), None) => None,
    };
    operation
        .filter(|op| op.node.ty == OperationType::Mutation)
        .map_or(0, |op| {
            count(
                document,
                &op.node.selection_set.node,
                field,
                &mut Vec::new(),
            )
        })
}

pub(crate) fn selects_mutation(operations: &DocumentOperations, name: Option<&str>) -> bool {
    match operations {
        DocumentOperations::Single(op) => op.node.ty == OperationType::Mutation,
        DocumentOperations::Multiple(ops) => match name {
            Some(name) => ops
                .iter()
                .any(|(n, op)| n.as_str() == name && op.node.ty == OperationType::Mutation),
            // One named operation runs without operationName too.
            None => ops.len() == 1 && ops.values().all(|op| op.node.ty == OperationType::Mutation),
        },
    }
}

fn unauthorized(media: &'static str) -> Response {
    let mut response = request_error(
        StatusCode::UNAUTHORIZED,
        media,
        "send Authorization: Bearer <token> with a configured token",
        "UNAUTHENTICATED",
    );
    response
        .headers_mut()
        .insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
    response
}

/// GraphQL over HTTP: a JSON body `{query, variables, operationName}`.
#[utoipa::path(post, path = "/graphql", tag = "graphql",
    request_body(content = Object, content_type = "application/json",
        description = "`{\"query\": ..., \"variables\": {...}, \"operationName\": ...}`"),
    responses(
        (status = 200, description = "The GraphQL response (errors included for application/json)"),
        (status = 400, description = "Not JSON, not a GraphQL request, or (for application/graphql-response+json) a document that does not parse or validate"),
        (status = 401, description = "No or unknown bearer token"),
        (status = 406, description = "Accept allows neither application/json nor application/graphql-response+json"),
        (status = 413, description = "Body over 1 MiB"),
        (status = 415, description = "Content-Type is not application/json")),
    security(("bearer" = [])))]
async fn graphql_post(
    State(state): State<AppState>,
    headers: HeaderMap,
    body: axum::body::Body,
) -> Response {
    let Some(media) = negotiate(&headers) else {
        return (
            StatusCode::NOT_ACCEPTABLE,
            "accept application/json or application/graphql-response+json",
        )
            .into_response();
    };
    let content_type = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    if !content_type.trim_start().starts_with(JSON) {
        return request_error(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            media,
            "send the request as application/json",
            "UNSUPPORTED_MEDIA_TYPE",
        );
    }
    let Some(caller) = state.tokens.caller(&headers) else {
        return unauthorized(media);
    };
    let key = match crate::idempotency::key_of(&headers, media) {
        Ok(key) => key,
        Err(refused) => return refused,
    };
    // Read only for a known caller; the body limit layer has refused a declared oversize
    // already, and stops a chunked body at the limit.
    let Ok(body) = axum::body::to_bytes(body, MAX_BODY).await else {
        return request_error(
            StatusCode::PAYLOAD_TOO_LARGE,
            media,
            "the body is over 1 MiB, or was not received whole",
            "PAYLOAD_TOO_LARGE",
        );
    };
    let value: Value = match serde_json::from_slice(&body) {
        Ok(value) => value,
        Err(error) => {
            return request_error(
                StatusCode::BAD_REQUEST,
                media,
                &format!("the body is not JSON: {error}"),
                "BAD_REQUEST",
            );
        }
    };
    match incoming(&value) {
        Ok(request) => match key {
            Some(key) => {
                crate::idempotency::execute(&state, media, caller, &headers, key, request).await
            }
            None => execute(&state, media, caller, request, false).await,
        },
        Err(message) => request_error(StatusCode::BAD_REQUEST, media, message, "BAD_REQUEST"),
    }
}

/// GraphiQL in a browser (no token needed for the page); with `?query=`, runs a query (never a
/// mutation).
#[utoipa::path(get, path = "/graphql", tag = "graphql",
    params(("query" = Option<String>, Query, description = "A GraphQL query"),
           ("variables" = Option<String>, Query, description = "JSON object"),
           ("operationName" = Option<String>, Query)),
    responses(
        (status = 200, description = "GraphiQL's page (text/html, without query), or the GraphQL response"),
        (status = 400, description = "Bad parameters"),
        (status = 401, description = "No or unknown bearer token"),
        (status = 405, description = "The operation is a mutation")),
    security(("bearer" = [])))]
async fn graphql_get(
    State(state): State<AppState>,
    headers: HeaderMap,
    RawQuery(raw): RawQuery,
) -> Response {
    let params: BTreeMap<String, String> = raw
        .as_deref()
        .map(|q| {
            url_pairs(q)
                .into_iter()
                .collect::<BTreeMap<String, String>>()
        })
        .unwrap_or_default();
    let Some(query) = params.get("query") else {
        let wants_html = headers
            .get(header::ACCEPT)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|a| a.contains("text/html"));
        return if wants_html {
            Html(GRAPHIQL).into_response()
        } else {
            request_error(
                StatusCode::BAD_REQUEST,
                negotiate(&headers).unwrap_or(JSON),
                "give ?query=..., or open this URL in a browser for GraphiQL",
                "BAD_REQUEST",
            )
        };
    };
    let Some(media) = negotiate(&headers) else {
        return (
            StatusCode::NOT_ACCEPTABLE,
            "accept application/json or application/graphql-response+json",
        )
            .into_response();
    };
    let Some(caller) = state.tokens.caller(&headers) else {
        return unauthorized(media);
    };
    let variables = match params
        .get("variables")
        .map(|v| serde_json::from_str::<Value>(v))
    {
        None => None,
        Some(Ok(v @ Value::Object(_))) => Some(v),
        Some(Ok(Value::Null)) => None,
        Some(_) => {
            return request_error(
                StatusCode::BAD_REQUEST,
                media,
                "variables must be a JSON object",
                "BAD_REQUEST",
            );
        }
    };
    let request = Incoming {
        query: query.clone(),
        variables,
        operation_name: params
            .get("operationName")
            .cloned()
            .filter(|n| !n.is_empty()),
    };
    execute(&state, media, caller, request, true).await
}

/// GET /graphql: a WebSocket upgrade for subscriptions (crate::ws), else a query or GraphiQL.
async fn graphql_get_or_upgrade(
    State(state): State<AppState>,
    request: axum::extract::Request,
) -> Response {
    if crate::ws::is_upgrade(request.headers()) {
        return crate::ws::upgrade(state, request).await;
    }
    let raw = request.uri().query().map(str::to_string);
    graphql_get(State(state), request.headers().clone(), RawQuery(raw)).await
}

/// Decodes `a=1&b=x%20y` (with `+` as space).
fn url_pairs(query: &str) -> Vec<(String, String)> {
    fn decode(text: &str) -> String {
        let bytes = text.as_bytes();
        let mut out = Vec::with_capacity(bytes.len());
        let mut i = 0;
        while i < bytes.len() {
            match bytes[i] {
                b'+' => out.push(b' '),
                b'%' if i + 2 < bytes.len() => {
                    match std::str::from_utf8(&bytes[i + 1..i + 3])
                        .ok()
                        .and_then(|h| u8::from_str_radix(h, 16).ok())
                    {
                        Some(byte) => {
                            out.push(byte);
                            i += 2;
                        }
                        None => out.push(b'%'),
                    }
                }
                byte => out.push(byte),
            }
            i += 1;
        }
        String::from_utf8_lossy(&out).into_owned()
    }
    query
        .split('&')
        .filter(|p| !p.is_empty())
        .map(|pair| {
            let (key, value) = pair.split_once('=').unwrap_or((pair, ""));
            (decode(key), decode(value))
        })
        .collect()
}

/// 200 when the process is up.
#[utoipa::path(get, path = "/healthz", tag = "operations",
    responses((status = 200, description = "The process is up")))]
async fn healthz() -> &'static str {
    "ok"
}

/// 200 when the database answers and every required background task runs, 503 otherwise.
#[utoipa::path(get, path = "/readyz", tag = "operations",
    responses((status = 200, description = "Ready"), (status = 503, description = "The database does not answer, or a required background task (the worker) is down")))]
async fn readyz(State(state): State<AppState>) -> Response {
    let down = state.supervisor.down();
    if !down.is_empty() {
        let names: Vec<&str> = down.iter().map(|(name, _)| *name).collect();
        return (
            StatusCode::SERVICE_UNAVAILABLE,
            format!("background task down: {}", names.join(", ")),
        )
            .into_response();
    }
    match state.service.db().ping().await {
        Ok(()) => "ready".into_response(),
        Err(error) => {
            tracing::warn!(%error, "database does not answer");
            (StatusCode::SERVICE_UNAVAILABLE, "database unavailable").into_response()
        }
    }
}

/// Prometheus text format. With `PROMOHUB_METRICS_TOKEN` set, it needs that bearer token.
#[utoipa::path(get, path = "/metrics", tag = "operations",
    responses((status = 200, description = "Metrics in Prometheus text format", content_type = "text/plain"),
              (status = 401, description = "PROMOHUB_METRICS_TOKEN is set and the request does not carry it")))]
async fn metrics(State(state): State<AppState>, headers: HeaderMap) -> Response {
    if let Some(token) = &state.config.metrics.token {
        let given = headers
            .get(header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.strip_prefix("Bearer "))
            .map(str::trim);
        if !given.is_some_and(|given| same_secret(token, given)) {
            return (
                StatusCode::UNAUTHORIZED,
                [(header::WWW_AUTHENTICATE, "Bearer")],
                "send Authorization: Bearer <PROMOHUB_METRICS_TOKEN>",
            )
                .into_response();
        }
    }
    let text = crate::metrics::render(&state).await;
    (
        [(
            header::CONTENT_TYPE,
            "text/plain; version=0.0.4; charset=utf-8",
        )],
        text,
    )
        .into_response()
}

#[derive(OpenApi)]
#[openapi(
    info(title = "PromoHub", description = "The REST routes of the PromoHub server. The API itself is GraphQL at /graphql; its schema is schema.graphql."),
    paths(graphql_post, graphql_get, healthz, readyz, metrics, openapi),
    modifiers(&BearerAuth),
    tags((name = "graphql", description = "GraphQL over HTTP"), (name = "operations", description = "Health, readiness, metrics"))
)]
pub struct ApiDoc;

struct BearerAuth;

impl utoipa::Modify for BearerAuth {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "bearer",
            SecurityScheme::Http(HttpBuilder::new().scheme(HttpAuthScheme::Bearer).build()),
        );
    }
}

/// This document: the OpenAPI description of the REST routes, generated from the code.
#[utoipa::path(get, path = "/openapi.json", tag = "operations",
    responses((status = 200, description = "OpenAPI document")))]
async fn openapi() -> Json<utoipa::openapi::OpenApi> {
    Json(ApiDoc::openapi())
}

/// GraphiQL. Its scripts and stylesheet load from jsDelivr at exact versions, each with a
/// Subresource Integrity hash: a browser refuses to run a file whose bytes differ. The hashes
/// are sha384 of the files as published on npm (jsDelivr's `/npm/` serves those bytes); to
/// check or renew them: `npm pack graphiql@3.8.3 react@18.3.1 react-dom@18.3.1`, unpack, and
/// `openssl dgst -sha384 -binary FILE | openssl base64 -A` per file.
///
/// Headers (the token) are kept in memory only: `shouldPersistHeaders` is false, and GraphiQL's
/// settings dialog offers "Persist headers" for a user who opts in to localStorage.
/// Enter your token in the headers pane as `{"Authorization": "Bearer <token>"}`.
///
/// Subscriptions run from the page too: its inline fetcher speaks graphql-transport-ws to this
/// URL itself (no further script: the pinned GraphiQL bundle carries no graphql-ws client).
pub const GRAPHIQL: &str = r#"<!doctype html>
<html lang="en">
<head>
  <meta charset="utf-8">
  <meta name="referrer" content="no-referrer">
  <title>PromoHub GraphiQL</title>
  <link rel="stylesheet" href="https://cdn.jsdelivr.net/npm/graphiql@3.8.3/graphiql.min.css"
        integrity="sha384-Mq3vbRBY71jfjQAt/DcjxUIYY33ksal4cgdRt9U/hNPvHBCaT2JfJ/PTRiPKf0aM" crossorigin="anonymous">
</head>
<body style="margin:0">
  <div id="graphiql" style="height:100vh">Loading GraphiQL (from cdn.jsdelivr.net, pinned by integrity hashes)...</div>
  <script src="https://cdn.jsdelivr.net/npm/react@18.3.1/umd/react.production.min.js"
          integrity="sha384-DGyLxAyjq0f9SPpVevD6IgztCFlnMF6oW/XQGmfe+IsZ8TqEiDrcHkMLKI6fiB/Z" crossorigin="anonymous"></script>
  <script src="https://cdn.jsdelivr.net/npm/react-dom@18.3.1/umd/react-dom.production.min.js"
          integrity="sha384-gTGxhz21lVGYNMcdJOyq01Edg0jhn/c22nsx0kyqP0TxaV5WVdsSH1fSDUf5YJj1" crossorigin="anonymous"></script>
  <script src="https://cdn.jsdelivr.net/npm/graphiql@3.8.3/graphiql.min.js"
          integrity="sha384-HbRVEFG0JGJZeAHCJ9Xm2+tpknBQ7QZmNlO/DgZtkZ0aJSypT96YYGRNod99l9Ie" crossorigin="anonymous"></script>
  <script>
    const httpFetcher = GraphiQL.createFetcher({ url: window.location.pathname });
    // Subscriptions: graphql-transport-ws over a WebSocket to this same URL, written here
    // (the pinned bundle has no graphql-ws client); the token of the headers pane goes in
    // connection_init. GraphiQL shows each event as it arrives.
    const wsUrl = (location.protocol === 'https:' ? 'wss://' : 'ws://') + location.host + location.pathname;
    function isSubscription(params, opts) {
      const doc = opts && opts.documentAST;
      if (doc) {
        return doc.definitions.some((d) => d.kind === 'OperationDefinition' && d.operation === 'subscription'
          && (!params.operationName || (d.name && d.name.value === params.operationName)));
      }
      return /^\s*subscription\b/.test(params.query);
    }
    function subscribe(params, headers) {
      const queue = [];
      let wake = null;
      const push = (item) => { queue.push(item); if (wake) { wake(); wake = null; } };
      const ws = new WebSocket(wsUrl, 'graphql-transport-ws');
      ws.onopen = () => ws.send(JSON.stringify({ type: 'connection_init',
        payload: { Authorization: headers.Authorization || headers.authorization || '' } }));
      ws.onmessage = (e) => {
        const m = JSON.parse(e.data);
        if (m.type === 'connection_ack') ws.send(JSON.stringify({ id: '1', type: 'subscribe', payload: params }));
        else if (m.type === 'next') push({ value: m.payload });
        else if (m.type === 'error') { push({ value: { errors: m.payload } }); push(null); }
        else if (m.type === 'complete') push(null);
        else if (m.type === 'ping') ws.send(JSON.stringify({ type: 'pong' }));
      };
      ws.onclose = (e) => {
        if (e.code !== 1000) push({ value: { errors: [{ message: 'WebSocket closed: ' + e.code + ' ' + e.reason }] } });
        push(null);
      };
      return {
        [Symbol.asyncIterator]() { return this; },
        async next() {
          while (queue.length === 0) await new Promise((resolve) => { wake = resolve; });
          const item = queue[0];
          if (item === null) return { done: true, value: undefined };
          queue.shift();
          return { done: false, value: item.value };
        },
        async return() { ws.close(1000); return { done: true, value: undefined }; },
      };
    }
    const fetcher = (params, opts) => isSubscription(params, opts)
      ? subscribe(params, (opts && opts.headers) || {})
      : httpFetcher(params, opts);
    ReactDOM.createRoot(document.getElementById('graphiql')).render(
      React.createElement(GraphiQL, {
        fetcher,
        defaultHeaders: '{\n  "Authorization": "Bearer <your token>"\n}',
        // The token stays in this tab's memory unless the user turns on "Persist headers".
        shouldPersistHeaders: false,
        showPersistHeadersSettings: true,
        defaultQuery: '{\n  promoCodes(first: 10) {\n    totalCount\n    nodes { code status discount { type percentOff amountOff currency } providers { provider state } }\n  }\n}\n',
      }),
    );
  </script>
</body>
</html>
"#;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn query_strings_decode() {
        assert_eq!(
            url_pairs("query=%7B%20a%20%7D&x=1+2&bad=%zz&end=%4"),
            vec![
                ("query".to_string(), "{ a }".to_string()),
                ("x".to_string(), "1 2".to_string()),
                ("bad".to_string(), "%zz".to_string()),
                ("end".to_string(), "%4".to_string()),
            ]
        );
    }

    #[test]
    fn graphiql_loads_only_pinned_scripts_and_keeps_no_token() {
        let mut external = 0;
        for tag in GRAPHIQL.split('<').skip(1) {
            let tag = tag.split('>').next().unwrap_or_default();
            let Some(url) = tag
                .split_whitespace()
                .find_map(|a| {
                    a.strip_prefix("src=\"")
                        .or_else(|| a.strip_prefix("href=\""))
                })
                .map(|u| u.trim_end_matches('"'))
            else {
                continue;
            };
            external += 1;
            assert!(url.starts_with("https://"), "{url}");
            let version = url
                .split('@')
                .nth(1)
                .and_then(|v| v.split('/').next())
                .unwrap_or_default();
            assert!(
                version.split('.').count() == 3
                    && version.split('.').all(|p| p.parse::<u32>().is_ok()),
                "{url} pins an exact version"
            );
            assert!(tag.contains("integrity=\"sha384-"), "{tag}");
            assert!(tag.contains("crossorigin=\"anonymous\""), "{tag}");
        }
        assert_eq!(external, 4, "GraphiQL's css and js, React, ReactDOM");
        assert!(GRAPHIQL.contains("shouldPersistHeaders: false"));
        assert!(!GRAPHIQL.contains("shouldPersistHeaders: true"));
        assert!(!GRAPHIQL.contains("localStorage"));
    }

    #[test]
    fn tokens_parse_and_never_echo() {
        let tokens = Tokens::parse("read:aaaaaaaa, write:bbbbbbbb").expect("valid");
        assert_eq!(tokens.0.len(), 2);
        assert!(!format!("{tokens:?}").contains("aaaaaaaa"));
        let bearer = |token: &str| {
            let mut headers = HeaderMap::new();
            headers.insert(
                header::AUTHORIZATION,
                HeaderValue::from_str(&format!("Bearer {token}")).expect("header"),
            );
            tokens.caller(&headers)
        };
        assert!(bearer("bbbbbbbb").is_some_and(|c| c.can_write));
        assert!(bearer("aaaaaaaa").is_some_and(|c| !c.can_write));
        assert!(bearer("aaaaaaab").is_none());
        assert!(bearer("aaaaaaa").is_none());
        assert!(bearer("aaaaaaaaa").is_none());
        let error = Tokens::parse("admin:secret-value-1").expect_err("bad scope");
        assert!(!error.contains("secret-value-1"));
        assert!(Tokens::parse("write:short").is_err());
    }

    #[test]
    fn accept_negotiates_the_media_type() {
        let with = |accept: &str| {
            let mut headers = HeaderMap::new();
            headers.insert(
                header::ACCEPT,
                HeaderValue::from_str(accept).expect("header"),
            );
            negotiate(&headers)
        };
        assert_eq!(negotiate(&HeaderMap::new()), Some(JSON));
        assert_eq!(
            with("application/graphql-response+json, application/json"),
            Some(GRAPHQL_RESPONSE)
        );
        assert_eq!(with("application/json"), Some(JSON));
        assert_eq!(with("*/*"), Some(JSON));
        assert_eq!(with("text/plain"), None);
    }

    /// A server whose state a test builds itself, on SQLite, with no provider.
    pub(crate) async fn test_state() -> (AppState, promohub_test_support::TestDb) {
        let db = promohub_test_support::sqlite();
        let connection = promohub_domain::store::connect(&db.url)
            .await
            .expect("database");
        let service = promohub_domain::PromoService::new(
            connection,
            promohub_domain::providers::Providers::new(),
            promohub_domain::ServiceConfig::default(),
        );
        let metrics = Arc::new(HttpMetrics::new(100, service.providers().metrics()));
        let supervisor = crate::supervisor::Supervisor::new().on_restart({
            let metrics = metrics.clone();
            move |task| metrics.task_restarted(task)
        });
        let state = AppState {
            schema: crate::schema::build(service.clone()),
            service,
            tokens: Tokens::parse("write:test-token-0001").expect("tokens"),
            metrics,
            config: Arc::new(HttpConfig::default()),
            supervisor,
            sockets: crate::ws::Sockets::new(&crate::ws::WsConfig::default()),
        };
        (state, db)
    }

    /// Serves `state` on an ephemeral port; the base URL.
    pub(crate) async fn serve_test(state: AppState) -> String {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("port");
        let base = format!("http://{}", listener.local_addr().expect("address"));
        let app = router(state, &[]);
        tokio::spawn(async move { axum::serve(listener, app).await });
        base
    }

    /// Fault injection over real HTTP: a required task that fails while `failing` is set is
    /// restarted, `/readyz` answers 503 while it is down, `/metrics` counts the restarts.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_required_task_down_makes_readyz_503_until_it_runs_again() {
        use std::sync::atomic::AtomicBool;
        let (state, _db) = test_state().await;
        let supervisor = state.supervisor.clone();
        let base = serve_test(state).await;
        let http = reqwest::Client::new();
        let status = |path: &'static str| {
            let http = http.clone();
            let base = base.clone();
            async move {
                let response = http
                    .get(format!("{base}{path}"))
                    .send()
                    .await
                    .expect("request");
                (
                    response.status().as_u16(),
                    response.text().await.expect("text"),
                )
            }
        };
        assert_eq!(status("/readyz").await.0, 200);
        let failing = Arc::new(AtomicBool::new(true));
        let (stop, stopped) = tokio::sync::watch::channel(false);
        let backoff = crate::supervisor::Backoff {
            initial: Duration::from_millis(300),
            max: Duration::from_millis(300),
        };
        let task = {
            let failing = failing.clone();
            let stopped_inner = stopped.clone();
            supervisor.spawn("faulty", true, backoff, stopped, move || {
                let failing = failing.load(Ordering::SeqCst);
                let mut stopped = stopped_inner.clone();
                async move {
                    assert!(!failing, "injected fault");
                    let _ = stopped.wait_for(|s| *s).await;
                    Ok(())
                }
            })
        };
        let deadline = Instant::now() + Duration::from_secs(5);
        let (code, body) = loop {
            let (code, body) = status("/readyz").await;
            if code == 503 {
                break (code, body);
            }
            assert!(Instant::now() < deadline, "readyz never said 503");
            tokio::time::sleep(Duration::from_millis(10)).await;
        };
        assert_eq!(code, 503);
        assert!(body.contains("faulty"), "{body}");
        failing.store(false, Ordering::SeqCst);
        let deadline = Instant::now() + Duration::from_secs(5);
        while status("/readyz").await.0 != 200 {
            assert!(Instant::now() < deadline, "readyz never recovered");
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        let (_, metrics) = status("/metrics").await;
        let restarts: u64 = metrics
            .lines()
            .find_map(|l| l.strip_prefix("promohub_task_restarts_total{task=\"faulty\"} "))
            .and_then(|n| n.trim().parse().ok())
            .unwrap_or_else(|| panic!("no restart counter: {metrics}"));
        assert!(restarts >= 1, "{metrics}");
        assert!(
            metrics.contains("promohub_task_up{task=\"faulty\"} 1"),
            "{metrics}"
        );
        stop.send(true).expect("stop");
        task.await.expect("supervisor ends");
    }
}
