//! Asking the plan service for plans: the planners of one task, one worker by id, or whichever
//! the network picks; and finding out who serves what.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use zenoh::Wait;
use zenoh::bytes::Encoding;
use zenoh::query::QueryTarget;

use crate::codec::{self, MAX_PAYLOAD_BYTES, Stamped};
use crate::message::{ErrorReply, Message, ModelCard, Plan, PlanRequest};
use crate::{BridgeError, Namespace};

/// How long one liveliness query of [`PlanClient::served_tasks`] waits for replies.
const ASK_FOR: Duration = Duration::from_millis(300);
/// How often [`PlanClient::wait_for_task`] says that it is still waiting.
const SAY_EVERY: Duration = Duration::from_secs(5);

/// A client of the plan service.
pub struct PlanClient {
    session: zenoh::Session,
    namespace: Namespace,
    /// The task every plan must be for (`None`: any).
    task: Option<String>,
}

impl PlanClient {
    /// A client on `session` (cloned; sessions are shared handles) of any task's planners.
    #[must_use]
    pub fn new(session: &zenoh::Session, namespace: Namespace) -> Self {
        Self { session: session.clone(), namespace, task: None }
    }

    /// The same client for task `task` only: [`request`](Self::request) asks that task's service
    /// key and a plan for another task is refused.
    #[must_use]
    pub fn for_task(mut self, task: &str) -> Self {
        self.task = Some(task.to_owned());
        self
    }

    /// Asks the task's service key (without a task: the shared one): exactly one worker answers.
    pub fn request(&self, request: &PlanRequest, timeout: Duration) -> Result<Stamped<Plan>, BridgeError> {
        let key =
            self.task.as_ref().map_or_else(|| self.namespace.shared_service(), |t| self.namespace.task_service(t));
        self.query(&key, request, timeout)
    }

    /// Asks worker `planner` alone.
    pub fn request_from(
        &self,
        planner: &str,
        request: &PlanRequest,
        timeout: Duration,
    ) -> Result<Stamped<Plan>, BridgeError> {
        self.query(&self.namespace.worker_service(planner), request, timeout)
    }

    /// Ids of the planners alive now, sorted.
    pub fn workers(&self, timeout: Duration) -> Result<Vec<String>, BridgeError> {
        let mut workers: Vec<String> = self
            .alive(&self.namespace.all_planner_tokens(), timeout)?
            .iter()
            .filter_map(|key| self.namespace.planner_of_token(key))
            .collect();
        workers.dedup();
        Ok(workers)
    }

    /// The tasks served now, each with its planners' ids (sorted).
    pub fn served_tasks(&self, timeout: Duration) -> Result<BTreeMap<String, Vec<String>>, BridgeError> {
        let mut served: BTreeMap<String, Vec<String>> = BTreeMap::new();
        for key in self.alive(&self.namespace.all_task_tokens(), timeout)? {
            if let Some((task, planner)) = self.namespace.task_of_token(&key) {
                served.entry(task).or_default().push(planner);
            }
        }
        Ok(served)
    }

