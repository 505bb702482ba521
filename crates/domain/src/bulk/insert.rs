//! The SQL of a batch. Every code of a job differs from the others only in its id and code
//! (and its name when the job gives none), so each table gets one `INSERT ... SELECT` per
//! batch: the differing parts as ONE JSON parameter (`json_array_elements` on PostgreSQL,
//! `json_each` on SQLite), every other column a parameter bound once. A multi-row INSERT of
//! 1,000 codes bound 25,000 parameters, built and parsed per batch; this binds about 25.
//! The shared values come from the same conversions the single create uses
//! (`store::to_active`, `store::link_to_active`), so the rows are the same as before.

use chrono::{DateTime, Utc};
use sea_orm::{
    ActiveModelTrait, ConnectionTrait, DatabaseTransaction, DbBackend, EntityName, EntityTrait,
    IdenStatic, Iterable, Statement, Value,
};
use serde_json::json;

use super::bulk_actor;
use super::template::Template;
use crate::entity::{audit_log, bulk_job_code};
use crate::error::ServiceError;
use crate::model::{PromoCode, Provider};
use crate::store;

/// A code stored by a batch: (id, code).
pub(super) type Stored = (String, String);

/// A bulk code's id: a UUIDv7 (time-ordered), so a batch's rows go to the end of every index
/// keyed by the code's id (the codes' own, the links', the job rows', the audit rows') instead
/// of all over it. Random (v4) ids touched most pages of each such index per batch, and SQLite
/// wrote all of them to its WAL at every commit.
pub(super) fn code_id(now: DateTime<Utc>, rng: &mut impl rand::Rng) -> String {
    let millis = u64::try_from(now.timestamp_millis()).unwrap_or(0);
    let random: [u8; 10] = rng.random();
    uuid::Builder::from_unix_timestamp_millis(millis, &random)
        .into_uuid()
        .to_string()
}

/// One `INSERT INTO table (columns) SELECT exprs FROM rows`: `varying` are the columns read
/// from the rows (`u.<name>`), every other Set column of `shared` is a parameter.
fn insert_select<A: ActiveModelTrait>(
    shared: &A,
    varying: &[(&str, &str)],
    values: &mut Vec<Value>,
    param: impl Fn(usize) -> String,
) -> (String, String) {
    let mut columns: Vec<String> = varying.iter().map(|(c, _)| format!("\"{c}\"")).collect();
    let mut exprs: Vec<String> = varying.iter().map(|(_, e)| (*e).to_string()).collect();
    for column in <A::Entity as EntityTrait>::Column::iter() {
        let name = column.as_str();
        if varying.iter().any(|(c, _)| *c == name) {
            continue;
        }
        if let Some(value) = shared.get(column).into_value() {
            values.push(value);
            columns.push(format!("\"{name}\""));
            exprs.push(param(values.len()));
        }
    }
    let table = A::Entity::default().table_name().to_string();
    (
        format!("INSERT INTO \"{table}\" ({})", columns.join(", ")),
        exprs.join(", "),
    )
}

/// The rows of a batch as a subquery `u` with `columns`, read from the JSON array of arrays
/// bound as parameter 1.
fn rows(backend: DbBackend, columns: &[&str]) -> String {
    let (element, from) = match backend {
        DbBackend::Postgres => ("v", "json_array_elements($1::json) AS r(v)"),
        _ => ("value", "json_each(?1)"),
    };
    let picks: Vec<String> = columns
        .iter()
        .enumerate()
        .map(|(i, c)| format!("{element}->>{i} AS {c}"))
        .collect();
    format!("(SELECT {} FROM {from}) AS u", picks.join(", "))
}

fn param(backend: DbBackend) -> impl Fn(usize) -> String {
    move |n| match backend {
        DbBackend::Postgres => format!("${n}"),
        _ => format!("?{n}"),
    }
}

