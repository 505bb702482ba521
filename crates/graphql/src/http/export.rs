//! `GET /export/promo-codes.csv`: every code matching the filters of `promoCodes`, as CSV,
//! streamed page by page through the keyset listing (`PromoService::list`), so memory stays
//! at one page whatever the number of codes.
//!
//! Columns: the code's fields, then per provider of the model (all of them, configured here or
//! not, so a file's columns never depend on the server's configuration) its state, external id
//! and last error, empty where the code does not live. Lists (plan and product ids) are joined
//! by spaces (ids hold none); metadata is its JSON.
//!
//! CSV injection: a text cell starting with `=`, `+`, `-`, `@`, a tab or a carriage return
//! gets a leading `'`, so a spreadsheet shows it as text instead of running it as a formula
//! (OWASP's advice). Every text cell is guarded, not only code and name: provider errors and
//! metadata come from outside too. Numbers and times are written as they are.

use std::collections::BTreeMap;

use axum::body::{Body, Bytes};
use axum::extract::{RawQuery, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use chrono::{DateTime, SecondsFormat, Utc};
use promohub_domain as domain;
use promohub_domain::{ListFilter, ListQuery, PromoCode, Provider, SortField};

use super::request::url_pairs;
use super::state::AppState;

/// Codes per page read from the database (the listing's largest page).
const PAGE: i64 = 200;

/// The columns before the per-provider ones.
const CODE_COLUMNS: [&str; 22] = [
    "id",
    "code",
    "name",
    "status",
    "discount_type",
    "percent_off",
    "amount_off",
    "currency",
    "duration_type",
    "duration_periods",
    "max_redemptions",
    "max_redemptions_per_customer",
    "times_redeemed",
    "expires_at",
    "plan_ids",
    "product_ids",
    "customer_id",
    "new_customers_only",
    "metadata",
    "version",
    "created_at",
    "updated_at",
];

/// Per provider: `<provider>_<suffix>`.
const PROVIDER_COLUMNS: [&str; 3] = ["state", "external_id", "last_error"];

/// The query parameters, as `promoCodes` names its arguments and filter fields.
const PARAMETERS: &str =
    "status, provider, syncState, codePrefix, expiresBefore, expiresAfter, sortBy, descending";

/// The CSV of every code matching the filters (`promoCodes`' filter fields and sort, as query
/// parameters), streamed with a header row.
#[utoipa::path(get, path = "/export/promo-codes.csv", tag = "export",
    params(
        ("status" = Option<String>, Query, description = "ACTIVE, INACTIVE or ARCHIVED; comma-separated or repeated for several"),
        ("provider" = Option<String>, Query, description = "FLEX, FYNN or WHOP: codes that live on it"),
        ("syncState" = Option<String>, Query, description = "PENDING, SYNCED, FAILED, DISABLED_ON_PROVIDER or DELETED_ON_PROVIDER (on the provider given, or any)"),
        ("codePrefix" = Option<String>, Query, description = "Case-insensitive prefix of the code"),
        ("expiresBefore" = Option<String>, Query, description = "RFC 3339 time"),
        ("expiresAfter" = Option<String>, Query, description = "RFC 3339 time"),
        ("sortBy" = Option<String>, Query, description = "CREATED_AT (default), CODE, EXPIRES_AT or TIMES_REDEEMED"),
        ("descending" = Option<bool>, Query, description = "true or false (default)")),
    responses(
        (status = 200, description = "CSV with a header row (text/csv), streamed", content_type = "text/csv"),
        (status = 400, description = "An unknown parameter or a bad value; the body says which"),
        (status = 401, description = "No or unknown bearer token")),
    security(("bearer" = [])))]
pub async fn export_promo_codes(
    State(state): State<AppState>,
    headers: HeaderMap,
    RawQuery(raw): RawQuery,
) -> Response {
    if state.tokens.caller(&headers).is_none() {
        return (
            StatusCode::UNAUTHORIZED,
            [(header::WWW_AUTHENTICATE, "Bearer")],
            "send Authorization: Bearer <token> with a configured token",
        )
            .into_response();
    }
    let query = match parse_query(raw.as_deref().unwrap_or("")) {
        Ok(query) => query,
        Err(message) => return (StatusCode::BAD_REQUEST, message).into_response(),
    };
    let body = Body::from_stream(rows(state.service.clone(), query));
    let mut response = (StatusCode::OK, body).into_response();
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/csv; charset=utf-8"),
    );
    headers.insert(
        header::CONTENT_DISPOSITION,
        HeaderValue::from_static("attachment; filename=\"promo-codes.csv\""),
    );
    response
}

