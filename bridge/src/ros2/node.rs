//! A ROS 2 node on diffplan's Zenoh session, as rmw_zenoh would declare it: a liveliness token
//! for the node and one for each publisher and subscription (so `ros2 node list` and `ros2 topic
//! list` show them), samples on the rmw_zenoh data key with the 33-byte attachment.

use std::marker::PhantomData;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use zenoh::Wait;
use zenoh::handlers::{RingChannel, RingChannelHandler};
use zenoh::liveliness::LivelinessToken;
use zenoh::pubsub::{Publisher, Subscriber};
use zenoh::qos::{CongestionControl, Priority};
use zenoh::sample::Sample;

use super::attachment::Attachment;
use super::graph::{EntityKind, GRAPH_PREFIX, Qos, entity_token, node_token, subscribes_to};
use super::message::Ros2Message;
use super::names::NodeName;
use crate::codec::MAX_PAYLOAD_BYTES;
use crate::log_budget::{LogBudget, REFUSAL_LINES_PER_SECOND, held_back_note};
use crate::{BridgeError, WireError};

/// Ids of the nodes and entities of this process, as rmw_zenoh counts them per context.
static NEXT_ID: AtomicU64 = AtomicU64::new(0);

/// A ROS 2 node: its name and its liveliness token.
pub struct Ros2Node {
    session: zenoh::Session,
    name: NodeName,
    node_id: u64,
    _token: LivelinessToken,
}

impl Ros2Node {
    /// Declares node `name` on `session`.
    pub fn new(session: &zenoh::Session, name: NodeName) -> Result<Self, BridgeError> {
        let node_id = NEXT_ID.fetch_add(1, Ordering::Relaxed);
        let key = node_token(&name, &session.zid().to_string(), node_id);
        let token = session.liveliness().declare_token(key).wait().map_err(BridgeError::zenoh)?;
        Ok(Self { session: session.clone(), name, node_id, _token: token })
    }

    /// The node's name.
    #[must_use]
    pub fn name(&self) -> &NodeName {
        &self.name
    }

    /// The liveliness key of a new entity of this node on `topic`.
    fn entity<M: Ros2Message>(&self, kind: EntityKind, topic: &str) -> Result<String, BridgeError> {
        let entity_id = NEXT_ID.fetch_add(1, Ordering::Relaxed);
        let topic = self.name.resolve(topic)?;
        let zid = self.session.zid().to_string();
        Ok(entity_token::<M>(&self.name, &zid, self.node_id, entity_id, kind, &topic, &Qos::default()))
    }

    /// Waits up to `timeout` (polling the graph's liveliness tokens every `poll`) until some node
    /// of the domain subscribes to `M` on `topic`; returns its token, or `None` when none came
    /// or `stop` was set.
    pub fn wait_for_subscription<M: Ros2Message>(
        &self,
        topic: &str,
        (timeout, poll): (Duration, Duration),
        stop: &AtomicBool,
    ) -> Result<Option<String>, BridgeError> {
        let topic = self.name.resolve(topic)?;
        let query = format!("{GRAPH_PREFIX}/{}/**", self.name.domain);
        let began = Instant::now();
        while began.elapsed() < timeout && !stop.load(Ordering::Relaxed) {
            let replies = self.session.liveliness().get(&query).timeout(poll).wait().map_err(BridgeError::zenoh)?;
            while let Ok(reply) = replies.recv() {
                if let Ok(sample) = reply.result()
                    && subscribes_to::<M>(sample.key_expr().as_str(), &topic)
                {
                    return Ok(Some(sample.key_expr().to_string()));
                }
            }
            std::thread::sleep(poll);
        }
        Ok(None)
    }

    /// A publisher of `M` on `topic` (resolved in the node's namespace).
    pub fn publisher<M: Ros2Message>(&self, topic: &str) -> Result<Ros2Publisher<M>, BridgeError> {
        let key = self.name.data_key::<M>(topic)?;
        let token_key = self.entity::<M>(EntityKind::Publisher, topic)?;
        let publisher = self
            .session
            .declare_publisher(key.clone())
            .congestion_control(CongestionControl::Block)
            .priority(Priority::InteractiveHigh)
            .express(true)
            .wait()
            .map_err(BridgeError::zenoh)?;
        let token = self.session.liveliness().declare_token(&token_key).wait().map_err(BridgeError::zenoh)?;
        Ok(Ros2Publisher { publisher, key, sequence: 0, gid: gid_of(&token_key), _token: token, _type: PhantomData })
    }

