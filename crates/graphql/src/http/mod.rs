//! HTTP: GraphQL over HTTP as its spec says (graphql.github.io/graphql-over-http), bearer
//! tokens, and the REST routes of the runtime contract.
//!
//! async-graphql's stock integration always answers `application/graphql-response+json` and
//! 200 for documents that do not parse or validate; this handler negotiates the media type by
//! Accept and answers 4xx where the spec asks for it.

//!
//! One file per part: `auth` (tokens), `state` (what handlers share), `request` (reading and
//! answering GraphQL over HTTP), `graphql` (the `/graphql` handlers), `operations` (health,
//! readiness, metrics), `graphiql` (the page); this file wires the routes and the OpenAPI
//! document.

mod auth;
mod execute;
mod export;
mod graphiql;
mod graphql;
pub mod idempotency;
mod operations;
mod request;
pub mod sockets;
mod state;
#[cfg(test)]
mod tests;
pub mod ws;

use std::sync::Arc;
use std::time::Duration;

use axum::extract::DefaultBodyLimit;
use axum::http::{HeaderName, HeaderValue, Method, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use tower_http::cors::{AllowOrigin, CorsLayer};
use tower_http::limit::RequestBodyLimitLayer;
use tower_http::request_id::{MakeRequestUuid, PropagateRequestIdLayer, SetRequestIdLayer};
use tower_http::trace::{DefaultOnResponse, TraceLayer};
use utoipa::OpenApi;

pub use crate::metrics::HttpMetrics;

pub use auth::Tokens;
pub use graphiql::GRAPHIQL;
use graphql::{__path_graphql_get, __path_graphql_post, graphql_get_or_upgrade, graphql_post};
use operations::{__path_healthz, __path_metrics, __path_readyz, healthz, metrics, readyz};
pub use state::{AppState, HttpConfig, MAX_BODY, MetricsConfig};

/// The whole HTTP surface of runtime.md.
/// `/metrics` is on it unless `PROMOHUB_METRICS_LISTEN` gives it a listener of its own.
pub fn router(state: AppState, cors_origins: &[String]) -> Router {
    let mut router = Router::new()
        .route("/graphql", get(graphql_get_or_upgrade).post(graphql_post))
        .route(
            "/graphql/ws",
            get(
                |axum::extract::State(state): axum::extract::State<AppState>,
                 request: axum::extract::Request| { ws::upgrade(state, request) },
            ),
        )
        .route("/healthz", get(healthz))
        .route("/readyz", get(readyz))
        .route("/openapi.json", get(openapi))
        .route("/export/promo-codes.csv", get(export::export_promo_codes));
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
                    HeaderName::from_static(idempotency::HEADER),
                ])
                .expose_headers([HeaderName::from_static(idempotency::REPLAYED)])
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

#[derive(OpenApi)]
#[openapi(
    info(title = "PromoHub", description = "The REST routes of the PromoHub server. The API itself is GraphQL at /graphql; its schema is schema.graphql."),
    paths(graphql_post, graphql_get, healthz, readyz, metrics, openapi, export::export_promo_codes),
    modifiers(&BearerAuth),
    tags((name = "graphql", description = "GraphQL over HTTP"), (name = "operations", description = "Health, readiness, metrics"), (name = "export", description = "Codes as files"))
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
