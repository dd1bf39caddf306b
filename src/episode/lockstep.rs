//! One episode under Diffuser's protocol (docs/ALGORITHMS.md §1.10), with plans from any
//! [`PlanSource`]: the planner in this process (`eval`) or the plan service over Zenoh (`robot`).
//!
//! The episode resets the environment with its seed, plans from the start observation to the
//! goal state at step 0, and tracks the planned states with the task's tracker
//! (`[control] tracker`) until the time limit. It replans when the task's [`Replanning`] says so:
//! never (Diffuser's protocol), or every `replan_every` steps, on deviation from the plan, on a
//! new goal and when the plan runs out, keeping the first plan's arrival time. A new goal (the
//! environment's goal state changed, as at a pick-and-place grasp) is planned for in every mode.

use anyhow::Context;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

use super::replan::{Executing, Replanning, Trigger};
use super::{EpisodeObserver, EpisodeOutcome, Level, PlanQuery, PlanSource, distance, plan_seed};
use crate::task::{SolvedToolGoal, Task, TaskFile};
use bridge::message::ToolPointGoal;
use planner::workspace::WorkspaceObstacle;

/// Runs the episode of `file`'s task reset with `episode_seed`, planning with `source` and
/// reporting to `observer`.
pub fn planned_episode(
    file: &TaskFile,
    episode_seed: u64,
    source: &mut dyn PlanSource,
    observer: &mut dyn EpisodeObserver,
) -> anyhow::Result<EpisodeOutcome> {
    let task = file.task.as_ref();
    let replanning = Replanning::of(&file.config.planner);
    let mut env = task.make_env();
    let mut tracker = task.tracker(&file.config.control);
    let mut observation = env.reset(episode_seed);
    let obstacles = task.obstacles(episode_seed);
    observer.episode_began(episode_seed, &env.goal_state(), f64::from(env.dt()));
    let mut outcome = EpisodeOutcome::default();
    outcome.path.push(std::iter::repeat_n(0.0, env.action_dim()).chain(observation.iter().copied()).collect());
    let mut current: Option<Executing> = None;
    let mut previous_action: Option<Vec<f32>> = None;
    let mut solved = SolvedToolGoal::default();
    for step in 0..env.max_episode_steps() as u64 {
        // Read every step: a task's goal may change within an episode (pick-and-place, at the grasp).
        let (goal, goal_tool_point) = episode_goal(file, env.as_ref(), &observation, &obstacles, &mut solved)?;
        let mut seam = false;
        if let Some(trigger) = replanning.trigger(task, current.as_ref(), step, &observation, &goal) {
            let arrival = replanning.arrival(trigger, current.as_ref(), step);
            // A clock or new-goal replan of a position-controlled robot starts from where its
            // servos were sent (Task::commanded_state); a deviation replan from the measured state.
            let commanded = match (trigger, &previous_action) {
                (Trigger::Every | Trigger::Expired | Trigger::NewGoal, Some(last)) => {
                    task.commanded_state(&observation, last)
                }
                _ => None,
            };
            let query = PlanQuery {
                episode: episode_seed,
                observation: commanded.unwrap_or_else(|| observation.clone()),
                goal: goal.clone(),
                goal_tool_point,
                arrival,
                seed: plan_seed(episode_seed, step),
                step,
                obstacles: obstacles.clone(),
            };
            if trigger != Trigger::Start {
                let arriving = arrival.map_or("at the plan's end".into(), |a| format!("at step {}", step + a as u64));
                observer.event(Level::Info, &format!("step {step}: replanning ({trigger:?}), arriving {arriving}"));
            }
            let planned = source.plan(&query)?;
            observer.planned(step, &planned);
            outcome.plan(&planned);
            outcome.triggers.count(trigger);
            seam = true;
            current = Some(if planned.infeasible {
                Executing::held(&observation, step, current.as_ref(), goal.clone())
            } else {
                Executing::planned(planned.states, step, arrival, goal.clone())
            });
        }
        let plan = current.as_ref().expect("a plan is made at step 0");
        let since_plan = (step - plan.from_step) as usize;
        let action = tracker.action(&plan.states, since_plan, &observation);
        if let Some(before) = previous_action.as_ref().filter(|_| seam) {
            outcome.seam(task.seam_jump(before, &action));
        }
        let result = env.step(&action);
        outcome.path.push(action.iter().chain(&result.observation).copied().collect());
        outcome.step(&result);
        let wanted = &plan.states[plan.index(step + 1)];
        let error = distance(task.position(wanted), task.position(&result.observation));
        observer.stepped(step + 1, &result.observation, result.reward, Some(error));
        observation = result.observation;
        previous_action = Some(action);
    }
    outcome.interventions = tracker.interventions();
    Ok(outcome)
}

