//! Supervised background tasks. A task that panics, returns an error, or ends before shutdown is
//! logged with its name, attempt and cause, and started again after a backoff (doubling from
//! `initial` up to `max`; back to `initial` once a run lasted longer than `max`). While a
//! required task is not running, `/readyz` answers 503. Restarts are counted per task
//! (`promohub_task_restarts_total`).

use std::collections::BTreeMap;
use std::future::Future;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use futures::FutureExt as _;
use tokio::sync::watch;
use tokio::task::JoinHandle;

/// Restart delays of one task.
#[derive(Clone, Copy, Debug)]
pub struct Backoff {
    pub initial: Duration,
    pub max: Duration,
}

impl Default for Backoff {
    fn default() -> Self {
        Self {
            initial: Duration::from_secs(1),
            max: Duration::from_secs(60),
        }
    }
}

impl Backoff {
    /// The delay before restart number `restart` (0 for the first restart).
    pub fn delay(&self, restart: u32) -> Duration {
        let factor = 2u32.saturating_pow(restart.min(30));
        self.initial.saturating_mul(factor).min(self.max)
    }
}

#[derive(Clone, Debug, Default)]
struct TaskState {
    required: bool,
    running: bool,
    restarts: u64,
    last_error: Option<String>,
}

/// What the supervisor knows of one task, for `/readyz` and `/metrics`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TaskStatus {
    pub name: &'static str,
    pub required: bool,
    pub running: bool,
    pub restarts: u64,
}

/// Runs background tasks and keeps them running until shutdown.
#[derive(Clone, Default)]
pub struct Supervisor {
    tasks: Arc<Mutex<BTreeMap<&'static str, TaskState>>>,
    on_restart: Option<Arc<dyn Fn(&'static str) + Send + Sync>>,
}

impl std::fmt::Debug for Supervisor {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Supervisor")
            .field("tasks", &self.statuses())
            .finish()
    }
}

fn panic_message(payload: &(dyn std::any::Any + Send)) -> String {
    payload
        .downcast_ref::<&str>()
        .map(|s| (*s).to_string())
        .or_else(|| payload.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "a panic without a message".to_string())
}

impl Supervisor {
    pub fn new() -> Self {
        Self::default()
    }

