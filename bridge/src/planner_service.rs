//! The plan service: a queryable answering [`PlanRequest`]s on the shared, the task's and the
//! worker's own key, one answering `describe` with the worker's [`ModelCard`] and, in streaming
//! mode, a subscriber that replans on the states of its task's robots and publishes the plan to
//! each robot.
//!
//! One inference worker owns the [`PlanHandler`] (the model is loaded once). Zenoh callbacks only
//! queue work; a full queue, or one that would keep a query past its deadline, is answered
//! `busy` at once, and the latest state of each robot replaces any older one that was not planned
//! for yet.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::mpsc::{self, RecvTimeoutError, SyncSender, TrySendError};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use zenoh::Wait;
use zenoh::bytes::Encoding;
use zenoh::pubsub::{Publisher, Subscriber};
use zenoh::qos::{CongestionControl, Priority};
use zenoh::query::{Query, Queryable};

use crate::admission::Admission;
use crate::codec::{self, MAX_PAYLOAD_BYTES, Stamped};
use crate::log_budget::{LogBudget, REFUSAL_LINES_PER_SECOND, held_back_note};
use crate::message::{
    ErrorCode, ErrorReply, Heartbeat, ModelCard, NodeStatus, Plan, PlanRequest, RobotMode, RobotState, Role,
};
use crate::{BridgeError, Namespace};

/// What the service needs from a planner. Its plans name the planner, task and checkpoint of
/// the service's [`ModelCard`].
pub trait PlanHandler {
    /// Answers a query (for the service's task: the service refuses requests for others).
    fn plan(&mut self, request: &PlanRequest) -> Result<Plan, ErrorReply>;
    /// Plans for a robot's published state (streaming mode): from its observation to its goal.
    fn plan_for_state(&mut self, state: &RobotState) -> Result<Plan, ErrorReply>;
}

/// The plan service of one worker.
pub struct PlannerService {
    session: zenoh::Session,
    namespace: Namespace,
    /// What the worker serves; its `planner_id` is the worker's id.
    card: ModelCard,
    /// Replan on robot states and publish plans, besides answering queries.
    pub stream: bool,
    /// Queries waiting beyond this many are answered `busy`.
    pub queue: usize,
}

/// Counts of a service's life.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ServiceReport {
    /// Plans sent (replies and streamed).
    pub plans_served: u64,
    /// Error replies sent.
    pub errors_sent: u64,
    /// Payloads rejected as malformed (requests and states).
    pub payloads_rejected: u64,
}

/// The newest state of each robot not planned for yet.
type LatestStates = Arc<Mutex<BTreeMap<String, Stamped<RobotState>>>>;

enum Work {
    Query { query: Query, reply_key: String, arrived: Instant },
    State,
}

/// Counters shared with the Zenoh callbacks, and the budget of their log lines.
struct Counters {
    served: AtomicU64,
    errors: AtomicU64,
    rejected: AtomicU64,
    log: LogBudget,
    /// The queue's length and the recent plan time: what a new query would wait.
    admission: Admission,
}

impl Default for Counters {
    fn default() -> Self {
        Self {
            served: AtomicU64::default(),
            errors: AtomicU64::default(),
            rejected: AtomicU64::default(),
            log: LogBudget::new(REFUSAL_LINES_PER_SECOND, Duration::from_secs(1)),
            admission: Admission::default(),
        }
    }
}

impl PlannerService {
    /// A service on `session` for the worker `card` describes (`card.planner_id`).
    pub fn new(session: &zenoh::Session, namespace: Namespace, card: ModelCard) -> Result<Self, BridgeError> {
        crate::keys::check_id(&card.planner_id).map_err(|e| BridgeError::Config(format!("planner id {e}")))?;
        crate::codec::encode(&card).map_err(|e| BridgeError::Config(format!("the planner's model card: {e}")))?;
        Ok(Self { session: session.clone(), namespace, card, stream: false, queue: 8 })
    }

