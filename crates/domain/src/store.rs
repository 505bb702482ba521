//! Database access: connecting and migrating, and turning rows into the model and back.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use anyhow::{Context, anyhow};
use sea_orm::ActiveValue::Set;
use sea_orm::{
    ColumnTrait, ConnectOptions, ConnectionTrait, Database, DatabaseConnection, EntityTrait,
    QueryFilter, QueryOrder, TransactionTrait,
};
use sea_orm_migration::MigratorTrait;
use serde_json::{Map, Value};

use crate::entity::{promo_code, provider_link};
use crate::migration::Migrator;
use crate::model::{
    Discount, DiscountType, Duration, DurationType, PromoCode, PromoCodeStatus, Provider,
    ProviderSync, Restrictions, SyncState,
};

tokio::task_local! {
    /// SQL statements run by the current request (see `counting_queries`).
    static QUERIES: Arc<AtomicUsize>;
}

/// Runs `work` counting every SQL statement it runs into `counter`: how the server logs the
/// statements of each request (at debug level), so an N+1 shows up in the logs.
pub async fn counting_queries<F: std::future::Future>(
    counter: Arc<AtomicUsize>,
    work: F,
) -> F::Output {
    QUERIES.scope(counter, work).await
}

/// Connects to `url` (`sqlite://PATH?mode=rwc` or `postgres://...`) and runs the migrations.
pub async fn connect(url: &str) -> anyhow::Result<DatabaseConnection> {
    let mut options = ConnectOptions::new(url.to_string());
    options.sqlx_logging(false).max_connections(10);
    let mut db = Database::connect(options)
        .await
        .with_context(|| format!("cannot open the database at {}", redact_url(url)))?;
    db.set_metric_callback(|_| {
        // Outside a counted request (the worker, migrations) there is nothing to count into.
        let _ = QUERIES.try_with(|count| count.fetch_add(1, Ordering::Relaxed));
    });
    if db.get_database_backend() == sea_orm::DbBackend::Sqlite {
        // Readers do not block the writer, and a briefly locked database is waited for.
        db.execute_unprepared("PRAGMA journal_mode=WAL; PRAGMA busy_timeout=5000;")
            .await
            .context("configuring SQLite")?;
    }
    migrate(&db).await?;
    Ok(db)
}

/// The key of the PostgreSQL advisory lock taken around migrations ("promohub" in ASCII).
pub const MIGRATION_LOCK_KEY: i64 = 0x7072_6f6d_6f68_7562;

/// Runs the pending migrations in one transaction that first takes a lock, so replicas (or a
/// `promohub migrate` beside a starting server) migrating together migrate once: the others
/// wait for the lock, then find nothing left to do. PostgreSQL: an advisory lock
/// (`pg_advisory_xact_lock(MIGRATION_LOCK_KEY)`). SQLite: its write lock, taken by a first
/// write to the migrations table (without it, two processes on one file race as well).
/// Either lock ends with the transaction, also when the process dies.
pub async fn migrate(db: &DatabaseConnection) -> anyhow::Result<()> {
    let backend = db.get_database_backend();
    if backend == sea_orm::DbBackend::Sqlite {
        // CREATE TABLE IF NOT EXISTS is atomic on SQLite; the lock below needs the table.
        Migrator::install(db)
            .await
            .context("creating the migrations table")?;
    }
    let txn = db
        .begin()
        .await
        .context("starting the migration transaction")?;
    let lock = match backend {
        sea_orm::DbBackend::Postgres => {
            format!("SELECT pg_advisory_xact_lock({MIGRATION_LOCK_KEY})")
        }
        _ => "DELETE FROM seaql_migrations WHERE 1 = 0".to_string(),
    };
    txn.execute_unprepared(&lock)
        .await
        .context("taking the migration lock")?;
    Migrator::up(&txn, None)
        .await
        .context("running database migrations")?;
    txn.commit()
        .await
        .context("committing the database migrations")?;
    Ok(())
}

