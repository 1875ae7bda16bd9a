//! Test support for other crates' integration tests (cargo feature `test-support`): the real
//! services Muze talks to, started privately per test so a test may stop, restart or cluster
//! them without disturbing the others.

pub mod postgres;
pub mod rabbitmq;
pub mod redis;
