//! PromoHub's domain: the promo-code model and its rules, storage (sea-orm, SQLite or
//! PostgreSQL), one connector per provider, and the write-through service.

pub mod bulk;
pub mod currency;
pub mod entity;
pub mod error;
pub mod events;
pub mod history;
pub mod idempotency;
pub mod listing;
pub mod metrics;
pub mod migration;
pub mod model;
pub mod providers;
pub mod rules;
pub mod service;
pub mod store;

pub use error::{ErrorCode, ServiceError, UserError};
pub use listing::{ListFilter, ListQuery, PageOf, SortField, UnreadableRow};
pub use model::*;
pub use service::SyncReport;
pub use service::{PromoService, ServiceConfig};
