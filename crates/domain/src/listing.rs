//! Pages of codes: filters, four sorts, keyset pagination with opaque cursors.
//!
//! Every page is one index scan with a LIMIT, whatever the sort, the direction and the depth:
//! - the ORDER BY is exactly an index's order, read forwards or backwards: `(col, id)` both
//!   ascending or both descending (`code_key` is unique, so CODE needs no tie-break);
//! - a cursor becomes `col >= v AND (col > v OR id > id0)` (mirrored when descending): the first
//!   part is an index bound on both backends, so a deep page starts where it should instead of
//!   filtering its way there;
//! - `expires_at` is the one nullable sort column; codes without expiry come after all others
//!   in both directions, ordered by id, read from their own partial index
//!   (`ix_promo_codes_no_expiry`): a page that crosses over runs a second query for the rest;
//! - provider and sync-state filters are `EXISTS` lookups on the links' primary key per row
//!   read, not a subquery materialized over the whole links table;
//! - no COUNT: `count` is a separate call, made only when a caller asks for a total.
//!
//! A filter is applied to the rows the sort index yields, so a filter that matches a small
//! share of the codes reads more rows per page (about page size / share); see docs/performance.md.

use chrono::{DateTime, Utc};
use sea_orm::sea_query::{Expr, ExprTrait, LikeExpr, Order, Query, SimpleExpr};
use sea_orm::{
    ColumnTrait, Condition, EntityTrait, PaginatorTrait, QueryFilter, QueryOrder, QuerySelect,
    QueryTrait,
};
use serde_json::{Value, json};

use crate::entity::{promo_code, provider_link};
use crate::error::{ErrorCode, ServiceError, UserError};
use crate::model::{PromoCode, PromoCodeStatus, Provider, SyncState};
use crate::service::PromoService;
use crate::store;

/// Sort orders of `list`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum SortField {
    #[default]
    CreatedAt,
    Code,
    ExpiresAt,
    TimesRedeemed,
}

impl SortField {
    fn name(self) -> &'static str {
        match self {
            SortField::CreatedAt => "CREATED_AT",
            SortField::Code => "CODE",
            SortField::ExpiresAt => "EXPIRES_AT",
            SortField::TimesRedeemed => "TIMES_REDEEMED",
        }
    }

    fn column(self) -> promo_code::Column {
        match self {
            SortField::CreatedAt => promo_code::Column::CreatedAt,
            SortField::Code => promo_code::Column::CodeKey,
            SortField::ExpiresAt => promo_code::Column::ExpiresAt,
            SortField::TimesRedeemed => promo_code::Column::TimesRedeemed,
        }
    }

    /// Whether rows can tie on the column (then id breaks ties).
    fn ties(self) -> bool {
        self != SortField::Code
    }

    /// The row's value of the sort column, as a cursor holds it.
    fn value_of_row(self, row: &promo_code::Model) -> Value {
        match self {
            SortField::CreatedAt => json!(row.created_at),
            SortField::Code => json!(row.code_key),
            SortField::ExpiresAt => json!(row.expires_at),
            SortField::TimesRedeemed => json!(row.times_redeemed),
        }
    }

    /// The cursor's value as a database value of the column's type.
    fn db_value(self, value: &Value) -> Option<sea_orm::Value> {
        match self {
            SortField::CreatedAt | SortField::ExpiresAt => value
                .as_str()
                .and_then(|s| DateTime::parse_from_rfc3339(s).ok())
                .map(|t| t.with_timezone(&Utc).into()),
            SortField::Code => value.as_str().map(|s| s.to_string().into()),
            SortField::TimesRedeemed => value.as_i64().map(Into::into),
        }
    }
}

#[derive(Clone, Debug, Default, PartialEq)]
pub struct ListFilter {
    pub status: Option<Vec<PromoCodeStatus>>,
    pub provider: Option<Provider>,
    pub sync_state: Option<SyncState>,
    pub code_prefix: Option<String>,
    pub expires_before: Option<DateTime<Utc>>,
    pub expires_after: Option<DateTime<Utc>>,
}

#[derive(Clone, Debug, Default)]
pub struct ListQuery {
    pub first: Option<i64>,
    pub after: Option<String>,
    pub filter: ListFilter,
    pub sort: SortField,
    pub descending: bool,
}

/// A page of codes. Their `providers` are not loaded: ask `providers_of` for the page's ids
/// (one query for the whole page) when they are needed.
#[derive(Clone, Debug)]
pub struct PageOf {
    /// Each code with its cursor (shared: a page's codes are handed to several readers).
    pub items: Vec<(String, std::sync::Arc<PromoCode>)>,
    /// Rows of this page that could not be decoded (left out of `items`, logged).
    pub unreadable: Vec<UnreadableRow>,
    /// The cursor of the last row of the page, readable or not, so paging moves past both.
    pub end_cursor: Option<String>,
    pub has_next_page: bool,
    pub has_previous_page: bool,
}

/// A stored row that this version cannot turn into a code.
#[derive(Clone, Debug)]
pub struct UnreadableRow {
    pub id: String,
    pub message: String,
}

