//! `GET /export/promo-codes.csv` end to end over real HTTP, on SQLite and PostgreSQL: auth,
//! filters and sort as `promoCodes` takes them, bad parameters, the header and provider
//! columns, CSV quoting read back by a CSV parser, formula cells defused, more than one page.

use futures::StreamExt;
use promohub_test_support::TestDb;
use promohub_test_support::on_both_databases;
use promohub_test_support::server::{READER, TestServer, WRITER};
use serde_json::json;

on_both_databases!(
    export_needs_a_token_and_refuses_bad_parameters,
    export_applies_the_filters_with_provider_columns,
    names_with_commas_quotes_and_newlines_round_trip_and_formulas_are_defused,
    export_streams_every_page,
);

/// The export's status, headers and body.
async fn export(
    server: &TestServer,
    token: Option<&str>,
    query: &str,
) -> (u16, reqwest::header::HeaderMap, String) {
    let mut request = server
        .http
        .get(server.url(&format!("/export/promo-codes.csv{query}")));
    if let Some(token) = token {
        request = request.bearer_auth(token);
    }
    let response = request.send().await.expect("request");
    let status = response.status().as_u16();
    let headers = response.headers().clone();
    (status, headers, response.text().await.expect("body"))
}

/// The rows as maps of column to cell, and the header.
fn parse(body: &str) -> (Vec<String>, Vec<std::collections::BTreeMap<String, String>>) {
    let mut reader = csv::Reader::from_reader(body.as_bytes());
    let header: Vec<String> = reader
        .headers()
        .expect("a header row")
        .iter()
        .map(str::to_string)
        .collect();
    let rows = reader
        .records()
        .map(|r| {
            let record = r.expect("a CSV record");
            header
                .iter()
                .cloned()
                .zip(record.iter().map(str::to_string))
                .collect()
        })
        .collect();
    (header, rows)
}

fn codes(body: &str) -> Vec<String> {
    parse(body)
        .1
        .into_iter()
        .map(|r| r["code"].clone())
        .collect()
}

fn percent(code: &str, providers: &[&str]) -> serde_json::Value {
    json!({ "code": code, "discount": { "type": "PERCENTAGE", "percentOff": 10 },
            "providers": providers })
}

async fn export_needs_a_token_and_refuses_bad_parameters(db: TestDb) {
    let server = TestServer::start(db).await;
    let (status, headers, _) = export(&server, None, "").await;
    assert_eq!(status, 401);
    assert_eq!(headers["www-authenticate"], "Bearer");
    assert_eq!(export(&server, Some("not-a-token-at-all"), "").await.0, 401);
    // A read token exports (empty: a header row only).
    let (status, headers, body) = export(&server, Some(READER), "").await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(headers["content-type"], "text/csv; charset=utf-8");
    assert_eq!(
        headers["content-disposition"],
        "attachment; filename=\"promo-codes.csv\""
    );
    assert_eq!(body.lines().count(), 1, "{body}");
    for (query, says) in [
        (
            "?status=GONE",
            "status must be one of ACTIVE, INACTIVE, ARCHIVED",
        ),
        (
            "?expiresBefore=tomorrow",
            "expiresBefore must be an RFC 3339 time",
        ),
        (
            "?provider=STRIPE",
            "provider must be one of FLEX, FYNN, WHOP",
        ),
        ("?limit=5", "unknown parameter \"limit\""),
    ] {
        let (status, _, body) = export(&server, Some(READER), query).await;
        assert_eq!(status, 400, "{query}: {body}");
        assert!(body.contains(says), "{query}: {body}");
    }
    // The route is in the OpenAPI document.
    let doc: serde_json::Value = server
        .http
        .get(server.url("/openapi.json"))
        .send()
        .await
        .expect("openapi")
        .json()
        .await
        .expect("json");
    assert!(doc["paths"]["/export/promo-codes.csv"]["get"].is_object());
    server.stop().await.expect("graceful stop");
}

