//! One rate limit per provider for every process on a PostgreSQL database: GCRA (the
//! "generic cell rate algorithm") over one row per provider in `rate_limits`, holding the
//! theoretical arrival time (TAT) of the next call.
//!
//! A call reserves its slot with one atomic statement (`slot = GREATEST(tat, now)`,
//! `tat = slot + interval`), on the database's clock, so replicas with skewed clocks agree;
//! it then waits until its slot and starts. Slots are `interval` apart across the deployment.
//!
//! Window semantics: the provider counts calls when they arrive, in any window of `per` (Whop
//! documents "100 requests per 10 s" without saying whether the window is fixed or sliding;
//! a sliding window is the stricter reading, and holding to it holds to a fixed one too).
//! Strict spacing of `per / requests` alone would allow `requests + 1` arrivals in a window
//! as soon as one call arrives a little later after its slot than the next one does. So the
//! spacing is `(per + margin) / requests` with `margin = per / 20`: a call that arrives
//! within `margin` of its slot can never share a window of `per` with `requests` others
//! (slots in an interval of `per + margin` number at most `requests`). Bursts run at
//! `per / (per + margin)` = 95.2% of the limit. Of the margin, half is for our own lateness
//! (a sleep that overslept, a busy runtime: checked, see [`SharedLimiter::wait_for_slot`]),
//! half for the way to the provider.

use std::time::Duration;

use sea_orm::{ConnectionTrait, DatabaseConnection, DbBackend, Statement};
use tokio::time::Instant;

use super::limiter::RateLimit;

/// Why no slot was taken. Either way the call is not sent.
#[derive(Debug)]
pub(crate) enum Refused {
    /// Every slot within the wait bound is taken; `retry_after` is when one may be free.
    TooLong { retry_after: Option<Duration> },
    /// The database did not answer: sending anyway could exceed the deployment's limit.
    Unavailable(String),
}

/// `Debug` leaves the connection out (its options may hold the database password).
#[derive(Clone)]
pub(crate) struct SharedLimiter {
    db: DatabaseConnection,
    /// The row's key: the provider's name.
    key: &'static str,
    interval: Duration,
    /// How late after its slot a call may still start.
    allowance: Duration,
}

impl std::fmt::Debug for SharedLimiter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SharedLimiter")
            .field("key", &self.key)
            .field("interval", &self.interval)
            .field("allowance", &self.allowance)
            .finish_non_exhaustive()
    }
}

/// Seconds from the database as a duration (negative is none); None when not a number.
fn seconds(value: f64) -> Option<Duration> {
    if !value.is_finite() {
        return None;
    }
    Duration::try_from_secs_f64(value.max(0.0)).ok()
}

fn margin(limit: RateLimit) -> Duration {
    limit.per / 20
}

/// The spacing of slots: `(per + margin) / requests`, and at least the microsecond the
/// database counts in (a limit of over a million a second is held to a million).
fn interval(limit: RateLimit) -> Duration {
    ((limit.per + margin(limit)) / limit.requests).max(Duration::from_micros(1))
}

/// Whole microseconds, rounded up: an interval rounded down would space slots too closely.
fn micros(duration: Duration) -> i64 {
    i64::try_from(duration.as_nanos().div_ceil(1000)).unwrap_or(i64::MAX)
}

/// Takes the next slot when it is at most `$3` µs away, in one statement. `clock_timestamp()`
/// (not `now()`, the transaction's start) is read after the row lock is taken, so a statement
/// that waited for the lock does not compute its slot from a stale clock.
const RESERVE: &str = "\
INSERT INTO rate_limits (provider, tat) \
VALUES ($1, clock_timestamp() + $2::bigint * interval '1 microsecond') \
ON CONFLICT (provider) DO UPDATE \
SET tat = GREATEST(rate_limits.tat, clock_timestamp()) + $2::bigint * interval '1 microsecond' \
WHERE rate_limits.tat <= clock_timestamp() + $3::bigint * interval '1 microsecond' \
RETURNING EXTRACT(EPOCH FROM (rate_limits.tat - $2::bigint * interval '1 microsecond' \
- clock_timestamp()))::float8 AS wait";

/// How far ahead the slots are taken, when a reservation was refused.
const AHEAD: &str = "\
SELECT EXTRACT(EPOCH FROM (tat - clock_timestamp()))::float8 AS ahead \
FROM rate_limits WHERE provider = $1";

