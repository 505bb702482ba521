//! PromoHub's domain: the promo-code model and its rules, storage (sea-orm, SQLite or
//! PostgreSQL), one adapter per provider, and the write-through service.

pub mod currency;
pub mod entity;
pub mod error;
pub mod history;
pub mod listing;
pub mod metrics;
pub mod migration;
pub mod model;
pub mod providers;
pub mod rules;
pub mod service;
pub mod store;
pub mod sync;

#[cfg(any(test, feature = "test-support"))]
pub mod testing;

pub use error::{ErrorCode, ServiceError, UserError};
pub use listing::{ListFilter, ListQuery, PageOf, SortField, UnreadableRow};
pub use model::*;
pub use service::{PromoService, ServiceConfig};
pub use sync::SyncReport;
