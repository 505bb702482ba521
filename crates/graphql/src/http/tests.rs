//! Unit tests of the HTTP layer; the API end to end is in tests/api.rs.

use super::request::{GRAPHQL_RESPONSE, JSON, negotiate, url_pairs};
use std::sync::atomic::Ordering;
use std::time::Instant;

use axum::http::HeaderMap;

use super::*;

#[test]
fn query_strings_decode() {
    assert_eq!(
        url_pairs("query=%7B%20a%20%7D&x=1+2&bad=%zz&end=%4"),
        vec![
            ("query".to_string(), "{ a }".to_string()),
            ("x".to_string(), "1 2".to_string()),
            ("bad".to_string(), "%zz".to_string()),
            ("end".to_string(), "%4".to_string()),
        ]
    );
}

#[test]
fn graphiql_loads_only_pinned_scripts_and_keeps_no_token() {
    let mut external = 0;
    for tag in GRAPHIQL.split('<').skip(1) {
        let tag = tag.split('>').next().unwrap_or_default();
        let Some(url) = tag
            .split_whitespace()
            .find_map(|a| {
                a.strip_prefix("src=\"")
                    .or_else(|| a.strip_prefix("href=\""))
            })
            .map(|u| u.trim_end_matches('"'))
        else {
            continue;
        };
        external += 1;
        assert!(url.starts_with("https://"), "{url}");
        let version = url
            .split('@')
            .nth(1)
            .and_then(|v| v.split('/').next())
            .unwrap_or_default();
        assert!(
            version.split('.').count() == 3 && version.split('.').all(|p| p.parse::<u32>().is_ok()),
            "{url} pins an exact version"
        );
        assert!(tag.contains("integrity=\"sha384-"), "{tag}");
        assert!(tag.contains("crossorigin=\"anonymous\""), "{tag}");
    }
    assert_eq!(external, 4, "GraphiQL's css and js, React, ReactDOM");
    assert!(GRAPHIQL.contains("shouldPersistHeaders: false"));
    assert!(!GRAPHIQL.contains("shouldPersistHeaders: true"));
    assert!(!GRAPHIQL.contains("localStorage"));
}

#[test]
fn tokens_parse_and_never_echo() {
    let tokens = Tokens::parse("read:aaaaaaaa, write:bbbbbbbb").expect("valid");
    assert_eq!(tokens.0.len(), 2);
    assert!(!format!("{tokens:?}").contains("aaaaaaaa"));
    let bearer = |token: &str| {
        let mut headers = HeaderMap::new();
        headers.insert(
            header::AUTHORIZATION,
            HeaderValue::from_str(&format!("Bearer {token}")).expect("header"),
        );
        tokens.caller(&headers)
    };
    assert!(bearer("bbbbbbbb").is_some_and(|c| c.can_write));
    assert!(bearer("aaaaaaaa").is_some_and(|c| !c.can_write));
    assert!(bearer("aaaaaaab").is_none());
    assert!(bearer("aaaaaaa").is_none());
    assert!(bearer("aaaaaaaaa").is_none());
    let error = Tokens::parse("admin:secret-value-1").expect_err("bad scope");
    assert!(!error.contains("secret-value-1"));
    assert!(Tokens::parse("write:short").is_err());
}

#[test]
fn accept_negotiates_the_media_type() {
    let with = |accept: &str| {
        let mut headers = HeaderMap::new();
        headers.insert(
            header::ACCEPT,
            HeaderValue::from_str(accept).expect("header"),
        );
        negotiate(&headers)
    };
    assert_eq!(negotiate(&HeaderMap::new()), Some(JSON));
    assert_eq!(
        with("application/graphql-response+json, application/json"),
        Some(GRAPHQL_RESPONSE)
    );
    assert_eq!(with("application/json"), Some(JSON));
    assert_eq!(with("*/*"), Some(JSON));
    assert_eq!(with("text/plain"), None);
}

