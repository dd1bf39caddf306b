//! `diffplan conformance planner`: a plan service checked against docs/PROTOCOL.md. It must be
//! alive under its id and its task, describe itself, plan the example of its model card (start
//! and goal pinned, its own widths, `dt`, task and checkpoint, ids echoed), plan the same again
//! for the same seed, answer on its task's key, refuse each kind of bad request with its code
//! and the request's id, and publish a heartbeat that names its task and checkpoint.

use std::time::{Duration, Instant};

use bridge::codec;
use bridge::message::{
    ErrorCode, ErrorReply, Heartbeat, ModelCard, PROTOCOL_VERSION, Plan, PlanRequest, Role, SamplerOptions,
};
use bridge::zenoh::Wait;
use bridge::{Namespace, PlanClient};
use serde_json::Value;

use super::{Report, ask, token_alive};

/// How far a pinned row of a plan may be from what was pinned (observation units): the
/// normalizer's round trip in f32 stays far below.
const PIN_TOLERANCE: f32 = 1e-3;
/// How long a planner has to publish its heartbeat (the protocol: every second).
const HEARTBEAT_WITHIN: Duration = Duration::from_secs(3);
/// A task no planner serves.
const OTHER_TASK: &str = "conformance-other-task";

/// Checks planner `planner` (the first alive when `None`) on `namespace`, waiting up to
/// `timeout` for it and for each reply.
pub fn check(
    session: &bridge::zenoh::Session,
    namespace: &Namespace,
    planner: Option<&str>,
    timeout: Duration,
    report: &mut Report,
) -> anyhow::Result<()> {
    let Some(id) = alive(session, namespace, planner, timeout, report)? else { return Ok(()) };
    let heartbeats = session.declare_subscriber(namespace.planner_status(&id)).wait().map_err(anyhow::Error::msg)?;
    let listening = Instant::now();
    let Some(card) = describe(session, namespace, &id, timeout, report) else { return Ok(()) };
    let token = namespace.task_token(&card.task, &id);
    let task_token = token_alive(session, &token, timeout);
    report.check("task token", if task_token { Ok(token) } else { Err(format!("{token} is not alive")) });

    let request = PlanRequest {
        request_id: "conformance-plan".into(),
        robot_id: None,
        task: Some(card.task.clone()),
        episode: 3,
        from_step: 5,
        observation: card.example.observation.clone(),
        goal: Some(card.example.goal.clone()),
        goal_tool_point: None,
        arrival: None,
        waypoints: Vec::new(),
        obstacles: Vec::new(),
        sampler: None,
        seed: 7,
        batch_size: None,
        deadline_ms: None,
    };
    let worker = namespace.worker_service(&id);
    let first = plan(session, &worker, &request, timeout, report);
    report.check("plan", first.clone().and_then(|plan| conforms(&plan, &card, &request)));
    let again = plan(session, &worker, &request, timeout, report);
    report.check(
        "same seed, same plan",
        match (&first, &again) {
            (Ok(a), Ok(b)) if a.states == b.states => {
                Ok(format!("seed {}: {} states, bit for bit", request.seed, a.states.len()))
            }
            (Ok(_), Ok(_)) => Err(format!("two plans of seed {} differ", request.seed)),
            (_, Err(e)) | (Err(e), _) => Err(e.clone()),
        },
    );
    let task_key = namespace.task_service(&card.task);
    let on_task_key = plan(session, &task_key, &request, timeout, report).and_then(|plan| {
        if plan.task == card.task { Ok(task_key.clone()) } else { Err(format!("a plan of task {}", plan.task)) }
    });
    report.check("task key", on_task_key);
    for (name, payload, code, names_request) in bad_requests(&request, &card)? {
        let refused = refusal(session, &worker, payload, timeout, report)
            .and_then(|error| refused_as(&error, code, names_request.then_some(request.request_id.as_str())));
        report.check(name, refused);
    }
    let heartbeat = heartbeat(&heartbeats, &card, listening, report);
    report.check("heartbeat", heartbeat);
    Ok(())
}

