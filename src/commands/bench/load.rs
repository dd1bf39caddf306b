//! `bench load`: N simulated robots against one or two planner workers over Zenoh. Each robot
//! asks for a plan, waits for the answer, and asks again at once (a busy or late answer makes it
//! hold 50 ms first), for `--budget-s` seconds. Every reply is checked against its request: a
//! plan or an error naming the request's id, exactly one per request. Counted per row: plans,
//! `busy` and `deadline` refusals, other errors, requests lost (no reply within 10 s), answered
//! twice, or answered with another request's id; plan latency percentiles; and how many robots
//! that were refused got a plan afterwards.

use std::time::{Duration, Instant};

use bridge::codec::{self, MAX_PAYLOAD_BYTES};
use bridge::message::{ErrorCode, ErrorReply, Plan, PlanRequest};
use bridge::zenoh::Wait;
use bridge::zenoh::bytes::Encoding;
use bridge::zenoh::query::QueryTarget;
use bridge::{Namespace, PlanClient, Transport};

use super::BenchArgs;
use super::workers::{bench_task, query, start_workers, stop_workers};
use crate::nodes::launch_file::free_loopback_endpoint;

/// How long a robot waits for a reply before it counts its request lost.
const LOST_AFTER: Duration = Duration::from_secs(10);

/// The deadline each request carries, milliseconds: a worker refuses (`deadline`) what waited
/// in its queue longer.
const DEADLINE_MS: u64 = 2_000;

/// How long a refused robot holds before asking again.
const HOLD: Duration = Duration::from_millis(50);

/// What one robot's requests came to.
#[derive(Debug, Default)]
struct Tally {
    requests: u64,
    plans: u64,
    busy: u64,
    deadline: u64,
    other_errors: u64,
    lost: u64,
    duplicated: u64,
    misrouted: u64,
    /// Request to plan, milliseconds, for each plan.
    plan_ms: Vec<f64>,
    /// Refused at least once, then served.
    refused: bool,
    recovered: bool,
}

impl Tally {
    fn add(&mut self, other: Self) {
        self.requests += other.requests;
        self.plans += other.plans;
        self.busy += other.busy;
        self.deadline += other.deadline;
        self.other_errors += other.other_errors;
        self.lost += other.lost;
        self.duplicated += other.duplicated;
        self.misrouted += other.misrouted;
        self.plan_ms.extend(other.plan_ms);
    }
}

