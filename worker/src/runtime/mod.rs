//! The one job runtime. It knows queues and deliveries and nothing about music: each kind of
//! job (a search, a crawl page) is a [`Job`] with its message type, its queues and its retry
//! policy, and every kind travels the same road:
//!
//! 1. [`consume`] takes a delivery and reads its message; a job that panics is caught there
//!    and settled like any other error;
//! 2. the job runs and writes its own state in Postgres, or says why it could not finish now
//!    with one [`JobError`];
//! 3. [`decide()`] turns that error, the delivery's facts and the job's policy into one
//!    [`Action`] (pure, unit-tested without a broker);
//! 4. [`execute`] carries the action out: the only code that acks, sends a message to a delay
//!    queue or parks it. A retry is sent (confirmed) before the delivery is acked, so a crash
//!    in between duplicates a message (harmless: jobs are idempotent) and never loses one.
//!
//! The decision never writes Postgres; giving up, handing a job back for a retry and parking
//! are the job's own writes ([`Job::give_up`], [`Job::retrying`], [`Job::parked`]).

pub mod consume;
pub mod decide;
mod execute;
pub mod lease;

use std::fmt::Debug;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use muze_shared::queue::JobMessage;

pub use decide::{decide, Action, Facts, GiveUp, RetryPolicy, Rounding};
pub use lease::Lease;

/// Why a job did not finish on this delivery.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum JobError {
    /// No budget until then (the limiter said so, or the provider answered 429): wait without
    /// using a retry.
    Throttled { until: DateTime<Utc> },
    /// Another worker holds the job until then (a duplicate message).
    Busy { until: DateTime<Utc> },
    /// Postgres, Redis or RabbitMQ is unreachable: not the job's fault; wait without using a
    /// retry.
    Unavailable(String),
    /// Something that may pass by itself (a timeout, a 5xx): retry with backoff.
    Transient(String),
    /// Something that will not pass by itself: give up now.
    Permanent(String),
    /// The job's deadline passed.
    Expired,
    /// The job's lease was lost to another worker: it stopped, and the other finishes it.
    LeaseLost,
    /// The message cannot be processed at all (unreadable, or names no job).
    Poison(String),
    /// The job panicked.
    Panicked(String),
}

impl JobError {
    /// A Postgres error: a connection that cannot be had or was lost is an outage, anything
    /// else a transient failure of this job.
    pub fn store(context: &str, error: &sqlx::Error) -> JobError {
        let reason = format!("{context}: {error}");
        if is_outage(error) {
            JobError::Unavailable(reason)
        } else {
            JobError::Transient(reason)
        }
    }
}

/// Whether a Postgres error means the database cannot be reached (rather than that this
/// statement failed): no connection, a lost one, or a server shutting down or starting up.
pub fn is_outage(error: &sqlx::Error) -> bool {
    match error {
        sqlx::Error::Io(_)
        | sqlx::Error::Tls(_)
        | sqlx::Error::PoolTimedOut
        | sqlx::Error::PoolClosed
        | sqlx::Error::WorkerCrashed => true,
        sqlx::Error::Database(e) => e.code().is_some_and(|code| {
            // Class 08: connection exceptions; 57P01-57P03: admin shutdown, crash shutdown,
            // cannot connect now.
            code.starts_with("08") || matches!(code.as_ref(), "57P01" | "57P02" | "57P03")
        }),
        _ => false,
    }
}

/// A job's error, with what the job wants back if it is retried or given up (a search's
/// attempts so far, say).
#[derive(Debug)]
pub struct Failure<C> {
    pub error: JobError,
    pub carry: C,
}

impl<C: Default> From<JobError> for Failure<C> {
    fn from(error: JobError) -> Self {
        Failure {
            error,
            carry: C::default(),
        }
    }
}

/// One kind of job.
#[async_trait]
pub trait Job: Debug + Send + Sync + 'static {
    /// What its messages say; they travel on [`JobMessage::queues`].
    type Message: JobMessage + Clone + Debug;
    /// What a failed run hands to [`Job::retrying`] or [`Job::give_up`].
    type Carry: Default + Debug + Send;

    /// How its errors are retried.
    fn policy(&self) -> &RetryPolicy;

    /// Transient retries the message has used.
    fn retries(message: &Self::Message) -> u32;

    /// The message of the next try, with `retries` retries used.
    fn with_retries(message: &Self::Message, retries: u32) -> Self::Message;

    /// When the job stops being worth doing, if ever.
    fn deadline(message: &Self::Message) -> Option<DateTime<Utc>>;

    /// Runs the job to its final state, or says why it could not finish on this delivery.
    async fn run(&self, message: &Self::Message) -> Result<(), Failure<Self::Carry>>;

    /// The next try's message is sent and waits until `due`: hand the job back.
    async fn retrying(
        &self,
        message: &Self::Message,
        carry: Self::Carry,
        due: DateTime<Utc>,
    ) -> Result<(), JobError>;

    /// No more tries: write the final state that `why` calls for.
    async fn give_up(
        &self,
        message: &Self::Message,
        why: GiveUp,
        carry: Self::Carry,
    ) -> Result<(), JobError>;

    /// The message was parked for an operator with `reason`.
    async fn parked(&self, message: &Self::Message, reason: &str) -> Result<(), JobError>;
}