/// The listing query of the parameters; a message naming the parameter otherwise.
fn parse_query(raw: &str) -> Result<ListQuery, String> {
    let mut filter = ListFilter::default();
    let mut query = ListQuery {
        first: Some(PAGE),
        ..ListQuery::default()
    };
    let mut seen: BTreeMap<String, ()> = BTreeMap::new();
    for (name, value) in url_pairs(raw) {
        // Only status may repeat (several statuses); a repeated other one is a mistake.
        if name != "status" && seen.insert(name.clone(), ()).is_some() {
            return Err(format!("{name} is given twice"));
        }
        match name.as_str() {
            "status" => {
                let statuses = filter.status.get_or_insert_with(Vec::new);
                for part in value.split(',').map(str::trim) {
                    statuses.push(parse_enum(
                        &name,
                        part,
                        domain::PromoCodeStatus::parse,
                        domain::PromoCodeStatus::ALL,
                    )?);
                }
            }
            "provider" => {
                filter.provider = Some(parse_enum(&name, &value, Provider::parse, Provider::ALL)?);
            }
            "syncState" => {
                filter.sync_state = Some(parse_enum(
                    &name,
                    &value,
                    domain::SyncState::parse,
                    domain::SyncState::ALL,
                )?);
            }
            "codePrefix" => filter.code_prefix = Some(value),
            "expiresBefore" => filter.expires_before = Some(parse_time(&name, &value)?),
            "expiresAfter" => filter.expires_after = Some(parse_time(&name, &value)?),
            "sortBy" => query.sort = parse_sort(&value)?,
            "descending" => {
                query.descending = match value.as_str() {
                    "true" => true,
                    "false" => false,
                    _ => return Err(format!("descending must be true or false, not {value:?}")),
                };
            }
            _ => {
                return Err(format!(
                    "unknown parameter {name:?}; the parameters are {PARAMETERS}"
                ));
            }
        }
    }
    query.filter = filter;
    Ok(query)
}

fn parse_enum<T: Copy + std::fmt::Display>(
    name: &str,
    value: &str,
    parse: fn(&str) -> Option<T>,
    all: &[T],
) -> Result<T, String> {
    parse(value).ok_or_else(|| {
        let names: Vec<String> = all.iter().map(ToString::to_string).collect();
        format!("{name} must be one of {}, not {value:?}", names.join(", "))
    })
}

fn parse_time(name: &str, value: &str) -> Result<DateTime<Utc>, String> {
    DateTime::parse_from_rfc3339(value)
        .map(|t| t.with_timezone(&Utc))
        .map_err(|_| {
            format!("{name} must be an RFC 3339 time, e.g. 2026-11-22T10:00:00Z, not {value:?}")
        })
}

fn parse_sort(value: &str) -> Result<SortField, String> {
    match value {
        "CREATED_AT" => Ok(SortField::CreatedAt),
        "CODE" => Ok(SortField::Code),
        "EXPIRES_AT" => Ok(SortField::ExpiresAt),
        "TIMES_REDEEMED" => Ok(SortField::TimesRedeemed),
        _ => Err(format!(
            "sortBy must be one of CREATED_AT, CODE, EXPIRES_AT, TIMES_REDEEMED, not {value:?}"
        )),
    }
}

/// Where the stream is: the header still to write, the next page's cursor, or done.
enum Step {
    Header(ListQuery),
    Page(ListQuery),
    Done,
}

/// The CSV as a stream of chunks: the header, then one chunk per page. A database error
/// mid-way ends the stream with an error, so the client sees a broken download, never a file
/// that looks whole.
fn rows(
    service: domain::PromoService,
    query: ListQuery,
) -> impl futures::Stream<Item = Result<Bytes, std::io::Error>> {
    futures::stream::unfold(Step::Header(query), move |step| {
        let service = service.clone();
        async move {
            match step {
                Step::Done => None,
                Step::Header(query) => Some((csv_chunk(&[header()]), Step::Page(query))),
                Step::Page(query) => match page(&service, &query).await {
                    Ok((chunk, next)) => Some((Ok(chunk), next.map_or(Step::Done, Step::Page))),
                    Err(error) => {
                        tracing::error!(%error, "the CSV export stopped on an error");
                        Some((Err(std::io::Error::other(error)), Step::Done))
                    }
                },
            }
        }
    })
}

/// One page as CSV rows, and the query of the next page when there is one.
async fn page(
    service: &domain::PromoService,
    query: &ListQuery,
) -> Result<(Bytes, Option<ListQuery>), String> {
    let page = service
        .list(query.clone())
        .await
        .map_err(|e| format!("{e:#}"))?;
    for row in &page.unreadable {
        // Left out like in promoCodes; named in the log so an operator can find it.
        tracing::error!(id = %row.id, error = %row.message, "a code left out of a CSV export");
    }
    let ids: Vec<String> = page.items.iter().map(|(_, c)| c.id.clone()).collect();
    let links = service
        .providers_of(&ids)
        .await
        .map_err(|e| format!("{e:#}"))?;
    let records: Vec<Vec<String>> = page
        .items
        .iter()
        .map(|(_, code)| record(code, links.get(&code.id).map_or(&[][..], Vec::as_slice)))
        .collect();
    let chunk = csv_chunk(&records).map_err(|e| e.to_string())?;
    let next = match (&page.end_cursor, page.has_next_page) {
        (Some(cursor), true) => Some(ListQuery {
            after: Some(cursor.clone()),
            ..query.clone()
        }),
        _ => None,
    };
    Ok((chunk, next))
}

