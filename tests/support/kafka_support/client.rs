//! The tests' own Kafka clients against a [`Broker`], librdkafka's and not Sluice's: topic
//! creation through the admin client, a plain producer, consumers that read a topic back,
//! probe an offset, and commit or read a group's offsets as an operator's tool would.

use super::{unique, Broker, WAIT};
use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use rdkafka::admin::{AdminClient, AdminOptions, NewTopic, TopicReplication};
use rdkafka::client::DefaultClientContext;
use rdkafka::consumer::{BaseConsumer, Consumer};
use rdkafka::message::{Headers, Message};
use rdkafka::producer::{FutureProducer, FutureRecord};

impl Broker {
    /// Creates `topic` with `partitions` partitions and waits until its metadata shows them.
    pub fn create_topic(&self, topic: &str, partitions: i32) {
        let admin: AdminClient<DefaultClientContext> = self.config().create().unwrap();
        let rt = runtime();
        let t = NewTopic::new(topic, partitions, TopicReplication::Fixed(1));
        let r = rt
            .block_on(admin.create_topics(&[t], &AdminOptions::new()))
            .expect("create_topics");
        for x in r {
            x.unwrap_or_else(|(t, e)| panic!("create topic {t}: {e}"));
        }
        let probe: BaseConsumer = self.config().create().unwrap();
        let end = Instant::now() + WAIT;
        loop {
            if let Ok(md) = probe.fetch_metadata(Some(topic), Duration::from_secs(2)) {
                if md.topics().iter().any(|t| {
                    t.name() == topic
                        && t.error().is_none()
                        && t.partitions().len() as i32 == partitions
                }) {
                    return;
                }
            }
            assert!(Instant::now() < end, "topic {topic} never appeared");
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// Produces `values` to `topic` with acks=all and waits for every acknowledgement.
    pub fn produce(&self, topic: &str, values: &[Vec<u8>]) {
        self.produce_with(topic, values, &[]);
    }

    /// Produces `values` to `topic` with acks=all, each record in a record batch of its own
    /// (so every offset a consumer commits is a batch boundary: tansu 0.6 cannot fetch from
    /// inside a batch, docs/kafka.md).
    pub fn produce_unbatched(&self, topic: &str, values: &[Vec<u8>]) {
        self.produce_with(topic, values, &[("batch.num.messages", "1")]);
    }

    /// Produces `values` to `topic` with acks=all and the producer properties `extra`.
    pub fn produce_with(&self, topic: &str, values: &[Vec<u8>], extra: &[(&str, &str)]) {
        let mut c = self.config();
        c.set("acks", "all");
        for (k, v) in extra {
            c.set(*k, *v);
        }
        let p: FutureProducer = c.create().unwrap();
        let rt = runtime();
        rt.block_on(async {
            let mut fs = Vec::new();
            for v in values {
                let r: FutureRecord<'_, (), [u8]> = FutureRecord::to(topic).payload(v);
                fs.push(p.send_result(r).map_err(|(e, _)| e).unwrap());
            }
            for f in fs {
                f.await.unwrap().map_err(|(e, _)| e).unwrap();
            }
        });
    }

    /// Reads every record of `topic` from the beginning until `want` records were seen or
    /// nothing new came for `quiet`; returns (value, headers) pairs.
    pub fn consume_all(
        &self,
        topic: &str,
        want: usize,
        quiet: Duration,
    ) -> Vec<(Vec<u8>, BTreeMap<String, String>)> {
        let c = self.earliest_reader(topic, "reader");
        let mut out = Vec::new();
        let end = Instant::now() + WAIT;
        // The quiet time counts from the last record, not from the subscription: joining the
        // group can take seconds on a loaded machine.
        let mut last: Option<Instant> = None;
        while out.len() < want && Instant::now() < end && last.is_none_or(|t| t.elapsed() < quiet) {
            match c.poll(Duration::from_millis(200)) {
                Some(Ok(m)) => {
                    let mut h = BTreeMap::new();
                    if let Some(hs) = m.headers() {
                        for i in 0..hs.count() {
                            let x = hs.get(i);
                            h.insert(
                                x.key.to_owned(),
                                String::from_utf8_lossy(x.value.unwrap_or(&[])).into_owned(),
                            );
                        }
                    }
                    out.push((m.payload().unwrap_or(&[]).to_vec(), h));
                    last = Some(Instant::now());
                }
                Some(Err(e)) => eprintln!("consume: {e}"),
                None => {}
            }
        }
        out
    }
}

impl Broker {
    /// A consumer of a group of its own (`group_prefix-...`) subscribed to `topic` from the
    /// earliest offset, committing nothing.
    fn earliest_reader(&self, topic: &str, group_prefix: &str) -> BaseConsumer {
        let c: BaseConsumer = self
            .config()
            .set("group.id", unique(group_prefix))
            .set("auto.offset.reset", "earliest")
            .set("enable.auto.commit", "false")
            .create()
            .unwrap();
        c.subscribe(&[topic]).unwrap();
        c
    }

    /// Every record of `topic` as (partition, offset, value), read from the beginning of each
    /// partition by a plain consumer that is not Sluice's (librdkafka's own, no group
    /// offsets), until nothing new came for `quiet` (at most [`WAIT`]).
    pub fn read_topic(&self, topic: &str, quiet: Duration) -> Vec<(i32, i64, Vec<u8>)> {
        let c = self.earliest_reader(topic, "audit");
        let mut out = Vec::new();
        let end = Instant::now() + WAIT;
        let mut last = Instant::now();
        while Instant::now() < end && last.elapsed() < quiet {
            match c.poll(Duration::from_millis(200)) {
                Some(Ok(m)) => {
                    out.push((
                        m.partition(),
                        m.offset(),
                        m.payload().unwrap_or(&[]).to_vec(),
                    ));
                    last = Instant::now();
                }
                Some(Err(e)) => eprintln!("audit consume: {e}"),
                None => {}
            }
        }
        out
    }
}

impl Broker {
    /// Whether the broker serves any record of `topic`/`partition` to a plain consumer that
    /// starts at `offset` (assigned, no group), within `wait`.
    pub fn serves_from(&self, topic: &str, partition: i32, offset: i64, wait: Duration) -> bool {
        let c: BaseConsumer = self
            .config()
            .set("group.id", unique("probe"))
            .set("enable.auto.commit", "false")
            .create()
            .unwrap();
        let mut tpl = rdkafka::TopicPartitionList::new();
        tpl.add_partition_offset(topic, partition, rdkafka::Offset::Offset(offset))
            .unwrap();
        c.assign(&tpl).unwrap();
        let end = Instant::now() + wait;
        while Instant::now() < end {
            if let Some(Ok(_)) = c.poll(Duration::from_millis(200)) {
                return true;
            }
        }
        false
    }

    /// Commits offset `offset` of partition `partition` of `topic` for group `group` (a
    /// client outside the group, as an operator's offset tool).
    pub fn commit_offset(&self, topic: &str, group: &str, partition: i32, offset: i64) {
        let c: BaseConsumer = self
            .config()
            .set("group.id", group)
            .set("enable.auto.commit", "false")
            .create()
            .unwrap();
        let mut tpl = rdkafka::TopicPartitionList::new();
        tpl.add_partition_offset(topic, partition, rdkafka::Offset::Offset(offset))
            .unwrap();
        c.commit(&tpl, rdkafka::consumer::CommitMode::Sync).unwrap();
        assert_eq!(
            self.committed(topic, group, partition + 1).get(&partition),
            Some(&offset)
        );
    }

    /// The offsets group `group` committed for partitions `0..partitions` of `topic` (absent:
    /// none committed), read with OffsetFetch by a client that does not join the group.
    pub fn committed(&self, topic: &str, group: &str, partitions: i32) -> BTreeMap<i32, i64> {
        let c: BaseConsumer = self
            .config()
            .set("group.id", group)
            .set("enable.auto.commit", "false")
            .create()
            .unwrap();
        let mut tpl = rdkafka::TopicPartitionList::new();
        for p in 0..partitions {
            tpl.add_partition(topic, p);
        }
        let got = c.committed_offsets(tpl, Duration::from_secs(10)).unwrap();
        got.elements()
            .iter()
            .filter_map(|e| match e.offset() {
                rdkafka::Offset::Offset(o) => Some((e.partition(), o)),
                _ => None,
            })
            .collect()
    }
}

pub fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap()
}
