use sea_orm_migration::prelude::*;

/// Bulk code generation (issue 16): a job per `generatePromoCodes`, and which codes each job
/// made (so its synced/failed counts are a query over those codes' provider links).
#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum BulkJobs {
    Table,
    Id,
    State,
    Total,
    Created,
    Pattern,
    Template,
    Errors,
    Actor,
    LeaseToken,
    LeasedUntil,
    CreatedAt,
    UpdatedAt,
}

#[derive(DeriveIden)]
enum BulkJobCodes {
    Table,
    JobId,
    PromoCodeId,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        use BulkJobs::*;
        let timestamp = |column| {
            let mut def = ColumnDef::new(column);
            def.timestamp_with_time_zone().not_null();
            def
        };
        manager
            .create_table(
                sea_query::Table::create()
                    .table(Table)
                    .col(ColumnDef::new(Id).string().not_null().primary_key())
                    .col(ColumnDef::new(State).string().not_null())
                    .col(ColumnDef::new(Total).big_integer().not_null())
                    .col(ColumnDef::new(Created).big_integer().not_null())
                    .col(ColumnDef::new(Pattern).string().not_null())
                    .col(ColumnDef::new(Template).text().not_null())
                    .col(ColumnDef::new(Errors).text().not_null())
                    .col(ColumnDef::new(Actor).string().not_null())
                    .col(ColumnDef::new(LeaseToken).string().null())
                    .col(
                        ColumnDef::new(LeasedUntil)
                            .timestamp_with_time_zone()
                            .null(),
                    )
                    .col(timestamp(CreatedAt))
                    .col(timestamp(UpdatedAt))
                    .to_owned(),
            )
            .await?;
        // The runner looks for unfinished jobs, oldest first.
        manager
            .create_index(
                Index::create()
                    .name("ix_bulk_jobs_state")
                    .table(Table)
                    .col(State)
                    .col(CreatedAt)
                    .to_owned(),
            )
            .await?;
        // The primary key (job, code) serves the per-job counts.
        manager
            .create_table(
                sea_query::Table::create()
                    .table(BulkJobCodes::Table)
                    .col(ColumnDef::new(BulkJobCodes::JobId).string().not_null())
                    .col(
                        ColumnDef::new(BulkJobCodes::PromoCodeId)
                            .string()
                            .not_null(),
                    )
                    .primary_key(
                        Index::create()
                            .col(BulkJobCodes::JobId)
                            .col(BulkJobCodes::PromoCodeId),
                    )
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_table(Table::drop().table(BulkJobCodes::Table).to_owned())
            .await?;
        manager
            .drop_table(Table::drop().table(BulkJobs::Table).to_owned())
            .await
    }
}