fn csv_chunk(records: &[Vec<String>]) -> Result<Bytes, std::io::Error> {
    let mut writer = csv::WriterBuilder::new().from_writer(Vec::new());
    for record in records {
        writer.write_record(record).map_err(std::io::Error::other)?;
    }
    writer
        .into_inner()
        .map(Bytes::from)
        .map_err(|e| std::io::Error::other(e.to_string()))
}

fn header() -> Vec<String> {
    let mut columns: Vec<String> = CODE_COLUMNS.iter().map(|c| c.to_string()).collect();
    for provider in Provider::ALL {
        let prefix = provider.as_str().to_lowercase();
        columns.extend(PROVIDER_COLUMNS.iter().map(|c| format!("{prefix}_{c}")));
    }
    columns
}

/// A text cell a spreadsheet will not take for a formula.
fn text(value: &str) -> String {
    if value.starts_with(['=', '+', '-', '@', '\t', '\r']) {
        format!("'{value}")
    } else {
        value.to_string()
    }
}

fn time(value: DateTime<Utc>) -> String {
    value.to_rfc3339_opts(SecondsFormat::AutoSi, true)
}

fn optional<T: ToString>(value: Option<T>) -> String {
    value.map(|v| v.to_string()).unwrap_or_default()
}

fn record(code: &PromoCode, links: &[domain::ProviderSync]) -> Vec<String> {
    let (percent_off, amount_off, currency) = match &code.discount {
        domain::Discount::Percentage { percent_off } => {
            (percent_off.to_string(), String::new(), String::new())
        }
        domain::Discount::FixedAmount {
            amount_off,
            currency,
        } => (String::new(), amount_off.to_string(), text(currency)),
    };
    let r = &code.restrictions;
    let mut cells = vec![
        code.id.clone(),
        text(&code.code),
        text(&code.name),
        code.status.to_string(),
        code.discount.kind().to_string(),
        percent_off,
        amount_off,
        currency,
        code.duration.kind().to_string(),
        optional(code.duration.periods()),
        optional(code.max_redemptions),
        optional(code.max_redemptions_per_customer),
        code.times_redeemed.to_string(),
        optional(code.expires_at.map(time)),
        text(&r.plan_ids.join(" ")),
        text(&r.product_ids.join(" ")),
        text(r.customer_id.as_deref().unwrap_or("")),
        r.new_customers_only.to_string(),
        text(&serde_json::Value::Object(code.metadata.clone()).to_string()),
        code.version.to_string(),
        time(code.created_at),
        time(code.updated_at),
    ];
    for provider in Provider::ALL {
        match links.iter().find(|l| l.provider == *provider) {
            Some(link) => cells.extend([
                link.state.to_string(),
                text(link.external_id.as_deref().unwrap_or("")),
                text(link.last_error.as_deref().unwrap_or("")),
            ]),
            None => cells.extend(PROVIDER_COLUMNS.iter().map(|_| String::new())),
        }
    }
    cells
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formulas_are_defused_and_other_text_is_kept() {
        for risky in ["=1+1", "+1", "-1", "@SUM(A1)", "\tx", "\rx"] {
            assert_eq!(text(risky), format!("'{risky}"));
        }
        assert_eq!(text("SPRING-10"), "SPRING-10");
        assert_eq!(text(""), "");
    }

    #[test]
    fn parameters_are_checked_by_name_and_value() {
        let query = parse_query("status=ACTIVE,INACTIVE&status=ARCHIVED&provider=WHOP&sortBy=CODE&descending=true&codePrefix=sp%20r")
            .expect("valid");
        assert_eq!(query.filter.status.as_ref().map(Vec::len), Some(3));
        assert_eq!(query.filter.provider, Some(Provider::Whop));
        assert_eq!(query.filter.code_prefix.as_deref(), Some("sp r"));
        assert_eq!((query.sort, query.descending), (SortField::Code, true));
        for (raw, says) in [
            (
                "status=GONE",
                "status must be one of ACTIVE, INACTIVE, ARCHIVED",
            ),
            (
                "provider=stripe",
                "provider must be one of FLEX, FYNN, WHOP",
            ),
            (
                "expiresBefore=tomorrow",
                "expiresBefore must be an RFC 3339 time",
            ),
            ("descending=yes", "descending must be true or false"),
            ("sortBy=NAME", "sortBy must be one of"),
            ("first=10", "unknown parameter \"first\""),
            ("provider=FLEX&provider=WHOP", "provider is given twice"),
        ] {
            let error = parse_query(raw).expect_err(raw);
            assert!(error.contains(says), "{raw}: {error}");
        }
    }
}
