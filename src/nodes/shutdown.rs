//! Clean shutdown: Ctrl-C (SIGINT), SIGTERM or SIGHUP set one process-wide flag that every node
//! polls, so recordings are flushed and liveliness tokens undeclared before exit.

use std::sync::atomic::AtomicBool;
use std::sync::{Arc, OnceLock};

static STOP: OnceLock<Arc<AtomicBool>> = OnceLock::new();

/// The process's stop flag, with the signal handler installed on first use.
pub fn flag() -> Arc<AtomicBool> {
    Arc::clone(STOP.get_or_init(|| {
        let stop = Arc::new(AtomicBool::new(false));
        let handler_flag = Arc::clone(&stop);
        if let Err(error) = ctrlc::set_handler(move || handler_flag.store(true, std::sync::atomic::Ordering::Relaxed)) {
            tracing::warn!("no Ctrl-C handler ({error}); stop the node with SIGKILL");
        }
        stop
    }))
}
