//! The routes: each does the reads of one benchmarked query and answers its JSON.

use super::*;
use crate::answer::*;

#[derive(Clone, Copy)]
pub(crate) enum Sort {
    CreatedAt,
    Code,
    ExpiresAt,
    TimesRedeemed,
}

#[derive(Clone, Copy)]
pub(crate) struct List {
    pub(crate) sort: Sort,
    pub(crate) descending: bool,
    pub(crate) filtered: bool,
    pub(crate) providers: bool,
}

#[derive(Deserialize, Default)]
pub(crate) struct Body {
    pub(crate) after: Option<String>,
    pub(crate) code: Option<String>,
}

pub(crate) type Answer = Result<Response, (StatusCode, String)>;

pub(crate) fn fail(e: impl std::fmt::Display) -> (StatusCode, String) {
    (StatusCode::INTERNAL_SERVER_ERROR, e.to_string())
}

pub(crate) fn json<T: Serialize>(value: &T) -> Answer {
    let body = serde_json::to_vec(value).map_err(fail)?;
    Ok(([(header::CONTENT_TYPE, "application/json")], body).into_response())
}

pub(crate) fn body_of(bytes: &Bytes) -> Result<Body, (StatusCode, String)> {
    if bytes.is_empty() {
        return Ok(Body::default());
    }
    serde_json::from_slice(bytes).map_err(|e| (StatusCode::BAD_REQUEST, e.to_string()))
}

/// The cursor's value as a bind (None: a null expires_at).
pub(crate) fn cursor_value(sort: Sort, v: serde_json::Value) -> Option<Option<Bind>> {
    Some(match (sort, v) {
        (_, serde_json::Value::Null) => None,
        (Sort::Code, serde_json::Value::String(s)) => Some(Bind::Text(s)),
        (Sort::TimesRedeemed, v) => Some(Bind::Int(v.as_i64()?)),
        (_, serde_json::Value::String(s)) => Some(Bind::Time(s.parse().ok()?)),
        _ => return None,
    })
}

pub(crate) async fn list(db: Arc<Db>, spec: List, bytes: Bytes) -> Answer {
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
pub(crate) async fn nodes(
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
pub(crate) async fn one(
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

pub(crate) async fn validate(State(db): State<Arc<Db>>, bytes: Bytes) -> Answer {
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

pub(crate) async fn by_code(State(db): State<Arc<Db>>, bytes: Bytes) -> Answer {
    let (promo_code_by_code, _) = one(&db, &bytes).await?;
    json(&Data {
        data: ByCodeData { promo_code_by_code },
    })
}
