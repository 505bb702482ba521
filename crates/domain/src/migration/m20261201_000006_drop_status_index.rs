use sea_orm_migration::prelude::*;

/// `(status, id)` served no query well and misled SQLite's planner: for a page filtered by
/// status it read every code of that status through this index and sorted them, instead of
/// walking the sort's index and stopping at the page's LIMIT. Status filters are applied to
/// the sort index's rows (tests/plans.rs).
#[derive(DeriveMigrationName)]
pub struct Migration;

const NAME: &str = "ix_promo_codes_status";

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .get_connection()
            .execute_unprepared(&format!("DROP INDEX IF EXISTS {NAME}"))
            .await
            .map(|_| ())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .get_connection()
            .execute_unprepared(&format!(
                "CREATE INDEX IF NOT EXISTS {NAME} ON promo_codes (status, id)"
            ))
            .await
            .map(|_| ())
    }
}
