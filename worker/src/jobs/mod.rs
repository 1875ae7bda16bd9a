//! The kinds of job the worker runs, each a [`crate::runtime::Job`]: a user's search and one
//! page of a crawl.

pub mod crawl_page;
pub mod search;
