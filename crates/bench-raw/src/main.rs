//! Bench only (never shipped): the ceiling that scripts/bench-reads.sh measures PromoHub against.
//! Each route does the reads one benchmarked GraphQL query needs, in the SQL shape PromoHub is
//! meant to use (keyset page served by an index, then one query for the page's provider links),
//! and answers the same JSON as PromoHub, serialized by serde from typed structs.
//!
//!   promohub-bench-raw [serve] [--pool 10] [--listen 127.0.0.1:0]   the handler
//!   promohub-bench-raw seed N     N codes with one SYNCED Whop link each, then ANALYZE
//!   promohub-bench-raw probe      prints: deep code, its cursor (row at 90%), a valid code
//!
//! DATABASE_URL (postgres://... or sqlite://...) must hold PromoHub's migrated schema.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Instant;

use anyhow::{Context, bail};
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use chrono::{DateTime, SecondsFormat, Utc};
use serde::{Deserialize, Serialize};
use sqlx::postgres::{PgPoolOptions, PgRow};
use sqlx::sqlite::{SqlitePoolOptions, SqliteRow};
use sqlx::{AssertSqlSafe, FromRow};

mod answer;
mod handlers;

use answer::{Cursor, hex};
use handlers::{List, Sort, by_code, list, validate};

enum Db {
    Pg(sqlx::PgPool),
    Lite(sqlx::SqlitePool),
}

/// A bound value; SQL text is built from fixed fragments only.
#[derive(Clone)]
enum Bind {
    Text(String),
    Time(DateTime<Utc>),
    Int(i64),
}

macro_rules! run {
    ($pool:expr, $sql:expr, $binds:expr, $method:ident) => {{
        let mut query = sqlx::query_as(AssertSqlSafe($sql.to_string()));
        for bind in $binds {
            query = match bind.clone() {
                Bind::Text(v) => query.bind(v),
                Bind::Time(v) => query.bind(v),
                Bind::Int(v) => query.bind(v),
            };
        }
        query.$method($pool).await
    }};
}

impl Db {
    async fn rows<T>(&self, sql: &str, binds: &[Bind]) -> sqlx::Result<Vec<T>>
    where
        T: Send + Unpin + for<'r> FromRow<'r, PgRow> + for<'r> FromRow<'r, SqliteRow>,
    {
        match self {
            Db::Pg(pool) => run!(pool, sql, binds, fetch_all),
            Db::Lite(pool) => run!(pool, sql, binds, fetch_all),
        }
    }

    async fn execute(&self, sql: &str) -> sqlx::Result<()> {
        match self {
            Db::Pg(pool) => sqlx::raw_sql(AssertSqlSafe(sql))
                .execute(pool)
                .await
                .map(drop),
            Db::Lite(pool) => sqlx::raw_sql(AssertSqlSafe(sql))
                .execute(pool)
                .await
                .map(drop),
        }
    }
}

const CODE_COLUMNS: &str =
    "id, code, status, percent_off, times_redeemed, created_at, expires_at, max_redemptions";
type CodeRow = (
    String,
    String,
    String,
    Option<f64>,
    i64,
    DateTime<Utc>,
    Option<DateTime<Utc>>,
    Option<i64>,
);
type LinkRow = (String, String, String, Option<String>);

// ---- Commands ---------------------------------------------------------------------------------

async fn connect(pool: u32) -> anyhow::Result<Db> {
    let url = std::env::var("DATABASE_URL").context("DATABASE_URL must be set")?;
    Ok(if url.starts_with("postgres") {
        Db::Pg(
            PgPoolOptions::new()
                .max_connections(pool)
                .connect(&url)
                .await?,
        )
    } else {
        Db::Lite(
            SqlitePoolOptions::new()
                .max_connections(pool)
                .connect(&url)
                .await?,
        )
    })
}

async fn serve(pool: u32, listen: &str) -> anyhow::Result<()> {
    let db = Arc::new(connect(pool).await?);
    let route = |sort, descending, filtered, providers| {
        let spec = List {
            sort,
            descending,
            filtered,
            providers,
        };
        post(move |State(db): State<Arc<Db>>, bytes: Bytes| list(db, spec, bytes))
    };
    let app = axum::Router::new()
        .route("/flat", route(Sort::CreatedAt, true, false, false))
        .route("/deep", route(Sort::CreatedAt, true, false, false))
        .route("/providers", route(Sort::CreatedAt, true, false, true))
        .route("/filtered", route(Sort::CreatedAt, true, true, false))
        .route("/sort/code", route(Sort::Code, false, false, false))
        .route(
            "/sort/expires_at",
            route(Sort::ExpiresAt, false, false, false),
        )
        .route(
            "/sort/times_redeemed",
            route(Sort::TimesRedeemed, true, false, false),
        )
        .route(
            "/sort/created_at",
            route(Sort::CreatedAt, false, false, false),
        )
        .route("/validate", post(validate))
        .route("/by_code", post(by_code))
        .with_state(db);
    let listener = tokio::net::TcpListener::bind(listen).await?;
    println!(
        "promohub-bench-raw listening on http://{}",
        listener.local_addr()?
    );
    axum::serve(listener, app).await?;
    Ok(())
}

