//! Domain events on SQLite and PostgreSQL: every committed change is told once, in order, after
//! it is stored; a background write's outcome is told; on PostgreSQL another process on the
//! same database is told too (NOTIFY/LISTEN), and its own subscribers exactly once.

use std::time::Duration;

use promohub_domain::events::{Event, Notice, Subscriber};
use promohub_domain::*;
use promohub_sandbox::{FaultKind, FaultSpec, Provider as Emulated};
use promohub_test_support::{ACTOR, Harness, Options, TestDb, on_both_databases, percent_code};

on_both_databases!(
    changes_are_told_once_in_order_after_commit,
    a_background_write_is_told_when_it_lands,
    each_change_names_its_own_history_entry,
);

/// Runs the LISTEN task of `service` (PostgreSQL) and waits until it listens.
async fn listening(service: &PromoService) -> Option<tokio::task::JoinHandle<()>> {
    if !service.events().needs_listener() {
        return None;
    }
    let listener = service.clone();
    let task = tokio::spawn(async move {
        let _ = listener.listen_for_events().await;
    });
    let end = tokio::time::Instant::now() + Duration::from_secs(10);
    while !service.events().is_listening() {
        assert!(tokio::time::Instant::now() < end, "never listened");
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    Some(task)
}

/// The next event, within 10 s; a code's change must name its history entry, which is then
/// left out for comparing (tests/subscriptions.rs compares the entry itself).
async fn next(subscriber: &mut Subscriber) -> Event {
    match tokio::time::timeout(Duration::from_secs(10), subscriber.next()).await {
        Ok(Some(Notice::Event(Event::CodeChanged {
            id,
            version,
            action,
            history,
        }))) => {
            assert!(history.is_some(), "{action} of {id} names no history entry");
            code_event(&id, version, &action)
        }
        Ok(Some(Notice::Event(event))) => event,
        other => panic!("expected an event, got {other:?}"),
    }
}

fn code_event(id: &str, version: i64, action: &str) -> Event {
    Event::CodeChanged {
        id: id.into(),
        version,
        action: action.into(),
        history: None,
    }
}

fn link_event(id: &str, state: SyncState) -> Event {
    Event::LinkChanged {
        id: id.into(),
        provider: Provider::Whop,
        state,
    }
}

async fn changes_are_told_once_in_order_after_commit(db: TestDb) {
    let h = Harness::start(db).await;
    let _listener = listening(&h.service).await;
    let mut events = h.service.events().subscribe();
    let code = h
        .create(percent_code("TOLD_1", 10.0, &[Provider::Whop]))
        .await;
    let pause = UpdatePromoCodeInput {
        status: Some(PromoCodeStatus::Inactive),
        ..UpdatePromoCodeInput::default()
    };
    h.update(&code.id, pause).await;
    h.archive(&code.id).await;
    for (version, action) in [(1, "create"), (2, "update"), (3, "archive")] {
        assert_eq!(
            next(&mut events).await,
            code_event(&code.id, version, action)
        );
        assert_eq!(
            next(&mut events).await,
            link_event(&code.id, SyncState::Synced)
        );
    }
    // Nothing twice: the next event is the next change's.
    let other = h
        .create(percent_code("TOLD_2", 10.0, &[Provider::Whop]))
        .await;
    assert_eq!(next(&mut events).await, code_event(&other.id, 1, "create"));
    // A refused change is stored nowhere and told nobody.
    let refused = h
        .service
        .create(percent_code("TOLD_2", 10.0, &[Provider::Whop]), ACTOR)
        .await;
    assert!(refused.is_err(), "a duplicate code is refused");
    assert_eq!(
        next(&mut events).await,
        link_event(&other.id, SyncState::Synced)
    );
    h.archive(&other.id).await;
    assert_eq!(next(&mut events).await, code_event(&other.id, 2, "archive"));
}

/// Changes made before any event is read: each event names the entry its change wrote (not
/// the newest one), which `history` lists at that place.
async fn each_change_names_its_own_history_entry(db: TestDb) {
    let h = Harness::start(db).await;
    let _listener = listening(&h.service).await;
    let mut events = h.service.events().subscribe();
    let code = h
        .service
        .create(percent_code("NAMED_1", 10.0, &[Provider::Whop]), ACTOR)
        .await
        .expect("created");
    for name in ["one", "two"] {
        let rename = UpdatePromoCodeInput {
            name: Some(name.into()),
            ..UpdatePromoCodeInput::default()
        };
        h.update(&code.id, rename).await;
    }
    let listed = h.service.history(&code.id, 3, None).await.expect("history");
    let mut named = Vec::new();
    while named.len() < 3 {
        let told = tokio::time::timeout(Duration::from_secs(10), events.next()).await;
        let Ok(Some(Notice::Event(Event::CodeChanged {
            version, history, ..
        }))) = told
        else {
            continue;
        };
        let entry = history.expect("names its entry");
        let read = h
            .service
            .history_entry(&code.id, entry)
            .await
            .expect("read");
        let (cursor, entry) = read.expect("the entry is stored");
        assert_eq!(entry.version, Some(version));
        named.push((cursor, entry));
    }
    named.reverse();
    assert_eq!(named, listed.items, "the history lists them, newest first");
    assert_eq!(
        h.service
            .history_entry("another code", named[0].1.id)
            .await
            .expect("read"),
        None
    );
}

async fn a_background_write_is_told_when_it_lands(db: TestDb) {
    let h = Harness::start_with(db, Options::fast_retries()).await;
    let _listener = listening(&h.service).await;
    h.sandbox.state().inject(FaultSpec {
        provider: Emulated::Whop,
        operation: Some("create_promo_code".into()),
        kind: FaultKind::Status { status: 503 },
        times: Some(1),
        apply: false,
    });
    let mut events = h.service.events().subscribe();
    let code = h
        .create(percent_code("LATER_1", 10.0, &[Provider::Whop]))
        .await;
    assert_eq!(next(&mut events).await, code_event(&code.id, 1, "create"));
    assert_eq!(
        next(&mut events).await,
        link_event(&code.id, SyncState::Pending)
    );
    promohub_test_support::drain(&h.service, Duration::from_secs(10)).await;
    assert_eq!(
        next(&mut events).await,
        link_event(&code.id, SyncState::Synced)
    );
}

/// PostgreSQL: a change made by one process reaches the subscribers of another, and the
/// subscribers of the process that made it exactly once (through LISTEN, not also locally).
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn another_process_on_postgres_is_told() {
    let Some(db) = promohub_test_support::postgres().await else {
        return;
    };
    let h = Harness::start(db).await;
    let other = h.another_process().await;
    let _a = listening(&h.service).await;
    let _b = listening(&other).await;
    let mut here = h.service.events().subscribe();
    let mut there = other.events().subscribe();
    let code = other
        .create(percent_code("ELSEWHERE_1", 10.0, &[Provider::Whop]), ACTOR)
        .await
        .expect("created");
    for events in [&mut here, &mut there] {
        assert_eq!(next(events).await, code_event(&code.id, 1, "create"));
        assert_eq!(next(events).await, link_event(&code.id, SyncState::Synced));
    }
    h.archive(&code.id).await;
    for events in [&mut here, &mut there] {
        assert_eq!(next(events).await, code_event(&code.id, 2, "archive"));
        assert_eq!(next(events).await, link_event(&code.id, SyncState::Synced));
    }
}
