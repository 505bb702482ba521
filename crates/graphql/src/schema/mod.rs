//! The GraphQL schema of contract/schema.graphql, over the domain service. Doc comments are the
//! descriptions frontends see in GraphiQL.

use async_graphql::Schema;

use promohub_domain as domain;

mod bulk;
mod code;
mod context;
mod enums;
mod history;
mod inputs;
mod mutation;
mod query;
mod results;
mod subscription;

pub use code::{PromoCode, ProviderLinksLoader, with_request_data};
pub use context::{Caller, DateTime, PageInfo};
pub use enums::*;
pub use history::*;
pub use inputs::*;
pub use mutation::MutationRoot;
pub use query::QueryRoot;
pub use results::*;
pub use subscription::{PromoCodeEvent, ProviderSyncEvent, SubscriptionRoot};

pub type PromoHubSchema = Schema<QueryRoot, MutationRoot, SubscriptionRoot>;

/// The schema over a service. Depth, cost and size limits are checked before execution by
/// `crate::limits` (async-graphql's own visitors follow every fragment spread, which is what
/// made doubling fragments exponential).
pub fn build(service: domain::PromoService) -> PromoHubSchema {
    Schema::build(QueryRoot, MutationRoot, SubscriptionRoot)
        .data(service)
        .finish()
}

/// The schema without a service, for printing the SDL.
pub fn sdl() -> String {
    Schema::build(QueryRoot, MutationRoot, SubscriptionRoot)
        .finish()
        .sdl()
}
