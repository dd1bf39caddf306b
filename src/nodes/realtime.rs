//! The real-time robot's episode: the simulation runs on the wall clock (`speed` simulated
//! seconds per second) from the arrival of the episode's first plan, for which the robot waits
//! at rest, and executes the newest streamed plan; the planner re-sends the current
//! plan while it holds, which keeps the watchdog fed; past the plan's end it holds the last
//! planned state. With no plan (new or re-sent) within `plan_timeout_ms`, past the plan's
//! validity window, or when told to hold, it holds its position (zero velocity) and says so in
//! its status and log; it resumes on the next fresh plan.
//!
//! The loop speaks the robot's link (states out, streamed plans and operator commands in, its
//! status), so it lives with the robot node rather than in `episode/`.

use std::collections::VecDeque;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use bridge::message::{CommandKind, NodeStatus, Obstacle, RobotMode};
use bridge::{Health, Watchdog};
use sim::Tracker;

use super::robot_port::RobotPort;
use super::wire;
use crate::episode::{EpisodeObserver, EpisodeOutcome, Level, distance};
use crate::task::{RobotLimits, Task, TaskFile};

/// States published, remembered to time each plan's latency (a ring).
const PUBLISHED_KEPT: usize = 4096;

/// How often the robot looks for its first plan while it waits for one.
const FIRST_PLAN_POLL: Duration = Duration::from_millis(1);

/// How the real-time robot keeps time.
#[derive(Debug, Clone, Copy)]
pub struct Pace {
    /// Simulated seconds per wall-clock second.
    pub speed: f64,
    /// Hold still when no plan arrived for this long, milliseconds.
    pub plan_timeout_ms: u64,
}

/// Whether the real-time robot executes its plan or holds, and where it holds.
struct Hold {
    /// Holding now (true until the first plan).
    active: bool,
    /// An operator's `hold` command is in force.
    commanded: bool,
    /// The state held, as a one-state plan: the tracker holds its position at zero velocity.
    target: Vec<Vec<f32>>,
    /// Step at which the hold began.
    began: u64,
}

impl Hold {
    fn new(observation: &[f32]) -> Self {
        Self { active: true, commanded: false, target: vec![observation.to_vec()], began: 0 }
    }
}

/// One real-time episode in progress.
struct Episode<'a> {
    task: &'a dyn Task,
    link: &'a mut dyn RobotPort,
    observer: &'a mut dyn EpisodeObserver,
    seed: u64,
    watchdog: Watchdog,
    outcome: EpisodeOutcome,
    plan: Option<bridge::message::Plan>,
    /// What every plan is checked against before it is executed.
    limits: RobotLimits,
    /// The last plan refused for breaking them (a planner re-sends its plan: said once).
    refused: Option<String>,
    /// The step the plan's first state stands for: its `from_step`, or its arrival when it was
    /// planned from a state the robot has been standing at since (holding, or past the end of
    /// the plan before): then the robot is still there.
    origin: u64,
    published: VecDeque<(u64, Instant)>,
    hold: Hold,
    start: Instant,
    /// Seconds per step.
    dt: f64,
    /// Where the robot was one step ago, metres.
    previous: [f32; 3],
    /// The action of the step before, and whether this step switched to a new plan.
    last_action: Option<Vec<f32>>,
    switched: bool,
    /// What the episode's plans keep clear of, sent with every state.
    obstacles: Vec<Obstacle>,
}

