//! After the load: waiting for convergence, and what the providers hold against what was
//! accepted.

use std::collections::BTreeMap;
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use promohub_sandbox::{Provider, RunningSandbox};
use serde_json::{Value, json};

use crate::Tally;

/// A code as PromoHub holds it.
struct Code {
    id: String,
    code: String,
    status: String,
    /// (provider, state), provider as the sandbox names it.
    links: Vec<(Provider, String)>,
}

/// Every code, page by page.
async fn all_codes(base: &str, token: &str) -> anyhow::Result<Vec<Code>> {
    let http = reqwest::Client::new();
    let mut codes = Vec::new();
    let mut after = Value::Null;
    loop {
        let answer: Value = http
            .post(format!("{base}/graphql"))
            .bearer_auth(token)
            .json(&json!({
                "query": "query($after: String) { promoCodes(first: 200, after: $after) { nodes { id code status providers { provider state } } pageInfo { hasNextPage endCursor } } }",
                "variables": { "after": after } }))
            .send()
            .await
            .context("reading codes")?
            .json()
            .await
            .context("reading codes: not JSON")?;
        let page = &answer["data"]["promoCodes"];
        let Some(nodes) = page["nodes"].as_array() else {
            bail!("reading codes: {answer}");
        };
        for node in nodes {
            let links = node["providers"]
                .as_array()
                .into_iter()
                .flatten()
                .filter_map(|l| {
                    let provider = l["provider"].as_str()?.to_lowercase().parse().ok()?;
                    Some((provider, l["state"].as_str()?.to_string()))
                })
                .collect();
            codes.push(Code {
                id: node["id"].as_str().unwrap_or_default().to_string(),
                code: node["code"].as_str().unwrap_or_default().to_string(),
                status: node["status"].as_str().unwrap_or_default().to_string(),
                links,
            });
        }
        if page["pageInfo"]["hasNextPage"] != true {
            return Ok(codes);
        }
        after = page["pageInfo"]["endCursor"].clone();
    }
}

/// Polls until every link is SYNCED; false at the deadline.
pub async fn wait_converged(base: &str, token: &str, within: Duration) -> anyhow::Result<bool> {
    let deadline = Instant::now() + within;
    loop {
        let codes = all_codes(base, token).await?;
        if codes
            .iter()
            .all(|c| c.links.iter().all(|(_, s)| s == "SYNCED"))
        {
            return Ok(true);
        }
        if Instant::now() > deadline {
            return Ok(false);
        }
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
}

pub struct Report {
    codes: usize,
    links: usize,
    states: BTreeMap<String, usize>,
    /// (provider, code, copies).
    duplicates: Vec<(Provider, String, usize)>,
    /// What was accepted and is not where it should be.
    lost: Vec<String>,
    /// A SYNCED link whose provider shows another status than PromoHub: a lost update.
    mismatched: Vec<String>,
}

pub async fn report(
    base: &str,
    token: &str,
    sandbox: &RunningSandbox,
    tally: &Tally,
) -> anyhow::Result<Report> {
    let codes = all_codes(base, token).await?;
    let mut held = BTreeMap::new();
    let mut duplicates = Vec::new();
    for provider in Provider::ALL {
        let mut copies: BTreeMap<String, Vec<bool>> = BTreeMap::new();
        for code in sandbox.state().held_codes(provider) {
            copies
                .entry(code.code.to_lowercase())
                .or_default()
                .push(code.active);
        }
        duplicates.extend(
            copies
                .iter()
                .filter(|(_, c)| c.len() > 1)
                .map(|(code, c)| (provider, code.clone(), c.len())),
        );
        held.insert(provider, copies);
    }
    let on = |provider: Provider, code: &str| held[&provider].get(&code.to_lowercase());
    let by_id: BTreeMap<&str, &Code> = codes.iter().map(|c| (c.id.as_str(), c)).collect();
    let mut lost = Vec::new();
    let accepted = tally
        .accepted
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .clone();
    for (id, code) in &accepted {
        let Some(stored) = by_id.get(id.as_str()) else {
            lost.push(format!("{code} ({id}) accepted but not in PromoHub"));
            continue;
        };
        for (provider, _) in &stored.links {
            if on(*provider, code).is_none() {
                lost.push(format!(
                    "{code} accepted but missing on {}",
                    provider.name()
                ));
            }
        }
    }
    let mut mismatched = Vec::new();
    for code in &codes {
        for (provider, state) in &code.links {
            let copies = on(*provider, &code.code);
            if state == "SYNCED"
                && let Some(copies) = copies
                && copies
                    .iter()
                    .any(|active| *active != (code.status == "ACTIVE"))
            {
                mismatched.push(format!(
                    "{} is {} here, not on {}",
                    code.code,
                    code.status,
                    provider.name()
                ));
            }
        }
    }
    let mut states = BTreeMap::new();
    for (_, state) in codes.iter().flat_map(|c| &c.links) {
        *states.entry(state.clone()).or_insert(0) += 1;
    }
    Ok(Report {
        codes: codes.len(),
        links: codes.iter().map(|c| c.links.len()).sum(),
        states,
        duplicates,
        lost,
        mismatched,
    })
}

impl Report {
    /// Prints the numbers and the verdict; true when the target is met.
    pub fn print(&self, tally: &Tally, converged: Option<Duration>, lease_secs: u64) -> bool {
        let n = |a: &std::sync::atomic::AtomicUsize| a.load(Ordering::SeqCst);
        let accepted = n(&tally.creates_ok) + n(&tally.updates_ok);
        println!("--- soak result ---");
        println!(
            "sent: {} creates, {} updates",
            n(&tally.creates_sent),
            n(&tally.updates_sent)
        );
        println!(
            "accepted (answered OK): {accepted} ({} creates, {} updates); answered with userErrors: {}; unanswered after 20 s of retries: {}; answers replayed from an Idempotency-Key: {}",
            n(&tally.creates_ok),
            n(&tally.updates_ok),
            n(&tally.rejected),
            n(&tally.unanswered),
            n(&tally.replayed)
        );
        println!(
            "codes in PromoHub: {}; provider links: {}; by state: {:?}",
            self.codes, self.links, self.states
        );
        let synced = self.states.get("SYNCED").copied().unwrap_or(0);
        println!("synced: {synced} of {} links", self.links);
        println!("duplicates on the providers: {}", self.duplicates.len());
        for (provider, code, copies) in self.duplicates.iter().take(20) {
            println!("  {code} {copies} times on {}", provider.name());
        }
        println!("lost: {}", self.lost.len());
        for line in self.lost.iter().take(20) {
            println!("  {line}");
        }
        println!(
            "status differs on a SYNCED provider (lost update): {}",
            self.mismatched.len()
        );
        for line in self.mismatched.iter().take(20) {
            println!("  {line}");
        }
        let limit = Duration::from_secs(2 * lease_secs);
        match converged {
            Some(time) => println!(
                "time to converge after faults stopped: {:.1} s (target: within 2 x lease = {} s)",
                time.as_secs_f64(),
                limit.as_secs()
            ),
            None => println!(
                "did NOT converge before the deadline (target: {} s)",
                limit.as_secs()
            ),
        }
        let passed = self.lost.is_empty()
            && self.duplicates.is_empty()
            && self.mismatched.is_empty()
            && converged.is_some_and(|t| t <= limit);
        println!(
            "target (0 lost, 0 duplicates, converged within {} s): {}",
            limit.as_secs(),
            if passed { "MET" } else { "MISSED" }
        );
        passed
    }
}
