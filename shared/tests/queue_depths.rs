//! Queue depths read from the real RabbitMQ: what waits ready, delayed and parked, per kind.

use muze_shared::queue::{Broker, QueueDepths, Topology, DELAY_TIERS_MS};
use secrecy::SecretString;

const AMQP_URL: &str = "amqp://guest:guest@127.0.0.1:5672/%2f";

#[tokio::test]
async fn depths_count_ready_delayed_and_parked_messages_of_each_kind() {
    let namespace = format!("depths-{}", uuid::Uuid::new_v4().simple());
    let broker = Broker::connect(SecretString::from(AMQP_URL), Topology::new(&namespace, 5))
        .await
        .expect("RabbitMQ on 127.0.0.1:5672");
    // The messages are published inside the guarded block, so the queues go even if it fails.
    let outcome = tokio::spawn({
        let broker = broker.clone();
        async move {
            let search = broker.topology().search.clone();
            let longest = DELAY_TIERS_MS[DELAY_TIERS_MS.len() - 1];
            for (queue, copies) in [
                (search.work.clone(), 3),
                (search.delay(longest), 2),
                (search.parked.clone(), 1),
            ] {
                for n in 0..copies {
                    broker
                        .publish(&queue, b"{}", &format!("{queue}-{n}"), &[])
                        .await
                        .expect("publish");
                }
            }
            let searches = broker.queue_depths(&search).await.expect("search depths");
            let crawls = broker
                .queue_depths(&broker.topology().crawl)
                .await
                .expect("crawl depths");
            (searches, crawls)
        }
    })
    .await;
    broker
        .delete_namespace_queues()
        .await
        .expect("delete the test's queues");
    let (searches, crawls) = outcome.expect("the test body");
    assert_eq!(
        searches,
        QueueDepths {
            ready: 3,
            consumers: 0,
            delayed: 2,
            parked: 1
        }
    );
    assert_eq!(crawls, QueueDepths::default());
}
