//! YouTube: the client, how its errors read, and the title parser that turns a video into a
//! song. Registered like every provider; the rest of the worker sees only [`Youtube`].

mod client;
mod errors;
mod title;
#[cfg(test)]
mod title_table;

pub use client::Youtube;
pub use title::{split_title, SplitTitle};
