//! [`PrivatePostgres`]: a Postgres cluster of the test's own, on a free loopback port, for
//! tests that stop and start the database under load without the rest of the suite seeing
//! the outage.
//!
//! It is made with the machine's own `initdb` and run with `pg_ctl` (found under
//! `/usr/lib/postgresql/<version>/bin`, or in `MUZE_PG_BINDIR`), trusting local connections,
//! with nothing synced to disk. Postgres refuses to run as root, so as root the cluster runs
//! as the `postgres` user (through `runuser`). Stopped, and its directory removed, on drop.

use std::{
    path::{Path, PathBuf},
    process::{Command, Stdio},
};

use super::redis::process::{free_ports, temp_dir};

/// A private Postgres cluster; stopped and removed on drop.
#[derive(Debug)]
pub struct PrivatePostgres {
    bindir: PathBuf,
    dir: PathBuf,
    port: u16,
    as_postgres: bool,
}

/// The directory of the newest installed Postgres's programs.
fn bindir() -> PathBuf {
    if let Some(dir) = std::env::var_os("MUZE_PG_BINDIR") {
        return PathBuf::from(dir);
    }
    let mut found: Vec<(u32, PathBuf)> = std::fs::read_dir("/usr/lib/postgresql")
        .into_iter()
        .flatten()
        .flatten()
        .filter_map(|entry| {
            let version = entry.file_name().to_string_lossy().parse().ok()?;
            let bin = entry.path().join("bin");
            bin.join("initdb").is_file().then_some((version, bin))
        })
        .collect();
    found.sort();
    found.pop().map(|(_, bin)| bin).unwrap_or_else(|| {
        panic!(
            "no Postgres server programs under /usr/lib/postgresql/*/bin, and MUZE_PG_BINDIR is \
             not set; this test runs a private Postgres: install postgresql"
        )
    })
}

fn running_as_root() -> bool {
    Command::new("id")
        .arg("-u")
        .output()
        .map(|out| String::from_utf8_lossy(&out.stdout).trim() == "0")
        .unwrap_or(false)
}

impl PrivatePostgres {
    /// Creates and starts the cluster; returns once it accepts connections.
    ///
    /// # Panics
    /// When Postgres is not installed or the cluster does not start (with its log).
    pub fn start() -> PrivatePostgres {
        let as_postgres = running_as_root();
        let dir = temp_dir("postgres");
        if as_postgres {
            let owned = Command::new("chown")
                .args(["-R", "postgres:postgres"])
                .arg(&dir)
                .status()
                .expect("chown runs");
            assert!(owned.success(), "chown of {} failed", dir.display());
        }
        let cluster = PrivatePostgres {
            bindir: bindir(),
            port: free_ports(1)[0],
            dir,
            as_postgres,
        };
        let data = cluster.data();
        cluster.run(
            "initdb",
            &[
                "-D",
                &data,
                "-A",
                "trust",
                "-U",
                "postgres",
                "-E",
                "UTF8",
                "--no-sync",
            ],
        );
        cluster.start_again();
        cluster
    }

    fn data(&self) -> String {
        self.dir.join("data").display().to_string()
    }

    fn log(&self) -> PathBuf {
        self.dir.join("postgres.log")
    }

    /// One of the cluster's programs, to run as the user the cluster runs as.
    fn command(&self, program: &str) -> Command {
        let path = self.bindir.join(program);
        let mut command = if self.as_postgres {
            let mut c = Command::new("runuser");
            c.args(["-u", "postgres", "--"]).arg(&path);
            c
        } else {
            Command::new(&path)
        };
        command.current_dir(&self.dir).stdin(Stdio::null());
        command
    }

    /// Runs one of the cluster's programs to its end.
    fn run(&self, program: &str, args: &[&str]) {
        let out = self
            .command(program)
            .args(args)
            .output()
            .unwrap_or_else(|e| panic!("{program} could not run: {e}"));
        assert!(
            out.status.success(),
            "{program} {args:?} failed: {}{}\n{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr),
            std::fs::read_to_string(self.log()).unwrap_or_default()
        );
    }

    /// Starts the stopped cluster on its port; returns once it accepts connections.
    pub fn start_again(&self) {
        let options = format!(
            "-p {} -k {} -c listen_addresses=127.0.0.1 -c fsync=off -c max_connections=60",
            self.port,
            self.dir.display()
        );
        let log = self.log().display().to_string();
        self.run(
            "pg_ctl",
            &[
                "-D",
                &self.data(),
                "-o",
                &options,
                "-l",
                &log,
                "-w",
                "start",
            ],
        );
    }

    /// Stops the cluster (fast shutdown: connections are closed, nothing is kept waiting).
    pub fn stop(&self) {
        self.run("pg_ctl", &["-D", &self.data(), "-m", "fast", "-w", "stop"]);
    }

    /// The port it listens on.
    pub fn port(&self) -> u16 {
        self.port
    }

    /// The URL of database `name` on it (created by whoever connects first, as every Muze
    /// process does).
    pub fn url(&self, name: &str) -> String {
        format!("postgres://postgres@127.0.0.1:{}/{name}", self.port)
    }

    /// Where it keeps its files.
    pub fn dir(&self) -> &Path {
        &self.dir
    }
}

impl Drop for PrivatePostgres {
    fn drop(&mut self) {
        let data = self.data();
        let _ = self
            .command("pg_ctl")
            .args(["-D", &data, "-m", "immediate", "-w", "stop"])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}
