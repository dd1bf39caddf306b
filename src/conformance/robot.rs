//! `diffplan conformance robot`: a streaming robot checked against docs/PROTOCOL.md. The check
//! plays a planner of the robot's task (its liveliness tokens, so that the robot finds one) and
//! streams it plans that hold the robot where it is. The robot must be alive under its id,
//! publish valid states of its task's width, run on those plans, refuse garbage and a plan of
//! another task without moving, hold once the plans stop, say so in a heartbeat and count what
//! it refused.

use std::time::{Duration, Instant};

use bridge::Namespace;
use bridge::codec;
use bridge::message::{Heartbeat, NodeStatus, Plan, RobotMode, RobotState};
use bridge::zenoh::Wait;
use bridge::zenoh::handlers::FifoChannelHandler;
use bridge::zenoh::pubsub::{Publisher, Subscriber};
use bridge::zenoh::sample::Sample;

use super::{Report, token_alive};
use crate::task::TaskFile;

/// The planner id the check plays.
const PLANNER_ID: &str = "conformance";
/// A task no robot runs.
const OTHER_TASK: &str = "conformance-other-task";
/// How often the check streams its plan, as a streaming planner re-sends a plan that holds.
const RESEND: Duration = Duration::from_millis(100);
/// How far the robot may drift while it holds or refuses a plan, in its position's units.
const STILL: f32 = 0.05;

/// Plays a planner for robot `robot` of the task in `file` and fills `report`; `stale` is how
/// long the robot may take to hold after its last plan.
pub fn check(
    session: &bridge::zenoh::Session,
    namespace: &Namespace,
    robot: &str,
    file: &TaskFile,
    (timeout, stale): (Duration, Duration),
    report: &mut Report,
) -> anyhow::Result<()> {
    let task = file.task.id();
    let token = namespace.robot_token(robot);
    if !report.check(
        "alive",
        if token_alive(session, &token, timeout) {
            Ok(token.clone())
        } else {
            Err(format!("{token} not alive within {} s", timeout.as_secs()))
        },
    ) {
        return Ok(());
    }
    let states = session.declare_subscriber(namespace.robot_state(robot)).wait().map_err(anyhow::Error::msg)?;
    let statuses = session.declare_subscriber(namespace.robot_status(robot)).wait().map_err(anyhow::Error::msg)?;
    let _tokens = [namespace.planner_token(PLANNER_ID), namespace.task_token(&task, PLANNER_ID)]
        .into_iter()
        .map(|key| session.liveliness().declare_token(key).wait().map_err(anyhow::Error::msg))
        .collect::<anyhow::Result<Vec<_>>>()?;
    let plans =
        session.declare_publisher(namespace.plan_stream(PLANNER_ID, robot)).wait().map_err(anyhow::Error::msg)?;
    let mut robot_side = RobotSide { states, statuses, latest: None, holding_said: None, report };

    let (_, observation_width) = file.task.dims();
    let first = robot_side.state_within(timeout);
    let state_check = first.clone().and_then(|state| match state.task.as_deref() {
        Some(t) if t != task => Err(format!("its states name task {t}, not {task}")),
        _ if state.observation.len() != observation_width => {
            Err(format!("observations of {} values; task {task} has {observation_width}", state.observation.len()))
        }
        named => Ok(format!("episode {}, step {}, task {}", state.episode, state.step, named.unwrap_or("(absent)"))),
    });
    if !robot_side.report.check("publishes states", state_check) {
        return Ok(());
    }
    robot_side.report.advise(
        "states name their task",
        if first.is_ok_and(|s| s.task.is_some()) { Ok(task.clone()) } else { Err("`task` absent".into()) },
    );

    let (running, last_plan) = hold_for(&mut robot_side, &plans, (file, robot), Duration::from_secs(2))?;
    robot_side.report.check(
        "runs on a plan",
        if running {
            Ok("mode running on plans that hold it".into())
        } else {
            Err("never in mode running while it had plans".into())
        },
    );
    refusals_then_silence(&mut robot_side, &plans, (file, robot), last_plan, stale)?;
    beyond_limits(&mut robot_side, &plans, (file, robot))
}

