//! Private Redis servers for tests: one [`PrivateRedis`], or a [`PrivateRedisCluster`] of
//! several primaries, each `redis-server` on a free loopback port with its own temporary
//! directory, persisting nothing, and killed (by its pid) when the value is dropped.
//!
//! Starting blocks the calling thread until the servers answer, which takes tens of
//! milliseconds for a server and about a second for a cluster.
//!
//! `redis-server` and `redis-cli` must be on the `PATH`; without them these panic and say what
//! to install rather than letting a test pass without Redis.

mod cluster;
pub(crate) mod process;
mod server;

pub use cluster::PrivateRedisCluster;
pub use server::PrivateRedis;