    /// A subscription to `M` on `topic` keeping the newest `capacity` samples.
    pub fn subscription<M: Ros2Message>(
        &self,
        topic: &str,
        capacity: usize,
    ) -> Result<Ros2Subscription<M>, BridgeError> {
        let key = self.name.data_key::<M>(topic)?;
        let token_key = self.entity::<M>(EntityKind::Subscription, topic)?;
        let subscriber = self
            .session
            .declare_subscriber(key.clone())
            .with(RingChannel::new(capacity.max(1)))
            .wait()
            .map_err(BridgeError::zenoh)?;
        let token = self.session.liveliness().declare_token(&token_key).wait().map_err(BridgeError::zenoh)?;
        Ok(Ros2Subscription {
            subscriber,
            key,
            rejected: 0,
            log: LogBudget::new(REFUSAL_LINES_PER_SECOND, Duration::from_secs(1)),
            _token: token,
            _type: PhantomData,
        })
    }
}

/// A publisher's global id: 16 bytes of the SHA-256 of its liveliness key (rmw_zenoh hashes the
/// same key; subscribers only need it to be stable and distinct).
fn gid_of(token_key: &str) -> [u8; 16] {
    use sha2::Digest;
    let digest = sha2::Sha256::digest(token_key.as_bytes());
    std::array::from_fn(|i| digest[i])
}

/// Publishes messages of type `M` on one topic.
pub struct Ros2Publisher<M> {
    publisher: Publisher<'static>,
    key: String,
    /// Messages published so far.
    sequence: i64,
    gid: [u8; 16],
    _token: LivelinessToken,
    _type: PhantomData<fn(&M)>,
}

impl<M: Ros2Message> Ros2Publisher<M> {
    /// Publishes `message` with the next sequence number and the wall clock's time.
    pub fn publish(&mut self, message: &M) -> Result<(), BridgeError> {
        self.sequence += 1;
        let attachment = Attachment {
            sequence: self.sequence,
            source_timestamp_ns: i64::try_from(crate::codec::now_ns()).unwrap_or(i64::MAX),
            gid: self.gid,
        };
        self.publisher.put(message.encode()).attachment(attachment.encode().to_vec()).wait().map_err(BridgeError::zenoh)
    }

    /// The data key it publishes on.
    #[must_use]
    pub fn key(&self) -> &str {
        &self.key
    }
}

/// A message received, with its attachment and when it arrived here.
#[derive(Debug, Clone)]
pub struct Received<M> {
    /// The message.
    pub message: M,
    /// What the sender attached.
    pub attachment: Attachment,
    /// When this node took it from the network.
    pub arrived: Instant,
}

/// Receives messages of type `M` on one topic; malformed samples (no attachment, a wrong one,
/// oversized or undecodable payloads) are counted and logged within a budget, never passed on.
pub struct Ros2Subscription<M> {
    subscriber: Subscriber<RingChannelHandler<Sample>>,
    key: String,
    rejected: u64,
    log: LogBudget,
    _token: LivelinessToken,
    _type: PhantomData<fn() -> M>,
}

impl<M: Ros2Message> Ros2Subscription<M> {
    /// Every valid message received since the last call, oldest first.
    pub fn drain(&mut self) -> Vec<Received<M>> {
        let mut received = Vec::new();
        while let Ok(Some(sample)) = self.subscriber.try_recv() {
            match decode::<M>(&sample) {
                Ok((message, attachment)) => received.push(Received { message, attachment, arrived: Instant::now() }),
                Err(error) => {
                    self.rejected += 1;
                    if let Some(held_back) = self.log.admit(Instant::now()) {
                        tracing::warn!(
                            "rejected a {} on {}: {error}{}",
                            M::TYPE_NAME,
                            self.key,
                            held_back_note(held_back)
                        );
                    }
                }
            }
        }
        received
    }

    /// Samples rejected so far.
    #[must_use]
    pub fn rejected(&self) -> u64 {
        self.rejected
    }

    /// The data key it listens on.
    #[must_use]
    pub fn key(&self) -> &str {
        &self.key
    }
}

/// The attachment and message of `sample`.
fn decode<M: Ros2Message>(sample: &Sample) -> Result<(M, Attachment), WireError> {
    let attachment = sample.attachment().ok_or_else(|| WireError::Malformed {
        what: "rmw_zenoh sample".into(),
        reason: "no attachment (rmw_zenoh requires one: sequence number, timestamp, GID)".into(),
    })?;
    let attachment = Attachment::decode(&attachment.to_bytes())?;
    let len = sample.payload().len();
    if len > MAX_PAYLOAD_BYTES {
        return Err(WireError::Oversized { len, max: MAX_PAYLOAD_BYTES });
    }
    Ok((M::decode(&sample.payload().to_bytes())?, attachment))
}
