//! GraphQL subscriptions over WebSocket: the graphql-transport-ws protocol
//! (github.com/enisdenjo/graphql-ws, PROTOCOL.md) at `GET /graphql` and `GET /graphql/ws` with
//! `Upgrade: websocket` and `Sec-WebSocket-Protocol: graphql-transport-ws`.
//!
//! The protocol is run here rather than by async-graphql's `http::WebSocket`, which closes a
//! refused `connection_init` with 1002 instead of 4403, has no init timeout, replaces a
//! duplicate subscription id silently, and would run documents past our request limits.
//!
//! - `connection_init` within `init_timeout` carries `{"Authorization": "Bearer <token>"}`
//!   (read and write tokens alike); a missing or unknown token closes with 4403, a subscribe
//!   before the ack with 4401, no init in time with 4408, a second init with 4429, a message
//!   that is not of the protocol with 4400, a subscription id in use with 4409.
//! - Each `subscribe` is checked against the request limits (crate::limits), must be a
//!   subscription (queries and mutations go to POST /graphql), and counts against
//!   `max_subscriptions` of its connection; a refusal is an `error` message for that id.
//! - At most `max_connections` sockets per process; one more is answered 503 before the upgrade.
//! - A subscriber that cannot keep up misses events (told by an `EVENTS_MISSED` error in its
//!   stream), and slows nobody else.

use std::collections::HashMap;

use axum::extract::FromRequestParts;
use axum::extract::ws::{CloseFrame, Message, WebSocket, WebSocketUpgrade};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use futures::StreamExt;
use futures::stream::{BoxStream, SelectAll};
use serde_json::{Value, json};
use tokio::sync::{OwnedSemaphorePermit, oneshot};

use super::request::{Incoming, incoming};
use super::state::{AppState, MAX_BODY};
use crate::limits::LimitExceeded;
use crate::schema::Caller;

pub const PROTOCOL: &str = "graphql-transport-ws";

/// Whether the request asks for a WebSocket.
pub fn is_upgrade(headers: &HeaderMap) -> bool {
    headers
        .get(header::UPGRADE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.eq_ignore_ascii_case("websocket"))
}

/// Answers an upgrade request: refused unless it offers graphql-transport-ws and a socket is
/// free; the token comes later, in `connection_init`.
pub async fn upgrade(state: AppState, request: axum::extract::Request) -> Response {
    let (mut parts, _body) = request.into_parts();
    let offered = parts
        .headers
        .get_all(header::SEC_WEBSOCKET_PROTOCOL)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .any(|p| p.trim() == PROTOCOL);
    let ws = match WebSocketUpgrade::from_request_parts(&mut parts, &()).await {
        Ok(ws) => ws,
        Err(rejection) => return rejection.into_response(),
    };
    if !offered {
        return (
            StatusCode::BAD_REQUEST,
            format!("offer Sec-WebSocket-Protocol: {PROTOCOL}"),
        )
            .into_response();
    }
    let Ok(permit) = state.sockets.permits.clone().try_acquire_owned() else {
        return (
            StatusCode::SERVICE_UNAVAILABLE,
            [(header::RETRY_AFTER, "5")],
            "too many WebSocket connections (PROMOHUB_MAX_WS_CONNECTIONS): try again",
        )
            .into_response();
    };
    ws.protocols([PROTOCOL])
        .max_message_size(MAX_BODY)
        .max_frame_size(MAX_BODY)
        .on_upgrade(move |socket| async move {
            Session::new(state, socket, permit).run().await;
        })
}

/// What ends a session: a close frame to send, or nothing (the client went away).
struct Close(u16, String);

fn close(code: u16, reason: impl Into<String>) -> Close {
    Close(code, reason.into())
}

/// One socket.
struct Session {
    state: AppState,
    socket: WebSocket,
    caller: Option<Caller>,
    /// Active subscriptions: id → the sender that cancels it.
    active: HashMap<String, oneshot::Sender<()>>,
    /// The active subscriptions' outputs: (id, a response, or None once it ended).
    streams: SelectAll<BoxStream<'static, (String, Option<async_graphql::Response>)>>,
    _permit: OwnedSemaphorePermit,
}

impl Session {
    fn new(state: AppState, socket: WebSocket, permit: OwnedSemaphorePermit) -> Self {
        Self {
            state,
            socket,
            caller: None,
            active: HashMap::new(),
            streams: SelectAll::new(),
            _permit: permit,
        }
    }

    async fn run(mut self) {
        let outcome = self.serve().await;
        if let Err(Some(Close(code, reason))) = outcome {
            let frame = CloseFrame {
                code,
                reason: reason.into(),
            };
            let _ = self.socket.send(Message::Close(Some(frame))).await;
        }
    }