/// The planner's id, once its token is alive; a failed row and `None` when it never is.
fn alive(
    session: &bridge::zenoh::Session,
    namespace: &Namespace,
    planner: Option<&str>,
    timeout: Duration,
    report: &mut Report,
) -> anyhow::Result<Option<String>> {
    let client = PlanClient::new(session, namespace.clone());
    let started = Instant::now();
    loop {
        let alive = client.workers(Duration::from_millis(300))?;
        let found = match planner {
            Some(id) => alive.iter().find(|a| *a == id).cloned(),
            None => alive.first().cloned(),
        };
        if let Some(id) = found {
            report.check("alive", Ok(format!("{} (alive: {})", namespace.planner_token(&id), alive.join(", "))));
            return Ok(Some(id));
        }
        if started.elapsed() >= timeout {
            let wanted = planner.map_or("no planner".to_owned(), |id| format!("planner {id}"));
            report.check("alive", Err(format!("{wanted} alive within {} s (alive: {alive:?})", timeout.as_secs())));
            return Ok(None);
        }
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// The planner's model card, checked; `None` (with a failed row) when it has none.
fn describe(
    session: &bridge::zenoh::Session,
    namespace: &Namespace,
    id: &str,
    timeout: Duration,
    report: &mut Report,
) -> Option<ModelCard> {
    let card = ask(session, &namespace.describe(id), None, timeout).and_then(|reply| {
        if !reply.ok {
            return Err(format!("an error reply: {}", String::from_utf8_lossy(&reply.payload)));
        }
        let card: ModelCard = report.decode(&reply.payload, &reply.encoding)?;
        if card.planner_id != id || card.protocol_version != PROTOCOL_VERSION {
            return Err(format!(
                "the card of planner {} speaking version {}, asked {id} speaking {PROTOCOL_VERSION}",
                card.planner_id, card.protocol_version
            ));
        }
        Ok(card)
    });
    let summary = card.as_ref().map(|c| {
        format!(
            "task {}, H {}, O {}, A {}, dt {} s, {}",
            c.task,
            c.horizon,
            c.observation.len(),
            c.action.len(),
            c.dt,
            c.checkpoint_digest
        )
    });
    report.check("describe", summary.map_err(Clone::clone));
    card.ok()
}

/// The plan a query of `request` on `key` gets, decoded.
fn plan(
    session: &bridge::zenoh::Session,
    key: &str,
    request: &PlanRequest,
    timeout: Duration,
    report: &mut Report,
) -> Result<Plan, String> {
    let payload = codec::encode(request).map_err(|e| e.to_string())?;
    let reply = ask(session, key, Some((payload, codec::encoding_of::<PlanRequest>())), timeout)?;
    if !reply.ok {
        let error: ErrorReply = report.decode(&reply.payload, &reply.encoding)?;
        return Err(format!("refused: {}: {}", error.code.name(), error.message));
    }
    report.decode(&reply.payload, &reply.encoding)
}

/// `Ok` when `plan` answers `request` as the card says it will.
fn conforms(plan: &Plan, card: &ModelCard, request: &PlanRequest) -> Result<String, String> {
    let mut wrong = Vec::new();
    if plan.request_id.as_deref() != Some(request.request_id.as_str()) {
        wrong.push(format!("request_id {:?} not echoed", request.request_id));
    }
    if (plan.episode, plan.from_step) != (request.episode, request.from_step) {
        wrong.push(format!(
            "episode/from_step {:?}, asked {:?}",
            (plan.episode, plan.from_step),
            (request.episode, request.from_step)
        ));
    }
    if (plan.planner_id.as_str(), plan.task.as_str(), plan.checkpoint_digest.as_str())
        != (card.planner_id.as_str(), card.task.as_str(), card.checkpoint_digest.as_str())
    {
        wrong.push(format!(
            "planner/task/checkpoint {} / {} / {} differ from the card's",
            plan.planner_id, plan.task, plan.checkpoint_digest
        ));
    }
    let widths = (plan.states.len(), plan.states[0].len(), plan.actions[0].len());
    if widths == (card.horizon as usize, card.observation.len(), card.action.len()) {
        let off =
            |row: &[f32], pinned: &[f32]| row.iter().zip(pinned).map(|(a, b)| (a - b).abs()).fold(0.0_f32, f32::max);
        let start = off(&plan.states[0], &request.observation);
        let goal = off(&plan.states[card.goal.row as usize], request.goal.as_deref().unwrap_or_default());
        if start > PIN_TOLERANCE || goal > PIN_TOLERANCE {
            wrong.push(format!(
                "start off by {start}, goal (row {}) off by {goal}; pinned rows hold within {PIN_TOLERANCE}",
                card.goal.row
            ));
        }
    } else {
        wrong.push(format!(
            "{widths:?} rows × observation × action; the card says {:?}",
            (card.horizon, card.observation.len(), card.action.len())
        ));
    }
    // Bit for bit: `dt` is written in its shortest round-trip form.
    if plan.dt.to_bits() != card.dt.to_bits() {
        wrong.push(format!("dt {} but the card says {}", plan.dt, card.dt));
    }
    if wrong.is_empty() {
        Ok(format!("{} states, start and goal pinned, ids echoed", plan.states.len()))
    } else {
        Err(wrong.join("; "))
    }
}

/// Each bad request: its row's name, payload, the code it must be refused with, and whether the
/// refusal must name the request.
type BadRequest = (&'static str, Vec<u8>, ErrorCode, bool);

/// The bad requests every planner must refuse, made from a good `request`.
fn bad_requests(request: &PlanRequest, card: &ModelCard) -> anyhow::Result<Vec<BadRequest>> {
    let encode = |r: &PlanRequest| codec::encode(r);
    let mut wide_goal = request.clone();
    wide_goal.goal.get_or_insert_default().push(0.0);
    let over_batch = PlanRequest { batch_size: Some(card.limits.max_batch as usize + 1), ..request.clone() };
    let over_steps = PlanRequest {
        sampler: Some(SamplerOptions { steps: Some(card.limits.max_steps as usize + 1), ..card.sampler.clone() }),
        ..request.clone()
    };
    let other_task = PlanRequest { task: Some(OTHER_TASK.into()), ..request.clone() };
    let mut future: Value = serde_json::from_slice(&encode(request)?)?;
    future["v"] = Value::from(PROTOCOL_VERSION + 7);
    let huge = String::from_utf8(encode(request)?)?.replacen("\"observation\":[", "\"observation\":[1e999,", 1);
    Ok(vec![
        ("refuses garbage", b"\xff\x00 not json".to_vec(), ErrorCode::BadRequest, false),
        ("refuses another version", serde_json::to_vec(&future)?, ErrorCode::UnsupportedVersion, false),
        ("refuses an out-of-range number", huge.into_bytes(), ErrorCode::BadRequest, false),
        ("refuses a goal of the wrong width", encode(&wide_goal)?, ErrorCode::BadRequest, true),
        ("refuses too many candidates", encode(&over_batch)?, ErrorCode::BadRequest, true),
        ("refuses too many sampler steps", encode(&over_steps)?, ErrorCode::BadRequest, true),
        ("refuses another task", encode(&other_task)?, ErrorCode::BadRequest, true),
    ])
}

/// The error reply a raw `payload` on `key` gets; `Err` if it gets a plan or nothing.
fn refusal(
    session: &bridge::zenoh::Session,
    key: &str,
    payload: Vec<u8>,
    timeout: Duration,
    report: &mut Report,
) -> Result<ErrorReply, String> {
    let reply = ask(session, key, Some((payload, codec::encoding_of::<PlanRequest>())), timeout)?;
    if reply.ok {
        return Err("answered with a plan".into());
    }
    report.decode(&reply.payload, &reply.encoding)
}

/// `Ok` when `error` has `code`, names `request_id` (when given) and says why in at most about
/// 1024 characters.
fn refused_as(error: &ErrorReply, code: ErrorCode, request_id: Option<&str>) -> Result<String, String> {
    let length = error.message.chars().count();
    if error.code != code {
        Err(format!("refused as {}, not {}: {}", error.code.name(), code.name(), error.message))
    } else if request_id.is_some() && error.request_id.as_deref() != request_id {
        Err(format!("the refusal names request {:?}, not {request_id:?}", error.request_id))
    } else if length == 0 || length > 1100 {
        Err(format!("a message of {length} characters; it says why in at most 1024"))
    } else {
        Ok(format!("{}: {}", code.name(), error.message.chars().take(80).collect::<String>()))
    }
}

/// `Ok` when a valid planner heartbeat naming the card's task and checkpoint arrived within
/// [`HEARTBEAT_WITHIN`] of `listening`.
fn heartbeat(
    heartbeats: &bridge::zenoh::pubsub::Subscriber<
        bridge::zenoh::handlers::FifoChannelHandler<bridge::zenoh::sample::Sample>,
    >,
    card: &ModelCard,
    listening: Instant,
    report: &mut Report,
) -> Result<String, String> {
    let left = HEARTBEAT_WITHIN.saturating_sub(listening.elapsed());
    let sample = heartbeats
        .recv_timeout(left.max(Duration::from_millis(1)))
        .ok()
        .flatten()
        .ok_or_else(|| format!("no heartbeat within {} s", HEARTBEAT_WITHIN.as_secs()))?;
    let heartbeat: Heartbeat = report.decode(&sample.payload().to_bytes(), &sample.encoding().to_string())?;
    let named = (heartbeat.role, heartbeat.task.as_deref(), heartbeat.checkpoint_digest.as_deref());
    if named == (Role::Planner, Some(card.task.as_str()), Some(card.checkpoint_digest.as_str())) {
        Ok(format!("{:?}, counters {:?}", heartbeat.status, heartbeat.counters))
    } else {
        Err(format!("role/task/checkpoint {named:?}; expected the planner's card's"))
    }
}
