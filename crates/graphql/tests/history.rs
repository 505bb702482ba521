//! `PromoCode.history` end to end over real HTTP, on SQLite and PostgreSQL: what the API
//! changes, what a sync imports or sees change on a provider, drift settled either way, paging,
//! and rows written before versions were recorded.

use promohub_sandbox::{Provider as Emulated, Redemption};
use promohub_test_support::TestDb;
use promohub_test_support::on_both_databases;
use promohub_test_support::server::{READER, TestServer, WRITER, WRITER_ACTOR};
use serde_json::{Value, json};

on_both_databases!(
    api_changes_are_listed_newest_first_with_before_and_after,
    history_pages_by_cursor_and_refuses_bad_arguments,
    an_import_and_redemptions_seen_by_a_sync_are_recorded_as_sync,
    drift_seen_adopted_and_pushed_is_recorded,
    rows_written_before_versions_were_kept_still_read,
);

const HISTORY: &str = "query($id: ID!, $first: Int, $after: String) {
  promoCode(id: $id) { history(first: $first, after: $after) {
    pageInfo { hasNextPage hasPreviousPage startCursor endCursor }
    nodes { id at actor action version details changes { field before after } } } } }";

async fn history(server: &TestServer, token: &str, id: &str, first: Value) -> Value {
    let data = server
        .ok(token, HISTORY, json!({ "id": id, "first": first }))
        .await;
    data["promoCode"]["history"].clone()
}

/// The entry's changes as `{field: [before, after]}`.
fn changes(entry: &Value) -> serde_json::Map<String, Value> {
    entry["changes"]
        .as_array()
        .expect("changes")
        .iter()
        .map(|c| {
            (
                c["field"].as_str().expect("field").to_string(),
                json!([c["before"], c["after"]]),
            )
        })
        .collect()
}

fn summary(page: &Value) -> Vec<(String, String, Value)> {
    page["nodes"]
        .as_array()
        .expect("nodes")
        .iter()
        .map(|e| {
            (
                e["action"].as_str().unwrap_or_default().to_string(),
                e["actor"].as_str().unwrap_or_default().to_string(),
                e["version"].clone(),
            )
        })
        .collect()
}

const UPDATE: &str = "mutation($id: ID!, $input: UpdatePromoCodeInput!) {
  updatePromoCode(id: $id, input: $input) { userErrors { code message } } }";

async fn update(server: &TestServer, id: &str, input: Value) {
    let data = server
        .ok(WRITER, UPDATE, json!({ "id": id, "input": input }))
        .await;
    assert_eq!(data["updatePromoCode"]["userErrors"], json!([]), "{data}");
}

async fn archive(server: &TestServer, id: &str) {
    let data = server
        .ok(
            WRITER,
            "mutation($id: ID!) { archivePromoCode(id: $id) { userErrors { code } } }",
            json!({ "id": id }),
        )
        .await;
    assert_eq!(data["archivePromoCode"]["userErrors"], json!([]), "{data}");
}

/// Create, update twice, archive: four entries, newest first, each with its fields.
async fn made_and_changed(server: &TestServer) -> String {
    let id = server
        .create(
            json!({ "code": "HISTORY1", "name": "Spring", "maxRedemptions": 10,
                        "discount": { "type": "PERCENTAGE", "percentOff": 15 },
                        "providers": ["WHOP"] }),
        )
        .await;
    update(server, &id, json!({ "name": "Spring sale" })).await;
    update(server, &id, json!({ "maxRedemptions": 20 })).await;
    archive(server, &id).await;
    id
}