    /// Runs the protocol until the socket ends (`Err(None)`) or must be closed.
    async fn serve(&mut self) -> Result<(), Option<Close>> {
        let mut closing = self.state.sockets.closing.subscribe();
        let init_deadline = tokio::time::Instant::now() + self.state.config.ws.init_timeout;
        loop {
            let waiting_for_init = self.caller.is_none();
            tokio::select! {
                message = self.socket.recv() => match message {
                    Some(Ok(message)) => self.on_message(message).await?,
                    // An error reading, or the end: the client is gone.
                    Some(Err(_)) | None => return Err(None),
                },
                Some((id, response)) = self.streams.next(), if !self.streams.is_empty() => {
                    self.on_output(id, response).await?;
                }
                () = tokio::time::sleep_until(init_deadline), if waiting_for_init => {
                    return Err(Some(close(4408, "Connection initialisation timeout")));
                }
                () = async { let _ = closing.wait_for(|c| *c).await; } => {
                    return Err(Some(close(1001, "the server is shutting down")));
                }
            }
        }
    }

    async fn send(&mut self, message: Value) -> Result<(), Option<Close>> {
        self.socket
            .send(Message::Text(message.to_string().into()))
            .await
            .map_err(|_| None)
    }

    async fn on_output(
        &mut self,
        id: String,
        response: Option<async_graphql::Response>,
    ) -> Result<(), Option<Close>> {
        match response {
            Some(response) => {
                let payload = serde_json::to_value(&response).unwrap_or_else(|error| {
                    tracing::error!(%error, "a subscription response does not serialize");
                    json!({ "errors": [{ "message": "internal error", "extensions": { "code": "INTERNAL" } }] })
                });
                self.send(json!({ "type": "next", "id": id, "payload": payload }))
                    .await
            }
            None => {
                // Ended by the server (the operation's stream is done): tell the client.
                if self.active.remove(&id).is_some() {
                    self.send(json!({ "type": "complete", "id": id })).await?;
                }
                Ok(())
            }
        }
    }

    async fn on_message(&mut self, message: Message) -> Result<(), Option<Close>> {
        let text = match message {
            Message::Text(text) => text,
            Message::Close(_) => return Err(None),
            // Frames of the WebSocket layer; axum answers pings itself.
            Message::Ping(_) | Message::Pong(_) => return Ok(()),
            Message::Binary(_) => return Err(Some(close(4400, "messages are JSON text"))),
        };
        let Ok(message) = serde_json::from_str::<Value>(text.as_str()) else {
            return Err(Some(close(4400, "a message is not JSON")));
        };
        match message.get("type").and_then(Value::as_str) {
            Some("connection_init") => self.on_init(&message).await,
            Some("ping") => self.send(json!({ "type": "pong" })).await,
            Some("pong") => Ok(()),
            Some("subscribe") => self.on_subscribe(&message).await,
            Some("complete") => {
                let id = message.get("id").and_then(Value::as_str).unwrap_or("");
                if let Some(cancel) = self.active.remove(id) {
                    let _ = cancel.send(());
                }
                Ok(())
            }
            _ => Err(Some(close(4400, "not a graphql-transport-ws message"))),
        }
    }

    async fn on_init(&mut self, message: &Value) -> Result<(), Option<Close>> {
        if self.caller.is_some() {
            return Err(Some(close(4429, "Too many initialisation requests")));
        }
        let payload = message.get("payload");
        let given = ["Authorization", "authorization"]
            .iter()
            .find_map(|key| payload.and_then(|p| p.get(key)).and_then(Value::as_str));
        match given.and_then(|value| self.state.tokens.caller_of(value)) {
            Some(caller) => {
                self.caller = Some(caller);
                self.send(json!({ "type": "connection_ack" })).await
            }
            None => Err(Some(close(
                4403,
                "Forbidden: send {\"Authorization\": \"Bearer <token>\"} in connection_init",
            ))),
        }
    }

    async fn on_subscribe(&mut self, message: &Value) -> Result<(), Option<Close>> {
        let Some(caller) = self.caller.clone() else {
            return Err(Some(close(4401, "Unauthorized")));
        };
        let Some(id) = message
            .get("id")
            .and_then(Value::as_str)
            .map(str::to_string)
        else {
            return Err(Some(close(4400, "subscribe needs an id")));
        };
        if self.active.contains_key(&id) {
            return Err(Some(close(
                4409,
                format!("Subscriber for {id} already exists"),
            )));
        }
        let request = match incoming(message.get("payload").unwrap_or(&Value::Null)) {
            Ok(request) => request,
            Err(why) => return Err(Some(close(4400, why))),
        };
        let max = self.state.config.ws.max_subscriptions;
        if self.active.len() >= max {
            let error = LimitExceeded {
                limit: "subscriptionsPerConnection",
                env_var: "PROMOHUB_MAX_SUBSCRIPTIONS_PER_CONNECTION",
                max: u64::try_from(max).unwrap_or(u64::MAX),
                actual: u64::try_from(self.active.len() + 1).unwrap_or(u64::MAX),
                message: format!(
                    "this connection has {max} active subscriptions, the most allowed: complete one first"
                ),
            };
            return self.refuse(&id, limit_error(&error)).await;
        }
        let request = match prepare(&self.state, caller, request) {
            Ok(request) => request,
            Err(errors) => return self.refuse(&id, errors).await,
        };
        let (cancel, cancelled) = oneshot::channel();
        let tag = id.clone();
        let ended = id.clone();
        let stream = self
            .state
            .schema
            .execute_stream(request)
            .map(move |response| (tag.clone(), Some(response)))
            .chain(futures::stream::once(async move { (ended, None) }))
            .take_until(cancelled)
            .boxed();
        self.active.insert(id, cancel);
        self.streams.push(stream);
        Ok(())
    }

