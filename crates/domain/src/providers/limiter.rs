//! A client-side rate limiter per provider: at most `requests` calls in any window of `per`,
//! the way Whop states its limit (100 requests per 10 s). Bulk work then runs at the allowed
//! rate instead of into 429s.

use std::collections::VecDeque;
use std::sync::Mutex;
use std::time::Duration;

use tokio::sync::Notify;
use tokio::time::Instant;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RateLimit {
    pub requests: u32,
    pub per: Duration,
}

impl RateLimit {
    /// Parses `100/10s`, `20/1s` or `600/60s`.
    pub fn parse(text: &str) -> Option<Self> {
        let (requests, per) = text.trim().split_once('/')?;
        let requests: u32 = requests.trim().parse().ok().filter(|n| *n > 0)?;
        let seconds: u64 = per
            .trim()
            .strip_suffix('s')?
            .parse()
            .ok()
            .filter(|s| *s > 0)?;
        Some(Self {
            requests,
            per: Duration::from_secs(seconds),
        })
    }
}

/// Counts a call from the moment it may start until one window after it ends. The provider
/// counts calls when they ARRIVE, which is somewhere in between; counting only the start would
/// let slow calls of one window arrive together with the next window's.
#[derive(Debug)]
pub struct RateLimiter {
    limit: RateLimit,
    state: Mutex<State>,
    released: Notify,
}

#[derive(Debug, Default)]
struct State {
    in_flight: usize,
    /// When recent calls ended, oldest first.
    ended: VecDeque<Instant>,
}

/// Held for the length of one call; dropping it ends the call.
#[derive(Debug)]
pub struct Permit<'a>(&'a RateLimiter);

impl Drop for Permit<'_> {
    fn drop(&mut self) {
        let mut state = self.0.lock();
        state.in_flight = state.in_flight.saturating_sub(1);
        state.ended.push_back(Instant::now());
        drop(state);
        self.0.released.notify_waiters();
    }
}

impl RateLimiter {
    pub fn new(limit: RateLimit) -> Self {
        Self {
            limit,
            state: Mutex::new(State::default()),
            released: Notify::new(),
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        self.state
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// Waits until one more call fits, and holds its place until the permit is dropped.
    pub async fn acquire(&self) -> Permit<'_> {
        loop {
            let released = self.released.notified();
            let wait = {
                let mut state = self.lock();
                let now = Instant::now();
                while state
                    .ended
                    .front()
                    .is_some_and(|t| now.duration_since(*t) >= self.limit.per)
                {
                    state.ended.pop_front();
                }
                if state.in_flight + state.ended.len() < self.limit.requests as usize {
                    state.in_flight += 1;
                    return Permit(self);
                }
                // Every place is taken: the next frees when the oldest ended call leaves the
                // window, or when a call in flight ends (then wait again for its window).
                state
                    .ended
                    .front()
                    .map(|oldest| self.limit.per.saturating_sub(now.duration_since(*oldest)))
            };
            match wait {
                Some(wait) => tokio::time::sleep(wait).await,
                None => released.await,
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn limits_parse_from_requests_per_seconds() {
        assert_eq!(
            RateLimit::parse("100/10s"),
            Some(RateLimit {
                requests: 100,
                per: Duration::from_secs(10)
            })
        );
        assert_eq!(RateLimit::parse("0/10s"), None);
        assert_eq!(RateLimit::parse("100/10"), None);
        assert_eq!(RateLimit::parse("lots"), None);
    }

    #[tokio::test(start_paused = true)]
    async fn no_window_holds_more_than_the_limit() {
        let limiter = RateLimiter::new(RateLimit {
            requests: 5,
            per: Duration::from_secs(1),
        });
        let start = Instant::now();
        let mut times = Vec::new();
        for _ in 0..12 {
            drop(limiter.acquire().await);
            times.push(start.elapsed());
        }
        // 5 at once, 5 a second later, 2 a second after that.
        assert!(times[4] < Duration::from_millis(1));
        assert!(times[5] >= Duration::from_secs(1));
        assert!(times[5] >= Duration::from_secs(1));
        assert!(times[10] >= Duration::from_secs(2));
        for (i, t) in times.iter().enumerate() {
            let in_window = times[i..]
                .iter()
                .filter(|u| **u - *t < Duration::from_secs(1))
                .count();
            assert!(
                in_window <= 5,
                "{in_window} calls within a second from call {i}"
            );
        }
    }
}

#[cfg(test)]
mod in_flight {
    use super::*;

    #[tokio::test(start_paused = true)]
    async fn a_slow_call_holds_its_place_until_a_window_after_it_ends() {
        let limiter = RateLimiter::new(RateLimit {
            requests: 1,
            per: Duration::from_secs(1),
        });
        let start = Instant::now();
        let slow = limiter.acquire().await;
        tokio::time::sleep(Duration::from_secs(3)).await;
        drop(slow);
        let _next = limiter.acquire().await;
        assert!(start.elapsed() >= Duration::from_secs(4));
    }
}