    /// Serves until `stop` is set; the liveliness token and queryables vanish on return. Refuses
    /// to start when another planner with this id stays alive on the network for 12 s (a
    /// crashed node's token expires within that).
    pub fn run(&self, handler: &mut dyn PlanHandler, stop: &AtomicBool) -> Result<ServiceReport, BridgeError> {
        let (id, task) = (&self.card.planner_id, &self.card.task);
        let token = self.namespace.planner_token(id);
        crate::unique_id::claim(&self.session, &token, &format!("planner {id}"))?;
        let counters = Arc::new(Counters::default());
        let (sender, receiver) = mpsc::sync_channel::<Work>(self.queue.max(1));
        let latest_states: LatestStates = Arc::default();
        let _queryables = self.declare_queryables(&sender, &counters)?;
        let _describe = self.declare_describe()?;
        let _states =
            if self.stream { Some(self.declare_state_subscriber(&sender, &counters, &latest_states)?) } else { None };
        drop(sender);
        // Announced only once it can answer.
        let _tokens = [token, self.namespace.task_token(task, id)]
            .into_iter()
            .map(|key| self.session.liveliness().declare_token(key).wait().map_err(BridgeError::zenoh))
            .collect::<Result<Vec<_>, _>>()?;
        let mut publishers = BTreeMap::new();
        let mut last_heartbeat: Option<Instant> = None;
        while !stop.load(Ordering::Relaxed) {
            if last_heartbeat.is_none_or(|t| t.elapsed() >= Duration::from_secs(1)) {
                self.heartbeat(&counters, NodeStatus::Ok);
                last_heartbeat = Some(Instant::now());
            }
            match receiver.recv_timeout(Duration::from_millis(20)) {
                Ok(Work::Query { query, reply_key, arrived }) => {
                    counters.admission.left();
                    answer(handler, &counters, task, &query, &reply_key, arrived);
                }
                Ok(Work::State) | Err(RecvTimeoutError::Timeout) => {}
                Err(RecvTimeoutError::Disconnected) => break,
            }
            let states = std::mem::take(&mut *latest_states.lock().unwrap_or_else(PoisonError::into_inner));
            for (robot, state) in states {
                if state.body.mode != RobotMode::Done {
                    self.stream_plan(handler, &counters, &mut publishers, &robot, &state.body)?;
                }
            }
        }
        self.heartbeat(&counters, NodeStatus::Stopping);
        Ok(ServiceReport {
            plans_served: counters.served.load(Ordering::Relaxed),
            errors_sent: counters.errors.load(Ordering::Relaxed),
            payloads_rejected: counters.rejected.load(Ordering::Relaxed),
        })
    }

    /// The shared, the task's and the worker's own service key; callbacks only queue.
    fn declare_queryables(
        &self,
        sender: &SyncSender<Work>,
        counters: &Arc<Counters>,
    ) -> Result<Vec<Queryable<()>>, BridgeError> {
        [
            self.namespace.shared_service(),
            self.namespace.task_service(&self.card.task),
            self.namespace.worker_service(&self.card.planner_id),
        ]
        .into_iter()
        .map(|key| {
            let sender = sender.clone();
            let counters = Arc::clone(counters);
            let reply_key = key.clone();
            self.session
                .declare_queryable(&key)
                .complete(true)
                .callback(move |query| enqueue(&sender, &counters, query, &reply_key))
                .wait()
                .map_err(BridgeError::zenoh)
        })
        .collect()
    }

    /// Answers `describe` with the model card, in the callback (no model work).
    fn declare_describe(&self) -> Result<Queryable<()>, BridgeError> {
        let key = self.namespace.describe(&self.card.planner_id);
        let payload = codec::encode(&self.card)?;
        let reply_key = key.clone();
        self.session
            .declare_queryable(&key)
            .complete(true)
            .callback(move |query| {
                let sent = query
                    .reply(&reply_key, payload.clone())
                    .encoding(Encoding::from(codec::encoding_of::<ModelCard>()))
                    .wait();
                if let Err(error) = sent {
                    tracing::warn!("model card on {reply_key} not sent: {error}");
                }
            })
            .wait()
            .map_err(BridgeError::zenoh)
    }

    /// Keeps the newest valid state of every robot of the task (or of none) in `latest` and
    /// wakes the worker. A state whose robot id is not its key's is rejected: the key is who
    /// published it (and what access control checks).
    fn declare_state_subscriber(
        &self,
        sender: &SyncSender<Work>,
        counters: &Arc<Counters>,
        latest: &LatestStates,
    ) -> Result<Subscriber<()>, BridgeError> {
        let sender = sender.clone();
        let counters = Arc::clone(counters);
        let latest = Arc::clone(latest);
        let task = self.card.task.clone();
        let namespace = self.namespace.clone();
        self.session
            .declare_subscriber(self.namespace.all_robot_states())
            .callback(move |sample| {
                // A robot publishes only its own state: the id in the body must be the key's.
                let keyed = namespace.robot_of_state(sample.key_expr().as_str());
                let decoded = codec::decode::<RobotState>(&sample.payload().to_bytes(), MAX_PAYLOAD_BYTES)
                    .map_err(|e| e.to_string())
                    .and_then(|state| match keyed {
                        Some(robot) if robot == state.body.robot_id => Ok(state),
                        _ => Err(format!("the state names robot {:?}, not the key's", state.body.robot_id)),
                    });
                match decoded {
                    Ok(state) if state.body.task.as_ref().is_some_and(|t| *t != task) => {}
                    Ok(state) => {
                        latest
                            .lock()
                            .unwrap_or_else(PoisonError::into_inner)
                            .insert(state.body.robot_id.clone(), state);
                        // A full queue already holds work that will find this state.
                        let _ = sender.try_send(Work::State);
                    }
                    Err(error) => {
                        counters.rejected.fetch_add(1, Ordering::Relaxed);
                        if let Some(held_back) = counters.log.admit(Instant::now()) {
                            tracing::warn!(
                                "rejected a robot state on {}: {}{}",
                                sample.key_expr(),
                                printable(&error),
                                held_back_note(held_back)
                            );
                        }
                    }
                }
            })
            .wait()
            .map_err(BridgeError::zenoh)
    }