    /// Waits until a planner of `task` is alive and returns the ids of its planners; saying every
    /// few seconds what it waits for. Gives up with [`BridgeError::NoPlannerForTask`], naming the
    /// tasks served, after `timeout`; returns an empty list when `stop` is set.
    pub fn wait_for_task(&self, task: &str, timeout: Duration, stop: &AtomicBool) -> Result<Vec<String>, BridgeError> {
        let started = Instant::now();
        let mut next_word = SAY_EVERY;
        loop {
            let mut served = self.served_tasks(ASK_FOR)?;
            if let Some(planners) = served.remove(task) {
                return Ok(planners);
            }
            if stop.load(Ordering::Relaxed) {
                return Ok(Vec::new());
            }
            if started.elapsed() >= timeout {
                return Err(BridgeError::NoPlannerForTask {
                    task: task.to_owned(),
                    namespace: self.namespace.root().to_owned(),
                    waited_s: started.elapsed().as_secs(),
                    served: served_list(&served),
                });
            }
            if started.elapsed() >= next_word {
                tracing::info!(
                    "waiting for a planner of task {task} on namespace {} (served now: {})",
                    self.namespace.root(),
                    served_list(&served)
                );
                next_word += SAY_EVERY;
            }
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    /// The model card of planner `planner`.
    pub fn describe(&self, planner: &str, timeout: Duration) -> Result<ModelCard, BridgeError> {
        let key = self.namespace.describe(planner);
        let cards = self.cards(&key, QueryTarget::BestMatching, timeout)?;
        cards.into_iter().next().ok_or(BridgeError::NoReply { key, timeout_ms: timeout.as_millis() as u64 })
    }

    /// The model cards of every planner that answers within `timeout`, sorted by planner id.
    pub fn describe_all(&self, timeout: Duration) -> Result<Vec<ModelCard>, BridgeError> {
        let mut cards = self.cards(&self.namespace.all_describes(), QueryTarget::All, timeout)?;
        cards.sort_by(|a, b| a.planner_id.cmp(&b.planner_id));
        Ok(cards)
    }

    fn cards(&self, key: &str, target: QueryTarget, timeout: Duration) -> Result<Vec<ModelCard>, BridgeError> {
        let replies = self.session.get(key).target(target).timeout(timeout).wait().map_err(BridgeError::zenoh)?;
        std::iter::from_fn(|| replies.recv().ok())
            .filter_map(|reply| reply.into_result().ok())
            .map(|sample| Ok(codec::decode::<ModelCard>(&sample.payload().to_bytes(), MAX_PAYLOAD_BYTES)?.body))
            .collect()
    }

    /// The keys of the liveliness tokens alive under `pattern`, sorted.
    fn alive(&self, pattern: &str, timeout: Duration) -> Result<Vec<String>, BridgeError> {
        let replies = self.session.liveliness().get(pattern).timeout(timeout).wait().map_err(BridgeError::zenoh)?;
        let mut keys: Vec<String> = std::iter::from_fn(|| replies.recv().ok())
            .filter_map(|reply| reply.into_result().ok())
            .map(|sample| sample.key_expr().as_str().to_owned())
            .collect();
        keys.sort();
        keys.dedup();
        Ok(keys)
    }

    fn query(&self, key: &str, request: &PlanRequest, timeout: Duration) -> Result<Stamped<Plan>, BridgeError> {
        let payload = codec::encode(request)?;
        let replies = self
            .session
            .get(key)
            .payload(payload)
            .encoding(Encoding::from(codec::encoding_of::<PlanRequest>()))
            .target(QueryTarget::BestMatching)
            .timeout(timeout)
            .wait()
            .map_err(BridgeError::zenoh)?;
        let no_reply = || BridgeError::NoReply { key: key.to_owned(), timeout_ms: timeout.as_millis() as u64 };
        let reply = replies.recv().map_err(|_| no_reply())?;
        match reply.into_result() {
            Ok(sample) => {
                let plan = codec::decode::<Plan>(&sample.payload().to_bytes(), MAX_PAYLOAD_BYTES)?;
                match &self.task {
                    Some(task) if *task != plan.body.task => Err(BridgeError::WrongTask {
                        expected: task.clone(),
                        got: plan.body.task,
                        planner: plan.body.planner_id,
                    }),
                    _ => Ok(plan),
                }
            }
            Err(error) => {
                let bytes = error.payload().to_bytes();
                match codec::decode::<ErrorReply>(&bytes, MAX_PAYLOAD_BYTES) {
                    Ok(remote) => Err(BridgeError::Remote {
                        code: remote.body.code.name().to_owned(),
                        message: remote.body.message,
                    }),
                    // Zenoh's own errors (e.g. "Timeout") are plain text.
                    Err(_) if String::from_utf8_lossy(&bytes).contains("Timeout") => Err(no_reply()),
                    Err(_) => Err(BridgeError::Remote {
                        code: ErrorReply::TYPE.to_owned(),
                        message: String::from_utf8_lossy(&bytes).into_owned(),
                    }),
                }
            }
        }
    }
}

/// `served` as `task (planner, …); …`, or `none`.
fn served_list(served: &BTreeMap<String, Vec<String>>) -> String {
    if served.is_empty() {
        return "none".into();
    }
    served.iter().map(|(task, planners)| format!("{task} ({})", planners.join(", "))).collect::<Vec<_>>().join("; ")
}
