//! Bearer tokens: parsed from `PROMOHUB_API_TOKENS`, compared in constant time.

use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::Response;
use secrecy::{ExposeSecret, SecretString};
use subtle::ConstantTimeEq;

use super::request::request_error;
use crate::schema::Caller;

/// The API tokens: `scope:token` pairs, scope `read` or `write` (write implies read).
#[derive(Clone, Default)]
pub struct Tokens(pub(super) Vec<(SecretString, Caller)>);

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

    pub(crate) fn caller(&self, headers: &HeaderMap) -> Option<Caller> {
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
pub(super) fn same_secret(secret: &SecretString, given: &str) -> bool {
    secret
        .expose_secret()
        .as_bytes()
        .ct_eq(given.as_bytes())
        .into()
}

pub(super) fn unauthorized(media: &'static str) -> Response {
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
