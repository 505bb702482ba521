use sea_orm_migration::prelude::*;

/// Pages sorted by EXPIRES_AT end with the codes that never expire, in id order. B-tree order
/// of NULLs differs between the backends (first on SQLite, last on PostgreSQL) and neither
/// orders `expires_at IS NULL` rows by id from the `(expires_at, id)` index, so that segment gets
/// an index of its own: a page of it is an index range scan, never a sort.
#[derive(DeriveMigrationName)]
pub struct Migration;

const NAME: &str = "ix_promo_codes_no_expiry";

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        // The same statement on SQLite and PostgreSQL (both take partial indexes).
        manager
            .get_connection()
            .execute_unprepared(&format!(
                "CREATE INDEX IF NOT EXISTS {NAME} ON promo_codes (id) WHERE expires_at IS NULL"
            ))
            .await
            .map(|_| ())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .get_connection()
            .execute_unprepared(&format!("DROP INDEX IF EXISTS {NAME}"))
            .await
            .map(|_| ())
    }
}
