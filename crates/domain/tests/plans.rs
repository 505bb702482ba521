//! The plan of every page: for each sort, direction and filter of the contract, first page and
//! a page after a cursor, the database must read an index in order and stop at the LIMIT: no
//! sequential scan of a table and no sort of its rows. Fails when an ORDER BY stops matching an
//! index or an index is dropped. Plans come from the statements `list` itself runs
//! (`PromoService::page_statements`), on a table large enough (20,000 codes, analyzed) for the
//! planner to care.

use chrono::{Duration, Utc};
use promohub_domain::entity::{promo_code, provider_link};
use promohub_domain::providers::Providers;
use promohub_domain::{
    ListFilter, ListQuery, PromoCodeStatus, PromoService, Provider, ServiceConfig, SortField,
    SyncState,
};
use promohub_test_support::{TestDb, on_both_databases};
use sea_orm::ActiveValue::Set;
use sea_orm::{ConnectionTrait, DatabaseConnection, DbBackend, EntityTrait, Statement};
use serde_json::{Value, json};

const CODES: usize = 20_000;

on_both_databases!(every_page_is_an_index_scan_with_a_limit);

async fn seed(db: &DatabaseConnection) {
    let now = Utc::now();
    let statuses = |i: usize| match i % 100 {
        0..=89 => "ACTIVE",
        90..=96 => "INACTIVE",
        _ => "ARCHIVED",
    };
    for batch in (0..CODES).collect::<Vec<_>>().chunks(1_000) {
        let codes = batch.iter().map(|&i| promo_code::ActiveModel {
            id: Set(uuid::Uuid::new_v4().to_string()),
            code: Set(format!("CODE{i:06}")),
            code_key: Set(format!("code{i:06}")),
            name: Set(format!("Code {i}")),
            status: Set(statuses(i).into()),
            discount_type: Set("PERCENTAGE".into()),
            percent_off: Set(Some(10.0)),
            amount_off: Set(None),
            currency: Set(None),
            duration_type: Set("ONCE".into()),
            duration_periods: Set(None),
            max_redemptions: Set(None),
            max_redemptions_per_customer: Set(None),
            times_redeemed: Set((i % 97) as i64),
            expires_at: Set((i % 10 >= 3).then(|| now + Duration::minutes(i as i64))),
            plan_ids: Set("[]".into()),
            product_ids: Set("[]".into()),
            customer_id: Set(None),
            new_customers_only: Set(false),
            metadata: Set("{}".into()),
            version: Set(1),
            lock_token: Set(None),
            locked_until: Set(None),
            created_at: Set(now - Duration::seconds((CODES - i) as i64)),
            updated_at: Set(now),
        });
        let models: Vec<promo_code::ActiveModel> = codes.collect();
        let ids: Vec<String> = models
            .iter()
            .map(|m| match &m.id {
                Set(id) => id.clone(),
                _ => String::new(),
            })
            .collect();
        promo_code::Entity::insert_many(models)
            .exec_without_returning(db)
            .await
            .expect("insert codes");
        let links = ids.iter().enumerate().flat_map(|(n, id)| {
            let whop = link(id, Provider::Whop, SyncState::Synced);
            let fynn = (n % 10 == 0).then(|| link(id, Provider::Fynn, SyncState::Pending));
            std::iter::once(whop).chain(fynn)
        });
        provider_link::Entity::insert_many(links.collect::<Vec<_>>())
            .exec_without_returning(db)
            .await
            .expect("insert links");
    }
    db.execute_unprepared("ANALYZE").await.expect("analyze");
}

fn link(id: &str, provider: Provider, state: SyncState) -> provider_link::ActiveModel {
    provider_link::ActiveModel {
        promo_code_id: Set(id.to_string()),
        provider: Set(provider.as_str().into()),
        external_id: Set(Some(format!("ext_{id}"))),
        secondary_id: Set(None),
        state: Set(state.as_str().into()),
        last_error: Set(None),
        attempts: Set(1),
        synced_at: Set(None),
        synced_version: Set(1),
        times_redeemed: Set(0),
        next_attempt_at: Set(None),
    }
}

