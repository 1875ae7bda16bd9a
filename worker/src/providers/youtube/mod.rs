//! YouTube: the client, how its errors read, and the title parser that turns a video into a
//! song. Registered like every provider; the rest of the worker sees only [`Youtube`].

mod client;
mod errors;
/// Its name, credential and defaults (`youtube/spec.rs`, which `muze-shared` compiles for every
/// binary).
pub use muze_shared::domain::specs::youtube as spec;
mod title;
#[cfg(test)]
mod title_table;

pub use client::Youtube;
pub use title::{split_title, SplitTitle};
