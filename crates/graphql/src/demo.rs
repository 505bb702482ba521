//! Demo mode (cargo feature `demo`, on by default): the providers are sandboxes in this
//! process. A build without the feature (`--no-default-features`) ships no sandbox code and
//! refuses demo mode with a clear message.

#[cfg(feature = "demo")]
mod with_sandboxes {
    use promohub_domain::Provider;
    use promohub_domain::providers::ProviderConfig;
    use promohub_sandbox::{Provider as Emulated, RunningSandbox, SandboxConfig};

    use crate::config::Config;
    use crate::http::Tokens;

    /// What demo mode started, kept alive as long as the server runs.
    pub(crate) struct Demo {
        _sandbox: RunningSandbox,
    }

    /// Demo mode (asked for with `promohub demo` or `PROMOHUB_DEMO=1`): the providers are
    /// sandboxes in this process, and a development token is made when none is configured. Loud,
    /// on purpose.
    pub(crate) async fn start(config: &mut Config) -> anyhow::Result<Demo> {
        let sandbox = RunningSandbox::start(SandboxConfig::default()).await?;
        for &emulated in Emulated::ALL.iter() {
            // The sandbox names its providers as the domain does (it keeps its own enum: it models
            // the providers' side and shares no type with the connectors).
            let Some(provider) = Provider::parse(&emulated.name().to_uppercase()) else {
                anyhow::bail!(
                    "the sandbox emulates {}, which PromoHub does not know",
                    emulated.name()
                );
            };
            config.providers.push((
                provider,
                ProviderConfig::new(sandbox.base_url(emulated), sandbox.key(emulated)),
            ));
        }
        let token_line = if config.tokens.is_none() {
            let token = format!("demo-{}", uuid::Uuid::new_v4().simple());
            config.tokens =
                Some(Tokens::parse(&format!("write:{token}")).map_err(anyhow::Error::msg)?);
            format!("development token (write): {token}")
        } else {
            "tokens: from PROMOHUB_API_TOKENS".to_string()
        };
        let bar = "=".repeat(78);
        println!(
            "{bar}\n DEMO MODE (asked for): Flex, Fynn and Whop are SANDBOXES\n \
             running inside this process at {} (control API: {}/_sandbox).\n \
             Nothing reaches a real payment provider. For real ones: FLEX_API_URL/FLEX_API_KEY (etc.) and `promohub serve`.\n \
             {token_line}\n{bar}",
            sandbox.url(),
            sandbox.url()
        );
        tracing::warn!("DEMO MODE: providers are in-process sandboxes");
        Ok(Demo { _sandbox: sandbox })
    }
}

#[cfg(feature = "demo")]
pub(crate) use with_sandboxes::start;

#[cfg(not(feature = "demo"))]
pub(crate) struct Demo;

#[cfg(not(feature = "demo"))]
pub(crate) async fn start(_config: &mut crate::config::Config) -> anyhow::Result<Demo> {
    anyhow::bail!(
        "this promohub was built without the `demo` feature, so it has no sandboxes: configure a provider (FLEX_API_URL/FLEX_API_KEY, ...) and run `promohub serve`"
    )
}
