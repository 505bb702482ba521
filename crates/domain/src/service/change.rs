//! Changing a code: update and archive. Under the code's lease, the change is written to the
//! providers whose part of the code changed; a permanent rejection by any of them puts the
//! others back and changes nothing here.

use std::collections::BTreeMap;

use chrono::Utc;
use futures::future::join_all;
use serde_json::Value;

use super::{PromoService, after_attempt, not_undone, rejected};
use crate::error::{ErrorCode, ServiceError, UserError};
use crate::model::{
    PromoCode, PromoCodeStatus, Provider, ProviderSync, SyncState, UpdatePromoCodeInput,
};
use crate::providers::ProviderError;

impl PromoService {
    /// Changes the fields given. Fields a provider of the code cannot change give IMMUTABLE;
    /// a permanent rejection by a provider changes nothing here.
    pub async fn update(
        &self,
        id: &str,
        input: UpdatePromoCodeInput,
        actor: &str,
    ) -> Result<PromoCode, ServiceError> {
        let token = uuid::Uuid::new_v4().to_string();
        let current = self.lease(id, input.expected_version, &token).await?;
        let _held = self.keep(id, &token);
        match crate::rules::validate_update(&current, &input, Utc::now()) {
            Ok(next) => self.apply(current, next, &token, actor, "update").await,
            Err(errors) => {
                self.release(id, &token).await;
                Err(ServiceError::User(errors))
            }
        }
    }

    /// Archives the code here and retires it on every provider it lives on.
    pub async fn archive(&self, id: &str, actor: &str) -> Result<PromoCode, ServiceError> {
        let token = uuid::Uuid::new_v4().to_string();
        let current = self.lease(id, None, &token).await?;
        let _held = self.keep(id, &token);
        if current.status == PromoCodeStatus::Archived {
            self.release(id, &token).await;
            return Err(UserError::new(
                &["id"],
                ErrorCode::Archived,
                "the code is already archived",
            )
            .into());
        }
        let mut next = current.clone();
        next.status = PromoCodeStatus::Archived;
        self.apply(current, next, &token, actor, "archive").await
    }

    /// Writes `next` to the providers whose part of the code changed, then stores it. Settles
    /// the lease on every path: released when nothing reached a provider or a rejection was put
    /// back; when the providers took the change but it cannot be stored, it is left to expire,
    /// and recovery then writes the stored state to every provider again.
    async fn apply(
        &self,
        current: PromoCode,
        next: PromoCode,
        token: &str,
        actor: &str,
        action: &str,
    ) -> Result<PromoCode, ServiceError> {
        let changes = crate::rules::diff(&current, &next);
        if changes.is_empty() {
            self.release(&current.id, token).await;
            return Ok(current);
        }
        let changed = crate::rules::changes(&current, &next);
        // A provider is written only when a field it keeps changed (Whop keeps no name).
        let touches = |provider: Provider| {
            let caps = crate::providers::capabilities(provider);
            changed
                .iter()
                .any(|(field, _, _)| caps.support(*field).needs_write())
        };
        // Providers still waiting for their create get the latest state when it is retried.
        let targets: Vec<&ProviderSync> = current
            .providers
            .iter()
            // A code a sync found deleted on a provider is not written there by an update (it
            // would only fail): it stays DELETED_ON_PROVIDER until resolveDrift settles it.
            .filter(|s| s.state != SyncState::DeletedOnProvider)
            .filter(|s| s.external_id.is_some() && touches(s.provider))
            .collect();
        let results = join_all(targets.iter().map(|sync| async {
            let result = match self.providers.get(sync.provider) {
                Some(adapter) => adapter.push(sync, &next).await,
                None => Err(ProviderError::not_configured(sync.provider)),
            };
            (sync.provider, result)
        }))
        .await;

        let permanent: Vec<ProviderError> = results
            .iter()
            .filter_map(|(_, r)| r.as_ref().err().filter(|e| !e.is_transient()).cloned())
            .collect();
        if !permanent.is_empty() {
            // Put back what the other providers already took, so nothing changed anywhere.
            let current = &current;
            let mut reverts = Vec::new();
            for (provider, result) in &results {
                if let (Ok(()), Some(sync), Some(adapter)) = (
                    result,
                    current.provider(*provider),
                    self.providers.get(*provider),
                ) {
                    reverts.push(async move {
                        let error = adapter.push(sync, current).await.err()?;
                        tracing::error!(code = %current.code, %provider, error = %error.message,
                            "cannot revert a provider after another rejected the change");
                        Some(error)
                    });
                }
            }
            let failed_reverts: Vec<ProviderError> =
                join_all(reverts).await.into_iter().flatten().collect();
            let mut errors = rejected(&permanent).user_errors().to_vec();
            errors.extend(
                failed_reverts
                    .iter()
                    .map(|e| not_undone(e, "putting back the previous state after the rejection")),
            );
            if !failed_reverts.is_empty() {
                // The provider holds the change PromoHub refused: re-queue it to converge.
                for e in &failed_reverts {
                    self.requeue(&current.id, e.provider, token).await?;
                }
            }
            self.release(&current.id, token).await;
            return Err(ServiceError::User(errors));
        }

        let now = Utc::now();
        let mut stored = next;
        stored.version = current.version + 1;
        let mut failures = BTreeMap::new();
        for (provider, result) in results {
            if let Some(sync) = stored.providers.iter_mut().find(|s| s.provider == provider) {
                // Attempts count for the latest change: this one starts from none.
                let fresh = ProviderSync {
                    attempts: 0,
                    ..sync.clone()
                };
                *sync = after_attempt(fresh, result.as_ref().map(|()| None), now);
            }
            if let Err(error) = result {
                tracing::warn!(code = %stored.code, %provider, error = %error.message,
                    "provider write failed for now; it will be retried");
                failures.insert(provider, error);
            }
        }
        self.commit(
            &stored,
            token,
            Some(&failures),
            actor,
            action,
            Value::Object(changes),
        )
        .await?;
        Ok(self.read_back(stored).await)
    }
}
