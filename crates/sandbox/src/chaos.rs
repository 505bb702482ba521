//! Random faults on provider writes, for soak runs: a share of every write fails, some before
//! the provider applies it and some after (the caller sees an error for a write that landed).
//! Fault rules (`/_sandbox/faults`) still come first; chaos only rolls for requests no rule hit.

use axum::http::Method;
use rand::Rng;

use crate::control::{ActiveFault, FaultKind, FaultSpec};
use crate::{Provider, Shared};

/// How often writes fail, and how.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Chaos {
    /// Share of writes (every method but GET) that fail, 0.0 to 1.0.
    pub rate: f64,
    /// Of those, the share the provider applies before failing (half answer 503, half drop
    /// the connection); the rest fail with 503 and are not applied.
    pub applied_share: f64,
}

/// The fault this write gets, if chaos is on and the dice say so.
pub(crate) fn roll(shared: &Shared, provider: Provider, method: &Method) -> Option<ActiveFault> {
    if method == Method::GET {
        return None;
    }
    let chaos = shared.world().chaos?;
    let mut rng = rand::rng();
    if !rng.random_bool(chaos.rate.clamp(0.0, 1.0)) {
        return None;
    }
    let apply = rng.random_bool(chaos.applied_share.clamp(0.0, 1.0));
    let kind = if apply && rng.random_bool(0.5) {
        FaultKind::Drop
    } else {
        FaultKind::Status { status: 503 }
    };
    Some(ActiveFault {
        id: 0,
        spec: FaultSpec {
            provider,
            operation: None,
            kind,
            times: None,
            apply,
        },
        remaining: None,
    })
}
