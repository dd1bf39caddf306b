//! `diffplan bench wire`: the robot stack's network figures on loopback.
//!
//! 1. Plan delivery latency (p50 / p99) of a maze2d-large-sized plan (H = 384, 4 + 2 values per
//!    step) from a publisher to a subscriber in another Zenoh session over TCP, encode and
//!    decode included, as diffplan's JSON plan and as the ROS 2 gateway's JointTrajectory
//!    ([`super::ros2_wire`]), and with `--tls LAB` through a secured router; baseline: the JSON
//!    plan's encode + decode alone in one process.
//! 2. The plan service's throughput with 1 and 2 workers (requests spread over the workers'
//!    own keys, as `eval --remote` does); baseline: the same plans made in process.
//! 3. The real-time robot's achieved replanning rate against one streaming worker; baseline:
//!    the in-process planning rate.

use std::path::Path;
use std::sync::atomic::AtomicBool;
use std::sync::mpsc;
use std::time::{Duration, Instant};

use anyhow::Context;
use bridge::codec::{self, MAX_PAYLOAD_BYTES};
use bridge::message::Plan;
use bridge::zenoh::Wait;
use bridge::{Namespace, Transport};

use super::workers::{bench_task, query, start_workers, stop_workers};
use super::{BenchArgs, median, quantile};
use crate::nodes::launch_file::free_loopback_endpoint;
use crate::nodes::planner::TaskPlanner;
use crate::nodes::robot::{Clocking, RobotNodeConfig, run_episodes};
use crate::nodes::ros2::Ros2Settings;

/// Runs the three measurements and prints their tables.
pub fn run(args: &BenchArgs) -> anyhow::Result<()> {
    let endpoint = free_loopback_endpoint()?;
    let _hub = Transport::router(vec![endpoint.clone()]).open()?;
    let node = Transport::peer(Vec::new(), vec![endpoint]);
    let namespace = Namespace::new(&format!("bench-{}", std::process::id()))?;
    delivery_latency(args, &node, &namespace)?;
    service_throughput(args, &node, &namespace)?;
    realtime_rate(args, &node, &namespace)
}

/// A plan the size of maze2d-large's (H = 384).
fn large_plan() -> Plan {
    let states: Vec<Vec<f32>> = (0..384).map(|k| vec![1.0 + k as f32 * 0.01, 2.5, 0.3, -0.7]).collect();
    let actions = states.iter().map(|s| vec![s[2], s[3]]).collect();
    let plan = Plan::bare(("bench".into(), "bench".into(), "maze2d-large".into()), (0, 0), 0.01, states, actions);
    Plan { robot_id: Some("robot-0".into()), model_calls: 20, ..plan }
}

fn delivery_latency(args: &BenchArgs, node: &Transport, namespace: &Namespace) -> anyhow::Result<()> {
    let samples = args.iters.max(500);
    let plan = large_plan();
    let bytes = codec::encode(&plan)?.len();
    let mut codec_ms = Vec::with_capacity(samples);
    for _ in 0..samples {
        let start = Instant::now();
        let payload = codec::encode(&plan)?;
        codec::decode::<Plan>(&payload, MAX_PAYLOAD_BYTES)?;
        codec_ms.push(start.elapsed().as_secs_f64() * 1e3);
    }
    let wire_ms = json_delivery_ms(&plan, samples, (&node.open()?, &node.open()?), namespace)?;
    let routed_ms = routed_delivery_ms(&plan, samples, None, namespace)?;
    let secured_ms =
        args.tls.as_deref().map(|lab| routed_delivery_ms(&plan, samples, Some(lab), namespace)).transpose()?;
    let (ros2_bytes, ros2_codec_ms) = super::ros2_wire::codec_ms(&plan, samples)?;
    let ros2_wire_ms = super::ros2_wire::delivery_ms(&plan, samples, node)?;
    let c50 = quantile(codec_ms.clone(), 0.5);
    println!(
        "Plan delivery, maze2d-large plan (H = 384): {bytes} bytes of JSON, or {ros2_bytes} bytes of CDR as the ROS 2 \
         gateway's JointTrajectory; {samples} plans one at a time:\n"
    );
    println!("| path | p50 | p99 | p50 ratio to baseline |");
    println!("|---|---|---|---|");
    let rows = [
        ("JSON plan: encode + decode in process (baseline)", codec_ms),
        ("JSON plan: publish → subscriber in another session over TCP loopback", wire_ms),
        ("JSON plan: publish → subscriber, two clients through a router over TCP", routed_ms),
        ("JointTrajectory: build from the plan + encode + decode in process", ros2_codec_ms),
        ("JointTrajectory: publish (rmw_zenoh key and attachment) → subscriber in another session", ros2_wire_ms),
    ];
    let secured = secured_ms.map(|ms| {
        ("JSON plan: the same through a secured router (QUIC, TLS 1.3, mutual authentication, access control)", ms)
    });
    let rows = rows.into_iter().chain(secured);
    for (path, times) in rows {
        let (p50, p99) = (quantile(times.clone(), 0.5), quantile(times, 0.99));
        println!("| {path} | {p50:.3} ms | {p99:.3} ms | {:.2} |", p50 / c50);
    }
    println!();
    Ok(())
}

