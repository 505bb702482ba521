use sea_orm_migration::prelude::*;

/// One row per provider: the theoretical arrival time of its next call, shared by every
/// process on the database (providers/shared_limit.rs). PostgreSQL only: on SQLite, one
/// process by design, the limit stays in-process.
#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        if manager.get_database_backend() != sea_orm::DbBackend::Postgres {
            return Ok(());
        }
        manager
            .get_connection()
            .execute_unprepared(
                "CREATE TABLE IF NOT EXISTS rate_limits \
                 (provider TEXT PRIMARY KEY, tat TIMESTAMPTZ NOT NULL)",
            )
            .await
            .map(|_| ())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .get_connection()
            .execute_unprepared("DROP TABLE IF EXISTS rate_limits")
            .await
            .map(|_| ())
    }
}
