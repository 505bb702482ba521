//! A failed provider call, sorted: by HTTP status first, then the provider's own message.

use std::time::Duration;

use promohub_clients::Error as ClientError;

use crate::model::Provider;

/// How a failed provider call bears on the write-through rules.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ErrorKind {
    /// Timeouts, connection errors, 5xx, 408 and 429: may succeed later, so it is retried.
    Transient,
    /// The provider refused: retrying the same call would not help.
    Permanent,
    /// The provider holds the code but refuses every change to it now (Fynn, once redeemed).
    Immutable,
}

/// A provider call that did not succeed, sorted for the write-through rules.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{provider}: {message}")]
pub struct ProviderError {
    pub provider: Provider,
    pub kind: ErrorKind,
    pub status: Option<u16>,
    /// The provider's own message when it gave one. Never contains the key.
    pub message: String,
    /// What a 429 or 503 asked for in Retry-After, capped at [`RETRY_AFTER_CAP`].
    pub retry_after: Option<Duration>,
}

impl ProviderError {
    fn new(provider: Provider, kind: ErrorKind, message: impl Into<String>) -> Self {
        Self {
            provider,
            kind,
            status: None,
            message: message.into(),
            retry_after: None,
        }
    }

    pub fn permanent(provider: Provider, message: impl Into<String>) -> Self {
        Self::new(provider, ErrorKind::Permanent, message)
    }

    pub fn transient(provider: Provider, message: impl Into<String>) -> Self {
        Self::new(provider, ErrorKind::Transient, message)
    }

    /// The provider refuses every change to the code now; says what it still holds.
    pub fn immutable(provider: Provider, message: impl Into<String>) -> Self {
        Self::new(provider, ErrorKind::Immutable, message)
    }

    /// For a provider PromoHub has no connector for now: its writes wait in the outbox.
    pub fn not_configured(provider: Provider) -> Self {
        Self::transient(provider, "not configured on this server")
    }

    pub fn is_transient(&self) -> bool {
        self.kind == ErrorKind::Transient
    }

    pub fn is_immutable(&self) -> bool {
        self.kind == ErrorKind::Immutable
    }
}

/// Reads the provider's own message out of an error body, if the body is its documented shape.
pub(crate) type MessageReader = fn(&[u8]) -> Option<String>;

/// What a generated client call fails with: error bodies are read raw (see openapi/*.yaml),
/// so the status survives a body that is not the provider's JSON.
pub(crate) type ClientFailure = ClientError<promohub_clients::whop::ByteStream>;

fn is_transient_status(status: u16) -> bool {
    matches!(status, 408 | 429) || status >= 500
}

/// The longest wait a provider's `Retry-After` can impose: a larger value (or a date further
/// away) waits this long. An hour keeps a confused or hostile provider from parking writes for
/// days, and keeps every date computed from it far from chrono's limits.
pub const RETRY_AFTER_CAP: Duration = Duration::from_secs(3600);

/// Reads `Retry-After` (RFC 9110 10.2.3): delay-seconds or an HTTP-date, capped at
/// [`RETRY_AFTER_CAP`]. A date in the past is no wait; anything else unreadable is ignored.
/// No arithmetic here can overflow: seconds are parsed as u64 (longer digit runs are "very
/// long"), and dates are only compared.
pub fn parse_retry_after(value: &str, now: chrono::DateTime<chrono::Utc>) -> Option<Duration> {
    let value = value.trim();
    if !value.is_empty() && value.bytes().all(|b| b.is_ascii_digit()) {
        return Some(match value.parse::<u64>() {
            Ok(secs) => Duration::from_secs(secs).min(RETRY_AFTER_CAP),
            Err(_) => RETRY_AFTER_CAP,
        });
    }
    // IMF-fixdate ("Sun, 06 Nov 1994 08:49:37 GMT") is RFC 2822 with GMT; the two obsolete
    // forms, RFC 850 and asctime, are accepted as the RFC asks recipients to.
    let at = chrono::DateTime::parse_from_rfc2822(value)
        .map(|d| d.with_timezone(&chrono::Utc))
        .ok()
        .or_else(|| {
            chrono::NaiveDateTime::parse_from_str(value, "%A, %d-%b-%y %H:%M:%S GMT")
                .ok()
                .map(|d| d.and_utc())
        })
        .or_else(|| {
            chrono::NaiveDateTime::parse_from_str(value, "%a %b %e %H:%M:%S %Y")
                .ok()
                .map(|d| d.and_utc())
        })?;
    if at <= now {
        return Some(Duration::ZERO);
    }
    // Both ends are valid dates, so the difference is in range; an error is "far away".
    Some(
        (at - now)
            .to_std()
            .unwrap_or(RETRY_AFTER_CAP)
            .min(RETRY_AFTER_CAP),
    )
}

/// The most of an error body read to find the provider's message.
const MAX_ERROR_BODY: usize = 64 * 1024;