/// Streams plans that hold the robot where it is for `period`, re-sent as a streaming planner
/// does; returns whether the robot ran on them and when the last one was sent.
fn hold_for(
    robot_side: &mut RobotSide<'_>,
    plans: &Publisher<'_>,
    (file, robot): (&TaskFile, &str),
    period: Duration,
) -> anyhow::Result<(bool, Instant)> {
    let started = Instant::now();
    let (mut running, mut last_plan) = (false, started);
    while started.elapsed() < period {
        let state = robot_side.latest_state()?;
        plans.put(codec::encode(&hold_plan(file, robot, &state))?).wait().map_err(anyhow::Error::msg)?;
        last_plan = Instant::now();
        running |= state.mode == RobotMode::Running;
        std::thread::sleep(RESEND);
    }
    Ok((running, last_plan))
}

/// After a second of plans that hold it, one of its own task leading 1 km away (beyond any
/// robot's workspace) and nothing for 300 ms: a robot that checks plans against its own limits
/// (which the protocol says it should) does not move.
fn beyond_limits(
    robot_side: &mut RobotSide<'_>,
    plans: &Publisher<'_>,
    (file, robot): (&TaskFile, &str),
) -> anyhow::Result<()> {
    hold_for(robot_side, plans, (file, robot), Duration::from_secs(1))?;
    let before = robot_side.latest_state()?;
    let mut far = hold_plan(file, robot, &before);
    far.plan_id = format!("{PLANNER_ID}-far");
    for row in &mut far.states {
        row[0] += 1000.0;
    }
    plans.put(codec::encode(&far)?).wait().map_err(anyhow::Error::msg)?;
    let (drift, _) = robot_side.watch(file, &before, Instant::now(), Duration::from_millis(300))?;
    robot_side.report.advise("refuses a plan beyond its limits", stayed(drift, "towards a plan 1 km away"));
    Ok(())
}

/// `Ok` when the robot drifted no more than [`STILL`], `Err` saying it moved `how` otherwise.
fn stayed(drift: f32, how: &str) -> Result<String, String> {
    if drift <= STILL { Ok(format!("drifted {drift:.3} m at most")) } else { Err(format!("moved {drift:.3} m {how}")) }
}

/// Garbage and, a little later (a robot may keep only the newest plan), a plan of another task
/// leading 1 m away; then no plan at all: the robot must not move, must hold within `stale` of
/// `last_plan` (its last valid plan) and say so.
fn refusals_then_silence(
    robot_side: &mut RobotSide<'_>,
    plans: &Publisher<'_>,
    (file, robot): (&TaskFile, &str),
    last_plan: Instant,
    stale: Duration,
) -> anyhow::Result<()> {
    let before = robot_side.latest_state()?;
    robot_side.holding_said = None;
    plans.put(b"{\"v\":2,\"type\":\"Plan\",\"body\":[]}".to_vec()).wait().map_err(anyhow::Error::msg)?;
    std::thread::sleep(RESEND);
    let mut elsewhere = hold_plan(file, robot, &before);
    elsewhere.plan_id = format!("{PLANNER_ID}-elsewhere");
    elsewhere.task = OTHER_TASK.into();
    for row in &mut elsewhere.states {
        row[0] += 1.0;
    }
    plans.put(codec::encode(&elsewhere)?).wait().map_err(anyhow::Error::msg)?;
    let (drift, holding) = robot_side.watch(file, &before, last_plan, stale + Duration::from_secs(1))?;
    let how = format!("towards the plan of {OTHER_TASK}");
    robot_side.report.check("refuses garbage and another task's plan", stayed(drift, &how));
    robot_side.report.check(
        "holds on staleness",
        match holding {
            Some(after) if after <= stale => Ok(format!("mode holding {} ms after its last plan", after.as_millis())),
            Some(after) => {
                Err(format!("held only {} ms after its last plan, past {} ms", after.as_millis(), stale.as_millis()))
            }
            None => Err(format!("not holding {} ms after its last plan", (stale + Duration::from_secs(1)).as_millis())),
        },
    );
    let said = robot_side.holding_heartbeat(Duration::from_secs(1));
    robot_side
        .report
        .check("says it holds", said.clone().map(|h| format!("status holding: {}", h.reason.unwrap_or_default())));
    robot_side.report.advise(
        "counts what it refused",
        said.and_then(|h| match h.counters.get("plans_rejected") {
            Some(&n) if n >= 2 => Ok(format!("plans_rejected {n}")),
            other => Err(format!("plans_rejected {other:?}, 2 refused")),
        }),
    );
    Ok(())
}

