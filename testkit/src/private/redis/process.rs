//! One `redis-server` process: spawned on given ports, ready once it answers as itself (its
//! `INFO` names the pid we spawned, not another server that took the port first), and killed
//! by that pid when dropped.

use std::{
    io::ErrorKind,
    net::TcpListener,
    path::{Path, PathBuf},
    process::{Child, Command, Stdio},
    sync::atomic::{AtomicU32, Ordering},
    time::{Duration, Instant},
};

/// How long a server may take to answer after being spawned: it takes about 10 ms, this leaves
/// room for a loaded CI machine.
const READY_TIMEOUT: Duration = Duration::from_secs(10);
/// Time between two readiness checks: short next to the start-up time, long enough not to spin.
pub(super) const POLL_INTERVAL: Duration = Duration::from_millis(20);
/// How long one readiness check may wait for the server's answer.
const PROBE_TIMEOUT: Duration = Duration::from_millis(500);
/// How often to pick new ports when another process took the picked ones before the server
/// could bind them. A collision is rare; five in a row means something else is wrong.
pub(super) const PORT_ATTEMPTS: usize = 5;
/// What to do when the Redis binaries are missing.
const INSTALL_HINT: &str =
    "install Redis: `apt-get install redis-server` (it also provides `redis-cli`)";

/// Panics, saying what to install, unless `binary` can be run.
pub(super) fn require(binary: &str) {
    let ran = Command::new(binary)
        .arg("--version")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status();
    match ran {
        Ok(_) => {}
        Err(e) if e.kind() == ErrorKind::NotFound => panic!(
            "`{binary}` is not on the PATH, and this test starts private Redis servers; {INSTALL_HINT}"
        ),
        Err(e) => panic!("`{binary} --version` could not run: {e}"),
    }
}

/// `count` distinct ports that are free on 127.0.0.1 now. Redis cannot bind port 0, so the
/// kernel picks them for listeners that are then closed for the server to take.
pub(crate) fn free_ports(count: usize) -> Vec<u16> {
    let listeners: Vec<TcpListener> = (0..count)
        .map(|_| TcpListener::bind("127.0.0.1:0").expect("a free port on 127.0.0.1"))
        .collect();
    listeners
        .iter()
        .map(|listener| listener.local_addr().expect("a bound address").port())
        .collect()
}

/// A new empty directory, unique across tests and test processes.
pub(crate) fn temp_dir(kind: &str) -> PathBuf {
    static NEXT: AtomicU32 = AtomicU32::new(0);
    let dir = std::env::temp_dir().join(format!(
        "muze-{kind}-{}-{}",
        std::process::id(),
        NEXT.fetch_add(1, Ordering::Relaxed)
    ));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir)
        .unwrap_or_else(|e| panic!("cannot create {}: {e}", dir.display()));
    dir
}

/// A synchronous connection to the server on `port`, if it answers now.
pub(super) fn connect(port: u16) -> Option<redis::Connection> {
    redis::Client::open(format!("redis://127.0.0.1:{port}"))
        .ok()?
        .get_connection_with_timeout(PROBE_TIMEOUT)
        .ok()
}

/// Why a server did not start.
#[derive(Debug)]
pub(super) enum StartError {
    /// Another process holds the port: pick other ports and try again.
    PortTaken,
    /// Anything else, with the server's log.
    Failed(String),
}

/// A `redis-server` that we spawned and that answers; killed on drop.
#[derive(Debug)]
pub(super) struct Process {
    child: Child,
}

impl Process {
    /// Spawns `redis-server` on `port` with nothing persisted, its working files in `dir`,
    /// then `extra` arguments; returns once it answers.
    pub(super) fn start(port: u16, dir: &Path, extra: &[String]) -> Result<Process, StartError> {
        let log = dir.join(format!("redis-{port}.log"));
        let _ = std::fs::remove_file(&log);
        let spawned = Command::new("redis-server")
            .args(["--port", &port.to_string(), "--bind", "127.0.0.1"])
            .args(["--save", "", "--appendonly", "no", "--daemonize", "no"])
            .arg("--dir")
            .arg(dir)
            .arg("--logfile")
            .arg(&log)
            .args(extra)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn();
        let child = match spawned {
            Ok(child) => child,
            Err(e) if e.kind() == ErrorKind::NotFound => {
                require("redis-server");
                panic!("redis-server could not be spawned: {e}")
            }
            Err(e) => panic!("redis-server could not be spawned: {e}"),
        };
        let mut process = Process { child };
        let log_text = || std::fs::read_to_string(&log).unwrap_or_default();
        let deadline = Instant::now() + READY_TIMEOUT;
        loop {
            if let Ok(Some(status)) = process.child.try_wait() {
                let log = log_text();
                return Err(if log.contains("Address already in use") {
                    StartError::PortTaken
                } else {
                    StartError::Failed(format!(
                        "redis-server on port {port} exited ({status}):\n{log}"
                    ))
                });
            }
            match process.answering_pid(port) {
                Some(pid) if pid == process.child.id() => return Ok(process),
                // Someone else's server answers on the port we picked.
                Some(_) => return Err(StartError::PortTaken),
                None if Instant::now() > deadline => {
                    return Err(StartError::Failed(format!(
                        "redis-server on port {port} did not answer within {READY_TIMEOUT:?}:\n{}",
                        log_text()
                    )))
                }
                None => std::thread::sleep(POLL_INTERVAL),
            }
        }
    }

    /// The pid of the server answering on `port`, from its `INFO server`.
    fn answering_pid(&self, port: u16) -> Option<u32> {
        let info: String = redis::cmd("INFO")
            .arg("server")
            .query(&mut connect(port)?)
            .ok()?;
        info.lines()
            .find_map(|line| line.strip_prefix("process_id:"))
            .and_then(|pid| pid.trim().parse().ok())
    }
}

impl Drop for Process {
    fn drop(&mut self) {
        // `Child::kill` signals this child's pid only; `wait` reaps it so the port is free.
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