    /// Plans for `robot`'s newest state and publishes the plan on its stream.
    fn stream_plan(
        &self,
        handler: &mut dyn PlanHandler,
        counters: &Counters,
        publishers: &mut BTreeMap<String, Publisher<'static>>,
        robot: &str,
        state: &RobotState,
    ) -> Result<(), BridgeError> {
        let mut plan = match handler.plan_for_state(state) {
            Ok(plan) => plan,
            Err(error) => {
                counters.errors.fetch_add(1, Ordering::Relaxed);
                if let Some(held_back) = counters.log.admit(Instant::now()) {
                    tracing::warn!(
                        "no plan for robot {robot} at step {}: {}: {}{}",
                        state.step,
                        error.code.name(),
                        printable(&error.message),
                        held_back_note(held_back)
                    );
                }
                return Ok(());
            }
        };
        plan.robot_id = Some(robot.to_owned());
        let payload = codec::encode(&plan)?;
        if !publishers.contains_key(robot) {
            let publisher = self
                .session
                .declare_publisher(self.namespace.plan_stream(&self.card.planner_id, robot))
                .encoding(Encoding::from(codec::encoding_of::<Plan>()))
                .congestion_control(CongestionControl::Block)
                .priority(Priority::InteractiveHigh)
                .express(true)
                .wait()
                .map_err(BridgeError::zenoh)?;
            publishers.insert(robot.to_owned(), publisher);
        }
        publishers[robot].put(payload).wait().map_err(BridgeError::zenoh)?;
        counters.served.fetch_add(1, Ordering::Relaxed);
        Ok(())
    }

    fn heartbeat(&self, counters: &Counters, status: NodeStatus) {
        let heartbeat = Heartbeat {
            node_id: self.card.planner_id.clone(),
            role: Role::Planner,
            status,
            reason: None,
            step: None,
            task: Some(self.card.task.clone()),
            checkpoint_digest: Some(self.card.checkpoint_digest.clone()),
            counters: BTreeMap::from([
                ("plans_served".to_owned(), counters.served.load(Ordering::Relaxed)),
                ("errors_sent".to_owned(), counters.errors.load(Ordering::Relaxed)),
                ("payloads_rejected".to_owned(), counters.rejected.load(Ordering::Relaxed)),
            ]),
        };
        let sent = codec::encode(&heartbeat).map_err(BridgeError::from).and_then(|payload| {
            self.session
                .put(self.namespace.planner_status(&self.card.planner_id), payload)
                .encoding(Encoding::from(codec::encoding_of::<Heartbeat>()))
                .wait()
                .map_err(BridgeError::zenoh)
        });
        if let Err(error) = sent {
            tracing::warn!("heartbeat of planner {} not sent: {error}", self.card.planner_id);
        }
    }
}

/// Queues a query for the worker, or refuses it `busy` at once: when the queue is full, or when
/// the queries ahead would keep it past its deadline ([`Admission`]).
fn enqueue(sender: &SyncSender<Work>, counters: &Counters, query: Query, reply_key: &str) {
    // Decoded here too: for the deadline, and so that a refusal names its request (a payload
    // that does not decode gets no id; the worker rejects it).
    let request = query
        .payload()
        .and_then(|p| codec::decode::<PlanRequest>(&p.to_bytes(), MAX_PAYLOAD_BYTES).ok())
        .map(|request| request.body);
    let refused = if let Some(why) = counters.admission.refusal(request.as_ref().and_then(|r| r.deadline_ms)) {
        Some((query, reply_key.to_owned(), why))
    } else {
        counters.admission.entered();
        match sender.try_send(Work::Query { query, reply_key: reply_key.to_owned(), arrived: Instant::now() }) {
            Err(
                TrySendError::Full(Work::Query { query, reply_key, .. })
                | TrySendError::Disconnected(Work::Query { query, reply_key, .. }),
            ) => {
                counters.admission.left();
                Some((query, reply_key, "the worker's queue is full".to_owned()))
            }
            _ => None,
        }
    };
    if let Some((query, reply_key, message)) = refused {
        let busy = ErrorReply { request_id: request.map(|r| r.request_id), code: ErrorCode::Busy, message };
        reply_error(&query, &reply_key, counters, &busy);
    }
}

