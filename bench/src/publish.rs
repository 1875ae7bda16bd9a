//! Confirmed-publish latency to the search work queue (a durable quorum queue): the part of
//! `POST /v1/searches` spent waiting for RabbitMQ to take responsibility for a job.

use std::time::Instant;

use hdrhistogram::Histogram;
use muze_shared::queue::{Broker, Topology};

#[derive(Debug, clap::Args)]
pub struct Args {
    /// Messages published, one after another.
    #[arg(long, default_value_t = 2_000)]
    messages: u64,
}

pub async fn run(args: Args) -> anyhow::Result<()> {
    let settings = muze_shared::Settings::load()?;
    let namespace = format!("bench{}", &uuid::Uuid::new_v4().simple().to_string()[..8]);
    let broker = Broker::connect(settings.amqp.url.clone(), Topology::new(&namespace, 5)).await?;
    let queue = broker.topology().search.parked.clone();
    let work = broker.topology().search.work.clone();
    let mut histograms = Vec::new();
    for (name, queue) in [("quorum work queue", &work), ("classic queue", &queue)] {
        let mut h = Histogram::<u64>::new_with_bounds(1, 10_000_000, 3)?;
        for i in 0..args.messages {
            let started = Instant::now();
            broker.publish(queue, b"{}", &i.to_string(), &[]).await?;
            h.record(started.elapsed().as_micros().max(1) as u64)?;
        }
        histograms.push((name, h));
    }
    for (name, h) in histograms {
        println!(
            "confirmed publish to a {name}: p50 {} µs  p99 {} µs ({} messages)",
            h.value_at_quantile(0.5),
            h.value_at_quantile(0.99),
            h.len()
        );
    }
    let channel = broker.channel().await?;
    for q in [&work, &queue] {
        let _ = channel
            .queue_delete(
                q.as_str().into(),
                lapin::options::QueueDeleteOptions::default(),
            )
            .await;
    }
    broker.close().await;
    Ok(())
}