/// What makes a plan wrong, or None. PostgreSQL: a Seq Scan or a Sort node anywhere.
/// SQLite: a SCAN of a table without an index, or a temporary B-tree for ORDER BY.
///
/// One exception, `range_index`: a filter that is itself a range of an index (a code prefix,
/// an expiry window) may be served by that range and its matches sorted: the planner picks it
/// when the range is narrow, and then it costs the matches, not the table.
async fn plan_problem(
    db: &DatabaseConnection,
    statement: &Statement,
    range_index: Option<&str>,
) -> Option<String> {
    let backend = db.get_database_backend();
    let values = statement.values.clone().map(|v| v.0).unwrap_or_default();
    match backend {
        DbBackend::Postgres => {
            let explain = Statement::from_sql_and_values(
                backend,
                format!("EXPLAIN (FORMAT JSON) {}", statement.sql),
                values,
            );
            let row = db
                .query_one_raw(explain)
                .await
                .expect("explain")
                .expect("a plan");
            let plan: Value = row.try_get("", "QUERY PLAN").expect("plan json");
            let mut nodes = Vec::new();
            let mut indexes = Vec::new();
            let mut stack = vec![&plan[0]["Plan"]];
            while let Some(node) = stack.pop() {
                nodes.push(node["Node Type"].as_str().unwrap_or("?").to_string());
                if let Some(index) = node["Index Name"].as_str() {
                    indexes.push(index.to_string());
                }
                if let Some(children) = node["Plans"].as_array() {
                    stack.extend(children);
                }
            }
            let sort_allowed =
                range_index.is_some_and(|allowed| indexes.iter().any(|i| i == allowed));
            nodes
                .iter()
                .any(|n| n == "Seq Scan" || (n.ends_with("Sort") && !sort_allowed))
                .then(|| {
                    format!(
                        "{nodes:?}\n{}",
                        serde_json::to_string_pretty(&plan).unwrap_or_default()
                    )
                })
        }
        _ => {
            let explain = Statement::from_sql_and_values(
                backend,
                format!("EXPLAIN QUERY PLAN {}", statement.sql),
                values,
            );
            let rows = db.query_all_raw(explain).await.expect("explain");
            let details: Vec<String> = rows
                .iter()
                .filter_map(|r| r.try_get::<String>("", "detail").ok())
                .collect();
            let sort_allowed = range_index.is_some_and(|allowed| {
                details
                    .iter()
                    .any(|d| d.starts_with("SEARCH promo_codes") && d.contains(allowed))
            });
            details
                .iter()
                .any(|d| {
                    (d.starts_with("SCAN ") && !d.contains("USING"))
                        || (d.contains("TEMP B-TREE") && !sort_allowed)
                })
                .then(|| format!("{details:#?}"))
        }
    }
}

fn hex_cursor(value: Value) -> String {
    value
        .to_string()
        .bytes()
        .map(|b| format!("{b:02x}"))
        .collect()
}

async fn every_page_is_an_index_scan_with_a_limit(db: TestDb) {
    let connection = promohub_domain::store::connect(&db.url).await.expect("db");
    seed(&connection).await;
    let service = PromoService::new(
        connection.clone(),
        Providers::new(),
        ServiceConfig::default(),
    );
    let now = Utc::now();
    let filters = [
        ("no filter", ListFilter::default()),
        (
            "status ACTIVE",
            ListFilter {
                status: Some(vec![PromoCodeStatus::Active]),
                ..Default::default()
            },
        ),
        (
            "status ACTIVE or INACTIVE",
            ListFilter {
                status: Some(vec![PromoCodeStatus::Active, PromoCodeStatus::Inactive]),
                ..Default::default()
            },
        ),
        (
            "provider WHOP",
            ListFilter {
                provider: Some(Provider::Whop),
                ..Default::default()
            },
        ),
        (
            "status ACTIVE and provider WHOP",
            ListFilter {
                status: Some(vec![PromoCodeStatus::Active]),
                provider: Some(Provider::Whop),
                ..Default::default()
            },
        ),
        (
            "syncState SYNCED",
            ListFilter {
                sync_state: Some(SyncState::Synced),
                ..Default::default()
            },
        ),
        (
            "codePrefix",
            ListFilter {
                code_prefix: Some("code01".into()),
                ..Default::default()
            },
        ),
        (
            "expiring within 10 days",
            ListFilter {
                expires_after: Some(now),
                expires_before: Some(now + Duration::days(10)),
                ..Default::default()
            },
        ),
    ];
    let sorts = [
        SortField::CreatedAt,
        SortField::Code,
        SortField::ExpiresAt,
        SortField::TimesRedeemed,
    ];
    let mut problems = Vec::new();
    let mut checked = 0;
    for sort in sorts {
        for descending in [false, true] {
            for (name, filter) in &filters {
                let first_page = ListQuery {
                    first: Some(50),
                    filter: filter.clone(),
                    sort,
                    descending,
                    ..ListQuery::default()
                };
                let page = service.list(first_page.clone()).await.expect("page");
                let mut queries = vec![("first page", first_page.clone())];
                if let Some(cursor) = page.end_cursor.clone() {
                    queries.push((
                        "after a cursor",
                        ListQuery {
                            after: Some(cursor),
                            ..first_page.clone()
                        },
                    ));
                }
                if sort == SortField::ExpiresAt {
                    // A cursor inside the codes without expiry.
                    let cursor = hex_cursor(json!({ "s": "EXPIRES_AT", "d": descending, "v": null,
                                                    "id": "80000000-0000-4000-8000-000000000000" }));
                    queries.push((
                        "among codes without expiry",
                        ListQuery {
                            after: Some(cursor),
                            ..first_page
                        },
                    ));
                }
                for (at, query) in queries {
                    for statement in service.page_statements(&query).expect("statements") {
                        checked += 1;
                        let range_index = if filter.code_prefix.is_some() {
                            Some("ux_promo_codes_code_key")
                        } else if filter.expires_before.is_some() {
                            Some("ix_promo_codes_expires_at")
                        } else {
                            None
                        };
                        if let Some(problem) =
                            plan_problem(&connection, &statement, range_index).await
                        {
                            problems.push(format!(
                                "{sort:?} descending={descending} {name}, {at}:\n{}\n{problem}",
                                statement.sql
                            ));
                        }
                    }
                }
            }
        }
    }
    assert!(
        checked >= 4 * 2 * filters.len() * 2,
        "{checked} statements checked"
    );
    assert!(
        problems.is_empty(),
        "{} of {checked} plans read more than an index range:\n\n{}",
        problems.len(),
        problems.join("\n\n")
    );
}