/// The goal state now, and with `[planner] tool_point_goals` the tool-point goal it solves
/// (the task's inverse kinematics, clear of `obstacles`; `solved` keeps it while the goal
/// stays).
fn episode_goal(
    file: &TaskFile,
    env: &dyn sim::Env,
    observation: &[f32],
    obstacles: &[WorkspaceObstacle],
    solved: &mut SolvedToolGoal,
) -> anyhow::Result<(Vec<f32>, Option<ToolPointGoal>)> {
    if !file.config.planner.tool_point_goals {
        return Ok((env.goal_state(), None));
    }
    let task = file.task.as_ref();
    let tool = env
        .goal_tool_point()
        .with_context(|| format!("{} has no tool-point goals; remove tool_point_goals from [planner]", task.label()))?;
    let goal = ToolPointGoal { position: tool.position, pointing_down: tool.pointing_down };
    let state = solved.solve(task, observation, &goal, obstacles).context("the episode's tool-point goal")?;
    Ok((state, Some(goal)))
}

/// A baseline that does not plan.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Baseline {
    /// The task's scripted expert, reset every episode.
    Expert,
    /// Uniform random actions in [−1, 1] per dimension.
    Random,
    /// The task's naive policy ([`Task::naive`]), reset every episode.
    Naive,
}

/// Runs the episode reset with `episode_seed` with a baseline policy; refused when the task has
/// no such policy (a naive one).
pub fn baseline_episode(task: &dyn Task, baseline: Baseline, episode_seed: u64) -> anyhow::Result<EpisodeOutcome> {
    let mut env = task.make_env();
    let mut observation = env.reset(episode_seed);
    // Random actions need no policy (and an arm's expert plans a path before its first action).
    let mut policy = match baseline {
        Baseline::Expert => Some(task.expert(episode_seed)),
        Baseline::Naive => Some(
            task.naive(episode_seed)
                .with_context(|| format!("{} has no naive policy; use --policy expert or random", task.label()))?,
        ),
        Baseline::Random => None,
    };
    let mut rng = ChaCha8Rng::seed_from_u64(episode_seed);
    let mut outcome = EpisodeOutcome::default();
    for _ in 0..env.max_episode_steps() {
        let action: Vec<f32> = match &mut policy {
            Some(policy) => policy.act(&observation, &env.goal_state()),
            None => (0..env.action_dim()).map(|_| rng.gen_range(-1.0..=1.0)).collect(),
        };
        let result = env.step(&action);
        outcome.step(&result);
        observation = result.observation;
    }
    Ok(outcome)
}

#[cfg(test)]
mod tests {
    use std::path::Path;

    use super::*;
    use crate::episode::PlannedPath;
    use crate::episode::replan::{Arrival, MIN_ARRIVAL_STEPS};

    /// Rows of the scripted plans, as the U-maze model's horizon.
    const HORIZON: usize = 128;

    /// A plan source that needs no model: the straight line from the observation to the goal,
    /// reached at the requested arrival row and held after. Remembers every query.
    #[derive(Default)]
    struct StraightLines {
        queries: Vec<PlanQuery>,
        /// Queries to refuse first (as the planner refuses an infeasible plan).
        refusals: usize,
    }

    impl PlanSource for StraightLines {
        fn plan(&mut self, query: &PlanQuery) -> anyhow::Result<PlannedPath> {
            self.queries.push(query.clone());
            if self.queries.len() <= self.refusals {
                return Ok(PlannedPath::hold(&query.observation));
            }
            let arrival = query.arrival.unwrap_or(HORIZON - 1);
            let (from, to) = (&query.observation, &query.goal);
            let states = (0..HORIZON)
                .map(|k| {
                    let s = (k.min(arrival) as f32) / arrival as f32;
                    vec![from[0] + s * (to[0] - from[0]), from[1] + s * (to[1] - from[1]), 0.0, 0.0]
                })
                .collect();
            Ok(PlannedPath {
                states,
                latency_ms: 0.0,
                model_ms: 0.0,
                model_calls: 0,
                constraint_violation: None,
                infeasible: false,
            })
        }
    }

    fn arrivals(arrival: Arrival) -> Vec<u64> {
        let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("configs/tasks/maze2d-umaze.toml");
        let read = TaskFile::read(&path).expect("the shipped U-maze task");
        let mut config = read.config.clone();
        config.planner.replan_every = 13;
        config.planner.arrival = arrival;
        let file = read.with_config(config);
        let mut source = StraightLines::default();
        planned_episode(&file, 3, &mut source, &mut ()).expect("episode");
        source.queries.iter().map(|q| q.step + q.arrival.map_or(HORIZON as u64 - 1, |a| a as u64)).collect()
    }