/// `samples` delivery times of `plan`, milliseconds, from `sender` to `receiver` (sessions of
/// a planner and a robot) on the plan key of robot-0: from the envelope's stamp (taken when
/// encoding starts) to the end of decoding; the first 20 are left out as warm-up.
fn json_delivery_ms(
    plan: &Plan,
    samples: usize,
    (sender, receiver): (&bridge::zenoh::Session, &bridge::zenoh::Session),
    namespace: &Namespace,
) -> anyhow::Result<Vec<f64>> {
    let key = namespace.plan_stream("bench", "robot-0");
    let (tx, rx) = mpsc::channel();
    let _subscriber = receiver
        .declare_subscriber(&key)
        .callback(move |sample| {
            let decoded = codec::decode::<Plan>(&sample.payload().to_bytes(), MAX_PAYLOAD_BYTES);
            let nanos = decoded.map(|p| codec::now_ns().saturating_sub(p.stamp_ns) as i64);
            let _ = tx.send(nanos.map_err(anyhow::Error::from));
        })
        .wait()
        .map_err(bridge::BridgeError::zenoh)?;
    let publisher = sender
        .declare_publisher(&key)
        .congestion_control(bridge::zenoh::qos::CongestionControl::Block)
        .express(true)
        .wait()
        .map_err(bridge::BridgeError::zenoh)?;
    super::delivery::timed_deliveries(samples, &rx, || {
        Ok(publisher.put(codec::encode(plan)?).wait().map_err(bridge::BridgeError::zenoh)?)
    })
}

/// [`json_delivery_ms`] through a router of its own, from one client to another: plain TCP, or
/// with the lab's certificates in `lab` a secured router (TLS, mutual authentication, access
/// control), a planner client sending and a robot client receiving.
fn routed_delivery_ms(
    plan: &Plan,
    samples: usize,
    lab: Option<&Path>,
    namespace: &Namespace,
) -> anyhow::Result<Vec<f64>> {
    use bridge::security::Role;
    let endpoint = free_loopback_endpoint()?;
    let endpoint = if lab.is_some() { crate::commands::router::secured_endpoint(&endpoint)? } else { endpoint };
    let router = match lab {
        Some(lab) => Transport::secured_router(lab, namespace, vec![endpoint.clone()])?,
        None => Transport::router(vec![endpoint.clone()]),
    };
    let _router = router.open()?;
    let client = |role| -> anyhow::Result<bridge::zenoh::Session> {
        let connect = vec![endpoint.clone()];
        let transport = match lab {
            Some(lab) => Transport::secured_client(lab, role, connect)?,
            None => Transport { mode: bridge::TransportMode::Client, ..Transport::peer(Vec::new(), connect) },
        };
        Ok(transport.open()?)
    };
    json_delivery_ms(plan, samples, (&client(Role::Planner)?, &client(Role::Robot)?), namespace)
}

