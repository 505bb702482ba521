//! `promohub-sandbox`: the provider emulators as a program, for compose and demos.

use anyhow::Context;
use promohub_sandbox::{Provider, SandboxConfig};

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info")),
        )
        .init();
    let args: Vec<String> = std::env::args().skip(1).collect();
    if args.iter().any(|a| a == "--help" || a == "-h") {
        println!(
            "promohub-sandbox: emulators of the Flex, Fynn and Whop APIs\n\n\
             usage: promohub-sandbox [--listen ADDRESS:PORT]\n\n\
             --listen / PROMOHUB_SANDBOX_LISTEN  address:port (default 127.0.0.1:9100)\n\
             FLEX_API_KEY, FYNN_API_KEY, WHOP_API_KEY  keys to accept (defaults printed on start)"
        );
        return Ok(());
    }
    let listen = match args.as_slice() {
        [] => std::env::var("PROMOHUB_SANDBOX_LISTEN").unwrap_or_else(|_| "127.0.0.1:9100".into()),
        [flag, address] if flag == "--listen" => address.clone(),
        _ => anyhow::bail!("usage: promohub-sandbox [--listen ADDRESS:PORT] (see --help)"),
    };
    let config = SandboxConfig::from_env();
    let listener = tokio::net::TcpListener::bind(&listen)
        .await
        .with_context(|| format!("cannot listen on {listen}"))?;
    let addr = listener.local_addr()?;
    println!("promohub-sandbox listening on http://{addr}");
    for provider in Provider::ALL {
        // These are sandbox keys for local use, printed so a newcomer can copy them.
        println!(
            "  {:<5} base URL http://{addr}{:<10} key {}",
            provider.name(),
            provider.mount(),
            config.key(provider)
        );
    }
    println!("  control API http://{addr}/_sandbox (docs: /_sandbox/openapi.json)");
    promohub_sandbox::serve(listener, config, shutdown_signal()).await
}

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
}