async fn api_changes_are_listed_newest_first_with_before_and_after(db: TestDb) {
    let server = TestServer::start(db).await;
    let id = made_and_changed(&server).await;
    // A read token reads history.
    let page = history(&server, READER, &id, Value::Null).await;
    let actor = WRITER_ACTOR.to_string();
    assert_eq!(
        summary(&page),
        [
            ("ARCHIVED".to_string(), actor.clone(), json!(4)),
            ("UPDATED".to_string(), actor.clone(), json!(3)),
            ("UPDATED".to_string(), actor.clone(), json!(2)),
            ("CREATED".to_string(), actor, json!(1)),
        ]
    );
    let entries = page["nodes"].as_array().expect("nodes");
    assert_eq!(
        changes(&entries[0]),
        *json!({ "status": ["ACTIVE", "ARCHIVED"] })
            .as_object()
            .expect("object")
    );
    assert_eq!(
        changes(&entries[1]),
        *json!({ "maxRedemptions": [10, 20] })
            .as_object()
            .expect("object")
    );
    assert_eq!(
        changes(&entries[2]),
        *json!({ "name": ["Spring", "Spring sale"] })
            .as_object()
            .expect("object")
    );
    let created = changes(&entries[3]);
    assert_eq!(created["code"], json!([null, "HISTORY1"]));
    assert_eq!(created["name"], json!([null, "Spring"]));
    assert_eq!(created["maxRedemptions"], json!([null, 10]));
    assert_eq!(
        created["discount"],
        json!([null, { "type": "PERCENTAGE", "percentOff": 15.0 }])
    );
    assert_eq!(created["providers"], json!([null, ["WHOP"]]));
    assert_eq!(entries[3]["details"], json!({}));
    // Times are the changes' own, newest first.
    let times: Vec<chrono::DateTime<chrono::Utc>> = entries
        .iter()
        .map(|e| {
            e["at"]
                .as_str()
                .and_then(|t| t.parse().ok())
                .expect("an RFC 3339 time")
        })
        .collect();
    assert!(times.windows(2).all(|w| w[0] >= w[1]), "{times:?}");
    server.stop().await.expect("graceful stop");
}

async fn history_pages_by_cursor_and_refuses_bad_arguments(db: TestDb) {
    let server = TestServer::start(db).await;
    let id = made_and_changed(&server).await;
    let first = history(&server, READER, &id, json!(3)).await;
    assert_eq!(first["nodes"].as_array().map(Vec::len), Some(3));
    assert_eq!(first["pageInfo"]["hasNextPage"], true);
    assert_eq!(first["pageInfo"]["hasPreviousPage"], false);
    let after = first["pageInfo"]["endCursor"].clone();
    let data = server
        .ok(
            READER,
            HISTORY,
            json!({ "id": id, "first": 3, "after": after }),
        )
        .await;
    let second = &data["promoCode"]["history"];
    assert_eq!(summary(second).len(), 1, "{second}");
    assert_eq!(second["nodes"][0]["action"], "CREATED");
    assert_eq!(second["pageInfo"]["hasNextPage"], false);
    assert_eq!(second["pageInfo"]["hasPreviousPage"], true);
    // The pages together are the whole history, each entry once.
    let mut ids: Vec<Value> = first["nodes"]
        .as_array()
        .into_iter()
        .chain(second["nodes"].as_array())
        .flatten()
        .map(|e| e["id"].clone())
        .collect();
    ids.dedup();
    assert_eq!(ids.len(), 4);

    for (variables, field) in [
        (json!({ "id": id, "first": 0 }), "first"),
        (json!({ "id": id, "first": 101 }), "first"),
        (json!({ "id": id, "after": "not-a-cursor" }), "after"),
    ] {
        let (status, body) = server.gql(READER, HISTORY, variables).await;
        assert_eq!(status, 200, "{body}");
        assert_eq!(body["errors"][0]["extensions"]["code"], "INVALID", "{body}");
        assert_eq!(body["errors"][0]["extensions"]["field"], json!([field]));
    }
    server.stop().await.expect("graceful stop");
}

async fn sync(server: &TestServer) -> Value {
    let data = server
        .ok(
            WRITER,
            "mutation { syncFromProviders(provider: WHOP) { imported updated drifted errors } }",
            json!({}),
        )
        .await;
    data["syncFromProviders"].clone()
}