    async fn refuse(&mut self, id: &str, errors: Value) -> Result<(), Option<Close>> {
        self.send(json!({ "type": "error", "id": id, "payload": errors }))
            .await
    }
}

fn limit_error(error: &LimitExceeded) -> Value {
    json!([{ "message": error.message, "extensions": {
        "code": "LIMIT_EXCEEDED", "limit": error.limit, "max": error.max,
        "actual": error.actual, "setting": error.env_var } }])
}

fn request_error(message: &str, code: &str) -> Value {
    json!([{ "message": message, "extensions": { "code": code } }])
}

/// The checks of POST /graphql for a subscription document: limits before parsing, limits of
/// the parsed document, one subscription operation. The errors, as an `error` payload.
fn prepare(
    state: &AppState,
    caller: Caller,
    request: Incoming,
) -> Result<async_graphql::Request, Value> {
    use async_graphql::parser::types::{DocumentOperations, OperationType};
    let limits = &state.config.limits;
    limits
        .check_text(&request.query)
        .and_then(|()| {
            request
                .variables
                .as_ref()
                .map_or(Ok(()), |v| limits.check_variables(v))
        })
        .map_err(|e| limit_error(&e))?;
    let document = async_graphql::parser::parse_query(&request.query)
        .map_err(|e| request_error(&e.to_string(), "GRAPHQL_PARSE_FAILED"))?;
    limits
        .check_document(&document, request.variables.as_ref())
        .map_err(|e| limit_error(&e))?;
    let name = request.operation_name.as_deref();
    let operation = match (&document.operations, name) {
        (DocumentOperations::Single(op), _) => Some(&op.node),
        (DocumentOperations::Multiple(ops), Some(name)) => ops
            .iter()
            .find(|(n, _)| n.as_str() == name)
            .map(|(_, op)| &op.node),
        (DocumentOperations::Multiple(ops), None) if ops.len() == 1 => {
            ops.values().next().map(|op| &op.node)
        }
        (DocumentOperations::Multiple(_), None) => None,
    };
    let Some(operation) = operation else {
        return Err(request_error(
            "name the operation to run (operationName)",
            "BAD_REQUEST",
        ));
    };
    if operation.ty != OperationType::Subscription {
        return Err(request_error(
            "only subscriptions run over WebSocket: send queries and mutations to POST /graphql",
            "OPERATION_NOT_SUPPORTED",
        ));
    }
    // A subscription has a single root field (GraphQL spec, "Single root field").
    if operation.selection_set.node.items.len() != 1 {
        return Err(request_error(
            "a subscription selects exactly one root field",
            "GRAPHQL_VALIDATION_FAILED",
        ));
    }
    let mut gql = async_graphql::Request::new(request.query).data(caller);
    gql.set_parsed_query(document);
    if let Some(name) = request.operation_name {
        gql = gql.operation_name(name);
    }
    if let Some(variables) = request.variables {
        gql = gql.variables(async_graphql::Variables::from_json(variables));
    }
    Ok(gql)
}

/// The subscription gauges, in Prometheus text, appended to `/metrics`.
pub fn metrics_text(state: &AppState, out: &mut String) {
    use std::fmt::Write as _;
    let events = state.service.events();
    let _ = write!(
        out,
        "# HELP promohub_ws_connections Open WebSocket connections.\n\
         # TYPE promohub_ws_connections gauge\npromohub_ws_connections {}\n\
         # HELP promohub_event_subscribers Active subscriptions (one bus subscriber each).\n\
         # TYPE promohub_event_subscribers gauge\npromohub_event_subscribers {}\n\
         # HELP promohub_events_listening 1 while events reach this process (PostgreSQL: LISTEN is up).\n\
         # TYPE promohub_events_listening gauge\npromohub_events_listening {}\n\
         # HELP promohub_events_dropped Events not delivered since start (a failed NOTIFY, an undecodable payload).\n\
         # TYPE promohub_events_dropped counter\npromohub_events_dropped_total {}\n",
        state.sockets.open(),
        events.subscribers(),
        u8::from(events.is_listening()),
        events.dropped(),
    );
}
