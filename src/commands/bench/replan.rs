//! `diffplan bench replan`: what closing the loop costs. A replan 13 steps into a plan, cold
//! (from noise) against warm (the previous plan renoised, `planner.renoise`), and the safety
//! filter's time per control step against the tracker alone, each measured in the same run as
//! its baseline (alternating, so drift in the machine's load hits both alike).

use std::path::Path;
use std::time::Instant;

use super::steering::{load, paired_medians};
use super::{BenchArgs, WARMUP};
use crate::episode::plan_seed;
use crate::nodes::planner::TaskPlanner;
use crate::task::{ControlConfig, PlannerConfig, TaskFile, TrackerKind};

/// Steps executed between the plan and the replan.
const REPLAN_AFTER: u64 = 13;

/// The obstacle task whose safety filter is timed.
const FILTER_TASK: &str = "configs/tasks/maze2d-umaze-obstacles.toml";

/// Prints the replan table for `args.task` and the filter table for the U-maze obstacle task.
pub fn run(args: &BenchArgs) -> anyhow::Result<()> {
    let file = TaskFile::read(&args.task)?;
    println!(
        "Replan {REPLAN_AFTER} steps into a plan of {} ({}), warm against cold, median of {} alternating pairs after \
         {WARMUP} warm-ups, {} threads.\n",
        args.task.display(),
        file.config.sampler_label(),
        args.iters,
        tch::get_num_threads()
    );
    println!("| replan | model calls | cold | warm | warm ÷ cold |");
    println!("|---|---|---|---|---|");
    let cold_config = PlannerConfig { renoise: None, warm_start: false, picard: None, ..file.config.planner.clone() };
    let mut cold = load(&file, cold_config.clone(), args)?;
    for share in [0.25_f32, 0.5] {
        let mut warm = load(&file, PlannerConfig { renoise: Some(share), ..cold_config.clone() }, args)?;
        let mut calls = 0;
        let (cold_ms, warm_ms) = paired_medians(args.iters, &mut |is_warm, i| {
            let planner = if is_warm { &mut warm } else { &mut cold };
            let (ms, replan_calls) = replan_ms(&file, planner, i)?;
            if is_warm {
                calls = replan_calls;
            }
            Ok(ms)
        })?;
        let steps = cold_config.sampler.steps_for(cold.spec().diffusion_steps);
        println!(
            "| renoised, share {share} | {calls} of {steps} | {cold_ms:.1} ms | {warm_ms:.1} ms | {:.2} |",
            warm_ms / cold_ms
        );
    }
    filter_table(args)
}

/// Plans episode `i` from its start, then replans REPLAN_AFTER steps later from the state the
/// plan wanted there; returns the replan's milliseconds and model calls.
fn replan_ms(file: &TaskFile, planner: &mut TaskPlanner, i: u64) -> anyhow::Result<(f64, usize)> {
    let mut env = file.task.make_env();
    let start = env.reset(i);
    let goal = env.goal_state();
    let first = planner.request(start, Some(goal.clone()), plan_seed(i, 0), None);
    let plan = planner.plan("bench", i, 0, &first, &mut ())?;
    let there = plan.best().states[REPLAN_AFTER as usize].clone();
    let mut replan = planner.request(there, Some(goal), plan_seed(i, REPLAN_AFTER), None);
    replan.arrival = Some(plan.best().states.len() - 1 - REPLAN_AFTER as usize);
    let started = Instant::now();
    let replanned = planner.plan("bench", i, REPLAN_AFTER, &replan, &mut ())?;
    Ok((started.elapsed().as_secs_f64() * 1e3, replanned.stats.model_calls))
}

/// The safety filter's cost: one episode of the feed-forward tracker on a plan of the obstacle
/// task, timed per control step with and without the filter.
fn filter_table(args: &BenchArgs) -> anyhow::Result<()> {
    let file = TaskFile::read(Path::new(FILTER_TASK))?;
    let planner = TaskPlanner::load(&file, args.device.device)?;
    let mut env = file.task.make_env();
    let start = env.reset(0);
    let request = planner.request(start, Some(env.goal_state()), plan_seed(0, 0), None);
    let plan = planner.planner().plan(&request)?.best().states.clone();
    let control = |safety_filter| ControlConfig { tracker: TrackerKind::FeedForward, safety_filter };
    let (plain_us, filtered_us) = paired_medians(args.iters, &mut |filtered, _| {
        let mut tracker = file.task.tracker(&control(filtered));
        let mut observation = env.reset(0);
        let (mut spent, steps) = (0.0, env.max_episode_steps());
        for step in 0..steps {
            let started = Instant::now();
            let action = tracker.action(&plan, step, &observation);
            spent += started.elapsed().as_secs_f64();
            observation = env.step(&action).observation;
        }
        Ok(spent * 1e6 / steps as f64)
    })?;
    println!(
        "\nSafety filter per control step on {FILTER_TASK} (feed-forward tracker, one plan, {} steps), median of {} \
         alternating episodes after {WARMUP} warm-ups.\n",
        env.max_episode_steps(),
        args.iters
    );
    println!("| tracker | per step | ÷ tracker alone |");
    println!("|---|---|---|");
    println!("| feed-forward | {plain_us:.1} µs | 1.00 |");
    println!("| feed-forward + safety filter | {filtered_us:.1} µs | {:.1} |", filtered_us / plain_us);
    Ok(())
}
