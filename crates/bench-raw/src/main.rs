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

// ---- The JSON PromoHub answers -------------------------------------------------------------

/// RFC 3339 in UTC with `Z`, as PromoHub's DateTime scalar writes it.
struct Time(DateTime<Utc>);

impl Serialize for Time {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.0.to_rfc3339_opts(SecondsFormat::AutoSi, true))
    }
}

#[derive(Serialize)]
struct Data<T> {
    data: T,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct ListData {
    promo_codes: Page,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Page {
    nodes: Vec<Node>,
    page_info: PageInfo,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct PageInfo {
    has_next_page: bool,
    end_cursor: Option<String>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Node {
    id: String,
    code: String,
    status: String,
    discount: Discount,
    times_redeemed: i64,
    created_at: Time,
    #[serde(skip_serializing_if = "Option::is_none")]
    providers: Option<Vec<Link>>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Discount {
    percent_off: Option<f64>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Link {
    provider: String,
    state: String,
    external_id: Option<String>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct ValidateData {
    validate_promo_code: Validation,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Validation {
    valid: bool,
    reason: Option<&'static str>,
    promo_code: Option<Node>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct ByCodeData {
    promo_code_by_code: Option<Node>,
}

/// PromoHub's cursor today: hex of `{"d":..,"id":..,"s":..,"v":..}` (keys sorted, as json! writes them).
#[derive(Serialize, Deserialize)]
struct Cursor<V> {
    d: bool,
    id: String,
    s: String,
    v: V,
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn unhex(text: &str) -> Option<Vec<u8>> {
    let pairs = text.as_bytes().chunks(2);
    pairs
        .map(|p| u8::from_str_radix(std::str::from_utf8(p).ok()?, 16).ok())
        .collect()
}

// ---- Handlers ---------------------------------------------------------------------------------

#[derive(Clone, Copy)]
enum Sort {
    CreatedAt,
    Code,
    ExpiresAt,
    TimesRedeemed,
}

#[derive(Clone, Copy)]
struct List {
    sort: Sort,
    descending: bool,
    filtered: bool,
    providers: bool,
}

#[derive(Deserialize, Default)]
struct Body {
    after: Option<String>,
    code: Option<String>,
}

type Answer = Result<Response, (StatusCode, String)>;

fn fail(e: impl std::fmt::Display) -> (StatusCode, String) {
    (StatusCode::INTERNAL_SERVER_ERROR, e.to_string())
}

fn json<T: Serialize>(value: &T) -> Answer {
    let body = serde_json::to_vec(value).map_err(fail)?;
    Ok(([(header::CONTENT_TYPE, "application/json")], body).into_response())
}

fn body_of(bytes: &Bytes) -> Result<Body, (StatusCode, String)> {
    if bytes.is_empty() {
        return Ok(Body::default());
    }
    serde_json::from_slice(bytes).map_err(|e| (StatusCode::BAD_REQUEST, e.to_string()))
}

/// The cursor's value as a bind (None: a null expires_at).
fn cursor_value(sort: Sort, v: serde_json::Value) -> Option<Option<Bind>> {
    Some(match (sort, v) {
        (_, serde_json::Value::Null) => None,
        (Sort::Code, serde_json::Value::String(s)) => Some(Bind::Text(s)),
        (Sort::TimesRedeemed, v) => Some(Bind::Int(v.as_i64()?)),
        (_, serde_json::Value::String(s)) => Some(Bind::Time(s.parse().ok()?)),
        _ => return None,
    })
}

async fn list(db: Arc<Db>, spec: List, bytes: Bytes) -> Answer {
    let (column, name) = match spec.sort {
        Sort::CreatedAt => ("created_at", "CREATED_AT"),
        Sort::Code => ("code_key", "CODE"),
        Sort::ExpiresAt => ("expires_at", "EXPIRES_AT"),
        Sort::TimesRedeemed => ("times_redeemed", "TIMES_REDEEMED"),
    };
    let (cmp, dir) = if spec.descending {
        ("<", "DESC")
    } else {
        (">", "ASC")
    };
    let mut filter = String::from("version >= 1");
    let mut binds = Vec::new();
    if spec.filtered {
        // SQLite would read the status index and sort: `+status` (SQLite only) keeps it on the
        // sort's index, and EXISTS, unlike IN (subquery), is probed per row through the key.
        let status = if matches!(*db, Db::Lite(_)) {
            "+status"
        } else {
            "status"
        };
        filter += &format!(
            " AND {status} IN ($1) AND EXISTS (SELECT 1 FROM provider_links \
             WHERE promo_code_id = promo_codes.id AND provider = $2)"
        );
        binds = vec![Bind::Text("ACTIVE".into()), Bind::Text("WHOP".into())];
    }
    let mut after: Option<(Option<Bind>, String)> = None;
    if let Some(text) = body_of(&bytes)?.after {
        let bad = || {
            (
                StatusCode::BAD_REQUEST,
                "not a cursor of this list".to_string(),
            )
        };
        let c: Cursor<serde_json::Value> =
            serde_json::from_slice(&unhex(&text).ok_or_else(bad)?).map_err(|_| bad())?;
        if c.s != name || c.d != spec.descending {
            return Err(bad());
        }
        after = Some((cursor_value(spec.sort, c.v).ok_or_else(bad)?, c.id));
    }
    // Non-null sort values first (the only part for NOT NULL columns), then a null expires_at.
    let mut rows: Vec<CodeRow> = Vec::new();
    if !matches!(after, Some((None, _))) {
        let mut sql = format!("SELECT {CODE_COLUMNS} FROM promo_codes WHERE {filter}");
        let mut binds = binds.clone();
        if matches!(spec.sort, Sort::ExpiresAt) {
            sql += " AND expires_at IS NOT NULL";
        }
        if let Some((Some(value), id)) = &after {
            let n = binds.len();
            sql += &format!(" AND ({column}, id) {cmp} (${}, ${})", n + 1, n + 2);
            binds.extend([value.clone(), Bind::Text(id.clone())]);
        }
        sql += &format!(" ORDER BY {column} {dir}, id {dir} LIMIT 51");
        rows = db.rows(&sql, &binds).await.map_err(fail)?;
    }
    if matches!(spec.sort, Sort::ExpiresAt) && rows.len() < 51 {
        let mut sql = format!("SELECT {CODE_COLUMNS} FROM promo_codes WHERE {filter}");
        sql += " AND expires_at IS NULL";
        if let Some((None, id)) = &after {
            sql += &format!(" AND id {cmp} ${}", binds.len() + 1);
            binds.push(Bind::Text(id.clone()));
        }
        sql += &format!(" ORDER BY id {dir} LIMIT {}", 51 - rows.len());
        rows.extend(db.rows::<CodeRow>(&sql, &binds).await.map_err(fail)?);
    }
    let has_next_page = rows.len() > 50;
    rows.truncate(50);
    let end_cursor = match rows.last() {
        None => None,
        Some(last) => {
            let v = match spec.sort {
                Sort::CreatedAt => serde_json::to_value(last.5).map_err(fail)?,
                Sort::Code => last.1.to_lowercase().into(),
                Sort::ExpiresAt => serde_json::to_value(last.6).map_err(fail)?,
                Sort::TimesRedeemed => last.4.into(),
            };
            let cursor = Cursor {
                d: spec.descending,
                id: last.0.clone(),
                s: name.into(),
                v,
            };
            Some(hex(&serde_json::to_vec(&cursor).map_err(fail)?))
        }
    };
    let nodes = nodes(&db, rows, spec.providers).await?;
    let page_info = PageInfo {
        has_next_page,
        end_cursor,
    };
    json(&Data {
        data: ListData {
            promo_codes: Page { nodes, page_info },
        },
    })
}

/// The nodes of these rows; with their provider links, one query for all of them.
async fn nodes(
    db: &Db,
    rows: Vec<CodeRow>,
    providers: bool,
) -> Result<Vec<Node>, (StatusCode, String)> {
    let mut links: HashMap<String, Vec<Link>> = HashMap::new();
    if providers && !rows.is_empty() {
        let marks: Vec<String> = (1..=rows.len()).map(|i| format!("${i}")).collect();
        let sql = format!(
            "SELECT promo_code_id, provider, state, external_id FROM provider_links \
             WHERE promo_code_id IN ({}) ORDER BY provider",
            marks.join(", ")
        );
        let binds: Vec<Bind> = rows.iter().map(|r| Bind::Text(r.0.clone())).collect();
        for (code_id, provider, state, external_id) in
            db.rows::<LinkRow>(&sql, &binds).await.map_err(fail)?
        {
            links.entry(code_id).or_default().push(Link {
                provider,
                state,
                external_id,
            });
        }
    }
    Ok(rows
        .into_iter()
        .map(
            |(id, code, status, percent_off, times_redeemed, created_at, ..)| Node {
                providers: providers.then(|| links.remove(&id).unwrap_or_default()),
                id,
                code,
                status,
                discount: Discount { percent_off },
                times_redeemed,
                created_at: Time(created_at),
            },
        )
        .collect())
}

/// One code by its case-insensitive code, with its links; and whether it can be redeemed now.
async fn one(
    db: &Db,
    bytes: &Bytes,
) -> Result<(Option<Node>, Option<&'static str>), (StatusCode, String)> {
    let code = body_of(bytes)?.code.unwrap_or_default().to_lowercase();
    let sql = format!(
        "SELECT {CODE_COLUMNS} FROM promo_codes WHERE code_key = $1 AND version >= 1 LIMIT 1"
    );
    let rows: Vec<CodeRow> = db.rows(&sql, &[Bind::Text(code)]).await.map_err(fail)?;
    let Some(row) = rows.first() else {
        return Ok((None, Some("NOT_FOUND")));
    };
    let reason = match row.2.as_str() {
        "ARCHIVED" => Some("ARCHIVED"),
        "INACTIVE" => Some("INACTIVE"),
        _ if row.6.is_some_and(|at| at <= Utc::now()) => Some("EXPIRED"),
        _ if row.7.is_some_and(|max| row.4 >= max) => Some("EXHAUSTED"),
        _ => None,
    };
    Ok((nodes(db, rows, true).await?.pop(), reason))
}

async fn validate(State(db): State<Arc<Db>>, bytes: Bytes) -> Answer {
    let (promo_code, reason) = one(&db, &bytes).await?;
    let validation = Validation {
        valid: reason.is_none(),
        reason,
        promo_code,
    };
    json(&Data {
        data: ValidateData {
            validate_promo_code: validation,
        },
    })
}

async fn by_code(State(db): State<Arc<Db>>, bytes: Bytes) -> Answer {
    let (promo_code_by_code, _) = one(&db, &bytes).await?;
    json(&Data {
        data: ByCodeData { promo_code_by_code },
    })
}

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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cursors_are_promohubs_hex_json() {
        let cursor = Cursor {
            d: true,
            id: "x".into(),
            s: "CODE".into(),
            v: "c1",
        };
        let text = hex(&serde_json::to_vec(&cursor).unwrap());
        let back = unhex(&text).unwrap();
        assert_eq!(back, br#"{"d":true,"id":"x","s":"CODE","v":"c1"}"#);
        assert_eq!(unhex("zz"), None);
    }
}
