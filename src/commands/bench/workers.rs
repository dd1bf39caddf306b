//! Plan services for the Zenoh benchmarks (`bench wire`, `bench load`): workers in threads of
//! this process, on the benchmark's own network, and the queries they are sent.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use bridge::{Namespace, PlanClient, Transport};

use super::BenchArgs;
use crate::episode::{PlanQuery, plan_seed};
use crate::nodes::planner::{DEFAULT_MAX_BATCH, PlannerNodeConfig};
use crate::nodes::ros2::Ros2Settings;
use crate::nodes::service::serve;
use crate::task::TaskFile;

/// The task of `--task`.
pub fn bench_task(args: &BenchArgs) -> anyhow::Result<TaskFile> {
    TaskFile::read(&args.task)
}

/// The threads of bench workers.
pub type Workers = Vec<std::thread::JoinHandle<anyhow::Result<bridge::ServiceReport>>>;

/// Starts `workers` plan services in threads; returns their stop flag, their threads and a
/// client that sees them all.
pub fn start_workers(
    args: &BenchArgs,
    node: &Transport,
    namespace: &Namespace,
    workers: usize,
    stream: bool,
) -> anyhow::Result<(Arc<AtomicBool>, Workers, PlanClient)> {
    let stop = Arc::new(AtomicBool::new(false));
    let mut handles = Vec::new();
    for w in 0..workers {
        let planner = PlannerNodeConfig {
            config: args.task.clone(),
            id: format!("w-{w}"),
            workers: 1,
            device: args.device.device,
            stream,
            queue: 64,
            max_batch: DEFAULT_MAX_BATCH,
            rerun_denoise_every: 1,
            ros2: Ros2Settings::default(),
        };
        let session = node.open()?;
        let namespace = namespace.clone();
        let stop = Arc::clone(&stop);
        handles.push(std::thread::spawn(move || serve(&planner, &session, &namespace, &stop, None)));
    }
    let client = PlanClient::new(&node.open()?, namespace.clone());
    let asked = Instant::now();
    while client.workers(Duration::from_secs(1))?.len() < workers {
        anyhow::ensure!(asked.elapsed() < Duration::from_mins(1), "the bench workers did not come up");
        std::thread::sleep(Duration::from_millis(100));
    }
    Ok((stop, handles, client))
}

/// Stops the workers [`start_workers`] started and waits for them.
pub fn stop_workers(stop: &AtomicBool, handles: Workers) -> anyhow::Result<()> {
    stop.store(true, Ordering::Relaxed);
    for handle in handles {
        handle.join().map_err(|_| anyhow::anyhow!("a bench worker panicked"))??;
    }
    Ok(())
}

/// The query of plan `i` of a throughput run: U-maze start cells to the goal.
pub fn query(file: &TaskFile, i: usize) -> PlanQuery {
    let mut env = file.task.make_env();
    let observation = env.reset(i as u64);
    let goal = env.goal_state();
    let obstacles = file.task.obstacles(i as u64);
    PlanQuery {
        episode: i as u64,
        observation,
        goal,
        goal_tool_point: None,
        arrival: None,
        seed: plan_seed(i as u64, 0),
        step: 0,
        obstacles,
    }
}