/// What the check receives from the robot.
struct RobotSide<'a> {
    states: Subscriber<FifoChannelHandler<Sample>>,
    statuses: Subscriber<FifoChannelHandler<Sample>>,
    latest: Option<RobotState>,
    /// The first heartbeat that said `holding`, once one has.
    holding_said: Option<Heartbeat>,
    report: &'a mut Report,
}

impl RobotSide<'_> {
    /// The first state within `timeout`, checked.
    fn state_within(&mut self, timeout: Duration) -> Result<RobotState, String> {
        let sample = self
            .states
            .recv_timeout(timeout)
            .ok()
            .flatten()
            .ok_or_else(|| format!("no state within {} s", timeout.as_secs()))?;
        let state: RobotState = self.report.decode(&sample.payload().to_bytes(), &sample.encoding().to_string())?;
        self.latest = Some(state.clone());
        Ok(state)
    }

    /// The newest state received so far (every one is decoded; one that fails ends the check),
    /// and any heartbeats.
    fn latest_state(&mut self) -> anyhow::Result<RobotState> {
        while let Ok(Some(sample)) = self.states.try_recv() {
            let state: RobotState = self
                .report
                .decode(&sample.payload().to_bytes(), &sample.encoding().to_string())
                .map_err(anyhow::Error::msg)?;
            self.latest = Some(state);
        }
        while let Ok(Some(sample)) = self.statuses.try_recv() {
            let heartbeat: Heartbeat = self
                .report
                .decode(&sample.payload().to_bytes(), &sample.encoding().to_string())
                .map_err(anyhow::Error::msg)?;
            if heartbeat.status == NodeStatus::Holding && self.holding_said.is_none() {
                self.holding_said = Some(heartbeat);
            }
        }
        self.latest.clone().ok_or_else(|| anyhow::anyhow!("no state received"))
    }

    /// Watches the robot from `since` until `period` after it: how far it got from `before` at
    /// most, and when (after `since`) its states first said `holding`.
    fn watch(
        &mut self,
        file: &TaskFile,
        before: &RobotState,
        since: Instant,
        period: Duration,
    ) -> anyhow::Result<(f32, Option<Duration>)> {
        let (mut drift, mut holding) = (0.0_f32, None);
        let from = file.task.position(&before.observation);
        while since.elapsed() < period {
            let state = self.latest_state()?;
            drift = drift.max(distance(&file.task.position(&state.observation), &from));
            if state.mode == RobotMode::Holding && holding.is_none() {
                holding = Some(since.elapsed());
            }
            std::thread::sleep(Duration::from_millis(10));
        }
        Ok((drift, holding))
    }

    /// The heartbeat that said `holding`, waiting up to `timeout` more for it.
    fn holding_heartbeat(&mut self, timeout: Duration) -> Result<Heartbeat, String> {
        let started = Instant::now();
        while self.holding_said.is_none() && started.elapsed() < timeout {
            self.latest_state().map_err(|e| e.to_string())?;
            std::thread::sleep(Duration::from_millis(20));
        }
        self.holding_said.clone().ok_or_else(|| "no heartbeat with status holding".into())
    }
}

/// A plan of the task that holds robot `robot` at `state`: its observation repeated for the
/// task's horizon of one second, zero actions.
fn hold_plan(file: &TaskFile, robot: &str, state: &RobotState) -> Plan {
    let (action_width, _) = file.task.dims();
    let rows = (1.0 / file.task.dt_secs()).ceil() as usize;
    let ids = (format!("{PLANNER_ID}-{}", state.step), PLANNER_ID.into(), file.task.id());
    let states = vec![state.observation.clone(); rows];
    let plan =
        Plan::bare(ids, (state.episode, state.step), file.task.dt_secs(), states, vec![vec![0.0; action_width]; rows]);
    Plan { robot_id: Some(robot.to_owned()), ..plan }
}

fn distance(a: &[f32; 3], b: &[f32; 3]) -> f32 {
    a.iter().zip(b).map(|(x, y)| (x - y).powi(2)).sum::<f32>().sqrt()
}
