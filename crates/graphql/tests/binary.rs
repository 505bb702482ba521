//! The real `promohub` executable, configured only through the environment as runtime.md says:
//! migrations on start (SQLite and PostgreSQL), the API answering, SIGTERM ending it with 0.

use std::process::{Command, Stdio};
use std::time::Duration;

use promohub_sandbox::{Provider, RunningSandbox, SandboxConfig};
use promohub_test_support::server;
use promohub_test_support::{KillOnDrop, TestDb, free_port, promohub_command};
use serde_json::json;

const TOKEN: &str = "binary-test-write-token";

const BIN: &str = env!("CARGO_BIN_EXE_promohub");

async fn run_binary(db: TestDb) {
    let sandbox = RunningSandbox::start(SandboxConfig::default())
        .await
        .expect("sandbox");
    let port = free_port();
    let dir = tempfile::tempdir().expect("temp dir");
    let mut command = promohub_command(BIN, dir.path());
    command
        .arg("serve")
        .env("PROMOHUB_LISTEN", format!("127.0.0.1:{port}"))
        .env("DATABASE_URL", &db.url)
        .env("PROMOHUB_API_TOKENS", format!("write:{TOKEN}"))
        .env("PROMOHUB_SYNC_INTERVAL_SECS", "300")
        .stdout(Stdio::null())
        .stderr(Stdio::null());
    server::use_sandbox(&mut command, &sandbox, &Provider::ALL);
    let base = format!("http://127.0.0.1:{port}");
    let mut child = server::spawn_ready(&mut command, &base).await;
    let data = server::graphql_data(
        &base,
        TOKEN,
        "mutation { createPromoCode(input: { code: \"BINARY1\", discount: { type: PERCENTAGE, percentOff: 5 }, providers: [WHOP] }) { promoCode { providers { state } } userErrors { code } } }",
        json!({}),
    )
    .await;
    assert_eq!(
        data["createPromoCode"]["promoCode"]["providers"][0]["state"], "SYNCED",
        "{data}"
    );

    let pid = child.0.id().to_string();
    let sent = Command::new("kill")
        .args(["-TERM", &pid])
        .status()
        .expect("kill");
    assert!(sent.success());
    let deadline = tokio::time::Instant::now() + Duration::from_secs(15);
    let status = loop {
        if let Some(status) = child.0.try_wait().expect("status") {
            break status;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "promohub did not stop on SIGTERM"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    };
    assert!(status.success(), "exit status {status:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_binary_runs_on_sqlite_from_the_environment_and_stops_on_sigterm() {
    run_binary(promohub_test_support::sqlite()).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_binary_runs_on_postgres_from_the_environment_and_stops_on_sigterm() {
    if let Some(db) = promohub_test_support::postgres().await {
        run_binary(db).await;
    }
}

/// Runs the binary with only these variables (and a SQLite file in a temp dir), expecting it to
/// stop by itself; its exit status and what it wrote to stdout and stderr.
fn run_until_exit(args: &[&str], vars: &[(&str, &str)]) -> (std::process::ExitStatus, String) {
    let dir = tempfile::tempdir().expect("temp dir");
    let mut command = promohub_command(BIN, dir.path());
    command
        .args(args)
        .env_remove("PROMOHUB_SYNC_INTERVAL_SECS")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    for (name, value) in vars {
        command.env(name, value);
    }
    let child = command.spawn().expect("promohub starts");
    let pid = child.id().to_string();
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let _ = tx.send(child.wait_with_output());
    });
    let Ok(output) = rx.recv_timeout(Duration::from_secs(30)) else {
        let _ = Command::new("kill").args(["-KILL", &pid]).status();
        panic!("promohub should have refused to start, but it kept running");
    };
    let output = output.expect("output");
    let status = output.status;
    let out = format!(
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    (status, out)
}

#[test]
fn without_a_provider_and_without_demo_the_binary_refuses_to_start() {
    for args in [&[][..], &["serve"][..]] {
        let (status, out) =
            run_until_exit(args, &[("PROMOHUB_API_TOKENS", "write:binary-token-1")]);
        assert!(!status.success(), "{out}");
        assert!(out.contains("no provider is configured"), "{out}");
        assert!(out.contains("promohub demo"), "{out}");
        assert!(!out.contains("DEMO MODE"), "{out}");
    }
}

#[test]
fn a_half_configured_provider_is_a_startup_error_naming_the_missing_variables() {
    let (status, out) = run_until_exit(
        &["serve"],
        &[
            ("PROMOHUB_API_TOKENS", "write:binary-token-1"),
            ("FLEX_API_URL", "http://127.0.0.1:9/flex"),
            ("WHOP_API_KEY", "sk_never_printed"),
        ],
    );
    assert!(!status.success(), "{out}");
    assert!(out.contains("FLEX_API_KEY"), "{out}");
    assert!(out.contains("WHOP_API_URL"), "{out}");
    assert!(
        !out.contains("sk_never_printed"),
        "no secret in the error: {out}"
    );
    assert!(!out.contains("DEMO MODE"), "{out}");
}

#[test]
fn demo_mode_is_refused_beside_a_configured_provider() {
    let (status, out) = run_until_exit(
        &["demo"],
        &[
            ("PROMOHUB_API_TOKENS", "write:binary-token-1"),
            ("WHOP_API_URL", "http://127.0.0.1:9/whop/api"),
            ("WHOP_API_KEY", "sk_never_printed"),
        ],
    );
    assert!(!status.success(), "{out}");
    assert!(out.contains("WHOP is configured"), "{out}");
    assert!(!out.contains("DEMO MODE"), "{out}");
}

/// `promohub demo` and `PROMOHUB_DEMO=1` start demo mode, loudly, with a printed token.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn demo_mode_starts_when_asked_for_and_says_so() {
    for (args, vars) in [
        (&["demo"][..], &[][..]),
        (&[][..], &[("PROMOHUB_DEMO", "1")][..]),
    ] {
        let dir = tempfile::tempdir().expect("temp dir");
        let stdout = dir.path().join("out");
        let mut command = promohub_command(BIN, dir.path());
        command
            .args(args)
            .env_remove("DATABASE_URL")
            .stdout(std::fs::File::create(&stdout).expect("stdout"))
            .stderr(Stdio::null());
        for (name, value) in vars {
            command.env(name, value);
        }
        let mut child = KillOnDrop(command.spawn().expect("promohub starts"));
        let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
        let (base, token) = loop {
            let printed = std::fs::read_to_string(&stdout).unwrap_or_default();
            let base = printed
                .lines()
                .find_map(|l| l.strip_prefix("promohub listening on "));
            let token = printed
                .lines()
                .find_map(|l| l.trim().strip_prefix("development token (write): "));
            if let (Some(base), Some(token)) = (base, token) {
                assert!(printed.contains("DEMO MODE"), "{printed}");
                break (base.trim().to_string(), token.trim().to_string());
            }
            assert!(
                child.0.try_wait().expect("status").is_none(),
                "exited: {printed}"
            );
            assert!(tokio::time::Instant::now() < deadline, "{printed}");
            tokio::time::sleep(Duration::from_millis(50)).await;
        };
        let body = server::graphql_body(
            &base,
            &token,
            "{ providers { provider configured } }",
            json!({}),
        )
        .await;
        assert_eq!(body["data"]["providers"][2]["configured"], true, "{body}");
    }
}

/// `promohub --help` lists every variable of runtime.md's table, with the default the table gives
/// when that default is a value (a number or a `literal`).
#[test]
fn help_lists_every_runtime_variable_with_its_default() {
    let runtime = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../contract/runtime.md"
    ))
    .expect("runtime.md");
    let output = Command::new(BIN)
        .arg("--help")
        .env_clear()
        .env("WHOP_API_KEY", "sk_value_never_shown")
        .output()
        .expect("help");
    assert!(output.status.success());
    let help = String::from_utf8_lossy(&output.stdout);
    assert!(
        !help.contains("sk_value_never_shown"),
        "no value of the environment: {help}"
    );
    let mut checked = 0;
    for row in runtime.lines().filter(|l| l.starts_with("| `")) {
        let cells: Vec<&str> = row.split('|').map(str::trim).collect();
        let (names, default) = (cells[1], cells.get(3).copied().unwrap_or_default());
        for name in names.split('`').skip(1).step_by(2) {
            if !name
                .chars()
                .all(|c| c.is_ascii_uppercase() || c.is_ascii_digit() || c == '_')
            {
                continue;
            }
            let line = help
                .lines()
                .find(|l| l.contains(&format!("[env: {name}]")))
                .unwrap_or_else(|| panic!("{name} is not in --help:\n{help}"));
            assert!(
                line.contains("[default: "),
                "{name} shows no default: {line}"
            );
            // A plain number, or one backticked value, must be the default shown.
            let value = if default.chars().all(|c| c.is_ascii_digit()) && !default.is_empty() {
                Some(default.to_string())
            } else if default.matches('`').count() == 2 && default.starts_with('`') {
                Some(default.trim_matches('`').to_string())
            } else {
                None
            };
            if let Some(value) = value {
                assert!(
                    line.contains(&format!("[default: {value}]")),
                    "{name}: runtime.md says {value}: {line}"
                );
            }
            checked += 1;
        }
    }
    assert!(checked >= 30, "{checked} variables checked");
}
