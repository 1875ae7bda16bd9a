//! [`PrivateRedis`]: one private server, for tests that stop or restart Redis under load
//! without disturbing the machine's own Redis or other tests.

use std::path::PathBuf;

use super::process::{free_ports, require, temp_dir, Process, StartError, PORT_ATTEMPTS};

/// A `redis-server` of the test's own on a free 127.0.0.1 port, persisting nothing; killed
/// and its directory removed on drop.
#[derive(Debug)]
pub struct PrivateRedis {
    port: u16,
    dir: PathBuf,
    /// `None` while stopped.
    process: Option<Process>,
}

impl PrivateRedis {
    /// Starts a server on a free port; returns once it answers `PING`.
    ///
    /// # Panics
    /// When `redis-server` is not installed or does not start.
    pub fn start() -> PrivateRedis {
        require("redis-server");
        let mut redis = PrivateRedis {
            port: 0,
            dir: temp_dir("redis"),
            process: None,
        };
        for _ in 0..PORT_ATTEMPTS {
            redis.port = free_ports(1)[0];
            match Process::start(redis.port, &redis.dir, &[]) {
                Ok(process) => {
                    redis.process = Some(process);
                    return redis;
                }
                Err(StartError::PortTaken) => continue,
                Err(StartError::Failed(why)) => panic!("{why}"),
            }
        }
        panic!("redis-server found no free port in {PORT_ATTEMPTS} attempts");
    }

    /// `redis://127.0.0.1:<port>`, for `MUZE__REDIS__URL`.
    pub fn url(&self) -> String {
        format!("redis://127.0.0.1:{}", self.port)
    }

    /// The port it listens on, the same across restarts.
    pub fn port(&self) -> u16 {
        self.port
    }

    /// Kills the server (by the pid it was started with); clients see connections refused.
    /// Does nothing when it is stopped already.
    pub fn stop(&mut self) {
        self.process = None;
    }

    /// Stops the server if it runs, and starts a new one on the same port, empty: as a Redis
    /// without persistence comes back after a crash. Returns once it answers `PING`.
    ///
    /// # Panics
    /// When the server does not start again (another process took its port meanwhile).
    pub fn restart(&mut self) {
        self.stop();
        match Process::start(self.port, &self.dir, &[]) {
            Ok(process) => self.process = Some(process),
            Err(e) => panic!("redis-server did not restart on port {}: {e:?}", self.port),
        }
    }
}

impl Drop for PrivateRedis {
    fn drop(&mut self) {
        self.stop();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}
