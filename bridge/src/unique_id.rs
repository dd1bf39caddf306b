//! One node per id on a namespace. Before a planner or a robot declares its liveliness token, it
//! asks whether that token is already alive; if it stays alive, another node has the id and this
//! one refuses to start, because two nodes with one id would answer for (or receive the plans of)
//! each other. A node that crashed leaves its token until Zenoh's lease expires, so a token that
//! is alive is asked again for up to [`STALE_TOKEN`] before the id counts as taken.
//!
//! Limit: a node that has just opened its session may not see tokens yet (its routes are still
//! being set up), so two nodes started at the same instant can both pass.

use std::time::{Duration, Instant};

use zenoh::Wait;

use crate::error::BridgeError;

/// How long one liveliness query waits for replies.
const ASK_FOR: Duration = Duration::from_millis(300);
/// How long a token may stay alive before it counts as another node's: Zenoh's default lease
/// (10 s) and a margin.
const STALE_TOKEN: Duration = Duration::from_secs(12);

/// `Ok` once `token` (the key of `who`'s liveliness token, e.g. `planner p` ) is not alive;
/// an error naming the id when it stays alive for [`STALE_TOKEN`].
pub(crate) fn claim(session: &zenoh::Session, token: &str, who: &str) -> Result<(), BridgeError> {
    let started = Instant::now();
    let mut said = false;
    loop {
        let replies = session.liveliness().get(token).timeout(ASK_FOR).wait().map_err(BridgeError::zenoh)?;
        let alive = std::iter::from_fn(|| replies.recv().ok()).any(|reply| reply.into_result().is_ok());
        if !alive {
            return Ok(());
        }
        if started.elapsed() >= STALE_TOKEN {
            return Err(BridgeError::Config(format!(
                "{who} is already alive on this network ({token}) and stayed alive for {} s: another node has \
                 this id; start this one with another --id (or stop the other one)",
                STALE_TOKEN.as_secs()
            )));
        }
        if !said {
            tracing::warn!(
                "{who} is alive on the network already ({token}); waiting up to {} s in case it is a crashed \
                 node's token that has not expired",
                STALE_TOKEN.as_secs()
            );
            said = true;
        }
        std::thread::sleep(Duration::from_millis(500));
    }
}
