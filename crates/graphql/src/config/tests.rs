use super::*;

/// The defaults `--help` shows are the ones that apply.
#[test]
fn the_documented_defaults_are_the_defaults() {
    let mut unset = Settings::default();
    for prefix in ["FLEX", "FYNN", "WHOP"] {
        unset.set(&format!("{prefix}_API_URL"), "http://127.0.0.1:9/x");
        unset.set(&format!("{prefix}_API_KEY"), "sk_test_key");
    }
    let mut documented = unset.clone();
    let mut applied = 0;
    for (name, default) in Settings::documented() {
        let prose = default.starts_with("unset")
            || default.starts_with("none (")
            || default.starts_with("none:");
        if prose || ["PROMOHUB_CORS_ORIGINS", "RUST_LOG"].contains(name) {
            continue;
        }
        assert!(documented.set(name, default), "{name}");
        applied += 1;
    }
    assert!(applied >= 22, "{applied}");
    let a = Config::from_settings(&unset).expect("defaults");
    let b = Config::from_settings(&documented).expect("documented defaults");
    assert_eq!(format!("{a:?}"), format!("{b:?}"));
    assert_eq!(a.listen.to_string(), "127.0.0.1:8080");
    assert!(!a.demo);
}

#[test]
fn debug_output_shows_no_secret() {
    let config = Config {
        listen: "127.0.0.1:8080".parse().expect("address"),
        database_url: "postgres://app:db-password-1@db:5432/promohub".into(),
        tokens: Some(Tokens::parse("write:api-token-secret-1").expect("tokens")),
        demo: false,
        providers: vec![(
            Provider::Whop,
            ProviderConfig::new("http://127.0.0.1:9/whop/api", "sk_provider_secret_1"),
        )],
        service: promohub_domain::ServiceConfig::default(),
        cors_origins: Vec::new(),
        http: HttpConfig {
            metrics: crate::http::MetricsConfig {
                token: Some("scrape-secret-1".into()),
                ..Default::default()
            },
            ..HttpConfig::default()
        },
    };
    let shown = format!("{config:?} {config:#?}");
    for secret in [
        "db-password-1",
        "api-token-secret-1",
        "sk_provider_secret_1",
        "scrape-secret-1",
    ] {
        assert!(!shown.contains(secret), "{secret} in {shown}");
    }
    assert!(
        shown.contains("127.0.0.1:9/whop/api"),
        "the rest is shown: {shown}"
    );
}
