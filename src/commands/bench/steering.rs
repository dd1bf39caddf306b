//! `diffplan bench steering`: what guidance, projection and derivative-free selection cost per
//! plan, as ratios against unguided sampling of the same task measured in the same run
//! (alternating, so drift in the machine's load hits both alike).

use std::time::Instant;

use planner::constraints::RateLimitConfig;
use planner::guidance::{CostConfig, GuidanceConfig, SoftDecodingConfig};
use planner::sampler::SamplerKind;

use super::{BenchArgs, WARMUP, median};
use crate::episode::plan_seed;
use crate::nodes::planner::TaskPlanner;
use crate::task::{PlannerConfig, RewardKind, TaskConfig, TaskFile};

/// Prints the steering table for the task `args.task` (its constraints are the projected ones).
pub fn run(args: &BenchArgs) -> anyhow::Result<()> {
    let file = TaskFile::read(&args.task)?;
    let task = &file.config;
    let plain =
        PlannerConfig { constraints: None, guidance: None, reward: None, soft_decoding: None, ..task.planner.clone() };
    let variants = variants(task, &plain);
    println!(
        "Plan time with steering ÷ plain sampling of {} ({}), median of {} alternating pairs after {WARMUP} warm-ups, {} threads.\n",
        args.task.display(),
        task.sampler_label(),
        args.iters,
        tch::get_num_threads()
    );
    println!("| steering | batch | plain | steered | ratio |");
    println!("|---|---|---|---|---|");
    let mut env = file.task.make_env();
    let observation = env.reset(0);
    let goal = env.goal_state();
    for &batch in &args.batches {
        let baseline = load(&file, PlannerConfig { batch_size: batch, ..plain.clone() }, args)?;
        for (name, config) in &variants {
            let steered = load(&file, PlannerConfig { batch_size: batch, ..config.clone() }, args)?;
            let (plain_ms, steered_ms) = paired_medians(args.iters, &mut |which, i| {
                let local = if which { &steered } else { &baseline };
                let request = local.request(observation.clone(), Some(goal.clone()), plan_seed(0, i), None);
                let started = Instant::now();
                local.planner().plan(&request)?;
                Ok(started.elapsed().as_secs_f64() * 1e3)
            })?;
            println!("| {name} | {batch} | {plain_ms:.0} ms | {steered_ms:.0} ms | {:.2} |", steered_ms / plain_ms);
        }
    }
    Ok(())
}

/// The steering variants measured, each a planner config.
fn variants(task: &TaskConfig, plain: &PlannerConfig) -> Vec<(String, PlannerConfig)> {
    let costs = vec![
        CostConfig::GoalDistance { dims: vec![0, 1], target: None, weight: 1.0 },
        CostConfig::ObstacleClearance {
            dims: vec![0, 1],
            center: vec![1.5, 2.8],
            radii: vec![0.25, 0.25],
            power: 2,
            clearance: 0.5,
            weight: 1.0,
        },
    ];
    let guided = |value_weight: f64, costs: Vec<CostConfig>| GuidanceConfig {
        scale: 0.1,
        n_guide_steps: 2,
        t_stopgrad: 2,
        scale_grad_by_variance: true,
        value_weight,
        costs,
    };
    let mut variants = vec![(
        "gradient guidance: goal distance + obstacle clearance, 2 steps".to_owned(),
        PlannerConfig { guidance: Some(guided(0.0, costs)), ..plain.clone() },
    )];
    if plain.value.is_some() {
        variants.push((
            "gradient guidance: value model, 2 steps".into(),
            PlannerConfig { guidance: Some(guided(1.0, Vec::new())), ..plain.clone() },
        ));
    }
    if let Some(constraints) = &task.planner.constraints {
        variants.push((
            format!("projection: {} obstacles (closed form)", constraints.obstacle.len()),
            PlannerConfig { constraints: Some(constraints.clone()), ..plain.clone() },
        ));
        let mut limited = constraints.clone();
        limited.velocity_limit.push(RateLimitConfig { dims: vec![0, 1], max: vec![2.0, 2.0], speed_dims: vec![] });
        variants.push((
            "projection: obstacles + velocity limit 2 m/s (QP)".into(),
            PlannerConfig { constraints: Some(limited), ..plain.clone() },
        ));
    }
    variants.push((
        "best-of-batch by wall-collision reward".into(),
        PlannerConfig { reward: Some(RewardKind::Collision), ..plain.clone() },
    ));
    let mut stochastic = plain.sampler.clone();
    stochastic.kind = SamplerKind::Ddim;
    stochastic.eta = 1.0;
    variants.push((
        "soft decoding M = 4 by Rapier rollout reward (ddim η = 1)".into(),
        PlannerConfig {
            sampler: stochastic,
            reward: Some(RewardKind::Rollout),
            soft_decoding: Some(SoftDecodingConfig { candidates: 4, temperature: 0.0 }),
            ..plain.clone()
        },
    ));
    variants
}

/// The task's planner with `config` in place of its own.
pub(super) fn load(file: &TaskFile, config: PlannerConfig, args: &BenchArgs) -> anyhow::Result<TaskPlanner> {
    TaskPlanner::load(&file.with_config(TaskConfig { planner: config, ..file.config.clone() }), args.device.device)
}

/// Medians of `iters` alternating calls of `time(false, i)` (baseline) and `time(true, i)`.
pub(super) fn paired_medians(
    iters: usize,
    time: &mut dyn FnMut(bool, u64) -> anyhow::Result<f64>,
) -> anyhow::Result<(f64, f64)> {
    for i in 0..WARMUP as u64 {
        time(false, i)?;
        time(true, i)?;
    }
    let (mut a, mut b) = (Vec::with_capacity(iters), Vec::with_capacity(iters));
    for i in 0..iters.max(1) as u64 {
        a.push(time(false, i)?);
        b.push(time(true, i)?);
    }
    Ok((median(a), median(b)))
}
