//! One rate limit per provider for the whole deployment: on PostgreSQL, services on one
//! database share it; on SQLite it stays in-process. Waits past the bound, and a database
//! that does not answer, fail the call as transient without sending it. Over real HTTP
//! against the sandbox, whose journal records when each request arrived.

use std::time::Duration;

use promohub_domain::providers::limiter::RateLimit;
use promohub_domain::*;
use promohub_sandbox::Provider as Emulated;
use promohub_test_support::on_both_databases;
use promohub_test_support::{Harness, Options, TestDb};

on_both_databases!(a_wait_past_the_bound_is_refused_as_transient_and_not_sent);

async fn a_wait_past_the_bound_is_refused_as_transient_and_not_sent(db: TestDb) {
    let mut options = Options::default();
    // The service bounds a wait by half its lease: 1 s here.
    options.config.lease = Duration::from_secs(2);
    options.whop_limit = Some(RateLimit {
        requests: 2,
        per: Duration::from_secs(10),
    });
    let h = Harness::start_with(db, options).await;
    let whop = h.service.providers().get(Provider::Whop).expect("whop");
    let mut sent = 0;
    let refused = loop {
        let started = tokio::time::Instant::now();
        match whop.list_all().await {
            Ok(_) => sent += 1,
            Err(error) => break (error, started.elapsed()),
        }
        assert!(
            sent <= 2,
            "a call waited past the bound instead of being refused"
        );
    };
    let (error, waited) = refused;
    assert!(sent >= 1, "the first call is within the limit");
    assert!(error.is_transient(), "{error:?}");
    assert!(
        error.message.contains("rate limited locally"),
        "{}",
        error.message
    );
    assert!(waited < Duration::from_secs(3), "waited {waited:?}");
    assert_eq!(
        h.sandbox.state().journal_of(Emulated::Whop).len(),
        sent,
        "the refused call was not sent"
    );
    let mut registry = prometheus_client::registry::Registry::default();
    h.service.providers().metrics().register(&mut registry);
    let mut text = String::new();
    prometheus_client::encoding::text::encode(&mut text, &registry).expect("encodes");
    assert!(
        text.contains(
            "promohub_rate_limit_refusals_total{provider=\"WHOP\",reason=\"wait_too_long\"} 1"
        ),
        "{text}"
    );
    assert!(
        text.contains(&format!(
            "promohub_rate_limit_wait_seconds_count{{provider=\"WHOP\"}} {}",
            sent + 1
        )),
        "{text}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn two_services_on_one_postgres_share_one_limit() {
    let Some(db) = promohub_test_support::postgres().await else {
        return;
    };
    // 20 a second, over a period long enough to leave a call 250 ms to arrive after its slot.
    let limit = RateLimit {
        requests: 100,
        per: Duration::from_secs(5),
    };
    let h = Harness::start_with(db, Options::whop_limited(limit)).await;
    let other = h.another_process().await;
    let created = h
        .create(promohub_test_support::percent_code(
            "SHARED",
            10.0,
            &[Provider::Whop],
        ))
        .await;
    h.sandbox.state().clear_journal();
    let link = &created.providers[0];
    let pushes = [&h.service, &other].map(|service| {
        let adapter = service.providers().get(Provider::Whop).expect("whop");
        // A Whop push is two calls (read, then write): 30 each, 120 calls in all.
        futures::future::join_all((0..30).map(|_| adapter.push(link, &created)))
    });
    let [a, b] = pushes;
    let (a, b) = futures::future::join(a, b).await;
    assert!(
        a.iter().chain(&b).all(Result::is_ok),
        "every call passed the limit"
    );
    let times: Vec<_> = promohub_test_support::arrivals(&h.sandbox, Emulated::Whop);
    assert_eq!(times.len(), 120);
    let most = promohub_test_support::busiest(&times, limit.per);
    assert!(most <= 100, "{most} calls arrived within {:?}", limit.per);
    let span = (*times.last().expect("calls") - times[0])
        .to_std()
        .expect("ordered");
    let rate = (times.len() - 1) as f64 / span.as_secs_f64();
    eprintln!("two services: at most {most} calls in 5 s, {rate:.2} calls a second");
    assert!(rate >= 18.0, "{rate:.1} calls a second, under 90% of 20");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn an_unreachable_database_fails_the_call_as_transient_and_sends_nothing() {
    let Some(db) = promohub_test_support::postgres().await else {
        return;
    };
    let h = Harness::start_with(
        db,
        Options {
            whop_limit: Some(RateLimit {
                requests: 100,
                per: Duration::from_secs(10),
            }),
            ..Options::default()
        },
    )
    .await;
    h.service.db().close_by_ref().await.expect("closes");
    let error = h
        .service
        .providers()
        .get(Provider::Whop)
        .expect("whop")
        .list_all()
        .await
        .expect_err("no limit, no call");
    assert!(error.is_transient(), "{error:?}");
    assert!(
        error.message.contains("rate limiter unavailable"),
        "{}",
        error.message
    );
    assert!(h.sandbox.state().journal_of(Emulated::Whop).is_empty());
}