    /// Calls `hook` with the task's name on every restart (the metrics counter).
    pub fn on_restart(mut self, hook: impl Fn(&'static str) + Send + Sync + 'static) -> Self {
        self.on_restart = Some(Arc::new(hook));
        self
    }

    fn update(&self, name: &'static str, f: impl FnOnce(&mut TaskState)) {
        let mut tasks = self
            .tasks
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        f(tasks.entry(name).or_default());
    }

    pub fn statuses(&self) -> Vec<TaskStatus> {
        self.tasks
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .iter()
            .map(|(name, state)| TaskStatus {
                name,
                required: state.required,
                running: state.running,
                restarts: state.restarts,
            })
            .collect()
    }

    /// The required tasks that are not running now, with their last error.
    pub fn down(&self) -> Vec<(&'static str, Option<String>)> {
        self.tasks
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .iter()
            .filter(|(_, s)| s.required && !s.running)
            .map(|(name, s)| (*name, s.last_error.clone()))
            .collect()
    }

    /// Starts `make()` as task `name` and restarts it whenever it panics, fails, or ends
    /// before `shutdown` turns true. The returned handle ends after shutdown.
    pub fn spawn<F, Fut>(
        &self,
        name: &'static str,
        required: bool,
        backoff: Backoff,
        mut shutdown: watch::Receiver<bool>,
        mut make: F,
    ) -> JoinHandle<()>
    where
        F: FnMut() -> Fut + Send + 'static,
        Fut: Future<Output = anyhow::Result<()>> + Send + 'static,
    {
        // Counted as running from here: a task being started is not down.
        self.update(name, |s| {
            s.required = required;
            s.running = true;
        });
        let supervisor = self.clone();
        tokio::spawn(async move {
            let mut restart: u32 = 0;
            loop {
                if *shutdown.borrow() {
                    break;
                }
                supervisor.update(name, |s| s.running = true);
                let started = tokio::time::Instant::now();
                // A panic is caught here, not by the runtime, so it is seen and logged.
                let outcome = std::panic::AssertUnwindSafe(make()).catch_unwind().await;
                let stopping = *shutdown.borrow();
                let cause = match outcome {
                    Ok(Ok(())) if stopping => None,
                    Ok(Ok(())) => Some("it ended before shutdown".to_string()),
                    Ok(Err(error)) => Some(format!("{error:#}")),
                    Err(payload) => Some(format!("panicked: {}", panic_message(&*payload))),
                };
                let Some(cause) = cause else {
                    supervisor.update(name, |s| s.running = false);
                    break;
                };
                if started.elapsed() > backoff.max {
                    restart = 0;
                }
                let delay = backoff.delay(restart);
                restart = restart.saturating_add(1);
                supervisor.update(name, |s| {
                    s.running = false;
                    s.restarts += 1;
                    s.last_error = Some(cause.clone());
                });
                if let Some(hook) = &supervisor.on_restart {
                    hook(name);
                }
                tracing::error!(
                    task = name,
                    restart,
                    delay_ms = u64::try_from(delay.as_millis()).unwrap_or(u64::MAX),
                    cause = %cause,
                    "background task failed; restarting after a backoff"
                );
                tokio::select! {
                    () = tokio::time::sleep(delay) => {}
                    _ = shutdown.wait_for(|s| *s) => break,
                }
            }
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicU32, Ordering};

    fn fast() -> Backoff {
        Backoff {
            initial: Duration::from_millis(10),
            max: Duration::from_millis(40),
        }
    }

    #[test]
    fn backoff_doubles_up_to_its_cap() {
        let b = fast();
        assert_eq!(b.delay(0), Duration::from_millis(10));
        assert_eq!(b.delay(1), Duration::from_millis(20));
        assert_eq!(b.delay(2), Duration::from_millis(40));
        assert_eq!(b.delay(60), Duration::from_millis(40));
    }

    /// Fault injection: a task that panics, then fails, then runs until shutdown.
    #[tokio::test]
    async fn a_failing_task_is_restarted_and_reported_down_meanwhile() {
        let restarts_seen = Arc::new(AtomicU32::new(0));
        let seen = restarts_seen.clone();
        let supervisor = Supervisor::new().on_restart(move |name| {
            assert_eq!(name, "flaky");
            seen.fetch_add(1, Ordering::SeqCst);
        });
        let (stop, stopped) = watch::channel(false);
        let runs = Arc::new(AtomicU32::new(0));
        let (release, released) = watch::channel(false);
        let task = {
            let runs = runs.clone();
            let stopped = stopped.clone();
            supervisor.spawn("flaky", true, fast(), stopped.clone(), move || {
                let run = runs.fetch_add(1, Ordering::SeqCst);
                let mut released = released.clone();
                let mut stopped = stopped.clone();
                async move {
                    // Held until the test has seen the task down.
                    let _ = released.wait_for(|r| *r).await;
                    match run {
                        0 => panic!("injected fault"),
                        1 => anyhow::bail!("injected error"),
                        _ => {
                            let _ = stopped.wait_for(|s| *s).await;
                            Ok(())
                        }
                    }
                }
            })
        };
        tokio::time::sleep(Duration::from_millis(20)).await;
        assert!(supervisor.down().is_empty(), "running: {supervisor:?}");
        release.send(true).expect("release");
        let deadline = tokio::time::Instant::now() + Duration::from_secs(5);
        while runs.load(Ordering::SeqCst) < 3 {
            assert!(tokio::time::Instant::now() < deadline, "not restarted");
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
        let status = &supervisor.statuses()[0];
        assert_eq!(status.restarts, 2);
        assert!(status.running);
        assert_eq!(restarts_seen.load(Ordering::SeqCst), 2);
        assert!(supervisor.down().is_empty());
        stop.send(true).expect("stop");
        tokio::time::timeout(Duration::from_secs(5), task)
            .await
            .expect("stops on shutdown")
            .expect("no panic escapes");
        assert_eq!(
            supervisor.statuses()[0].restarts,
            2,
            "a clean stop is no restart"
        );
    }

    #[tokio::test]
    async fn a_task_that_keeps_failing_stays_down_between_runs() {
        let supervisor = Supervisor::new();
        let (stop, stopped) = watch::channel(false);
        let slow = Backoff {
            initial: Duration::from_secs(30),
            max: Duration::from_secs(30),
        };
        let task = supervisor.spawn("broken", true, slow, stopped, || async {
            anyhow::bail!("always fails")
        });
        let deadline = tokio::time::Instant::now() + Duration::from_secs(5);
        while supervisor.down().is_empty() {
            assert!(tokio::time::Instant::now() < deadline, "never down");
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
        let down = supervisor.down();
        assert_eq!(down[0].0, "broken");
        assert!(
            down[0]
                .1
                .as_deref()
                .is_some_and(|e| e.contains("always fails"))
        );
        // Shutdown does not wait out the backoff.
        stop.send(true).expect("stop");
        tokio::time::timeout(Duration::from_secs(2), task)
            .await
            .expect("stops during its backoff")
            .expect("no panic escapes");
    }
}
