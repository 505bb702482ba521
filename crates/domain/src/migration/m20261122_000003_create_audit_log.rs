use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum AuditLog {
    Table,
    Id,
    PromoCodeId,
    Actor,
    Action,
    Changes,
    At,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        use AuditLog::*;
        manager
            .create_table(
                sea_query::Table::create()
                    .table(Table)
                    .col(
                        ColumnDef::new(Id)
                            .big_integer()
                            .not_null()
                            .auto_increment()
                            .primary_key(),
                    )
                    .col(ColumnDef::new(PromoCodeId).string().not_null())
                    .col(ColumnDef::new(Actor).string().not_null())
                    .col(ColumnDef::new(Action).string().not_null())
                    .col(ColumnDef::new(Changes).text().not_null())
                    .col(ColumnDef::new(At).timestamp_with_time_zone().not_null())
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("ix_audit_log_promo_code")
                    .table(Table)
                    .col(PromoCodeId)
                    .col(Id)
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_table(Table::drop().table(AuditLog::Table).to_owned())
            .await
    }
}
