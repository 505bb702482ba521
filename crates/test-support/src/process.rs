//! The `promohub` binary as a separate process, for the tests that need a real process: two
//! replicas, a kill, the command line.

use std::path::Path;
use std::process::{Command, Stdio};

/// The `promohub` binary at `bin` as a test runs it: nothing from the environment but `PATH`,
/// the working directory `dir` with a SQLite file in it, a port the server picks, quiet logs,
/// no periodic pull, no standard input. A test adds the arguments and variables it is about
/// (later `env` calls win).
pub fn promohub_command(bin: &str, dir: &Path) -> Command {
    let mut command = Command::new(bin);
    command
        .current_dir(dir)
        .env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .env("PROMOHUB_LISTEN", "127.0.0.1:0")
        .env(
            "DATABASE_URL",
            format!("sqlite://{}/promohub.db?mode=rwc", dir.display()),
        )
        .env("PROMOHUB_SYNC_INTERVAL_SECS", "0")
        .env("RUST_LOG", "warn")
        .stdin(Stdio::null());
    command
}

/// A child process killed (and reaped) when the test lets go of it, pass or fail.
pub struct KillOnDrop(pub std::process::Child);

impl Drop for KillOnDrop {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

impl KillOnDrop {
    /// Whether the process has exited (or can no longer be asked).
    pub fn exited(&mut self) -> bool {
        !matches!(self.0.try_wait(), Ok(None))
    }
}

/// A TCP port nobody listens on right now, for a process that must be told its port.
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("free port")
}
