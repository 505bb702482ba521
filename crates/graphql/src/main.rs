//! `promohub`: the PromoHub server and its operator commands.

use anyhow::Context;
use clap::{Parser, Subcommand};
use promohub_graphql::config::Settings;
use promohub_graphql::{Config, schema};

#[derive(Parser)]
#[command(
    name = "promohub",
    version,
    about = "PromoHub: one place for your promo codes, written through to Flex, Fynn and Whop",
    after_help = "Each setting is an environment variable (contract/runtime.md, the README) or the flag beside it, given before the subcommand: `promohub --listen 0.0.0.0:8080 serve`. A flag wins over the variable."
)]
struct Cli {
    #[command(flatten)]
    settings: Settings,
    #[command(subcommand)]
    command: Option<Command>,
}

#[derive(Subcommand)]
enum Command {
    /// Run the server (the default). Needs at least one provider configured.
    Serve,
    /// Run the server in demo mode: Flex, Fynn and Whop are sandboxes inside the process, and a
    /// development token is printed when PROMOHUB_API_TOKENS is unset. Same as PROMOHUB_DEMO=1.
    /// Refused when a provider is configured.
    Demo,
    /// Print the GraphQL schema (SDL) the server serves.
    Schema,
    /// Run the database migrations of DATABASE_URL and exit.
    Migrate,
    /// Pull codes from the configured providers once, print the report, and exit.
    Sync,
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let cli = Cli::parse();
    let filter = cli
        .settings
        .var("RUST_LOG")
        .filter(|f| !f.trim().is_empty())
        .unwrap_or("info");
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_new(filter)
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info")),
        )
        .init();
    let settings = cli.settings;
    match cli.command.unwrap_or(Command::Serve) {
        command @ (Command::Serve | Command::Demo) => {
            let mut config = Config::from_settings(&settings)?;
            if matches!(command, Command::Demo) {
                config.demo = true;
            }
            config.check()?;
            let listener = tokio::net::TcpListener::bind(config.listen)
                .await
                .with_context(|| format!("cannot listen on {}", config.listen))?;
            promohub_graphql::serve(config, listener, shutdown_signal()).await
        }
        Command::Schema => {
            print!("{}", schema::sdl());
            Ok(())
        }
        Command::Migrate => {
            let config = Config::from_settings(&settings)?;
            promohub_domain::store::connect(&config.database_url).await?;
            println!("migrations applied");
            Ok(())
        }
        Command::Sync => {
            let config = Config::from_settings(&settings)?;
            anyhow::ensure!(
                !config.providers.is_empty(),
                "no provider is configured: set FLEX_API_URL and FLEX_API_KEY (or FYNN_..., WHOP_...)"
            );
            let db = promohub_domain::store::connect(&config.database_url).await?;
            let mut providers = promohub_domain::providers::Providers::new();
            for (provider, provider_config) in &config.providers {
                providers = providers.with(*provider, provider_config)?;
            }
            let service = promohub_domain::PromoService::new(db, providers, config.service);
            let report = service
                .sync_from_providers(None)
                .await
                .map_err(|e| anyhow::anyhow!("{e}"))?;
            println!("{report:#?}");
            Ok(())
        }
    }
}

/// Resolves on Ctrl-C or SIGTERM, so in-flight requests finish before exit.
async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut signal) => {
                signal.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => {},
        () = terminate => {},
    }
    tracing::info!("shutting down: finishing requests in flight");
}