/// Where a page starts: strictly after this row.
struct Cursor {
    /// The sort column's value; None for a code without expiry.
    value: Option<sea_orm::Value>,
    id: String,
}

/// `col` strictly after `value` in the page's direction.
fn beyond(column: promo_code::Column, value: sea_orm::Value, descending: bool) -> SimpleExpr {
    if descending {
        Expr::col(column).lt(value)
    } else {
        Expr::col(column).gt(value)
    }
}

/// `col` at or after `value` in the page's direction: the index bound of a keyset condition.
fn from(column: promo_code::Column, value: sea_orm::Value, descending: bool) -> SimpleExpr {
    if descending {
        Expr::col(column).lte(value)
    } else {
        Expr::col(column).gte(value)
    }
}

fn order(descending: bool) -> Order {
    if descending { Order::Desc } else { Order::Asc }
}

impl PromoService {
    /// A page of codes: one index scan with a LIMIT (two when an EXPIRES_AT page crosses into
    /// the codes without expiry), no count, no provider links.
    pub async fn list(&self, query: ListQuery) -> Result<PageOf, ServiceError> {
        let first = query.first.unwrap_or(50);
        if !(1..=200).contains(&first) {
            return Err(UserError::new(&["first"], ErrorCode::Invalid, "must be 1 to 200").into());
        }
        let cursor = match &query.after {
            Some(after) => Some(decode_cursor(after, &query)?),
            None => None,
        };
        // One row more than asked tells whether another page follows.
        let wanted = u64::try_from(first + 1).unwrap_or(201);
        let (valued, without_expiry) = self.page_parts(&query, cursor.as_ref());
        let mut rows = match valued {
            Some(select) => select.limit(wanted).all(&self.db).await?,
            None => Vec::new(),
        };
        let remaining = wanted.saturating_sub(rows.len() as u64);
        if let Some(select) = without_expiry.filter(|_| remaining > 0) {
            rows.extend(select.limit(remaining).all(&self.db).await?);
        }
        let (sort, descending) = (query.sort, query.descending);
        let has_next_page = rows.len() as u64 >= wanted;
        rows.truncate(usize::try_from(first).unwrap_or(200));
        let mut items = Vec::with_capacity(rows.len());
        let mut unreadable = Vec::new();
        let mut end_cursor = None;
        for row in rows {
            let cursor = store::encode_cursor(&json!({
                "s": sort.name(),
                "d": descending,
                "v": sort.value_of_row(&row),
                "id": row.id,
            }));
            end_cursor = Some(cursor.clone());
            let id = row.id.clone();
            match store::to_model(row, &[]) {
                Ok(code) => items.push((cursor, std::sync::Arc::new(code))),
                // One row this version cannot decode must not fail the page for everyone.
                Err(error) => {
                    let message = format!("{error:#}");
                    tracing::error!(%id, error = %message, "a stored promo code cannot be read");
                    unreadable.push(UnreadableRow { id, message });
                }
            }
        }
        Ok(PageOf {
            items,
            unreadable,
            end_cursor,
            has_next_page,
            has_previous_page: query.after.is_some(),
        })
    }

    /// The SQL a page runs, each part with the page's LIMIT: what `list` executes, for
    /// looking at its plans (see tests/plans.rs and docs/performance.md).
    pub fn page_statements(
        &self,
        query: &ListQuery,
    ) -> Result<Vec<sea_orm::Statement>, ServiceError> {
        let cursor = match &query.after {
            Some(after) => Some(decode_cursor(after, query)?),
            None => None,
        };
        let limit = u64::try_from(query.first.unwrap_or(50) + 1).unwrap_or(201);
        let backend = self.db.get_database_backend();
        let (valued, without_expiry) = self.page_parts(query, cursor.as_ref());
        Ok([valued, without_expiry]
            .into_iter()
            .flatten()
            .map(|select| select.limit(limit).build(backend))
            .collect())
    }

    /// A page's queries, ordered, without their LIMIT: the rows with a value in the sort
    /// column after the cursor, then (EXPIRES_AT only) the codes without expiry after it.
    fn page_parts(
        &self,
        query: &ListQuery,
        cursor: Option<&Cursor>,
    ) -> (
        Option<sea_orm::Select<promo_code::Entity>>,
        Option<sea_orm::Select<promo_code::Entity>>,
    ) {
        let (sort, descending) = (query.sort, query.descending);
        let column = sort.column();
        let valued = cursor.is_none_or(|c| c.value.is_some()).then(|| {
            let mut select = self.filtered(&query.filter);
            if sort == SortField::ExpiresAt {
                select = select.filter(column.is_not_null());
            }
            if let Some(Cursor {
                value: Some(value),
                id,
            }) = cursor
            {
                select = select.filter(from(column, value.clone(), descending));
                select = select.filter(if sort.ties() {
                    Condition::any()
                        .add(beyond(column, value.clone(), descending))
                        .add(beyond(
                            promo_code::Column::Id,
                            id.clone().into(),
                            descending,
                        ))
                } else {
                    Condition::all().add(beyond(column, value.clone(), descending))
                });
            }
            let select = select.order_by(column, order(descending));
            if sort.ties() {
                select.order_by(promo_code::Column::Id, order(descending))
            } else {
                select
            }
        });
        let without_expiry = (sort == SortField::ExpiresAt).then(|| {
            let mut select = self.filtered(&query.filter).filter(column.is_null());
            if let Some(Cursor { value: None, id }) = cursor {
                select = select.filter(beyond(
                    promo_code::Column::Id,
                    id.clone().into(),
                    descending,
                ));
            }
            select.order_by(promo_code::Column::Id, order(descending))
        });
        (valued, without_expiry)
    }

