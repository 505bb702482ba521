//! The PromoHub server: the GraphQL API of contract/schema.graphql and the HTTP surface of
//! contract/runtime.md, over the domain service and its background worker.

pub mod config;
mod demo;
pub mod http;
pub mod limits;
pub mod metrics;
pub mod schema;
mod server;
pub mod supervisor;

use std::future::Future;
use std::sync::Arc;

use anyhow::Context;
use promohub_domain::PromoService;
use promohub_domain::providers::Providers;

pub use config::Config;
use http::AppState;

/// Runs the server on `listener` until `shutdown` resolves: migrations, the worker, the API.
/// In-flight requests finish before it returns. `/metrics` gets a listener of its own when
/// `PROMOHUB_METRICS_LISTEN` is set.
pub async fn serve(
    config: Config,
    listener: tokio::net::TcpListener,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> anyhow::Result<()> {
    let metrics_listener =
        match config.http.metrics.listen {
            Some(address) => Some(tokio::net::TcpListener::bind(address).await.with_context(
                || format!("cannot listen on {address} (PROMOHUB_METRICS_LISTEN)"),
            )?),
            None => None,
        };
    serve_with(config, listener, metrics_listener, shutdown).await
}

/// [`serve`] with the metrics listener given (when `config.http.metrics.listen` is set).
pub async fn serve_with(
    mut config: Config,
    listener: tokio::net::TcpListener,
    metrics_listener: Option<tokio::net::TcpListener>,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> anyhow::Result<()> {
    config.check()?;
    anyhow::ensure!(
        metrics_listener.is_some() == config.http.metrics.listen.is_some(),
        "a metrics listener goes with PROMOHUB_METRICS_LISTEN"
    );
    // Held to the end: the sandboxes outlive the worker that writes to them.
    let _demo = if config.is_demo() {
        Some(demo::start(&mut config).await?)
    } else {
        None
    };
    let tokens = config.tokens.clone().context(
        "PROMOHUB_API_TOKENS is required when a provider is configured (e.g. write:<secret>)",
    )?;
    let db = promohub_domain::store::connect(&config.database_url).await?;
    let mut providers = Providers::new();
    for (provider, provider_config) in &config.providers {
        providers = providers
            .with(*provider, provider_config)
            .with_context(|| format!("configuring {provider}"))?;
    }
    let service = PromoService::new(db, providers, config.service.clone());
    let (stop_worker, worker_stopped) = tokio::sync::watch::channel(false);
    let listener_stopped = worker_stopped.clone();
    let metrics = Arc::new(http::HttpMetrics::new(
        config.http.metrics.max_operation_names,
        service.providers().metrics(),
    ));
    let supervisor = supervisor::Supervisor::new().on_restart({
        let metrics = metrics.clone();
        move |task| metrics.task_restarted(task)
    });
    // The worker drains the outbox and runs the periodic sync: required for readiness.
    let worker = {
        let service = service.clone();
        let stopped = worker_stopped.clone();
        supervisor.spawn(
            "worker",
            true,
            supervisor::Backoff::default(),
            worker_stopped,
            move || {
                let service = service.clone();
                let stopped = stopped.clone();
                async move {
                    service.run_worker(stopped).await;
                    Ok(())
                }
            },
        )
    };
    // PostgreSQL: events of every replica reach this one's subscribers through LISTEN.
    let event_listener = service.events().needs_listener().then(|| {
        let service = service.clone();
        supervisor.spawn(
            "event_listener",
            false,
            supervisor::Backoff::default(),
            listener_stopped,
            move || {
                let service = service.clone();
                async move { Ok(service.listen_for_events().await?) }
            },
        )
    });
    // Bulk jobs (generatePromoCodes) beside the worker, so making codes never holds up the
    // outbox; not required for readiness: the API serves while it restarts.
    let bulk = {
        let service = service.clone();
        let stopped = stop_worker.subscribe();
        supervisor.spawn(
            "bulk",
            false,
            supervisor::Backoff::default(),
            stop_worker.subscribe(),
            move || {
                let service = service.clone();
                let stopped = stopped.clone();
                async move {
                    service.run_bulk_jobs(stopped).await;
                    Ok(())
                }
            },
        )
    };
    let state = AppState {
        schema: schema::build(service.clone()),
        service,
        tokens,
        metrics,
        sockets: http::sockets::Sockets::new(&config.http.ws),
        config: Arc::new(config.http.clone()),
        supervisor,
    };
    let app = http::router(state.clone(), &config.cors_origins);
    let sockets = state.sockets.clone();
    tracing::info!(
        address = %listener.local_addr()?,
        database = %promohub_domain::store::redact_url(&config.database_url),
        providers = ?config.providers.iter().map(|(p, _)| p.as_str()).collect::<Vec<_>>(),
        "promohub listening"
    );
    println!("promohub listening on http://{}", listener.local_addr()?);
    // Requests in flight get `shutdown_grace` after the signal; then the server exits anyway,
    // so a stuck request cannot hold a deploy forever.
    let grace = config.http.shutdown_grace;
    let (signalled, mut on_signal) = tokio::sync::watch::channel(false);
    let metrics_server = match metrics_listener {
        Some(metrics_listener) => {
            println!(
                "promohub metrics on http://{}/metrics",
                metrics_listener.local_addr()?
            );
            let mut stop = on_signal.clone();
            let app = http::metrics_router(state);
            let timeout = config.http.header_read_timeout;
            Some(tokio::spawn(async move {
                server::serve(metrics_listener, app, timeout, async move {
                    let _ = stop.wait_for(|s| *s).await;
                })
                .await;
            }))
        }
        None => None,
    };
    let server = server::serve(listener, app, config.http.header_read_timeout, async move {
        shutdown.await;
        sockets.shut_down();
        let _ = signalled.send(true);
    });
    let grace_over = async move {
        let _ = on_signal.wait_for(|s| *s).await;
        tokio::time::sleep(grace).await;
    };
    tokio::select! {
        () = server => {}
        () = grace_over => {
            tracing::warn!(grace_secs = grace.as_secs(), "requests still in flight after the shutdown grace; exiting anyway");
        }
    }
    let _ = stop_worker.send(true);
    if let Some(metrics_server) = metrics_server {
        metrics_server.abort();
    }
    let _ = tokio::time::timeout(std::time::Duration::from_secs(10), worker).await;
    if let Some(event_listener) = event_listener {
        // It waits on its connection, not on the stop signal: the supervisor ends it.
        event_listener.abort();
    }
    let _ = tokio::time::timeout(std::time::Duration::from_secs(10), bulk).await;
    tracing::info!("promohub stopped");
    Ok(())
}
