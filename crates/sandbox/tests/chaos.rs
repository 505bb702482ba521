//! Random write faults (`SandboxState::set_chaos`), over real HTTP: they hit writes only, fail
//! them before or after they land as asked, and stop when turned off.

use promohub_sandbox::{Chaos, HeldCode, Provider, RunningSandbox, SandboxConfig};
use serde_json::json;

async fn create(sandbox: &RunningSandbox, code: &str) -> Option<u16> {
    reqwest::Client::new()
        .post(format!(
            "{}/v2/promo_codes",
            sandbox.base_url(Provider::Whop)
        ))
        .bearer_auth(sandbox.key(Provider::Whop))
        .json(
            &json!({ "code": code, "amount_off": 20.0, "base_currency": "usd",
                       "promo_type": "percentage", "stock": 2, "unlimited_stock": false }),
        )
        .send()
        .await
        .ok()
        .map(|r| r.status().as_u16())
}

fn held(sandbox: &RunningSandbox) -> Vec<String> {
    sandbox
        .state()
        .held_codes(Provider::Whop)
        .into_iter()
        .map(|HeldCode { code, .. }| code)
        .collect()
}

#[tokio::test]
async fn chaos_fails_writes_before_or_after_they_land_and_stops_when_off() {
    let sandbox = RunningSandbox::start(SandboxConfig::default())
        .await
        .expect("sandbox");
    sandbox.state().set_chaos(Some(Chaos {
        rate: 1.0,
        applied_share: 0.0,
    }));
    assert_eq!(create(&sandbox, "BEFORE1").await, Some(503));
    assert!(held(&sandbox).is_empty(), "failed before it landed");
    let list = reqwest::Client::new()
        .get(format!(
            "{}/v2/promo_codes",
            sandbox.base_url(Provider::Whop)
        ))
        .bearer_auth(sandbox.key(Provider::Whop))
        .send()
        .await
        .expect("list");
    assert_eq!(list.status().as_u16(), 200, "reads are never hit");

    sandbox.state().set_chaos(Some(Chaos {
        rate: 1.0,
        applied_share: 1.0,
    }));
    for i in 0..6 {
        let answer = create(&sandbox, &format!("AFTER{i}")).await;
        assert_ne!(answer, Some(201), "every write fails as the caller sees it");
    }
    assert_eq!(held(&sandbox).len(), 6, "and every one landed");

    sandbox.state().set_chaos(None);
    assert_eq!(create(&sandbox, "CALM1").await, Some(201));
    let active = sandbox.state().held_codes(Provider::Whop);
    assert!(active.iter().any(|c| c.code == "CALM1" && c.active));
}
