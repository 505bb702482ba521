//! A page of codes costs the same few database queries however many codes it holds and
//! whatever fields are asked: no query per code, none per provider link.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use promohub_domain::{
    CreatePromoCodeInput, DiscountInput, DiscountType, PromoService, Provider, ServiceConfig,
};
use promohub_sandbox::{RunningSandbox, SandboxConfig};
use promohub_test_support::sandbox_providers;

const EVERY_FIELD: &str = "{ promoCodes(first: 200) { totalCount
    pageInfo { hasNextPage hasPreviousPage startCursor endCursor }
    edges { cursor node { id code } }
    nodes { id code name status version timesRedeemed expiresAt createdAt updatedAt maxRedemptions
            maxRedemptionsPerCustomer metadata discount { type percentOff amountOff currency }
            duration { type periods } restrictions { planIds productIds customerId newCustomersOnly }
            providers { provider externalId state lastError attempts syncedAt } } } }";

async fn queries_for_a_page(
    schema: &promohub_graphql::schema::PromoHubSchema,
    service: &PromoService,
) -> usize {
    queries_for(schema, service, EVERY_FIELD).await
}

/// How many SQL statements one request ran.
async fn queries_for(
    schema: &promohub_graphql::schema::PromoHubSchema,
    service: &PromoService,
    query: &str,
) -> usize {
    // The request's own count of SQL statements: what the server logs per request.
    let logged = Arc::new(AtomicUsize::new(0));
    let request = promohub_graphql::schema::with_request_data(
        async_graphql::Request::new(query),
        service,
        logged.clone(),
    );
    let response =
        promohub_domain::store::counting_queries(logged.clone(), schema.execute(request)).await;
    assert!(response.errors.is_empty(), "{:?}", response.errors);
    logged.load(Ordering::SeqCst)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_page_costs_a_constant_number_of_queries() {
    let db = promohub_test_support::sqlite();
    let sandbox = RunningSandbox::start(SandboxConfig::default())
        .await
        .expect("sandbox");
    let connection = promohub_domain::store::connect(&db.url).await.expect("db");
    let service = PromoService::new(
        connection,
        sandbox_providers(&sandbox, Duration::from_secs(2)),
        ServiceConfig {
            sync_interval: None,
            ..ServiceConfig::default()
        },
    );
    let schema = promohub_graphql::schema::build(service.clone());
    let create = |from: usize, to: usize| {
        let service = service.clone();
        async move {
            for i in from..to {
                service
                    .create(
                        CreatePromoCodeInput {
                            code: format!("PAGE{i:03}"),
                            discount: DiscountInput {
                                kind: Some(DiscountType::Percentage),
                                percent_off: Some(10.0),
                                ..DiscountInput::default()
                            },
                            providers: vec![Provider::Whop, Provider::Fynn],
                            ..CreatePromoCodeInput::default()
                        },
                        "test",
                    )
                    .await
                    .expect("created");
            }
        }
    };
    create(0, 3).await;
    let few = queries_for_a_page(&schema, &service).await;
    create(3, 40).await;
    let many = queries_for_a_page(&schema, &service).await;
    assert_eq!(
        few, many,
        "the page of 40 cost more queries than the page of 3"
    );
    assert_eq!(
        few, 3,
        "one page of every field: the page, its links, the count"
    );
    // What is not asked for is not read: no COUNT without totalCount, no links without providers.
    for (query, expected) in [
        ("{ promoCodes(first: 50) { nodes { id code } } }", 1),
        (
            "{ promoCodes(first: 50) { edges { node { providers { state } } } } }",
            2,
        ),
        ("{ promoCodes(first: 50) { totalCount } }", 2),
        (
            "{ promoCodes(first: 50, sortBy: EXPIRES_AT) { nodes { id } } }",
            2,
        ),
    ] {
        assert_eq!(
            queries_for(&schema, &service, query).await,
            expected,
            "{query}"
        );
    }
}