/// The URL without its password, for messages.
pub fn redact_url(url: &str) -> String {
    match (url.find("://"), url.rfind('@')) {
        (Some(scheme_end), Some(at)) if at > scheme_end => {
            let userinfo = &url[scheme_end + 3..at];
            let user = userinfo.split(':').next().unwrap_or_default();
            format!("{}{user}:***{}", &url[..scheme_end + 3], &url[at..])
        }
        _ => url.to_string(),
    }
}

fn json_list(text: &str) -> anyhow::Result<Vec<String>> {
    serde_json::from_str(text).context("a stored id list is not a JSON array of strings")
}

fn parse<T>(what: &str, text: &str, parse: fn(&str) -> Option<T>) -> anyhow::Result<T> {
    parse(text).ok_or_else(|| anyhow!("stored {what} {text:?} is not known"))
}

pub(crate) fn link_to_model(link: &provider_link::Model) -> anyhow::Result<ProviderSync> {
    Ok(ProviderSync {
        provider: parse("provider", &link.provider, Provider::parse)?,
        external_id: link.external_id.clone(),
        secondary_id: link.secondary_id.clone(),
        state: parse("sync state", &link.state, SyncState::parse)?,
        last_error: link.last_error.clone(),
        attempts: link.attempts,
        synced_at: link.synced_at,
        times_redeemed: link.times_redeemed,
    })
}

/// The model of a stored code and its provider links.
pub(crate) fn to_model(
    row: promo_code::Model,
    links: &[provider_link::Model],
) -> anyhow::Result<PromoCode> {
    let discount = match parse("discount type", &row.discount_type, DiscountType::parse)? {
        DiscountType::Percentage => Discount::Percentage {
            percent_off: row
                .percent_off
                .context("a percentage code has no percent_off")?,
        },
        DiscountType::FixedAmount => Discount::FixedAmount {
            amount_off: row
                .amount_off
                .context("a fixed-amount code has no amount_off")?,
            currency: row
                .currency
                .clone()
                .context("a fixed-amount code has no currency")?,
        },
    };
    let duration = match parse("duration type", &row.duration_type, DurationType::parse)? {
        DurationType::Once => Duration::Once,
        DurationType::Forever => Duration::Forever,
        DurationType::Repeating => Duration::Repeating {
            periods: row
                .duration_periods
                .and_then(|p| u32::try_from(p).ok())
                .context("a repeating code has no periods")?,
        },
    };
    let metadata: Map<String, Value> =
        serde_json::from_str(&row.metadata).context("stored metadata is not a JSON object")?;
    let mut providers = links
        .iter()
        .filter(|l| l.promo_code_id == row.id)
        .map(link_to_model)
        .collect::<anyhow::Result<Vec<_>>>()?;
    providers.sort_by_key(|p| p.provider);
    Ok(PromoCode {
        status: parse("status", &row.status, PromoCodeStatus::parse)?,
        restrictions: Restrictions {
            plan_ids: json_list(&row.plan_ids)?,
            product_ids: json_list(&row.product_ids)?,
            customer_id: row.customer_id,
            new_customers_only: row.new_customers_only,
        },
        id: row.id,
        code: row.code,
        name: row.name,
        discount,
        duration,
        max_redemptions: row.max_redemptions,
        max_redemptions_per_customer: row.max_redemptions_per_customer,
        times_redeemed: row.times_redeemed,
        expires_at: row.expires_at,
        metadata,
        providers,
        version: row.version,
        created_at: row.created_at,
        updated_at: row.updated_at,
    })
}