async fn an_import_and_redemptions_seen_by_a_sync_are_recorded_as_sync(db: TestDb) {
    let server = TestServer::start(db).await;
    // A code made on Whop's own API, not through PromoHub.
    let made = server
        .http
        .post(format!(
            "{}/v2/promo_codes",
            server.sandbox.base_url(Emulated::Whop)
        ))
        .bearer_auth(server.sandbox.key(Emulated::Whop))
        .json(
            &json!({ "code": "MADE_ON_WHOP", "amount_off": 12.5, "base_currency": "eur",
                       "promo_type": "flat_amount", "stock": 3, "unlimited_stock": false,
                       "number_of_intervals": 0, "plan_ids": [] }),
        )
        .send()
        .await
        .expect("Whop answers");
    assert_eq!(made.status().as_u16(), 201);
    let made: Value = made.json().await.expect("json");
    let report = sync(&server).await;
    assert_eq!(report["imported"], 1, "{report}");
    let data = server
        .ok(
            READER,
            "{ promoCodeByCode(code: \"MADE_ON_WHOP\") { id } }",
            json!({}),
        )
        .await;
    let id = data["promoCodeByCode"]["id"]
        .as_str()
        .expect("imported")
        .to_string();
    let page = history(&server, READER, &id, Value::Null).await;
    assert_eq!(
        summary(&page),
        [("IMPORTED".to_string(), "sync".to_string(), json!(1))]
    );
    let entry = &page["nodes"][0];
    assert_eq!(entry["details"]["provider"], "WHOP");
    assert_eq!(entry["details"]["externalId"], made["id"]);
    let imported = changes(entry);
    assert_eq!(imported["code"], json!([null, "MADE_ON_WHOP"]));
    assert_eq!(imported["maxRedemptions"], json!([null, 3]));

    server
        .sandbox
        .state()
        .redeem(
            Emulated::Whop,
            &Redemption {
                code: Some("MADE_ON_WHOP".into()),
                ..Redemption::default()
            },
        )
        .expect("redeemed");
    let report = sync(&server).await;
    assert_eq!(report["updated"], 1, "{report}");
    let page = history(&server, READER, &id, Value::Null).await;
    assert_eq!(
        summary(&page)[0],
        ("PROVIDER_CHANGED".to_string(), "sync".to_string(), json!(1))
    );
    assert_eq!(
        changes(&page["nodes"][0]),
        *json!({ "providers.WHOP.timesRedeemed": [0, 1] })
            .as_object()
            .expect("object")
    );
    // Nothing new seen, nothing recorded.
    sync(&server).await;
    let again = history(&server, READER, &id, Value::Null).await;
    assert_eq!(summary(&again).len(), 2, "{again}");
    server.stop().await.expect("graceful stop");
}

async fn drift_seen_adopted_and_pushed_is_recorded(db: TestDb) {
    let server = TestServer::start(db).await;
    let id = server
        .create(json!({ "code": "DRIFTING", "maxRedemptions": 10,
                        "discount": { "type": "PERCENTAGE", "percentOff": 5 },
                        "providers": ["WHOP"] }))
        .await;
    let data = server
        .ok(
            READER,
            "query($id: ID!) { promoCode(id: $id) { providers { externalId } } }",
            json!({ "id": id }),
        )
        .await;
    let whop_id = data["promoCode"]["providers"][0]["externalId"]
        .as_str()
        .expect("external id")
        .to_string();
    let change_on_whop = |body: Value| {
        let request = server
            .http
            .post(format!(
                "{}/v2/promo_codes/{whop_id}",
                server.sandbox.base_url(Emulated::Whop)
            ))
            .bearer_auth(server.sandbox.key(Emulated::Whop))
            .json(&body);
        async move {
            let response = request.send().await.expect("Whop answers");
            assert_eq!(response.status().as_u16(), 201, "changed on Whop");
        }
    };
    // Turned off on Whop: the sync sees it and records the link's new state.
    change_on_whop(json!({ "status": "inactive" })).await;
    sync(&server).await;
    let page = history(&server, READER, &id, Value::Null).await;
    assert_eq!(
        summary(&page)[0],
        ("PROVIDER_CHANGED".to_string(), "sync".to_string(), json!(1))
    );
    let seen = &page["nodes"][0];
    assert_eq!(
        changes(seen)["providers.WHOP.state"],
        json!(["SYNCED", "DISABLED_ON_PROVIDER"])
    );
    assert!(
        seen["details"]["message"]
            .as_str()
            .is_some_and(|m| m.contains("turned off there")),
        "{seen}"
    );

    let resolve = "mutation($id: ID!, $strategy: DriftStrategy!) {
      resolveDrift(id: $id, provider: WHOP, strategy: $strategy) { userErrors { code message } } }";
    let adopted = server
        .ok(
            WRITER,
            resolve,
            json!({ "id": id, "strategy": "ADOPT_THEIRS" }),
        )
        .await;
    assert_eq!(
        adopted["resolveDrift"]["userErrors"],
        json!([]),
        "{adopted}"
    );
    let page = history(&server, READER, &id, Value::Null).await;
    assert_eq!(
        summary(&page)[0],
        (
            "DRIFT_ADOPTED".to_string(),
            WRITER_ACTOR.to_string(),
            json!(2)
        )
    );
    let entry = &page["nodes"][0];
    assert_eq!(changes(entry)["status"], json!(["ACTIVE", "INACTIVE"]));
    assert_eq!(entry["details"]["adopted_from"]["provider"], "WHOP");

    // Back on on Whop; ours is now INACTIVE: pushed back.
    change_on_whop(json!({ "status": "active" })).await;
    let pushed = server
        .ok(
            WRITER,
            resolve,
            json!({ "id": id, "strategy": "PUSH_OURS" }),
        )
        .await;
    assert_eq!(pushed["resolveDrift"]["userErrors"], json!([]), "{pushed}");
    let page = history(&server, READER, &id, Value::Null).await;
    assert_eq!(
        summary(&page),
        [
            (
                "DRIFT_PUSHED".to_string(),
                WRITER_ACTOR.to_string(),
                json!(2)
            ),
            (
                "DRIFT_ADOPTED".to_string(),
                WRITER_ACTOR.to_string(),
                json!(2)
            ),
            ("PROVIDER_CHANGED".to_string(), "sync".to_string(), json!(1)),
            ("CREATED".to_string(), WRITER_ACTOR.to_string(), json!(1)),
        ]
    );
    let entry = &page["nodes"][0];
    assert_eq!(
        changes(entry)["providers.WHOP.state"],
        json!(["SYNCED", "PENDING"])
    );
    assert_eq!(entry["details"]["strategy"], "PUSH_OURS");
    server.stop().await.expect("graceful stop");
}

