//! The store behind `Idempotency-Key` (runtime.md, "Idempotent requests"): one row per API
//! token and key, holding a hash of the first request and, once it is done, its answer.
//!
//! Races are settled by the database: the first INSERT of (scope, key) wins on every replica,
//! and each later change is a conditional UPDATE on the row's `claim`, so a request that was
//! taken over can no longer record its answer over the new holder's.
//!
//! Pruning: every new key first deletes the rows older than [`RETENTION`] (an index on
//! `created_at` keeps that cheap); rows older than that are ignored by reads in any case.

use chrono::{DateTime, Utc};
use sea_orm::ActiveValue::Set;
use sea_orm::sea_query::Expr;
use sea_orm::{ColumnTrait, ConnectionTrait, DbErr, EntityTrait, QueryFilter, SqlErr};
use sha2::{Digest, Sha256};

use crate::entity::idempotency_key::{ActiveModel, Column, Entity};

/// How long a key and its answer are kept and replayed.
pub const RETENTION: chrono::Duration = chrono::Duration::hours(24);

const IN_PROGRESS: &str = "in_progress";
const DONE: &str = "done";

/// A stored answer, replayed byte for byte.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Answer {
    pub status: u16,
    pub content_type: String,
    pub body: Vec<u8>,
}

/// What the store holds for a key.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Entry {
    /// Nothing (or only an expired row): the key is free.
    Free,
    /// A request with this key runs (or ran and died without answering).
    InProgress {
        request_hash: String,
        claim: String,
        claimed_at: DateTime<Utc>,
    },
    Done {
        request_hash: String,
        answer: Answer,
    },
}

/// Lower-case hex SHA-256 of `parts`, each length-prefixed so no two lists hash alike.
pub fn fingerprint(parts: &[&[u8]]) -> String {
    let mut hasher = Sha256::new();
    for part in parts {
        hasher.update((part.len() as u64).to_be_bytes());
        hasher.update(part);
    }
    hasher
        .finalize()
        .iter()
        .map(|byte| format!("{byte:02x}"))
        .collect()
}

/// The scope of a caller's keys: a hash of its API token, so two tokens' keys never meet and
/// the token itself is never stored.
pub fn token_scope(token: &str) -> String {
    fingerprint(&[b"promohub idempotency scope", token.as_bytes()])
}

/// Claims `key` for a first request: prunes expired rows, then inserts the row "in progress".
/// Some(claim token) when this call won; None when the key is already taken (by any replica).
pub async fn claim<C: ConnectionTrait>(
    db: &C,
    scope: &str,
    key: &str,
    request_hash: &str,
    now: DateTime<Utc>,
) -> Result<Option<String>, DbErr> {
    Entity::delete_many()
        .filter(Column::CreatedAt.lt(now - RETENTION))
        .exec(db)
        .await?;
    let claim = uuid::Uuid::new_v4().simple().to_string();
    let row = ActiveModel {
        scope: Set(scope.to_string()),
        idempotency_key: Set(key.to_string()),
        request_hash: Set(request_hash.to_string()),
        state: Set(IN_PROGRESS.to_string()),
        claim: Set(claim.clone()),
        status: Set(None),
        content_type: Set(None),
        body: Set(None),
        created_at: Set(now),
        claimed_at: Set(now),
    };
    match Entity::insert(row).exec_without_returning(db).await {
        Ok(_) => Ok(Some(claim)),
        Err(error) if matches!(error.sql_err(), Some(SqlErr::UniqueConstraintViolation(_))) => {
            Ok(None)
        }
        Err(error) => Err(error),
    }
}

/// What is stored for `key`; a row older than [`RETENTION`] counts as none.
pub async fn find<C: ConnectionTrait>(
    db: &C,
    scope: &str,
    key: &str,
    now: DateTime<Utc>,
) -> Result<Entry, DbErr> {
    let Some(row) = Entity::find_by_id((scope.to_string(), key.to_string()))
        .one(db)
        .await?
    else {
        return Ok(Entry::Free);
    };
    if row.created_at < now - RETENTION {
        return Ok(Entry::Free);
    }
    if row.state == DONE
        && let (Some(status), Some(content_type), Some(body)) =
            (row.status, row.content_type, row.body)
    {
        return Ok(Entry::Done {
            request_hash: row.request_hash,
            answer: Answer {
                status: u16::try_from(status).unwrap_or(500),
                content_type,
                body,
            },
        });
    }
    Ok(Entry::InProgress {
        request_hash: row.request_hash,
        claim: row.claim,
        claimed_at: row.claimed_at,
    })
}

/// Takes over a request still in progress under `old_claim`: one conditional UPDATE, so of
/// several replicas trying at once exactly one wins. Some(new claim) when this call won.
pub async fn take_over<C: ConnectionTrait>(
    db: &C,
    scope: &str,
    key: &str,
    old_claim: &str,
    now: DateTime<Utc>,
) -> Result<Option<String>, DbErr> {
    let claim = uuid::Uuid::new_v4().simple().to_string();
    let updated = Entity::update_many()
        .col_expr(Column::Claim, Expr::value(claim.clone()))
        .col_expr(Column::ClaimedAt, Expr::value(now))
        .filter(Column::Scope.eq(scope))
        .filter(Column::IdempotencyKey.eq(key))
        .filter(Column::State.eq(IN_PROGRESS))
        .filter(Column::Claim.eq(old_claim))
        .exec(db)
        .await?;
    Ok((updated.rows_affected == 1).then_some(claim))
}

/// Records the answer of the request holding `claim`. False when it no longer holds it (it
/// was taken over): the new holder's answer is the one kept.
pub async fn finish<C: ConnectionTrait>(
    db: &C,
    scope: &str,
    key: &str,
    claim: &str,
    answer: &Answer,
) -> Result<bool, DbErr> {
    let updated = Entity::update_many()
        .col_expr(Column::State, Expr::value(DONE))
        .col_expr(Column::Status, Expr::value(i32::from(answer.status)))
        .col_expr(
            Column::ContentType,
            Expr::value(answer.content_type.clone()),
        )
        .col_expr(Column::Body, Expr::value(answer.body.clone()))
        .filter(Column::Scope.eq(scope))
        .filter(Column::IdempotencyKey.eq(key))
        .filter(Column::State.eq(IN_PROGRESS))
        .filter(Column::Claim.eq(claim))
        .exec(db)
        .await?;
    Ok(updated.rows_affected == 1)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fingerprints_tell_part_boundaries_apart() {
        assert_ne!(fingerprint(&[b"ab", b"c"]), fingerprint(&[b"a", b"bc"]));
        assert_eq!(fingerprint(&[b"x"]).len(), 64);
        assert_ne!(token_scope("token-one-1"), token_scope("token-two-2"));
        assert!(!token_scope("token-one-1").contains("token"));
    }
}