impl SharedLimiter {
    /// The deployment-wide limiter on `db`, when `db` is PostgreSQL (SQLite is one process:
    /// the in-process limiter is the whole deployment's).
    pub(crate) fn on(db: &DatabaseConnection, key: &'static str, limit: RateLimit) -> Option<Self> {
        if db.get_database_backend() != DbBackend::Postgres {
            return None;
        }
        Some(Self {
            db: db.clone(),
            key,
            interval: interval(limit),
            allowance: margin(limit) / 2,
        })
    }

    /// Reserves a slot at most `max_wait` away and waits for it. A slot whose moment passed
    /// while this task was not running (lateness over the allowance) is left unused and
    /// another taken: sent late, the call could arrive in a window with the next calls.
    pub(crate) async fn wait_for_slot(&self, max_wait: Duration) -> Result<(), Refused> {
        let deadline = Instant::now() + max_wait;
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            let wait = match tokio::time::timeout(left, self.reserve(left)).await {
                Ok(reserved) => reserved?,
                // A hung database: the slot it may still grant is wasted, never exceeded.
                Err(_) => {
                    return Err(Refused::Unavailable(format!(
                        "the database did not answer within {left:?}"
                    )));
                }
            };
            let slot = Instant::now() + wait;
            tokio::time::sleep_until(slot).await;
            let late = Instant::now().saturating_duration_since(slot);
            if late <= self.allowance {
                return Ok(());
            }
            tracing::debug!(
                provider = self.key,
                ?late,
                "started too late for its slot; taking another"
            );
        }
    }

    /// One reservation: the wait until the slot taken, or why none was.
    async fn reserve(&self, max_wait: Duration) -> Result<Duration, Refused> {
        let unavailable = |e: sea_orm::DbErr| Refused::Unavailable(e.to_string());
        let row = self
            .db
            .query_one_raw(Statement::from_sql_and_values(
                DbBackend::Postgres,
                RESERVE,
                [
                    self.key.into(),
                    micros(self.interval).into(),
                    micros(max_wait).into(),
                ],
            ))
            .await
            .map_err(unavailable)?;
        if let Some(row) = row {
            let wait: f64 = row.try_get("", "wait").map_err(unavailable)?;
            // The statement grants only slots within the bound; anything else is not trusted.
            return seconds(wait)
                .filter(|w| *w <= max_wait + Duration::from_secs(1))
                .ok_or_else(|| {
                    Refused::Unavailable(format!("the database answered a wait of {wait} s"))
                });
        }
        // Refused: say when a slot within the bound may be free, for the retry's delay.
        let ahead = self
            .db
            .query_one_raw(Statement::from_sql_and_values(
                DbBackend::Postgres,
                AHEAD,
                [self.key.into()],
            ))
            .await
            .ok()
            .flatten()
            .and_then(|row| row.try_get::<f64>("", "ahead").ok())
            .and_then(seconds)
            .map(|ahead| ahead.saturating_sub(max_wait));
        Err(Refused::TooLong { retry_after: ahead })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn slots_leave_a_margin_of_a_twentieth_of_the_period() {
        let limit = RateLimit {
            requests: 20,
            per: Duration::from_secs(1),
        };
        let interval = interval(limit);
        assert_eq!(interval, Duration::from_micros(52_500));
        // Any interval of `per + margin` holds at most `requests` slots...
        assert!(interval * limit.requests >= limit.per + margin(limit));
        // ...and bursts still get over 95% of the limit.
        assert!(limit.per.as_secs_f64() / (interval * limit.requests).as_secs_f64() > 0.95);
    }

    #[test]
    fn intervals_round_up_to_a_microsecond() {
        assert_eq!(micros(Duration::from_nanos(1)), 1);
        assert_eq!(micros(Duration::from_nanos(1_001)), 2);
        assert_eq!(micros(Duration::from_micros(52_500)), 52_500);
        // The largest limit still spaces its slots apart.
        let most = RateLimit {
            requests: u32::MAX,
            per: Duration::from_secs(1),
        };
        assert_eq!(micros(interval(most)), 1);
    }

    #[test]
    fn waits_read_from_the_database_are_never_negative_or_invalid() {
        assert_eq!(seconds(-1.0), Some(Duration::ZERO));
        assert_eq!(seconds(f64::NAN), None);
        assert_eq!(seconds(f64::INFINITY), None);
        assert_eq!(seconds(1e300), None);
        assert_eq!(seconds(0.25), Some(Duration::from_millis(250)));
    }
}