/// Rows of round 1 (no version, a create as `{"created": ..}`, an import's old keys) read as
/// entries; the migration kept them.
async fn rows_written_before_versions_were_kept_still_read(db: TestDb) {
    use sea_orm::{ConnectionTrait, Statement};
    let server = TestServer::start(db).await;
    let id = server
        .create(
            json!({ "code": "OLDROWS", "discount": { "type": "PERCENTAGE", "percentOff": 5 },
                        "providers": ["FLEX"] }),
        )
        .await;
    let connection = sea_orm::Database::connect(server.db.url.as_str())
        .await
        .expect("database");
    let backend = connection.get_database_backend();
    for (action, changes) in [
        (
            "create",
            r#"{"created":{"code":"OLDROWS","providers":["FLEX"]}}"#,
        ),
        (
            "import",
            r#"{"imported_from":"FLEX","external_id":"fpromo_1"}"#,
        ),
    ] {
        connection
            .execute_raw(Statement::from_sql_and_values(
                backend,
                match backend {
                    sea_orm::DatabaseBackend::Postgres => {
                        "INSERT INTO audit_log (promo_code_id, actor, action, changes, at) VALUES ($1, $2, $3, $4, $5)"
                    }
                    _ => {
                        "INSERT INTO audit_log (promo_code_id, actor, action, changes, at) VALUES (?, ?, ?, ?, ?)"
                    }
                },
                [
                    id.clone().into(),
                    "promohub-worker".into(),
                    action.into(),
                    changes.into(),
                    chrono::Utc::now().into(),
                ],
            ))
            .await
            .expect("an old row");
    }
    let page = history(&server, READER, &id, Value::Null).await;
    let entries = page["nodes"].as_array().expect("nodes");
    assert_eq!(entries.len(), 3, "{page}");
    assert_eq!(entries[0]["action"], "IMPORTED");
    assert_eq!(entries[0]["version"], Value::Null);
    assert_eq!(
        entries[0]["details"],
        json!({ "imported_from": "FLEX", "external_id": "fpromo_1" })
    );
    assert_eq!(entries[1]["action"], "CREATED");
    assert_eq!(
        changes(&entries[1]),
        *json!({ "code": [null, "OLDROWS"], "providers": [null, ["FLEX"]] })
            .as_object()
            .expect("object")
    );
    server.stop().await.expect("graceful stop");
}