/// Runs the episode reset with `seed` on the wall clock until its time limit or `stop`.
pub fn realtime_episode(
    pace: Pace,
    file: &TaskFile,
    link: &mut dyn RobotPort,
    seed: u64,
    stop: &AtomicBool,
    observer: &mut dyn EpisodeObserver,
) -> anyhow::Result<EpisodeOutcome> {
    let task = file.task.as_ref();
    let mut env = task.make_env();
    let mut tracker = task.tracker(&file.config.control);
    let mut observation = env.reset(seed);
    let goal = env.goal_state();
    let dt = f64::from(env.dt());
    observer.episode_began(seed, &goal, dt);
    let period = Duration::from_secs_f64(dt / pace.speed);
    let robot_id = link.robot_id().to_owned();
    let mut episode = Episode {
        task,
        link,
        observer,
        seed,
        watchdog: Watchdog::new(pace.plan_timeout_ms),
        outcome: EpisodeOutcome::default(),
        plan: None,
        limits: task.limits(),
        refused: None,
        origin: 0,
        published: VecDeque::new(),
        hold: Hold::new(&observation),
        start: Instant::now(),
        dt,
        previous: task.position(&observation),
        last_action: None,
        switched: false,
        obstacles: wire::wire_obstacles(&task.obstacles(seed)),
    };
    episode.wait_for_first_plan(pace, &robot_id, &observation, &goal, stop)?;
    let clock = Instant::now();
    let steps = env.max_episode_steps() as u64;
    // Steps taken: fewer than `steps` when told to stop.
    let mut reached = 0;
    for t in 0..steps {
        if let Some(wait) = (clock + period * t as u32).checked_duration_since(Instant::now()) {
            std::thread::sleep(wait);
        }
        if stop.load(Ordering::Relaxed) {
            break;
        }
        episode.obey_commands(t, stop);
        let mode = if episode.hold.active { RobotMode::Holding } else { RobotMode::Running };
        // The goal may change within an episode (pick-and-place, at the grasp); the planner
        // plans anew when it does.
        episode.publish(&robot_id, t, &observation, &env.goal_state(), mode)?;
        let now_ms = episode.start.elapsed().as_millis() as u64;
        episode.receive(t, now_ms, &observation)?;
        let index = episode.decide(t, now_ms, &observation)?;
        let (action, wanted) = episode.act(tracker.as_mut(), index, &observation);
        if let Some(before) = episode.last_action.as_ref().filter(|_| episode.switched) {
            episode.outcome.seam(task.seam_jump(before, &action));
        }
        episode.switched = false;
        episode.last_action = Some(action.clone());
        let result = env.step(&action);
        episode.outcome.step(&result);
        let error = wanted.map(|s| distance(task.position(&s), task.position(&result.observation)));
        episode.observer.stepped(t + 1, &result.observation, result.reward, error);
        episode.previous = task.position(&observation);
        observation = result.observation;
        reached = t + 1;
    }
    // The last state says where the episode ended: done at its last step, or stopped (holding)
    // at the step reached.
    let mode = if reached == steps { RobotMode::Done } else { RobotMode::Holding };
    episode.link.publish_state(&wire::robot_state(&robot_id, (seed, reached), dt, &observation, None, mode))?;
    episode.outcome.interventions = tracker.interventions();
    Ok(episode.outcome)
}

