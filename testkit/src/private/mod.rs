//! The real services Muze talks to, started privately for one test on free ports, so a test
//! may stop, restart or cluster them without disturbing the rest of the suite: a Postgres
//! cluster, a RabbitMQ node, a Redis server or a Redis Cluster. Each is stopped (by its own
//! pid) and its directory removed when dropped.

pub mod postgres;
pub mod rabbitmq;
pub mod redis;