/// Decodes, checks the task and the deadline, plans and replies; the query is dropped (and the
/// client's `get` finished) on return.
fn answer(
    handler: &mut dyn PlanHandler,
    counters: &Counters,
    task: &str,
    query: &Query,
    reply_key: &str,
    arrived: Instant,
) {
    let payload = query.payload().map(|p| p.to_bytes().into_owned()).unwrap_or_default();
    let request = match codec::decode::<PlanRequest>(&payload, MAX_PAYLOAD_BYTES) {
        Ok(request) => request.body,
        Err(error) => {
            counters.rejected.fetch_add(1, Ordering::Relaxed);
            let code = match error {
                crate::WireError::UnsupportedVersion { .. } => ErrorCode::UnsupportedVersion,
                _ => ErrorCode::BadRequest,
            };
            reply_error(query, reply_key, counters, &ErrorReply { request_id: None, code, message: error.to_string() });
            return;
        }
    };
    if let Some(asked) = request.task.as_ref().filter(|asked| *asked != task) {
        let other = ErrorReply {
            request_id: Some(request.request_id.clone()),
            code: ErrorCode::BadRequest,
            message: format!(
                "this planner serves task {task}, not {asked}: ask the planners of {asked} on their task key \
                 (<ns>/task/{asked}/service/plan)"
            ),
        };
        reply_error(query, reply_key, counters, &other);
        return;
    }
    let queue_ms = arrived.elapsed().as_secs_f64() * 1e3;
    if let Some(deadline) = request.deadline_ms
        && queue_ms > deadline as f64
    {
        let late = ErrorReply {
            request_id: Some(request.request_id.clone()),
            code: ErrorCode::Deadline,
            message: format!("waited {queue_ms:.0} ms in the queue, past the {deadline} ms deadline"),
        };
        reply_error(query, reply_key, counters, &late);
        return;
    }
    let planning = Instant::now();
    let planned = handler.plan(&request);
    counters.admission.planned(planning.elapsed());
    match planned {
        Ok(mut plan) => {
            plan.request_id = Some(request.request_id.clone());
            plan.timing.queue_ms = queue_ms;
            let sent = codec::encode(&plan).map_err(BridgeError::from).and_then(|payload| {
                query
                    .reply(reply_key, payload)
                    .encoding(Encoding::from(codec::encoding_of::<Plan>()))
                    .wait()
                    .map_err(BridgeError::zenoh)
            });
            match sent {
                Ok(()) => {
                    counters.served.fetch_add(1, Ordering::Relaxed);
                }
                Err(error) => tracing::warn!("reply to request {} not sent: {error}", request.request_id),
            }
        }
        Err(mut error) => {
            error.request_id = Some(request.request_id.clone());
            reply_error(query, reply_key, counters, &error);
        }
    }
}

/// Characters of an error message (or a logged error) kept: messages may quote what the
/// client sent, which may be megabytes long.
const ECHO_CHARS: usize = 1024;

/// `text` cut to [`ECHO_CHARS`] characters (saying how many were cut) with control characters
/// escaped, so that echoed input neither bloats a reply nor forges a line in a log.
fn printable(text: &str) -> String {
    let out: String = text
        .chars()
        .take(ECHO_CHARS)
        .flat_map(|c| if c.is_control() { c.escape_default().collect() } else { vec![c] })
        .collect();
    match text.chars().count().checked_sub(ECHO_CHARS) {
        Some(cut) if cut > 0 => format!("{out}… ({cut} more characters)"),
        _ => out,
    }
}

/// Sends `error` as the query's error reply and logs the refusal (within the log budget).
fn reply_error(query: &Query, reply_key: &str, counters: &Counters, error: &ErrorReply) {
    counters.errors.fetch_add(1, Ordering::Relaxed);
    let error = &ErrorReply { message: printable(&error.message), ..error.clone() };
    if let Some(held_back) = counters.log.admit(Instant::now()) {
        tracing::warn!(
            "refused request {} on {reply_key}: {}: {}{}",
            error.request_id.as_deref().map_or_else(|| "(undecodable)".to_owned(), printable),
            error.code.name(),
            error.message,
            held_back_note(held_back)
        );
    }
    let sent = codec::encode(error).map_err(BridgeError::from).and_then(|payload| {
        query
            .reply_err(payload)
            .encoding(Encoding::from(codec::encoding_of::<ErrorReply>()))
            .wait()
            .map_err(BridgeError::zenoh)
    });
    if let Err(e) = sent {
        tracing::warn!("error reply on {reply_key} not sent: {e}");
    }
}
