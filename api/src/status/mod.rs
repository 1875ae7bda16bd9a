//! The operators' status page and its data: what `GET /v1/admin/status` reports and
//! `GET /status` shows.
//!
//! - [`report`]: the JSON shape, each field saying where its number comes from.
//! - [`gather`]: the reads behind it (Redis, RabbitMQ, a few bounded Postgres queries).
//! - [`health`]: the header line, judged from the report.
//! - [`tally`]: how each API process counts catalog and upstream answers, fleet-wide.
//! - `page/`: the HTML, script and style of `/status`, embedded in the binary
//!   (`crate::routes::status_page` serves them).

pub mod gather;
pub mod health;
pub mod report;
pub mod tally;

use std::sync::Arc;

use muze_shared::{
    cron::{CronError, CronSchedule},
    Settings,
};

use self::tally::AnswerTally;

/// What the status route reads besides the connections.
#[derive(Debug)]
pub struct StatusSources {
    /// This process's answer counts, flushed to Redis.
    pub tally: Arc<AnswerTally>,
    /// The scheduler's crawl schedule, for the next tick (an invalid one is reported, not
    /// fatal: the API does not fire ticks).
    pub crawl_schedule: Result<CronSchedule, CronError>,
}

impl StatusSources {
    pub fn new(settings: &Settings) -> StatusSources {
        StatusSources {
            tally: Arc::new(AnswerTally::new(&settings.namespace)),
            crawl_schedule: settings.crawl_schedule(),
        }
    }
}