/// Code i: id with a scrambled prefix, a unique 9-character code, created 20 s after code i-1,
/// mostly ACTIVE, a quarter without expiry, redemptions with ties.
const SEED: &str = "INSERT INTO promo_codes (id, code, code_key, name, status, discount_type, \
    percent_off, duration_type, times_redeemed, expires_at, plan_ids, product_ids, \
    new_customers_only, metadata, version, created_at, updated_at) \
    SELECT {ID}, {CODE}, lower({CODE}), {CODE}, CASE WHEN i % 10 = 3 THEN 'INACTIVE' \
    WHEN i % 20 = 7 THEN 'ARCHIVED' ELSE 'ACTIVE' END, 'PERCENTAGE', 5.0 + i % 50, 'ONCE', \
    (i * 37) % 1000, CASE WHEN i % 4 = 0 THEN NULL ELSE {EXPIRES} END, '[]', '[]', false, '{}', \
    1, {CREATED}, {CREATED} FROM {SERIES}";
const LINKS: &str = "INSERT INTO provider_links (promo_code_id, provider, external_id, state, \
    attempts, synced_at, synced_version, times_redeemed) SELECT id, 'WHOP', 'promo_' || id, \
    'SYNCED', 1, created_at, 1, times_redeemed FROM promo_codes";

async fn seed(n: u64) -> anyhow::Result<()> {
    let db = connect(1).await?;
    let pg = matches!(db, Db::Pg(_));
    let fill: [(&str, String); 5] = if pg {
        [
            ("{ID}", "lpad(to_hex((i * 2654435761) % 4294967296), 8, '0') || '-0000-4000-8000-' || lpad(to_hex(i), 12, '0')".into()),
            ("{CODE}", "('C' || lpad(((i * 7919) % 100000000)::text, 8, '0'))".into()),
            ("{EXPIRES}", "timestamptz '2030-01-01 00:00:00+00' + ((i * 104729) % 31536000) * interval '1 second'".into()),
            ("{CREATED}", "timestamptz '2025-01-01 00:00:00+00' + i * interval '20 seconds'".into()),
            ("{SERIES}", format!("generate_series(1::bigint, {n}) AS i")),
        ]
    } else {
        let time = |e: &str| format!("strftime('%Y-%m-%dT%H:%M:%S+00:00', {e}, 'unixepoch')");
        [
            (
                "{ID}",
                "printf('%08x-0000-4000-8000-%012x', (i * 2654435761) % 4294967296, i)".into(),
            ),
            ("{CODE}", "printf('C%08d', (i * 7919) % 100000000)".into()),
            ("{EXPIRES}", time("1893456000 + (i * 104729) % 31536000")),
            ("{CREATED}", time("1735689600 + i * 20")),
            (
                "{SERIES}",
                format!(
                    "(WITH RECURSIVE s(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM s WHERE i < {n}) SELECT i FROM s)"
                ),
            ),
        ]
    };
    let sql = fill
        .iter()
        .fold(SEED.to_string(), |sql, (k, v)| sql.replace(k, v));
    let start = Instant::now();
    db.execute(&sql).await.context("seeding promo_codes")?;
    db.execute(LINKS).await.context("seeding provider_links")?;
    db.execute("ANALYZE").await?;
    println!(
        "seeded {n} codes and {n} provider links in {:.1} s",
        start.elapsed().as_secs_f64()
    );
    Ok(())
}

async fn probe() -> anyhow::Result<()> {
    let db = connect(1).await?;
    let (count,): (i64,) = db
        .rows("SELECT COUNT(*) FROM promo_codes", &[])
        .await?
        .remove(0);
    let order = "FROM promo_codes WHERE version >= 1 ORDER BY created_at DESC, id DESC";
    let sql = format!("SELECT code, id, created_at {order} LIMIT 1 OFFSET $1");
    let rows: Vec<(String, String, DateTime<Utc>)> =
        db.rows(&sql, &[Bind::Int(count * 9 / 10)]).await?;
    let Some((deep, id, at)) = rows.into_iter().next() else {
        bail!("no codes")
    };
    let cursor = Cursor {
        d: true,
        id,
        s: "CREATED_AT".into(),
        v: at,
    };
    let sql = "SELECT code FROM promo_codes WHERE status = 'ACTIVE' AND expires_at IS NOT NULL \
               ORDER BY created_at DESC, id DESC LIMIT 1 OFFSET $1";
    let rows: Vec<(String,)> = db.rows(sql, &[Bind::Int(count / 2)]).await?;
    let valid = rows.into_iter().next().map(|r| r.0).unwrap_or_default();
    println!("{deep} {} {valid}", hex(&serde_json::to_vec(&cursor)?));
    Ok(())
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let flag = |name: &str| {
        args.iter()
            .position(|a| a == name)
            .and_then(|i| args.get(i + 1))
    };
    let pool = flag("--pool")
        .map_or(Ok(10), |p| p.parse())
        .context("--pool")?;
    let listen = flag("--listen").map_or("127.0.0.1:0", |l| l.as_str());
    match args.first().map(String::as_str) {
        Some("seed") => seed(args.get(1).context("seed N")?.parse().context("seed N")?).await,
        Some("probe") => probe().await,
        None | Some("serve") | Some("--pool") | Some("--listen") => serve(pool, listen).await,
        Some(other) => bail!("unknown command {other:?}: serve, seed N or probe"),
    }
}
