//! A sync from providers runs one at a time: a second one asked for while one runs is refused
//! at once, in the same process and (on PostgreSQL) from another process on the database.

use std::time::Duration;

use promohub_sandbox::{FaultKind, FaultSpec, Provider as Emulated};
use promohub_test_support::on_both_databases;
use promohub_test_support::{Harness, TestDb};

async fn a_second_sync_is_refused_while_one_runs(db: TestDb) {
    let postgres = db.backend == "postgres";
    let h = Harness::start(db).await;
    let other_process = h.another_process().await;
    h.sandbox.state().inject(FaultSpec {
        provider: Emulated::Whop,
        operation: Some("list_promo_codes".into()),
        kind: FaultKind::Latency { ms: 1500 },
        times: Some(1),
        apply: true,
    });
    h.sandbox.state().clear_journal();
    let first = {
        let service = h.service.clone();
        tokio::spawn(async move { service.sync_from_providers_alone(None).await })
    };
    let deadline = tokio::time::Instant::now() + Duration::from_secs(5);
    while h.sandbox.state().journal().is_empty() {
        assert!(
            tokio::time::Instant::now() < deadline,
            "the first sync never started"
        );
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    assert!(
        h.service.sync_from_providers_alone(None).await.is_none(),
        "same process: refused"
    );
    let from_other = other_process.sync_from_providers_alone(None).await;
    if postgres {
        assert!(
            from_other.is_none(),
            "another process on the database: refused"
        );
    } else if let Some(report) = from_other {
        // SQLite: one process per file is the deployment; the lock is per process.
        report.expect("sync");
    }
    first
        .await
        .expect("no panic")
        .expect("the first ran")
        .expect("the first succeeded");
    // Free again once it has finished, everywhere.
    assert!(h.service.sync_from_providers_alone(None).await.is_some());
    assert!(
        other_process
            .sync_from_providers_alone(None)
            .await
            .is_some()
    );
}

on_both_databases!(a_second_sync_is_refused_while_one_runs);