/// Runs every row: robots `--robots` × one and two workers.
pub fn run(args: &BenchArgs) -> anyhow::Result<()> {
    let task = bench_task(args)?;
    let endpoint = free_loopback_endpoint()?;
    let _hub = Transport::router(vec![endpoint.clone()]).open()?;
    let node = Transport::peer(Vec::new(), vec![endpoint]);
    let namespace = Namespace::new(&format!("load-{}", std::process::id()))?;
    let cores = std::thread::available_parallelism().map_or(1, usize::from);
    let seconds = args.budget_s;
    println!(
        "Load: robots asking for plans back to back for {seconds} s against planner workers of {} ({}), queue 64, \
         requests with a {DEADLINE_MS} ms deadline, {cores} cores:\n",
        task.label(),
        task.config.sampler_label()
    );
    println!(
        "| robots | workers | requests | plans | busy | deadline | other errors | lost | answered twice | \
         wrong id | plan latency p50 / p95 / p99 | p50 ratio to the first row | plans / s | refused robots served later |"
    );
    println!("|---|---|---|---|---|---|---|---|---|---|---|---|---|---|");
    for workers in [1, 2] {
        tch::set_num_threads((cores / workers).max(1) as i32);
        let (stop, handles, _client) = start_workers(args, &node, &namespace, workers, false)?;
        // The first row's plan latency (p50, ms): the baseline of the ratio column.
        let mut baseline = None;
        for &robots in &args.robots {
            let session = node.open()?;
            // As a robot does before its first request: until this session sees the workers, a
            // query finds no route and ends unanswered.
            let seen = Instant::now();
            while PlanClient::new(&session, namespace.clone()).workers(Duration::from_secs(1))?.len() < workers {
                anyhow::ensure!(seen.elapsed() < Duration::from_mins(1), "the load session never saw the workers");
                std::thread::sleep(Duration::from_millis(50));
            }
            let key = namespace.task_service(&task.task.id());
            let until = Instant::now() + Duration::from_secs_f64(seconds);
            let started = Instant::now();
            let tallies: Vec<Tally> = std::thread::scope(|scope| {
                let handles: Vec<_> = (0..robots)
                    .map(|r| {
                        let (session, key, task) = (&session, &key, &task);
                        scope.spawn(move || {
                            let robot_id = format!("robot-{r}");
                            let mut tally = Tally::default();
                            let mut k = 0;
                            while Instant::now() < until {
                                let mut request = crate::nodes::wire::request(
                                    &robot_id,
                                    &task.task.id(),
                                    &query(task, r * 1000 + k),
                                    DEADLINE_MS,
                                );
                                request.request_id = format!("{robot_id}-{k}");
                                ask(session, key, &request, &mut tally);
                                k += 1;
                            }
                            tally
                        })
                    })
                    .collect();
                handles.into_iter().map(|h| h.join().expect("a load robot panicked")).collect()
            });
            let elapsed = started.elapsed().as_secs_f64();
            let refused = tallies.iter().filter(|t| t.refused).count();
            let recovered = tallies.iter().filter(|t| t.recovered).count();
            let mut total = Tally::default();
            for tally in tallies {
                total.add(tally);
            }
            let (latency, ratio) = if total.plan_ms.is_empty() {
                ("–".to_owned(), "–".to_owned())
            } else {
                let q = |p| super::quantile(total.plan_ms.clone(), p);
                let p50 = q(0.5);
                let first = *baseline.get_or_insert(p50);
                (format!("{p50:.0} / {:.0} / {:.0} ms", q(0.95), q(0.99)), format!("{:.2}", p50 / first))
            };
            println!(
                "| {robots} | {workers} | {} | {} | {} | {} | {} | {} | {} | {} | {latency} | {ratio} | {:.1} | {recovered} of {refused} |",
                total.requests,
                total.plans,
                total.busy,
                total.deadline,
                total.other_errors,
                total.lost,
                total.duplicated,
                total.misrouted,
                total.plans as f64 / elapsed
            );
        }
        stop_workers(&stop, handles)?;
    }
    println!();
    Ok(())
}

/// Sends `request` on `key`, reads every reply until the query ends, and counts them in
/// `tally`; a refused robot holds [`HOLD`] before returning.
fn ask(session: &bridge::zenoh::Session, key: &str, request: &PlanRequest, tally: &mut Tally) {
    tally.requests += 1;
    let asked = Instant::now();
    let Ok(payload) = codec::encode(request) else {
        tally.other_errors += 1;
        return;
    };
    let replies = session
        .get(key)
        .payload(payload)
        .encoding(Encoding::from(codec::encoding_of::<PlanRequest>()))
        .target(QueryTarget::BestMatching)
        .timeout(LOST_AFTER)
        .wait();
    let Ok(replies) = replies else {
        tally.other_errors += 1;
        return;
    };
    let mut answers = 0;
    let mut refused = false;
    while let Ok(reply) = replies.recv() {
        let id = match reply.into_result() {
            Ok(sample) => {
                if let Ok(plan) = codec::decode::<Plan>(&sample.payload().to_bytes(), MAX_PAYLOAD_BYTES) {
                    if answers == 0 {
                        tally.plans += 1;
                        tally.plan_ms.push(asked.elapsed().as_secs_f64() * 1e3);
                        tally.recovered |= tally.refused;
                    }
                    plan.body.request_id
                } else {
                    tally.other_errors += 1;
                    None
                }
            }
            Err(error) => match codec::decode::<ErrorReply>(&error.payload().to_bytes(), MAX_PAYLOAD_BYTES) {
                Ok(reply) => {
                    if answers == 0 {
                        match reply.body.code {
                            ErrorCode::Busy => tally.busy += 1,
                            ErrorCode::Deadline => tally.deadline += 1,
                            _ => tally.other_errors += 1,
                        }
                        refused = matches!(reply.body.code, ErrorCode::Busy | ErrorCode::Deadline);
                    }
                    reply.body.request_id
                }
                // Zenoh's own timeout: no answer came.
                Err(_) => continue,
            },
        };
        answers += 1;
        if answers > 1 {
            tally.duplicated += 1;
        }
        if id.as_deref() != Some(request.request_id.as_str()) {
            tally.misrouted += 1;
        }
    }
    if answers == 0 {
        tally.lost += 1;
    }
    if refused {
        tally.refused = true;
        std::thread::sleep(HOLD);
    }
}
