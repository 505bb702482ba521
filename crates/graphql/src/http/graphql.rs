//! `/graphql`: GET (GraphiQL, or a query) and POST; keyed mutations go through `idempotency`.

use std::collections::BTreeMap;

use axum::extract::{RawQuery, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{Html, IntoResponse, Response};
use serde_json::Value;

use super::auth::unauthorized;
use super::execute::execute;
use super::graphiql::GRAPHIQL;
use super::request::{Incoming, JSON, incoming, negotiate, request_error, url_pairs};
use super::state::{AppState, MAX_BODY};

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
pub(super) async fn graphql_post(
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
    let key = match super::idempotency::key_of(&headers, media) {
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
                super::idempotency::execute(&state, media, caller, &headers, key, request).await
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
pub(super) async fn graphql_get(
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

/// GET /graphql: a WebSocket upgrade for subscriptions (http::ws), else a query or GraphiQL.
pub(super) async fn graphql_get_or_upgrade(
    State(state): State<AppState>,
    request: axum::extract::Request,
) -> Response {
    if super::ws::is_upgrade(request.headers()) {
        return super::ws::upgrade(state, request).await;
    }
    let raw = request.uri().query().map(str::to_string);
    graphql_get(State(state), request.headers().clone(), RawQuery(raw)).await
}