impl Episode<'_> {
    /// Publishes the robot's state at step `t` and remembers when, to time the plan made for it.
    fn publish(
        &mut self,
        robot_id: &str,
        t: u64,
        observation: &[f32],
        goal: &[f32],
        mode: RobotMode,
    ) -> anyhow::Result<()> {
        let mut state = wire::robot_state(robot_id, (self.seed, t), self.dt, observation, Some(goal), mode);
        state.obstacles.clone_from(&self.obstacles);
        self.link.publish_state(&state)?;
        self.published.push_back((t, Instant::now()));
        if self.published.len() > PUBLISHED_KEPT {
            self.published.pop_front();
        }
        Ok(())
    }

    /// Publishes the reset state and waits, at rest and before the episode's clock starts, up
    /// to `plan_timeout_ms` for the first plan, as a lockstep episode does: the time a cold
    /// first plan takes is not spent standing inside the episode. Without one by then the
    /// clock starts anyway and the robot holds until a plan arrives.
    fn wait_for_first_plan(
        &mut self,
        pace: Pace,
        robot_id: &str,
        observation: &[f32],
        goal: &[f32],
        stop: &AtomicBool,
    ) -> anyhow::Result<()> {
        self.publish(robot_id, 0, observation, goal, RobotMode::Holding)?;
        let deadline = Duration::from_millis(pace.plan_timeout_ms);
        while self.plan.is_none() && self.start.elapsed() < deadline && !stop.load(Ordering::Relaxed) {
            std::thread::sleep(FIRST_PLAN_POLL);
            self.receive(0, self.start.elapsed().as_millis() as u64, observation)?;
        }
        let waited_ms = self.start.elapsed().as_millis();
        if self.plan.is_some() {
            tracing::info!("robot {robot_id}: first plan after {waited_ms} ms; the episode's clock starts now");
        } else {
            tracing::warn!("robot {robot_id}: no first plan within {waited_ms} ms; the clock starts, holding");
        }
        Ok(())
    }

    /// Applies the operator's commands that arrived before step `t`.
    fn obey_commands(&mut self, t: u64, stop: &AtomicBool) {
        for command in self.link.commands() {
            self.observer.event(Level::Info, &format!("command {:?} at step {t}", command.command));
            match command.command {
                CommandKind::Hold => self.hold.commanded = true,
                CommandKind::Resume => self.hold.commanded = false,
                CommandKind::Shutdown => stop.store(true, Ordering::Relaxed),
            }
        }
    }

    /// Takes the newest streamed plan at step `t`: a re-sent current plan feeds the watchdog, a
    /// new one of this episode is adopted if it keeps within the robot's limits and refused
    /// otherwise, anything else is counted and ignored.
    fn receive(&mut self, t: u64, now_ms: u64, observation: &[f32]) -> anyhow::Result<()> {
        let Some(received) = self.link.latest_plan() else { return Ok(()) };
        if self.plan.as_ref().is_some_and(|p| p.plan_id == received.plan_id) {
            // The planner confirms the plan being executed: it is alive and the plan holds.
            self.watchdog.feed(now_ms);
        } else if received.episode == self.seed && received.from_step <= t {
            let plan = &received;
            if let Err(why) = self.limits.check(&plan.states, &plan.actions, plan.dt) {
                return self.refuse(t, observation, plan, &why);
            }
            let sent = self.published.iter().find(|(s, _)| *s == received.from_step);
            if let Some((_, sent)) = sent {
                self.outcome.plan_ms.push(sent.elapsed().as_secs_f64() * 1e3);
            }
            self.outcome.model_calls.push(received.model_calls as usize);
            let latency_ms = self.outcome.plan_ms.last().copied().unwrap_or(f64::NAN);
            self.observer.planned(t, &wire::received_path(received.clone(), latency_ms));
            // Planned from a state the robot has stood at since (holding, or past the end of
            // its plan, as at a pick-and-place grasp, whichever began first): it is still there,
            // so the plan starts now.
            let held_since = self.hold.active.then_some(self.hold.began);
            let past_end = self.plan.as_ref().map(|p| self.origin + p.states.len().saturating_sub(1) as u64);
            let standing_since = held_since.into_iter().chain(past_end).min();
            let from = received.from_step;
            self.origin = if standing_since.is_some_and(|since| from >= since) { t } else { from };
            self.plan = Some(received);
            self.switched = true;
            self.watchdog.feed(now_ms);
        } else {
            self.link.count("plans_ignored");
        }
        Ok(())
    }

    /// Refuses `plan`, which breaks the robot's limits (`why`): counts it, drops the plan being
    /// executed and holds where it is, saying why once per plan.
    fn refuse(&mut self, t: u64, observation: &[f32], plan: &bridge::message::Plan, why: &str) -> anyhow::Result<()> {
        self.link.count("plans_refused");
        if self.refused.as_deref() == Some(plan.plan_id.as_str()) {
            return Ok(());
        }
        self.refused = Some(plan.plan_id.clone());
        self.plan = None;
        let reason = format!("refused plan {} of planner {}: {why}", plan.plan_id, plan.planner_id);
        if !self.hold.active {
            return self.begin_hold(t, observation, reason);
        }
        tracing::warn!("robot {}: still holding at step {t}: {reason}", self.link.robot_id());
        self.observer.event(Level::Warn, &format!("still holding at step {t}: {reason}"));
        self.link.publish_status(NodeStatus::Holding, Some(reason), t)?;
        Ok(())
    }

    /// Whether to execute the plan at step `t` or hold, starting or ending a hold as needed;
    /// returns the plan's row index to execute (`None`: hold).
    fn decide(&mut self, t: u64, now_ms: u64, observation: &[f32]) -> anyhow::Result<Option<usize>> {
        // A ROS 2 controller's trajectory holds until its end: no re-sends to watch for.
        let health = if self.link.plans_are_confirmed() { self.watchdog.check(now_ms).0 } else { Health::Fresh };
        let index = self.plan.as_ref().map(|_| (t - self.origin) as usize);
        let expired = self.plan.as_ref().zip(index).is_some_and(|(p, i)| p.valid_steps.is_some_and(|v| i as u64 >= v));
        let execute = health == Health::Fresh && self.plan.is_some() && !expired && !self.hold.commanded;
        if execute && self.hold.active {
            self.end_hold(t, observation)?;
        } else if !execute && !self.hold.active {
            let reason = if self.hold.commanded {
                "told to hold".to_owned()
            } else if expired {
                "the plan's validity window passed".to_owned()
            } else {
                format!("no fresh plan for {} ms", self.watchdog.age(now_ms).unwrap_or(now_ms))
            };
            self.begin_hold(t, observation, reason)?;
        }
        Ok(index.filter(|_| execute))
    }

    /// The action at plan row `index` (or holding), and the state the plan wants next.
    fn act(
        &self,
        tracker: &mut dyn Tracker,
        index: Option<usize>,
        observation: &[f32],
    ) -> (Vec<f32>, Option<Vec<f32>>) {
        match (&self.plan, index) {
            (Some(plan), Some(i)) => {
                let wanted = plan.states.get(i + 1).or(plan.states.last()).cloned();
                (tracker.action(&plan.states, i, observation), wanted)
            }
            _ => (tracker.action(&self.hold.target, 0, observation), self.hold.target.first().cloned()),
        }
    }

    /// Starts holding at `observation` (step `t`, for `reason`), logging and reporting it.
    fn begin_hold(&mut self, t: u64, observation: &[f32], reason: String) -> anyhow::Result<()> {
        self.hold = Hold { began: t, commanded: self.hold.commanded, ..Hold::new(observation) };
        self.link.count("holds");
        tracing::warn!("robot {}: holding at step {t}: {reason}", self.link.robot_id());
        self.observer.event(Level::Warn, &format!("holding at step {t}: {reason}"));
        self.link.publish_status(NodeStatus::Holding, Some(reason), t)?;
        Ok(())
    }

    /// Stops holding at step `t`, logging how still the robot stood: its speed over the last
    /// step and how far it moved while it held.
    fn end_hold(&mut self, t: u64, observation: &[f32]) -> anyhow::Result<()> {
        self.hold.active = false;
        let position = self.task.position(observation);
        let speed = f64::from(distance(position, self.previous)) / self.dt;
        let moved = distance(position, self.task.position(&self.hold.target[0]));
        tracing::info!(
            "robot {}: resumed at step {t} after holding {} steps (speed {speed:.3} m/s, moved {moved:.3} m)",
            self.link.robot_id(),
            t - self.hold.began
        );
        self.observer.event(Level::Info, &format!("resumed at step {t} after holding {} steps", t - self.hold.began));
        self.link.publish_status(NodeStatus::Ok, None, t)?;
        Ok(())
    }
}