fn service_throughput(args: &BenchArgs, node: &Transport, namespace: &Namespace) -> anyhow::Result<()> {
    let task = bench_task(args)?;
    let plans = args.iters.max(8);
    let cores = std::thread::available_parallelism().map_or(1, usize::from);
    tch::set_num_threads(cores as i32);
    let mut local = TaskPlanner::load(&task, args.device.device)?;
    let start = Instant::now();
    for i in 0..plans {
        let q = query(&task, i);
        local.plan("bench", 0, 0, &local.request(q.observation, Some(q.goal), q.seed, None), &mut ())?;
    }
    let baseline = plans as f64 / start.elapsed().as_secs_f64();
    drop(local);
    println!(
        "Plan service throughput, {} ({}), {plans} requests, {cores} cores:\n",
        task.label(),
        task.config.sampler_label()
    );
    println!("| planner | libtorch threads per worker | plans / s | ratio to in-process |");
    println!("|---|---|---|---|");
    println!("| in process, one after another (baseline) | {cores} | {baseline:.1} | 1.00 |");
    for workers in [1, 2] {
        tch::set_num_threads((cores / workers).max(1) as i32);
        let (stop, handles, client) = start_workers(args, node, namespace, workers, false)?;
        let ids = client.workers(Duration::from_secs(1))?;
        anyhow::ensure!(ids.len() == workers, "expected {workers} workers, found {ids:?}");
        let n = ids.len();
        let start = Instant::now();
        std::thread::scope(|scope| -> anyhow::Result<()> {
            let handles: Vec<_> = ids
                .iter()
                .enumerate()
                .map(|(k, id)| {
                    let (client, task) = (&client, &task);
                    scope.spawn(move || -> anyhow::Result<()> {
                        for i in (k..plans).step_by(n) {
                            let request =
                                crate::nodes::wire::request("bench", &task.task.id(), &query(task, i), 60_000);
                            client.request_from(id, &request, Duration::from_mins(1))?;
                        }
                        Ok(())
                    })
                })
                .collect();
            handles.into_iter().try_for_each(|h| h.join().map_err(|_| anyhow::anyhow!("client panicked"))?)
        })?;
        let rate = plans as f64 / start.elapsed().as_secs_f64();
        stop_workers(&stop, handles)?;
        println!(
            "| {workers} worker(s) over Zenoh | {} | {rate:.1} | {:.2} |",
            (cores / workers).max(1),
            rate / baseline
        );
    }
    println!();
    Ok(())
}

fn realtime_rate(args: &BenchArgs, node: &Transport, namespace: &Namespace) -> anyhow::Result<()> {
    let task = bench_task(args)?;
    let cores = std::thread::available_parallelism().map_or(1, usize::from);
    tch::set_num_threads(cores as i32);
    let mut local = TaskPlanner::load(&task, args.device.device)?;
    let q = query(&task, 0);
    let request = local.request(q.observation, Some(q.goal), q.seed, None);
    let in_process_ms = median(
        (0..args.iters.max(5))
            .map(|_| {
                let start = Instant::now();
                local.plan("bench", 0, 0, &request, &mut ()).map(|_| start.elapsed().as_secs_f64() * 1e3)
            })
            .collect::<planner::Result<Vec<f64>>>()?,
    );
    drop(local);
    // Replan on every state: the rate the loop achieves is then the planner's.
    let dir = tempfile::tempdir()?;
    let replanning_task = dir.path().join("task.toml");
    let mut text: toml::Table = toml::from_str(&std::fs::read_to_string(&args.task)?)?;
    let planner_table = text.get_mut("planner").and_then(toml::Value::as_table_mut).context("a [planner] table")?;
    planner_table.insert("replan_every".into(), toml::Value::Integer(1));
    std::fs::write(&replanning_task, toml::to_string(&text)?)?;
    let streaming_args = BenchArgs { task: replanning_task.clone(), ..args.clone() };
    let (stop, handles, _client) = start_workers(&streaming_args, node, namespace, 1, true)?;
    let robot = RobotNodeConfig {
        config: replanning_task,
        id: "bench-robot".into(),
        mode: Clocking::Realtime,
        episodes: Some(1),
        seed: None,
        json: None,
        plan_timeout_ms: 500,
        speed: 1.0,
        query_timeout_ms: 60_000,
        planner_wait_s: 60,
        ros2: Ros2Settings::default(),
    };
    let session = node.open()?;
    let seconds = task.task.make_env().max_episode_steps() as f64 * task.task.dt_secs();
    let outcomes = run_episodes(&robot, &task, &session, namespace, &AtomicBool::new(false), &mut ())?;
    stop_workers(&stop, handles)?;
    let received = outcomes[0].plan_ms.len();
    let rate = received as f64 / seconds;
    let latency = median(outcomes[0].plan_ms.clone());
    println!(
        "Real-time robot ({}, {seconds:.0} s episode at real speed) against one streaming worker replanning on every state:\n",
        task.label()
    );
    println!("| loop | replans / s | state → plan latency p50 | ratio to in-process rate |");
    println!("|---|---|---|---|");
    println!(
        "| in-process planning, back to back (baseline) | {:.1} | {in_process_ms:.0} ms | 1.00 |",
        1e3 / in_process_ms
    );
    println!(
        "| robot ↔ streaming planner over Zenoh | {rate:.1} | {latency:.0} ms | {:.2} |",
        rate * in_process_ms / 1e3
    );
    Ok(())
}