    /// The shrinking horizon: every replan aims at the first plan's arrival step until fewer
    /// than MIN_ARRIVAL_STEPS remain, and then never more than that ahead.
    #[test]
    fn a_replanned_episodes_arrival_does_not_recede() {
        let kept = arrivals(Arrival::Kept);
        assert!(kept.len() > 20, "{} plans in 300 steps every 13", kept.len());
        let first = kept[0];
        assert_eq!(first, HORIZON as u64 - 1);
        for (plan, arrival) in kept.iter().enumerate() {
            let step = 13 * plan as u64;
            assert_eq!(*arrival, first.max(step + MIN_ARRIVAL_STEPS), "plan {plan} at step {step}");
        }
        // Diffuser's replanning, the failure this fixes: each replan pushes the arrival out.
        let receding = arrivals(Arrival::Receding);
        assert!(receding.windows(2).all(|w| w[1] == w[0] + 13), "{receding:?}");
    }

    /// A refused plan leaves the robot holding; it asks again at the next step with that step's
    /// seed, in a plan-once task too, and the plan it gets arrives at its last row (there was no
    /// arrival for that goal yet). Once planned, a plan-once task asks nothing more.
    #[test]
    fn a_refused_plan_is_asked_for_again_at_the_next_step_in_every_mode() {
        let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("configs/tasks/maze2d-umaze.toml");
        let file = TaskFile::read(&path).expect("the shipped U-maze task");
        assert!(!Replanning::of(&file.config.planner).closes_the_loop(), "the shipped task plans once");
        let mut source = StraightLines { refusals: 2, ..StraightLines::default() };
        let outcome = planned_episode(&file, 3, &mut source, &mut ()).expect("episode");
        let asked: Vec<(u64, Option<usize>, u64)> =
            source.queries.iter().map(|q| (q.step, q.arrival, q.seed)).collect();
        assert_eq!(asked.iter().map(|a| (a.0, a.1)).collect::<Vec<_>>(), [(0, None), (1, None), (2, None)]);
        assert_eq!(asked[1].2, plan_seed(3, 1), "a retry draws the step's seed");
        assert_eq!(outcome.infeasible_plans, 2);
    }

    /// Reference: the environment's own goal position and the simulator's forward kinematics.
    /// With `tool_point_goals`, the pick-and-place episode's goal is the cube's centre pointing
    /// down (as its own grasp is), solved into a state whose tool point is there and whose cube
    /// stays where it lies, and it is sent as the tool point; a point robot's task refuses it.
    #[test]
    fn tool_point_goals_are_solved_by_the_task_and_sent_as_tool_points() {
        let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("configs/tasks/panda-pick-place.toml");
        let read = TaskFile::read(&path).expect("the shipped pick-and-place task");
        let mut config = read.config.clone();
        config.planner.tool_point_goals = true;
        let file = read.with_config(config);
        let mut env = file.task.make_env();
        let observation = env.reset(4);
        let obstacles = file.task.obstacles(4);
        let (state, sent) = episode_goal(&file, env.as_ref(), &observation, &obstacles, &mut SolvedToolGoal::default())
            .expect("a goal");
        let cube = &observation[14..17];
        let sent = sent.expect("sent as a tool point");
        assert!(sent.pointing_down);
        assert!((0..3).all(|i| (sent.position[i] as f32 - cube[i]).abs() < 1e-6), "{sent:?} vs {cube:?}");
        let q: Vec<f64> = state[..7].iter().map(|v| f64::from(*v)).collect();
        let tool = sim::panda::franka_panda().tool_frame(&q).translation;
        let gap = (0..3).map(|i| (tool[i] - f64::from(cube[i])).powi(2)).sum::<f64>().sqrt();
        assert!(gap < 1e-3 + 1e-5, "{gap}");
        assert_eq!(&state[7..14], &[0.0; 7], "at rest");
        assert_eq!(&state[14..], cube, "the cube stays where it lies until it is held");

        let maze = TaskFile::read(&Path::new(env!("CARGO_MANIFEST_DIR")).join("configs/tasks/maze2d-umaze.toml"))
            .expect("the U-maze task");
        let mut config = maze.config.clone();
        config.planner.tool_point_goals = true;
        let maze = maze.with_config(config);
        let mut env = maze.task.make_env();
        let observation = env.reset(0);
        let refused = episode_goal(&maze, env.as_ref(), &observation, &[], &mut SolvedToolGoal::default())
            .expect_err("no tool")
            .to_string();
        assert!(refused.contains("has no tool-point goals"), "{refused}");
    }
}
