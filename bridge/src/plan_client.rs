//! Asking the plan service for plans: one worker by id, or whichever the network picks.

use std::time::Duration;

use zenoh::Wait;
use zenoh::bytes::Encoding;
use zenoh::query::QueryTarget;

use crate::codec::{self, MAX_PAYLOAD_BYTES, Stamped};
use crate::message::{ErrorReply, Message, Plan, PlanRequest};
use crate::{BridgeError, Namespace};

/// A client of the plan service.
pub struct PlanClient {
    session: zenoh::Session,
    namespace: Namespace,
}

impl PlanClient {
    /// A client on `session` (cloned; sessions are shared handles).
    #[must_use]
    pub fn new(session: &zenoh::Session, namespace: Namespace) -> Self {
        Self { session: session.clone(), namespace }
    }

    /// Asks the shared service key: exactly one worker answers.
    pub fn request(&self, request: &PlanRequest, timeout: Duration) -> Result<Stamped<Plan>, BridgeError> {
        self.query(&self.namespace.shared_service(), request, timeout)
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
        let replies = self
            .session
            .liveliness()
            .get(self.namespace.all_planner_tokens())
            .timeout(timeout)
            .wait()
            .map_err(BridgeError::zenoh)?;
        let mut workers: Vec<String> = std::iter::from_fn(|| replies.recv().ok())
            .filter_map(|reply| reply.into_result().ok())
            .filter_map(|sample| self.namespace.planner_of_token(sample.key_expr().as_str()))
            .collect();
        workers.sort();
        workers.dedup();
        Ok(workers)
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
            Ok(sample) => Ok(codec::decode::<Plan>(&sample.payload().to_bytes(), MAX_PAYLOAD_BYTES)?),
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