    /// How many codes match the filter: one COUNT, for callers that ask for a total.
    pub async fn count(&self, filter: &ListFilter) -> Result<u64, ServiceError> {
        Ok(self.filtered(filter).count(&self.db).await?)
    }

    /// The provider links of these codes, in one query, by code id.
    pub async fn providers_of(
        &self,
        ids: &[String],
    ) -> Result<std::collections::HashMap<String, Vec<crate::model::ProviderSync>>, ServiceError>
    {
        // Every id gets an entry, so a code without links is known to have none.
        let mut by_code: std::collections::HashMap<String, Vec<crate::model::ProviderSync>> =
            ids.iter().map(|id| (id.clone(), Vec::new())).collect();
        for link in store::links_of(&self.db, ids).await? {
            match store::link_to_model(&link) {
                Ok(sync) => by_code
                    .entry(link.promo_code_id.clone())
                    .or_default()
                    .push(sync),
                Err(error) => {
                    tracing::error!(id = %link.promo_code_id, provider = %link.provider,
                        error = %format!("{error:#}"), "a stored provider link cannot be read");
                }
            }
        }
        for links in by_code.values_mut() {
            links.sort_by_key(|sync| sync.provider);
        }
        Ok(by_code)
    }

    /// Visible codes matching the filter, in no particular order.
    fn filtered(&self, filter: &ListFilter) -> sea_orm::Select<promo_code::Entity> {
        let mut select = promo_code::Entity::find().filter(promo_code::Column::Version.gte(1));
        if let Some(statuses) = &filter.status {
            // At most one parameter per status, however long the list given.
            let distinct: std::collections::BTreeSet<&str> =
                statuses.iter().map(|s| s.as_str()).collect();
            select = select.filter(promo_code::Column::Status.is_in(distinct));
        }
        if filter.provider.is_some() || filter.sync_state.is_some() {
            // Correlated on the links' primary key (promo_code_id, provider): a probe per row.
            let mut links = Query::select();
            links
                .expr(Expr::val(1))
                .from(provider_link::Entity)
                .and_where(
                    Expr::col((provider_link::Entity, provider_link::Column::PromoCodeId))
                        .equals((promo_code::Entity, promo_code::Column::Id)),
                );
            if let Some(provider) = filter.provider {
                links.and_where(provider_link::Column::Provider.eq(provider.as_str()));
            }
            if let Some(state) = filter.sync_state {
                links.and_where(provider_link::Column::State.eq(state.as_str()));
            }
            select = select.filter(Expr::exists(links.to_owned()));
        }
        if let Some(prefix) = &filter.code_prefix {
            let prefix = prefix.to_lowercase();
            // A range on code_key is what an index serves on both backends (SQLite's LIKE is
            // case-insensitive and so never uses a BINARY index); LIKE keeps the match exact.
            let escaped: String = prefix
                .chars()
                .flat_map(|c| match c {
                    '\\' | '%' | '_' => vec!['\\', c],
                    c => vec![c],
                })
                .collect();
            select = select
                .filter(promo_code::Column::CodeKey.gte(prefix.clone()))
                .filter(promo_code::Column::CodeKey.lt(format!("{prefix}\u{10FFFF}")))
                .filter(
                    Expr::col(promo_code::Column::CodeKey)
                        .like(LikeExpr::new(format!("{escaped}%")).escape('\\')),
                );
        }
        if let Some(before) = filter.expires_before {
            select = select.filter(promo_code::Column::ExpiresAt.lt(before));
        }
        if let Some(after) = filter.expires_after {
            select = select.filter(promo_code::Column::ExpiresAt.gt(after));
        }
        select
    }
}

fn decode_cursor(cursor: &str, query: &ListQuery) -> Result<Cursor, ServiceError> {
    let invalid = || -> ServiceError {
        UserError::new(
            &["after"],
            ErrorCode::Invalid,
            "not a cursor of this list (same sortBy and descending)",
        )
        .into()
    };
    let decoded = store::decode_cursor(cursor).ok_or_else(invalid)?;
    if decoded["s"] != query.sort.name() || decoded["d"] != query.descending {
        return Err(invalid());
    }
    let id = decoded["id"].as_str().ok_or_else(invalid)?.to_string();
    let value = match &decoded["v"] {
        Value::Null if query.sort == SortField::ExpiresAt => None,
        value => Some(query.sort.db_value(value).ok_or_else(invalid)?),
    };
    Ok(Cursor { value, id })
}
