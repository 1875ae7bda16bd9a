//! Muze's own binaries as child processes of a test or benchmark, each started on a world's
//! settings: a worker with an operations port of its own, every process waited for through its
//! readiness endpoint (failing at once if any of the group exits meanwhile), and the group
//! stopped when it drops: SIGTERM, then SIGKILL for a process still running after
//! [`STOP_WITHIN`].
//!
//! The fleet tests run the debug binaries this way, the benchmarks the release ones, and the
//! integration tests their extra worker processes.

use std::{
    io,
    path::PathBuf,
    process::{Child, Command, ExitStatus, Stdio},
    time::{Duration, Instant},
};

use crate::{wait, World};

/// How long a stopping process may take to exit before it is killed.
pub const STOP_WITHIN: Duration = Duration::from_secs(20);

/// A free loopback port (bound and released: another process could take it, rarely).
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("a free loopback port")
        .port()
}

/// Where the processes' standard output (their log) goes.
#[derive(Debug, Clone, Default)]
pub enum Output {
    /// Nowhere.
    #[default]
    Discard,
    /// A file per process in this directory: `<binary>-<n>.log`, `n` counting the processes
    /// started.
    Files(PathBuf),
    /// The starting process's own standard output.
    Inherit,
}

/// One started process.
#[derive(Debug)]
struct Running {
    name: String,
    child: Child,
}

/// The processes one test or benchmark started from one directory of binaries.
#[derive(Debug)]
pub struct Processes {
    /// Where the binaries are (`target/debug`, `target/release`).
    bin_dir: PathBuf,
    /// Where each process's standard output goes.
    output: Output,
    /// Variables of this process's own environment that the children do not inherit.
    cleared: Vec<String>,
    /// Processes started so far, numbering their log files.
    started: usize,
    running: Vec<Running>,
}

impl Processes {
    /// A group starting the binaries found in `bin_dir`.
    pub fn new(bin_dir: impl Into<PathBuf>) -> Processes {
        Processes {
            bin_dir: bin_dir.into(),
            output: Output::Discard,
            cleared: Vec::new(),
            started: 0,
            running: Vec::new(),
        }
    }

    /// Sends each process's standard output to `output` instead of dropping it.
    pub fn output(mut self, output: Output) -> Processes {
        self.output = output;
        self
    }

    /// Keeps `keys` of the starting process's own environment from every child (settings a
    /// test unsets rather than sets).
    pub fn clearing(mut self, keys: &[String]) -> Processes {
        self.cleared = keys.to_vec();
        self
    }

    /// Starts binary `name` with `args`, the world's settings and then `env`; returns its pid.
    pub fn spawn(
        &mut self,
        world: &World,
        name: &str,
        args: &[&str],
        env: &[(&str, &str)],
    ) -> io::Result<u32> {
        let stdout = self.log_of(name)?;
        self.started += 1;
        let mut command = Command::new(self.bin_dir.join(name));
        for key in &self.cleared {
            command.env_remove(key);
        }
        let child = command
            .args(args)
            .envs(world.env().iter().cloned())
            .envs(env.iter().copied())
            .stdout(stdout)
            .stderr(Stdio::inherit())
            .spawn()
            .map_err(|e| io::Error::new(e.kind(), format!("starting {name}: {e}")))?;
        let pid = child.id();
        self.running.push(Running {
            name: name.to_string(),
            child,
        });
        Ok(pid)
    }

    fn log_of(&self, name: &str) -> io::Result<Stdio> {
        Ok(match &self.output {
            Output::Discard => Stdio::null(),
            Output::Inherit => Stdio::inherit(),
            Output::Files(dir) => {
                std::fs::create_dir_all(dir)?;
                let path = dir.join(format!("{name}-{}.log", self.started));
                Stdio::from(std::fs::File::create(path)?)
            }
        })
    }

