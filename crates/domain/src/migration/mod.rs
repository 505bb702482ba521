//! Schema migrations, run on every start (SQLite and PostgreSQL alike). One change per step:
//! SQLite allows one change per ALTER TABLE. Never edit a migration that has shipped; add one.

use sea_orm_migration::prelude::*;

mod m20261122_000001_create_promo_codes;
mod m20261122_000002_create_provider_links;
mod m20261122_000003_create_audit_log;
mod m20261122_000004_index_leases;
mod m20261201_000005_index_codes_without_expiry;
mod m20261201_000006_drop_status_index;
mod m20261202_000007_create_idempotency_keys;
mod m20261202_000008_create_rate_limits;
mod m20261202_000009_audit_history;
mod m20261202_000010_create_provider_cleanups;
mod m20261202_000011_create_bulk_jobs;

pub struct Migrator;

#[async_trait::async_trait]
impl MigratorTrait for Migrator {
    fn migrations() -> Vec<Box<dyn MigrationTrait>> {
        vec![
            Box::new(m20261122_000001_create_promo_codes::Migration),
            Box::new(m20261122_000002_create_provider_links::Migration),
            Box::new(m20261122_000003_create_audit_log::Migration),
            Box::new(m20261122_000004_index_leases::Migration),
            Box::new(m20261201_000005_index_codes_without_expiry::Migration),
            Box::new(m20261201_000006_drop_status_index::Migration),
            Box::new(m20261202_000007_create_idempotency_keys::Migration),
            Box::new(m20261202_000008_create_rate_limits::Migration),
            Box::new(m20261202_000009_audit_history::Migration),
            Box::new(m20261202_000010_create_provider_cleanups::Migration),
            Box::new(m20261202_000011_create_bulk_jobs::Migration),
        ]
    }
}
