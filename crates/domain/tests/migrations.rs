//! Replicas starting together on a fresh database: every one connects, the migrations run once.

use promohub_test_support::TestDb;
use promohub_test_support::on_both_databases;
use sea_orm::{ConnectionTrait, Statement};

async fn replicas_starting_together_migrate_once(db: TestDb) {
    let starts = (0..5).map(|_| {
        let url = db.url.clone();
        tokio::spawn(async move { promohub_domain::store::connect(&url).await })
    });
    let mut connections = Vec::new();
    for (replica, start) in starts.enumerate() {
        let connection = start
            .await
            .expect("no panic")
            .unwrap_or_else(|e| panic!("replica {replica} failed to start: {e:#}"));
        connections.push(connection);
    }
    let backend = connections[0].get_database_backend();
    let row = connections[0]
        .query_one_raw(Statement::from_string(
            backend,
            "SELECT COUNT(*) AS n, COUNT(DISTINCT version) AS d FROM seaql_migrations",
        ))
        .await
        .expect("query")
        .expect("a row");
    let n: i64 = row.try_get("", "n").expect("n");
    let distinct: i64 = row.try_get("", "d").expect("d");
    assert!(n > 0, "migrations recorded");
    assert_eq!(n, distinct, "each migration applied once");
    // And the schema is usable from every replica.
    for connection in &connections {
        connection
            .execute_unprepared("SELECT COUNT(*) FROM promo_codes")
            .await
            .expect("the tables exist");
    }
}

/// The race itself, made certain: five connections open first, then all migrate at one instant
/// (without the lock, PostgreSQL fails most of them with a duplicate key in `pg_type`).
async fn migrations_started_at_one_instant_all_succeed(db: TestDb) {
    let mut connections = Vec::new();
    for _ in 0..5 {
        connections.push(
            sea_orm::Database::connect(db.url.as_str())
                .await
                .expect("connect"),
        );
    }
    let barrier = std::sync::Arc::new(tokio::sync::Barrier::new(connections.len()));
    let runs: Vec<_> = connections
        .into_iter()
        .map(|connection| {
            let barrier = barrier.clone();
            tokio::spawn(async move {
                barrier.wait().await;
                promohub_domain::store::migrate(&connection).await
            })
        })
        .collect();
    for (replica, run) in runs.into_iter().enumerate() {
        run.await
            .expect("no panic")
            .unwrap_or_else(|e| panic!("replica {replica} failed to migrate: {e:#}"));
    }
}

on_both_databases!(
    replicas_starting_together_migrate_once,
    migrations_started_at_one_instant_all_succeed
);