/// The pieces of a code's audit `changes` around its code: the row a single create writes
/// (`history::created`, fields set from null) plus `bulkJob`, with the code (and the name,
/// when it is the code) spliced in by the database. A generated code is letters, digits, `-`
/// and `_` (`Pattern`), so it needs no escaping inside a JSON string.
fn changes_pieces(sample: &PromoCode, job_id: &str, named: bool) -> (String, String, String) {
    let mut rest = match crate::history::created(sample) {
        serde_json::Value::Object(map) => map,
        _ => serde_json::Map::new(),
    };
    rest.remove("code");
    if !named {
        rest.remove("name");
    }
    rest.insert("bulkJob".into(), json!(job_id));
    let rest = serde_json::Value::Object(rest).to_string();
    // `rest` is `{...}` with at least bulkJob in it.
    let tail = format!("\"}},{}", rest.get(1..).unwrap_or("}"));
    let head = "{\"code\":{\"from\":null,\"to\":\"".to_string();
    let mid = if named {
        String::new()
    } else {
        "\"},\"name\":{\"from\":null,\"to\":\"".to_string()
    };
    (head, mid, tail)
}

/// What one batch writes for a job: the statements, built once per batch.
pub(super) struct BatchSql {
    backend: DbBackend,
    codes: (String, Vec<Value>),
    links: Vec<(String, Vec<Value>)>,
    joins: (String, Vec<Value>),
    audit: (String, Vec<Value>),
}

impl BatchSql {
    /// The statements of job `job_id`'s batches: codes made from `template` on `providers`.
    pub(super) fn new(
        backend: DbBackend,
        job_id: &str,
        template: &Template,
        providers: &[Provider],
        now: DateTime<Utc>,
    ) -> Result<Self, ServiceError> {
        let p = param(backend);
        let named = template.named();
        let sample = template.code(String::new(), "SAMPLE".into(), providers, now)?;

        let mut values = vec![Value::from(String::new())];
        let mut varying = vec![
            ("id", "u.id"),
            ("code", "u.code"),
            ("code_key", "u.code_key"),
        ];
        if !named {
            varying.push(("name", "u.code"));
        }
        let shared = store::to_active(&sample, None, None);
        let (insert, select) = insert_select(&shared, &varying, &mut values, &p);
        let codes = format!(
            "{insert} SELECT {select} FROM {} WHERE true ON CONFLICT (\"code_key\") DO NOTHING RETURNING \"id\", \"code\"",
            rows(backend, &["id", "code", "code_key"])
        );
        let codes = (codes, values);

        // One statement per provider (a job has one to three).
        let mut links = Vec::with_capacity(sample.providers.len());
        for sync in &sample.providers {
            let mut link = store::link_to_active("", sync, 0);
            link.next_attempt_at = sea_orm::ActiveValue::Set(Some(now));
            let mut values = vec![Value::from(String::new())];
            let (insert, select) =
                insert_select(&link, &[("promo_code_id", "u.id")], &mut values, &p);
            let sql = format!("{insert} SELECT {select} FROM {}", rows(backend, &["id"]));
            links.push((sql, values));
        }

        let mut values = vec![Value::from(String::new())];
        let join = bulk_job_code::ActiveModel {
            job_id: sea_orm::ActiveValue::Set(job_id.to_string()),
            ..Default::default()
        };
        let (insert, select) = insert_select(&join, &[("promo_code_id", "u.id")], &mut values, &p);
        let joins = (
            format!("{insert} SELECT {select} FROM {}", rows(backend, &["id"])),
            values,
        );

        let (head, mid, tail) = changes_pieces(&sample, job_id, named);
        let mut values = vec![Value::from(String::new())];
        let concat = if named {
            values.extend([Value::from(head), Value::from(tail)]);
            format!("{} || u.code || {}", p(2), p(3))
        } else {
            values.extend([Value::from(head), Value::from(mid), Value::from(tail)]);
            format!("{} || u.code || {} || u.code || {}", p(2), p(3), p(4))
        };
        let audit = audit_log::ActiveModel {
            actor: sea_orm::ActiveValue::Set(bulk_actor(job_id)),
            action: sea_orm::ActiveValue::Set("create".to_string()),
            at: sea_orm::ActiveValue::Set(now),
            version: sea_orm::ActiveValue::Set(Some(1)),
            ..Default::default()
        };
        let (insert, select) = insert_select(
            &audit,
            &[("promo_code_id", "u.id"), ("changes", concat.as_str())],
            &mut values,
            &p,
        );
        let audit = (
            format!(
                "{insert} SELECT {select} FROM {}",
                rows(backend, &["id", "code"])
            ),
            values,
        );
        Ok(Self {
            backend,
            codes,
            links,
            joins,
            audit,
        })
    }

