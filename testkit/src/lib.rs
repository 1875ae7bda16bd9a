//! `muze-testkit`: what every Muze test suite and benchmark stands on, so each creates and
//! removes its world the same way.
//!
//! - [`world`]: a namespace, database and budgets of one's own on the real services, removed
//!   by [`World::teardown`] or, when a test panics first, on drop.
//! - [`api`], [`sim`]: clients of `muze-api` and `muze-sim`; a sim started in-process;
//!   [`jobs`]: search jobs claimed as a worker holds them.
//! - [`wait`]: readiness and conditions polled, instead of sleeps; [`worker`]: a worker in
//!   the test's process, returned once it is ready; [`processes`]: Muze's binaries as child
//!   processes on a world's settings, waited for the same way and stopped on drop.
//! - [`private`]: a Postgres cluster, RabbitMQ node, Redis server or Redis Cluster of the
//!   test's own, for tests that stop or restart a dependency.

pub mod api;
pub mod jobs;
pub mod private;
pub mod processes;
pub mod sim;
pub mod wait;
pub mod worker;
pub mod world;

pub use api::ApiClient;
pub use sim::{catalog_queries, catalog_queries_of, RunningSim, SimClient};
pub use world::World;
