//! sea-orm entities. Enums are stored as strings (the model's `as_str`), JSON as text, so the
//! same schema works on SQLite and PostgreSQL.

pub mod audit_log;
pub mod bulk_job;
pub mod bulk_job_code;
pub mod idempotency_key;
pub mod promo_code;
pub mod provider_cleanup;
pub mod provider_link;
