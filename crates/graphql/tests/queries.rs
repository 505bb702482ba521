//! A page of codes costs the same few database queries however many codes it holds and
//! whatever fields are asked: no query per code, none per provider link.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use promohub_domain::testing::sandbox_providers;
use promohub_domain::{
    CreatePromoCodeInput, DiscountInput, DiscountType, PromoService, Provider, ServiceConfig,
};
use promohub_sandbox::{RunningSandbox, SandboxConfig};

const EVERY_FIELD: &str = "{ promoCodes(first: 200) { totalCount
    pageInfo { hasNextPage hasPreviousPage startCursor endCursor }
    edges { cursor node { id code } }
    nodes { id code name status version timesRedeemed expiresAt createdAt updatedAt maxRedemptions
            maxRedemptionsPerCustomer metadata discount { type percentOff amountOff currency }
            duration { type periods } restrictions { planIds productIds customerId newCustomersOnly }
            providers { provider externalId state lastError attempts syncedAt } } } }";

async fn queries_for_a_page(
    schema: &promohub_graphql::schema::PromoHubSchema,
    counter: &AtomicUsize,
) -> usize {
    counter.store(0, Ordering::SeqCst);
    let response = schema.execute(EVERY_FIELD).await;
    assert!(response.errors.is_empty(), "{:?}", response.errors);
    counter.load(Ordering::SeqCst)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_page_costs_a_constant_number_of_queries() {
    let db = promohub_domain::testing::sqlite();
    let sandbox = RunningSandbox::start(SandboxConfig::default())
        .await
        .expect("sandbox");
    let counter = Arc::new(AtomicUsize::new(0));
    let mut connection = promohub_domain::store::connect(&db.url).await.expect("db");
    let counted = counter.clone();
    connection.set_metric_callback(move |_| {
        counted.fetch_add(1, Ordering::SeqCst);
    });
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
    let few = queries_for_a_page(&schema, &counter).await;
    create(3, 40).await;
    let many = queries_for_a_page(&schema, &counter).await;
    assert_eq!(
        few, many,
        "the page of 40 cost more queries than the page of 3"
    );
    assert!(
        few <= 3,
        "{few} queries for one page: count, page, provider links"
    );
}
