//! The operator routes: `/healthz`, `/readyz`, `/metrics`.

use axum::extract::State;
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};

use super::auth::same_secret;
use super::state::AppState;

/// 200 when the process is up.
#[utoipa::path(get, path = "/healthz", tag = "operations",
    responses((status = 200, description = "The process is up")))]
pub(super) async fn healthz() -> &'static str {
    "ok"
}

/// 200 when the database answers and every required background task runs, 503 otherwise.
#[utoipa::path(get, path = "/readyz", tag = "operations",
    responses((status = 200, description = "Ready"), (status = 503, description = "The database does not answer, or a required background task (the worker) is down")))]
pub(super) async fn readyz(State(state): State<AppState>) -> Response {
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
pub(super) async fn metrics(State(state): State<AppState>, headers: HeaderMap) -> Response {
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
    let mut text = crate::metrics::render(&state.metrics, &state.service, &state.supervisor).await;
    super::ws::metrics_text(&state, &mut text);
    (
        [(
            header::CONTENT_TYPE,
            "text/plain; version=0.0.4; charset=utf-8",
        )],
        text,
    )
        .into_response()
}
