//! Running one GraphQL request, the shared path of GET, POST and idempotent replays: limits,
//! parsing, the limits of the parsed document, then async-graphql.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Instant;

use async_graphql::parser::types::{DocumentOperations, ExecutableDocument, OperationType};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::Response;

use super::request::{Incoming, graphql_bytes, limit_error, request_error, request_error_status};
use super::state::AppState;
use crate::schema::Caller;

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
pub(super) fn operation_label(
    document: &ExecutableDocument,
    requested: Option<&str>,
) -> Option<String> {
    let requested = requested?;
    document
        .operations
        .iter()
        .any(|(name, _)| name.is_some_and(|name| name.as_str() == requested))
        .then(|| requested.to_string())
}

/// The root field that may appear once per request: a sync pages through every provider.
pub(super) const ONCE_PER_REQUEST: &str = "syncFromProviders";

/// How often the operation that runs selects root field `field`, through aliases, inline
/// fragments and fragment spreads (each fragment expanded once per spread, cycles cut).
pub(super) fn root_field_count(
    document: &ExecutableDocument,
    name: Option<&str>,
    field: &str,
) -> usize {
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