/// Every column of a code, from the model (lock columns included, as given).
pub(crate) fn to_active(
    code: &PromoCode,
    lock_token: Option<String>,
    locked_until: Option<chrono::DateTime<chrono::Utc>>,
) -> promo_code::ActiveModel {
    let (percent_off, amount_off, currency) = match &code.discount {
        Discount::Percentage { percent_off } => (Some(*percent_off), None, None),
        Discount::FixedAmount {
            amount_off,
            currency,
        } => (None, Some(*amount_off), Some(currency.clone())),
    };
    promo_code::ActiveModel {
        id: Set(code.id.clone()),
        code: Set(code.code.clone()),
        code_key: Set(code.code.to_lowercase()),
        name: Set(code.name.clone()),
        status: Set(code.status.as_str().to_string()),
        discount_type: Set(code.discount.kind().as_str().to_string()),
        percent_off: Set(percent_off),
        amount_off: Set(amount_off),
        currency: Set(currency),
        duration_type: Set(code.duration.kind().as_str().to_string()),
        duration_periods: Set(code.duration.periods().and_then(|p| i32::try_from(p).ok())),
        max_redemptions: Set(code.max_redemptions),
        max_redemptions_per_customer: Set(code.max_redemptions_per_customer),
        times_redeemed: Set(code.times_redeemed),
        expires_at: Set(code.expires_at),
        plan_ids: Set(Value::from(code.restrictions.plan_ids.clone()).to_string()),
        product_ids: Set(Value::from(code.restrictions.product_ids.clone()).to_string()),
        customer_id: Set(code.restrictions.customer_id.clone()),
        new_customers_only: Set(code.restrictions.new_customers_only),
        metadata: Set(Value::Object(code.metadata.clone()).to_string()),
        version: Set(code.version),
        lock_token: Set(lock_token),
        locked_until: Set(locked_until),
        created_at: Set(code.created_at),
        updated_at: Set(code.updated_at),
    }
}

pub(crate) fn link_to_active(
    code_id: &str,
    sync: &ProviderSync,
    synced_version: i64,
) -> provider_link::ActiveModel {
    provider_link::ActiveModel {
        promo_code_id: Set(code_id.to_string()),
        provider: Set(sync.provider.as_str().to_string()),
        external_id: Set(sync.external_id.clone()),
        secondary_id: Set(sync.secondary_id.clone()),
        state: Set(sync.state.as_str().to_string()),
        last_error: Set(sync.last_error.clone()),
        attempts: Set(sync.attempts),
        synced_at: Set(sync.synced_at),
        synced_version: Set(synced_version),
        times_redeemed: Set(sync.times_redeemed),
        next_attempt_at: Set(None),
    }
}

/// The provider links of these codes, in one query.
pub(crate) async fn links_of<C: ConnectionTrait>(
    db: &C,
    ids: &[String],
) -> Result<Vec<provider_link::Model>, sea_orm::DbErr> {
    if ids.is_empty() {
        return Ok(Vec::new());
    }
    provider_link::Entity::find()
        .filter(provider_link::Column::PromoCodeId.is_in(ids.iter().cloned()))
        .order_by_asc(provider_link::Column::Provider)
        .all(db)
        .await
}

/// Encodes a cursor as lower-case hex of its JSON: opaque, URL-safe, no extra dependency.
pub(crate) fn encode_cursor(value: &Value) -> String {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    let json = value.to_string();
    let mut hex = String::with_capacity(json.len() * 2);
    // Every code is computed per row of every page: one allocation, no formatter per byte.
    for byte in json.bytes() {
        hex.push(char::from(HEX[usize::from(byte >> 4)]));
        hex.push(char::from(HEX[usize::from(byte & 0x0f)]));
    }
    hex
}

pub(crate) fn decode_cursor(cursor: &str) -> Option<Value> {
    if !cursor.len().is_multiple_of(2) || cursor.len() > 4096 {
        return None;
    }
    let bytes = (0..cursor.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(cursor.get(i..i + 2)?, 16).ok())
        .collect::<Option<Vec<u8>>>()?;
    serde_json::from_slice(&bytes).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn passwords_never_reach_messages() {
        assert_eq!(
            redact_url("postgres://app:s3cret@db:5432/promohub"),
            "postgres://app:***@db:5432/promohub"
        );
        assert_eq!(
            redact_url("sqlite://promohub.db?mode=rwc"),
            "sqlite://promohub.db?mode=rwc"
        );
    }

    #[test]
    fn cursors_round_trip_and_garbage_is_refused() {
        let value = serde_json::json!({"v": "a b", "id": "x"});
        assert_eq!(decode_cursor(&encode_cursor(&value)), Some(value));
        assert_eq!(decode_cursor("zz"), None);
        assert_eq!(decode_cursor("abc"), None);
    }
}