async fn export_applies_the_filters_with_provider_columns(db: TestDb) {
    let server = TestServer::start(db).await;
    server.create(percent("APPLE", &["WHOP"])).await;
    server.create(percent("APRICOT", &["FLEX", "WHOP"])).await;
    let banana = server.create(percent("BANANA", &["FLEX"])).await;
    let expiring = json!({ "code": "CHERRY", "discount": { "type": "PERCENTAGE", "percentOff": 10 },
                           "expiresAt": "2030-01-01T00:00:00Z", "providers": ["WHOP"] });
    server.create(expiring).await;
    let archived = server
        .ok(
            WRITER,
            "mutation($id: ID!) { archivePromoCode(id: $id) { userErrors { code } } }",
            json!({ "id": banana }),
        )
        .await;
    assert_eq!(archived["archivePromoCode"]["userErrors"], json!([]));

    let (status, _, body) = export(&server, Some(READER), "?sortBy=CODE").await;
    assert_eq!(status, 200, "{body}");
    let (header, rows) = parse(&body);
    for column in [
        "id",
        "code",
        "name",
        "status",
        "percent_off",
        "expires_at",
        "flex_state",
        "flex_external_id",
        "flex_last_error",
        "fynn_state",
        "fynn_external_id",
        "whop_state",
        "whop_external_id",
    ] {
        assert!(header.iter().any(|h| h == column), "{column}: {header:?}");
    }
    assert_eq!(
        rows.iter().map(|r| r["code"].as_str()).collect::<Vec<_>>(),
        ["APPLE", "APRICOT", "BANANA", "CHERRY"]
    );
    let apricot = &rows[1];
    assert_eq!(apricot["flex_state"], "SYNCED");
    assert!(
        apricot["flex_external_id"].starts_with("fpromo_"),
        "{apricot:?}"
    );
    assert_eq!(apricot["whop_state"], "SYNCED");
    assert_eq!(apricot["fynn_state"], "", "not on Fynn: empty");
    assert_eq!(apricot["percent_off"], "10");
    assert_eq!(rows[3]["expires_at"], "2030-01-01T00:00:00Z");

    for (query, expected) in [
        (
            "?provider=WHOP&sortBy=CODE",
            vec!["APPLE", "APRICOT", "CHERRY"],
        ),
        ("?status=ARCHIVED", vec!["BANANA"]),
        ("?status=ACTIVE&provider=FLEX", vec!["APRICOT"]),
        ("?status=ACTIVE,ARCHIVED&codePrefix=b", vec!["BANANA"]),
        (
            "?codePrefix=ap&sortBy=CODE&descending=true",
            vec!["APRICOT", "APPLE"],
        ),
        (
            "?syncState=SYNCED&provider=FLEX&sortBy=CODE&descending=true",
            vec!["BANANA", "APRICOT"],
        ),
        ("?expiresAfter=2029-01-01T00:00:00Z", vec!["CHERRY"]),
        ("?expiresBefore=2029-01-01T00:00:00Z", vec![]),
    ] {
        let (status, _, body) = export(&server, Some(READER), query).await;
        assert_eq!(status, 200, "{query}: {body}");
        assert_eq!(codes(&body), expected, "{query}");
    }
    server.stop().await.expect("graceful stop");
}

async fn names_with_commas_quotes_and_newlines_round_trip_and_formulas_are_defused(db: TestDb) {
    let server = TestServer::start(db).await;
    let tricky = "Spring, \"20%\" off\nsecond line";
    server
        .create(json!({ "code": "TRICKY", "name": tricky,
                        "discount": { "type": "PERCENTAGE", "percentOff": 20 },
                        "metadata": { "note": "a,b" }, "providers": ["WHOP"] }))
        .await;
    server
        .create(
            json!({ "code": "FORMULA", "name": "=HYPERLINK(\"http://x\")",
                        "discount": { "type": "PERCENTAGE", "percentOff": 20 },
                        "providers": ["WHOP"] }),
        )
        .await;
    let (_, _, body) = export(&server, Some(READER), "?sortBy=CODE").await;
    let (_, rows) = parse(&body);
    assert_eq!(rows.len(), 2, "{body}");
    assert_eq!(rows[0]["code"], "FORMULA");
    assert_eq!(rows[0]["name"], "'=HYPERLINK(\"http://x\")");
    assert_eq!(rows[1]["name"], tricky);
    assert_eq!(
        serde_json::from_str::<serde_json::Value>(&rows[1]["metadata"]).expect("json"),
        json!({ "note": "a,b" })
    );
    server.stop().await.expect("graceful stop");
}

/// More codes than one page of the listing (200): each exactly once, in order.
async fn export_streams_every_page(db: TestDb) {
    let server = TestServer::start(db).await;
    let total = 230;
    let made: Vec<String> = futures::stream::iter(0..total)
        .map(|i| {
            let server = &server;
            async move {
                server
                    .create(percent(&format!("PAGE{i:04}"), &["FLEX"]))
                    .await
            }
        })
        .buffer_unordered(8)
        .collect()
        .await;
    assert_eq!(made.len(), total);
    let (status, _, body) = export(&server, Some(READER), "?sortBy=CODE").await;
    assert_eq!(status, 200);
    let expected: Vec<String> = (0..total).map(|i| format!("PAGE{i:04}")).collect();
    assert_eq!(codes(&body), expected);
    server.stop().await.expect("graceful stop");
}
