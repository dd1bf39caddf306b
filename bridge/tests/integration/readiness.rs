//! Readiness that cannot race (docs/PROTOCOL.md, "Readiness"): a router, a planner and a client
//! started in every order, 100 times, and the client gets its plan every time. The client does
//! what the documented clients do: wait for a planner of its task to be alive, ask on the task's
//! key, and take zero replies as "no planner yet": wait and ask again.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use bridge::{BridgeError, Namespace, PlanClient, PlannerService, Transport};

use crate::codec::{TASK, card};
use crate::link::{StraightLine, endpoints, request};

#[derive(Debug, Clone, Copy)]
enum Node {
    Router,
    Planner,
    Client,
}

/// The six orders of three nodes.
const ORDERS: [[Node; 3]; 6] = {
    use Node::{Client as C, Planner as P, Router as R};
    [[R, P, C], [R, C, P], [P, R, C], [P, C, R], [C, R, P], [C, P, R]]
};

/// How long a client may take to get its plan before the run counts as a miss.
const PATIENCE: Duration = Duration::from_secs(30);

/// Asks for a plan of [`TASK`] as the documented clients do; `Err` names why it failed.
fn plan_when_ready(transport: &Transport, namespace: &Namespace) -> Result<(), String> {
    let session = transport.open().map_err(|e| e.to_string())?;
    let client = PlanClient::new(&session, namespace.clone()).for_task(TASK);
    let started = Instant::now();
    let mut zero_replies = 0;
    loop {
        let left = PATIENCE.saturating_sub(started.elapsed());
        client.wait_for_task(TASK, left, &AtomicBool::new(false)).map_err(|e| e.to_string())?;
        match client.request(&request(vec![0.0; 4]), Duration::from_secs(10)) {
            Ok(plan) if plan.body.task == TASK => return Ok(()),
            Ok(plan) => return Err(format!("a plan of task {}", plan.body.task)),
            Err(BridgeError::NoReply { .. }) if started.elapsed() < PATIENCE => {
                zero_replies += 1;
                std::thread::sleep(Duration::from_millis(100));
            }
            Err(error) => return Err(format!("{error} (after {zero_replies} empty replies)")),
        }
    }
}

#[test]
fn router_planner_and_client_started_in_every_order_never_miss_100_times() {
    let mut misses = Vec::new();
    for run in 0..100_usize {
        let order = ORDERS[run % ORDERS.len()];
        let (router_transport, peer) = endpoints();
        let namespace = Namespace::new(&format!("ready/run-{run}")).expect("ns");
        // 0 to 90 ms between starts, varying with the run.
        let gap = Duration::from_millis((run as u64 * 37) % 100);
        let stop = Arc::new(AtomicBool::new(false));
        let mut router = None;
        let mut planner = None;
        let mut client = None;
        for node in order {
            match node {
                Node::Router => router = Some(router_transport.open().expect("router")),
                Node::Planner => {
                    let (peer, namespace, stop) = (peer.clone(), namespace.clone(), Arc::clone(&stop));
                    planner = Some(std::thread::spawn(move || {
                        let session = peer.open().expect("planner session");
                        let service = PlannerService::new(&session, namespace, card("ready", TASK)).expect("service");
                        service.run(&mut StraightLine, &stop).expect("service runs");
                    }));
                }
                Node::Client => {
                    let (peer, namespace) = (peer.clone(), namespace.clone());
                    client = Some(std::thread::spawn(move || plan_when_ready(&peer, &namespace)));
                }
            }
            std::thread::sleep(gap);
        }
        if let Err(why) = client.expect("started").join().expect("client thread") {
            misses.push(format!("run {run} ({order:?}): {why}"));
        }
        stop.store(true, Ordering::Relaxed);
        planner.expect("started").join().expect("planner thread");
        drop(router);
    }
    assert!(misses.is_empty(), "{} of 100 runs missed:\n{}", misses.len(), misses.join("\n"));
}