    fn statement(&self, (sql, values): &(String, Vec<Value>), rows: String) -> Statement {
        let mut values = values.clone();
        values[0] = Value::from(rows);
        Statement::from_sql_and_values(self.backend, sql.as_str(), values)
    }

    /// Inserts these (id, code) pairs where no code has the same key; returns the ones stored.
    pub(super) async fn insert_codes(
        &self,
        txn: &DatabaseTransaction,
        candidates: &[Stored],
    ) -> Result<Vec<Stored>, ServiceError> {
        // The key as the single create computes it (`store::to_active`).
        let keys: Vec<String> = candidates.iter().map(|(_, c)| c.to_lowercase()).collect();
        let rows: Vec<[&str; 3]> = candidates
            .iter()
            .zip(&keys)
            .map(|((id, code), key)| [id.as_str(), code.as_str(), key.as_str()])
            .collect();
        let stored = txn
            .query_all_raw(self.statement(&self.codes, json!(rows).to_string()))
            .await?;
        stored
            .iter()
            .map(|row| Ok((row.try_get_by_index(0)?, row.try_get_by_index(1)?)))
            .collect::<Result<_, sea_orm::DbErr>>()
            .map_err(ServiceError::from)
    }

    /// The stored codes' provider links (PENDING, due now), job rows and audit rows.
    pub(super) async fn insert_rows(
        &self,
        txn: &DatabaseTransaction,
        stored: &[Stored],
    ) -> Result<(), ServiceError> {
        if stored.is_empty() {
            return Ok(());
        }
        let ids = json!(stored.iter().map(|(id, _)| [id]).collect::<Vec<_>>()).to_string();
        for links in &self.links {
            txn.execute_raw(self.statement(links, ids.clone())).await?;
        }
        txn.execute_raw(self.statement(&self.joins, ids)).await?;
        let pairs = json!(
            stored
                .iter()
                .map(|(id, code)| [id, code])
                .collect::<Vec<_>>()
        );
        txn.execute_raw(self.statement(&self.audit, pairs.to_string()))
            .await?;
        Ok(())
    }
}

/// The parts of a batch, timed.
#[derive(Clone, Copy)]
pub(super) enum Phase {
    /// Beginning the transaction, renewing the lease, reading the job row.
    Fence,
    /// Drawing candidate codes.
    Generate,
    /// Inserting the codes (all rounds).
    Codes,
    /// Inserting the links, job rows and audit rows.
    Rows,
    /// Moving the job on and committing.
    Commit,
}

/// Time spent per phase over a job's batches (microseconds), for the log line that ends it.
#[derive(Default)]
pub(super) struct Phases([std::sync::atomic::AtomicU64; 5]);

impl Phases {
    pub(super) fn add(&self, phase: Phase, since: std::time::Instant) {
        let micros = u64::try_from(since.elapsed().as_micros()).unwrap_or(u64::MAX);
        self.0[phase as usize].fetch_add(micros, std::sync::atomic::Ordering::Relaxed);
    }
}

impl std::fmt::Display for Phases {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let names = ["fence", "generate", "codes", "rows", "commit"];
        for (i, (name, micros)) in names.iter().zip(&self.0).enumerate() {
            let ms = micros.load(std::sync::atomic::Ordering::Relaxed) / 1000;
            write!(f, "{}{name} {ms} ms", if i == 0 { "" } else { ", " })?;
        }
        Ok(())
    }
}