async fn read_capped(stream: promohub_clients::whop::ByteStream) -> Vec<u8> {
    use futures::StreamExt;
    let mut stream = stream.into_inner();
    let mut body = Vec::new();
    while let Some(Ok(chunk)) = stream.next().await {
        let room = MAX_ERROR_BODY.saturating_sub(body.len());
        body.extend_from_slice(&chunk[..chunk.len().min(room)]);
        if body.len() >= MAX_ERROR_BODY {
            break;
        }
    }
    body
}

/// A client call's answer, its failure sorted into permanent or transient: by HTTP status
/// first (408, 429 and 5xx transient, every other 4xx permanent, whatever the body), then the
/// provider's own message from its documented error body `B` when the body is one.
pub(crate) async fn sorted<T>(
    provider: Provider,
    message_of: MessageReader,
    result: Result<promohub_clients::ResponseValue<T>, ClientFailure>,
) -> Result<promohub_clients::ResponseValue<T>, ProviderError> {
    match result {
        Ok(value) => Ok(value),
        Err(error) => Err(classify(provider, message_of, error).await),
    }
}

/// Sorts a client error into permanent or transient, keeping the provider's message.
pub(crate) async fn classify(
    provider: Provider,
    message_of: MessageReader,
    error: ClientFailure,
) -> ProviderError {
    let (transient, status, message, retry_after) = match error {
        ClientError::ErrorResponse(response) => {
            let status = response.status().as_u16();
            let retry_after = response
                .headers()
                .get(reqwest::header::RETRY_AFTER)
                .and_then(|v| v.to_str().ok())
                .and_then(|v| parse_retry_after(v, chrono::Utc::now()));
            let body = read_capped(response.into_inner()).await;
            let message = message_of(&body).unwrap_or_else(|| format!("HTTP {status}"));
            (
                is_transient_status(status),
                Some(status),
                message,
                retry_after,
            )
        }
        ClientError::UnexpectedResponse(response) => {
            let status = response.status().as_u16();
            (
                is_transient_status(status),
                Some(status),
                format!("unexpected HTTP {status}"),
                None,
            )
        }
        ClientError::CommunicationError(e) => {
            let what = if e.is_timeout() {
                "timed out"
            } else if e.is_connect() {
                "connection failed"
            } else {
                "connection error"
            };
            (true, None, what.to_string(), None)
        }
        ClientError::ResponseBodyError(_) => {
            (true, None, "the answer was cut off".to_string(), None)
        }
        // Only a success answer is parsed now (errors are read raw): the provider said yes in
        // a body we cannot read. Passing, so a create is looked up and adopted on retry.
        ClientError::InvalidResponsePayload(_, e) => {
            (true, None, format!("unreadable answer: {e}"), None)
        }
        ClientError::InvalidRequest(message) | ClientError::Custom(message) => {
            (false, None, message, None)
        }
        ClientError::InvalidUpgrade(_) => (false, None, "unexpected upgrade".to_string(), None),
    };
    ProviderError {
        provider,
        kind: if transient {
            ErrorKind::Transient
        } else {
            ErrorKind::Permanent
        },
        status,
        message,
        retry_after,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn statuses_sort_into_transient_and_permanent() {
        for (status, transient) in [
            (400, false),
            (401, false),
            (404, false),
            (409, false),
            (422, false),
            (408, true),
            (429, true),
            (500, true),
            (502, true),
            (503, true),
        ] {
            assert_eq!(is_transient_status(status), transient, "{status}");
        }
    }

    #[test]
    fn retry_after_is_seconds_or_a_date_and_capped() {
        let now = chrono::DateTime::parse_from_rfc3339("2026-12-01T12:00:00Z")
            .expect("date")
            .with_timezone(&chrono::Utc);
        let secs = |n| Some(Duration::from_secs(n));
        assert_eq!(parse_retry_after("5", now), secs(5));
        assert_eq!(parse_retry_after(" 120 ", now), secs(120));
        assert_eq!(parse_retry_after("1000000000000000", now), secs(3600));
        assert_eq!(parse_retry_after(&"9".repeat(400), now), secs(3600));
        assert_eq!(
            parse_retry_after("Tue, 01 Dec 2026 12:02:00 GMT", now),
            secs(120)
        );
        assert_eq!(
            parse_retry_after("Tuesday, 01-Dec-26 12:00:30 GMT", now),
            secs(30)
        );
        assert_eq!(parse_retry_after("Tue Dec  1 12:00:10 2026", now), secs(10));
        assert_eq!(
            parse_retry_after("Fri, 31 Dec 9999 23:59:59 GMT", now),
            secs(3600)
        );
        assert_eq!(
            parse_retry_after("Sun, 06 Nov 1994 08:49:37 GMT", now),
            secs(0)
        );
        assert_eq!(parse_retry_after("-5", now), None);
        assert_eq!(parse_retry_after("soon", now), None);
        assert_eq!(parse_retry_after("", now), None);
    }
}
