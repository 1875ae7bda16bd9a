//! [`PrivateRedisCluster`]: a private Redis Cluster of primaries only, for tests of what
//! routes by hash slot (the limiter's scripts, the API's per-key counter).

use std::{
    path::PathBuf,
    process::Command,
    time::{Duration, Instant},
};

use super::process::{
    connect, free_ports, require, temp_dir, Process, StartError, POLL_INTERVAL, PORT_ATTEMPTS,
};

/// The fewest primaries `redis-cli --cluster create` accepts.
const MIN_NODES: usize = 3;
/// How long a node may go unheard before the others count it as failing: short, so that a
/// test that kills a node sees the cluster react within seconds.
const NODE_TIMEOUT_MS: u32 = 2000;
/// How long the nodes may take to agree that every slot is served, after creation or after a
/// node restarted: a few gossip rounds, usually well under a second.
const STATE_OK_TIMEOUT: Duration = Duration::from_secs(20);

/// One node: its client port, its cluster-bus port, its process while running.
#[derive(Debug)]
struct Node {
    port: u16,
    bus_port: u16,
    process: Option<Process>,
}

/// A Redis Cluster of the test's own: N primaries on free 127.0.0.1 ports, no replicas, the
/// 16384 slots split evenly between them, nothing persisted. Every node is killed and the
/// directory removed on drop.
#[derive(Debug)]
pub struct PrivateRedisCluster {
    dir: PathBuf,
    nodes: Vec<Node>,
}

impl PrivateRedisCluster {
    /// Starts `nodes` servers, joins them into a cluster with `redis-cli --cluster create`,
    /// and returns once every node reports `cluster_state:ok`.
    ///
    /// # Panics
    /// When `nodes` is below 3, when `redis-server` or `redis-cli` is not installed, or when
    /// the cluster does not form.
    pub fn start(nodes: usize) -> PrivateRedisCluster {
        assert!(
            nodes >= MIN_NODES,
            "a Redis Cluster needs at least {MIN_NODES} primaries, not {nodes}"
        );
        require("redis-server");
        require("redis-cli");
        let mut cluster = PrivateRedisCluster {
            dir: temp_dir("redis-cluster"),
            nodes: Vec::with_capacity(nodes),
        };
        for _ in 0..nodes {
            let node = cluster.start_new_node();
            cluster.nodes.push(node);
        }
        cluster.create();
        cluster.wait_until_ok();
        cluster
    }

    /// The nodes' URLs, comma-separated, for `MUZE__REDIS__URL`.
    pub fn urls(&self) -> String {
        self.node_urls().join(",")
    }

    /// Each node's URL, to look at one node directly (`DBSIZE`, `SCRIPT EXISTS`).
    pub fn node_urls(&self) -> Vec<String> {
        self.nodes
            .iter()
            .map(|node| format!("redis://127.0.0.1:{}", node.port))
            .collect()
    }

    /// Kills node `index` (by its pid) and starts it again on the same ports with its cluster
    /// configuration file, so it rejoins owning the same slots, but with no data. Returns once
    /// every node reports `cluster_state:ok` again.
    ///
    /// # Panics
    /// When there is no node `index`, or it does not come back.
    pub fn restart_node(&mut self, index: usize) {
        let args = self.node_args(self.nodes[index].port, self.nodes[index].bus_port);
        let node = &mut self.nodes[index];
        node.process = None;
        match Process::start(node.port, &self.dir, &args) {
            Ok(process) => node.process = Some(process),
            Err(e) => panic!("cluster node on port {} did not restart: {e:?}", node.port),
        }
        self.wait_until_ok();
    }

    fn node_args(&self, port: u16, bus_port: u16) -> Vec<String> {
        let config_file = self.dir.join(format!("nodes-{port}.conf"));
        vec![
            "--cluster-enabled".into(),
            "yes".into(),
            "--cluster-config-file".into(),
            config_file.display().to_string(),
            "--cluster-node-timeout".into(),
            NODE_TIMEOUT_MS.to_string(),
            // Explicit, because the default (port + 10000) overflows for high free ports.
            "--cluster-port".into(),
            bus_port.to_string(),
        ]
    }

    fn start_new_node(&self) -> Node {
        for _ in 0..PORT_ATTEMPTS {
            let ports = free_ports(2);
            let (port, bus_port) = (ports[0], ports[1]);
            match Process::start(port, &self.dir, &self.node_args(port, bus_port)) {
                Ok(process) => {
                    return Node {
                        port,
                        bus_port,
                        process: Some(process),
                    }
                }
                Err(StartError::PortTaken) => continue,
                Err(StartError::Failed(why)) => panic!("{why}"),
            }
        }
        panic!("a cluster node found no free ports in {PORT_ATTEMPTS} attempts");
    }

    fn create(&self) {
        let output = Command::new("redis-cli")
            .args(["--cluster", "create"])
            .args(
                self.nodes
                    .iter()
                    .map(|node| format!("127.0.0.1:{}", node.port)),
            )
            .args(["--cluster-replicas", "0", "--cluster-yes"])
            .output()
            .unwrap_or_else(|e| panic!("redis-cli could not run: {e}"));
        assert!(
            output.status.success(),
            "redis-cli --cluster create failed ({}):\n{}{}",
            output.status,
            String::from_utf8_lossy(&output.stdout),
            String::from_utf8_lossy(&output.stderr)
        );
    }

    /// Waits until every running node says `cluster_state:ok`: all slots served, as far as
    /// each node knows.
    fn wait_until_ok(&self) {
        let deadline = Instant::now() + STATE_OK_TIMEOUT;
        loop {
            let states: Vec<(u16, Option<String>)> = self
                .nodes
                .iter()
                .map(|node| {
                    let info = connect(node.port).and_then(|mut c| {
                        redis::cmd("CLUSTER")
                            .arg("INFO")
                            .query::<String>(&mut c)
                            .ok()
                    });
                    (node.port, info)
                })
                .collect();
            let ok = |info: &Option<String>| {
                info.as_deref()
                    .is_some_and(|info| info.contains("cluster_state:ok"))
            };
            if states.iter().all(|(_, info)| ok(info)) {
                return;
            }
            assert!(
                Instant::now() < deadline,
                "the cluster is not ok after {STATE_OK_TIMEOUT:?}: {states:?}"
            );
            std::thread::sleep(POLL_INTERVAL);
        }
    }
}

impl Drop for PrivateRedisCluster {
    fn drop(&mut self) {
        // Each node's `Process` kills its own pid when dropped.
        self.nodes.clear();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}
