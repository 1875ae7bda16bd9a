//! Postgres access: connecting (creating the database and migrating if needed), search jobs,
//! the track catalog, and crawls with the scheduler's ticks. Postgres is the source of truth for every job and answer.

pub mod catalog;
mod connect;
pub mod crawls;
pub mod searches;
pub mod tracks;

pub use connect::{connect, connect_with, ConnectError, MIGRATOR};

/// The `NOTIFY` channel on which finished searches are announced, per namespace.
pub fn search_done_channel(namespace: &str) -> String {
    format!("{namespace}.search_done")
}
