//! Reading a GraphQL request and writing its answer as GraphQL over HTTP says: media type
//! negotiation, request errors, the JSON or query-string request, limit refusals.

use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};

use crate::limits::LimitExceeded;

pub(crate) const GRAPHQL_RESPONSE: &str = "application/graphql-response+json";
pub(crate) const JSON: &str = "application/json";

/// Which media type to answer in, from Accept; None when the client accepts neither.
pub(super) fn negotiate(headers: &HeaderMap) -> Option<&'static str> {
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

pub(super) fn graphql_body(status: StatusCode, media: &'static str, body: &Value) -> Response {
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
pub(super) fn request_error_status(media: &'static str) -> StatusCode {
    if media == GRAPHQL_RESPONSE {
        StatusCode::BAD_REQUEST
    } else {
        StatusCode::OK
    }
}

pub(super) fn limit_error(media: &'static str, error: &LimitExceeded) -> Response {
    graphql_body(
        request_error_status(media),
        media,
        &json!({ "errors": [{ "message": error.message, "extensions": {
            "code": "LIMIT_EXCEEDED", "limit": error.limit, "max": error.max,
            "actual": error.actual, "setting": error.env_var } }] }),
    )
}

/// Decodes `a=1&b=x%20y` (with `+` as space).
pub(crate) fn url_pairs(query: &str) -> Vec<(String, String)> {
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