    /// Waits until `url` answers 2xx; fails if `within` passes first or a process of the group
    /// exits meanwhile (naming it).
    pub async fn wait_ready(&mut self, url: &str, within: Duration) -> Result<(), String> {
        let running = &mut self.running;
        wait::ready(url, within, || {
            for p in running.iter_mut() {
                if let Ok(Some(status)) = p.child.try_wait() {
                    return Err(format!("{} exited while starting: {status}", p.name));
                }
            }
            Ok(())
        })
        .await
    }

    /// Starts a `muze-worker` on a free operations port with the world's settings and `env`,
    /// and returns its pid and operations URL once it is ready (connected, its consumers on
    /// their queues).
    pub async fn spawn_worker(
        &mut self,
        world: &World,
        env: &[(&str, &str)],
        within: Duration,
    ) -> Result<(u32, String), String> {
        let ops = format!("127.0.0.1:{}", free_port());
        let mut env = env.to_vec();
        env.push(("MUZE__WORKER__METRICS_BIND", &ops));
        let pid = self
            .spawn(world, "muze-worker", &[], &env)
            .map_err(|e| e.to_string())?;
        let url = format!("http://{ops}");
        self.wait_ready(&format!("{url}/readyz"), within).await?;
        Ok((pid, url))
    }

    /// Each running process: its binary's name and pid, oldest first.
    pub fn pids(&self) -> Vec<(String, u32)> {
        self.running
            .iter()
            .map(|p| (p.name.clone(), p.child.id()))
            .collect()
    }

    /// The pid of the newest running process of binary `name`.
    pub fn newest(&self, name: &str) -> Option<u32> {
        self.running
            .iter()
            .rev()
            .find(|p| p.name == name)
            .map(|p| p.child.id())
    }

    fn take(&mut self, pid: u32) -> io::Result<Running> {
        let at = self
            .running
            .iter()
            .position(|p| p.child.id() == pid)
            .ok_or_else(|| io::Error::other(format!("no running process {pid}")))?;
        Ok(self.running.remove(at))
    }

    /// Kills process `pid` outright (SIGKILL: no chance to finish or hand back its jobs).
    pub fn kill(&mut self, pid: u32) -> io::Result<()> {
        let mut p = self.take(pid)?;
        let killed = p.child.kill();
        p.child.wait()?;
        killed
    }

    /// Asks process `pid` to stop (SIGTERM) and waits for it (SIGKILL past [`STOP_WITHIN`]);
    /// returns how it exited.
    pub fn terminate(&mut self, pid: u32) -> io::Result<ExitStatus> {
        let mut p = self.take(pid)?;
        sigterm(&p.child)?;
        exit_within(&mut p.child, STOP_WITHIN)
    }

    /// Stops every process as [`Processes::terminate`] does, all asked at once; `true` if each
    /// exited 0.
    pub fn stop(&mut self) -> bool {
        for p in &self.running {
            let _ = sigterm(&p.child);
        }
        let mut clean = true;
        for mut p in self.running.drain(..) {
            clean &= exit_within(&mut p.child, STOP_WITHIN).is_ok_and(|s| s.success());
        }
        clean
    }

    /// Kills every process outright (SIGKILL).
    pub fn kill_all(&mut self) {
        for mut p in self.running.drain(..) {
            let _ = p.child.kill();
            let _ = p.child.wait();
        }
    }
}

impl Drop for Processes {
    /// Also when a test fails first: every process still running is stopped.
    fn drop(&mut self) {
        self.stop();
    }
}

fn sigterm(child: &Child) -> io::Result<()> {
    let status = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()?;
    if status.success() {
        Ok(())
    } else {
        Err(io::Error::other(format!(
            "kill -TERM {}: {status}",
            child.id()
        )))
    }
}

/// Waits up to `within` for `child` to exit, then kills it.
fn exit_within(child: &mut Child, within: Duration) -> io::Result<ExitStatus> {
    let deadline = Instant::now() + within;
    loop {
        if let Some(status) = child.try_wait()? {
            return Ok(status);
        }
        if Instant::now() >= deadline {
            child.kill()?;
            return child.wait();
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}
