//! [`PrivateRabbitMq`]: a RabbitMQ node of the test's own, on free loopback ports, for tests
//! that restart the broker under load without the rest of the suite seeing it.
//!
//! It is the machine's own `rabbitmq-server` (`/usr/lib/rabbitmq/bin`, or `MUZE_RABBITMQ_BINDIR`)
//! with a node name, ports, data directory, Erlang cookie and configuration of its own (no
//! plugins, nothing read from `/etc/rabbitmq`), and `guest`/`guest` allowed from loopback as on
//! any fresh node. Stopped with `rabbitmqctl stop` naming its node, killed by its pid if that
//! fails, and its directory removed, on drop.

use std::{
    path::PathBuf,
    process::{Child, Command, Stdio},
    time::{Duration, Instant},
};

use super::redis::process::{free_ports, temp_dir};

/// How long a node may take to start: about 5 s here, this leaves room for a loaded machine.
const START_TIMEOUT: Duration = Duration::from_secs(60);

/// A private RabbitMQ node; stopped and removed on drop.
#[derive(Debug)]
pub struct PrivateRabbitMq {
    bindir: PathBuf,
    dir: PathBuf,
    node: String,
    port: u16,
    dist_port: u16,
    server: Option<Child>,
}

fn bindir() -> PathBuf {
    let dir = std::env::var_os("MUZE_RABBITMQ_BINDIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from("/usr/lib/rabbitmq/bin"));
    assert!(
        dir.join("rabbitmq-server").is_file(),
        "no rabbitmq-server in {}, and this test runs a private RabbitMQ node: install \
         rabbitmq-server (or set MUZE_RABBITMQ_BINDIR)",
        dir.display()
    );
    dir
}

impl PrivateRabbitMq {
    /// Starts a new node; returns once it accepts AMQP connections.
    ///
    /// # Panics
    /// When RabbitMQ is not installed or the node does not start (with its output).
    pub fn start() -> PrivateRabbitMq {
        let dir = temp_dir("rabbitmq");
        let ports = free_ports(2);
        let mut node = PrivateRabbitMq {
            bindir: bindir(),
            node: format!("muze-test-{}-{}@localhost", std::process::id(), ports[0]),
            port: ports[0],
            dist_port: ports[1],
            server: None,
            dir,
        };
        std::fs::write(
            node.dir.join("rabbitmq.conf"),
            format!("listeners.tcp.default = 127.0.0.1:{}\n", node.port),
        )
        .expect("rabbitmq.conf");
        std::fs::write(node.dir.join("enabled_plugins"), "[].\n").expect("enabled_plugins");
        std::fs::write(node.dir.join("rabbitmq-env.conf"), "").expect("rabbitmq-env.conf");
        node.start_again();
        node
    }

    /// A command of the node's, with its own environment.
    fn command(&self, program: &str) -> Command {
        let mut command = Command::new(self.bindir.join(program));
        command
            .current_dir(&self.dir)
            .env("HOME", &self.dir)
            .env("RABBITMQ_CONF_ENV_FILE", self.dir.join("rabbitmq-env.conf"))
            .env("RABBITMQ_NODENAME", &self.node)
            .env("RABBITMQ_CONFIG_FILE", self.dir.join("rabbitmq.conf"))
            .env(
                "RABBITMQ_ENABLED_PLUGINS_FILE",
                self.dir.join("enabled_plugins"),
            )
            .env("RABBITMQ_MNESIA_BASE", self.dir.join("mnesia"))
            .env("RABBITMQ_LOG_BASE", self.dir.join("log"))
            .env("RABBITMQ_DIST_PORT", self.dist_port.to_string())
            .env("ERL_EPMD_ADDRESS", "127.0.0.1")
            .stdin(Stdio::null());
        command
    }

    /// Starts the stopped node again, with the queues and messages it kept; returns once it
    /// accepts AMQP connections.
    pub fn start_again(&mut self) {
        let log = std::fs::File::create(self.dir.join("server.out")).expect("server log");
        let server = self
            .command("rabbitmq-server")
            .stdout(log.try_clone().expect("log"))
            .stderr(log)
            .spawn()
            .expect("rabbitmq-server runs");
        self.server = Some(server);
        let started = Instant::now();
        loop {
            if std::net::TcpStream::connect(("127.0.0.1", self.port)).is_ok() {
                return;
            }
            if let Some(Ok(Some(status))) = self.server.as_mut().map(Child::try_wait) {
                panic!(
                    "rabbitmq-server exited ({status}):\n{}",
                    std::fs::read_to_string(self.dir.join("server.out")).unwrap_or_default()
                );
            }
            assert!(
                started.elapsed() < START_TIMEOUT,
                "RabbitMQ did not listen on {} within {START_TIMEOUT:?}:\n{}",
                self.port,
                std::fs::read_to_string(self.dir.join("server.out")).unwrap_or_default()
            );
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    /// Stops the node (its connections close; durable queues and persistent messages stay).
    pub fn stop(&mut self) {
        let stopped = self
            .command("rabbitmqctl")
            .args(["-n", &self.node, "stop"])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .is_ok_and(|s| s.success());
        if let Some(mut server) = self.server.take() {
            if !stopped {
                let _ = server.kill();
            }
            let _ = server.wait();
        }
        // The Erlang VM may outlive the script a moment; wait until the port is free.
        let started = Instant::now();
        while std::net::TcpStream::connect(("127.0.0.1", self.port)).is_ok()
            && started.elapsed() < Duration::from_secs(30)
        {
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    /// `amqp://guest:guest@127.0.0.1:<port>/%2f`.
    pub fn url(&self) -> String {
        format!("amqp://guest:guest@127.0.0.1:{}/%2f", self.port)
    }
}

impl Drop for PrivateRabbitMq {
    fn drop(&mut self) {
        if self.server.is_some() {
            self.stop();
        }
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}