/// A server whose state a test builds itself, on SQLite, with no provider.
pub(crate) async fn test_state() -> (AppState, promohub_test_support::TestDb) {
    let db = promohub_test_support::sqlite();
    let connection = promohub_domain::store::connect(&db.url)
        .await
        .expect("database");
    let service = promohub_domain::PromoService::new(
        connection,
        promohub_domain::providers::Providers::new(),
        promohub_domain::ServiceConfig::default(),
    );
    let metrics = Arc::new(HttpMetrics::new(100, service.providers().metrics()));
    let supervisor = crate::supervisor::Supervisor::new().on_restart({
        let metrics = metrics.clone();
        move |task| metrics.task_restarted(task)
    });
    let state = AppState {
        schema: crate::schema::build(service.clone()),
        service,
        tokens: Tokens::parse("write:test-token-0001").expect("tokens"),
        metrics,
        config: Arc::new(HttpConfig::default()),
        supervisor,
        sockets: super::sockets::Sockets::new(&super::sockets::WsConfig::default()),
    };
    (state, db)
}

/// Serves `state` on an ephemeral port; the base URL.
pub(crate) async fn serve_test(state: AppState) -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("port");
    let base = format!("http://{}", listener.local_addr().expect("address"));
    let app = router(state, &[]);
    tokio::spawn(async move { axum::serve(listener, app).await });
    base
}

/// Fault injection over real HTTP: a required task that fails while `failing` is set is
/// restarted, `/readyz` answers 503 while it is down, `/metrics` counts the restarts.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_required_task_down_makes_readyz_503_until_it_runs_again() {
    use std::sync::atomic::AtomicBool;
    let (state, _db) = test_state().await;
    let supervisor = state.supervisor.clone();
    let base = serve_test(state).await;
    let http = reqwest::Client::new();
    let status = |path: &'static str| {
        let http = http.clone();
        let base = base.clone();
        async move {
            let response = http
                .get(format!("{base}{path}"))
                .send()
                .await
                .expect("request");
            (
                response.status().as_u16(),
                response.text().await.expect("text"),
            )
        }
    };
    assert_eq!(status("/readyz").await.0, 200);
    let failing = Arc::new(AtomicBool::new(true));
    let (stop, stopped) = tokio::sync::watch::channel(false);
    let backoff = crate::supervisor::Backoff {
        initial: Duration::from_millis(300),
        max: Duration::from_millis(300),
    };
    let task = {
        let failing = failing.clone();
        let stopped_inner = stopped.clone();
        supervisor.spawn("faulty", true, backoff, stopped, move || {
            let failing = failing.load(Ordering::SeqCst);
            let mut stopped = stopped_inner.clone();
            async move {
                assert!(!failing, "injected fault");
                let _ = stopped.wait_for(|s| *s).await;
                Ok(())
            }
        })
    };
    let deadline = Instant::now() + Duration::from_secs(5);
    let (code, body) = loop {
        let (code, body) = status("/readyz").await;
        if code == 503 {
            break (code, body);
        }
        assert!(Instant::now() < deadline, "readyz never said 503");
        tokio::time::sleep(Duration::from_millis(10)).await;
    };
    assert_eq!(code, 503);
    assert!(body.contains("faulty"), "{body}");
    failing.store(false, Ordering::SeqCst);
    let deadline = Instant::now() + Duration::from_secs(5);
    while status("/readyz").await.0 != 200 {
        assert!(Instant::now() < deadline, "readyz never recovered");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let (_, metrics) = status("/metrics").await;
    let restarts: u64 = metrics
        .lines()
        .find_map(|l| l.strip_prefix("promohub_task_restarts_total{task=\"faulty\"} "))
        .and_then(|n| n.trim().parse().ok())
        .unwrap_or_else(|| panic!("no restart counter: {metrics}"));
    assert!(restarts >= 1, "{metrics}");
    assert!(
        metrics.contains("promohub_task_up{task=\"faulty\"} 1"),
        "{metrics}"
    );
    stop.send(true).expect("stop");
    task.await.expect("supervisor ends");
}
