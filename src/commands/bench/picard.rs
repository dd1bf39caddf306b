//! `diffplan bench picard`: sequential sampling against Picard iterations on one checkpoint, in
//! one run: latency, sweeps (sequential depth), model evaluations, how far the Picard plan is
//! from the sequential one on the same tape, and what `--picard-window auto` chooses and costs.

use std::time::Instant;

use planner::driver::picard::PicardConfig;
use planner::driver::picard_auto::{calibrate, candidate_windows};
use planner::model::Checkpoint;
use planner::sampler::{SamplerConfig, SamplerKind};
use planner::{Plan, PlanRequest, Planner};

use super::{BenchArgs, WARMUP, median};

/// Prints the Picard table for `args.checkpoint`.
pub fn run(args: &BenchArgs) -> anyhow::Result<()> {
    let Some(dir) = &args.checkpoint else {
        anyhow::bail!("bench picard needs --checkpoint DIR (e.g. models/maze2d-umaze)");
    };
    let checkpoint = Checkpoint::open(dir)?;
    let spec = checkpoint.manifest().spec.clone();
    let planner = Planner::new(Box::new(checkpoint.load_native(args.device.device)?))?;
    let n = spec.diffusion_steps;
    println!(
        "Sequential vs Picard (window = K, τ = {}, stopped after {} s), {} ({:?}), median of up to {} after up to \
         {WARMUP} warm-up plans within {} s per measurement, {} threads.\n",
        args.tolerance,
        args.picard_cap_s,
        dir.display(),
        args.device.device,
        args.iters,
        args.budget_s,
        tch::get_num_threads()
    );
    println!(
        "| sampler | K | batch | sequential | Picard | speedup | sweeps | model evaluations | max |Δ| vs sequential \
         | auto chooses | auto ÷ sequential | calibration |"
    );
    println!("|---|---|---|---|---|---|---|---|---|---|---|---|");
    let observation: Vec<f32> = (0..spec.observation_dim).map(|i| 0.2 * i as f32).collect();
    for &steps in &args.picard_steps {
        let kind = if steps == 20 { SamplerKind::DpmSolverPp } else { SamplerKind::Ddpm };
        if steps > n {
            println!("| {} | {steps} | – | skipped: the model has N = {n} | | | | | | | | |", kind.name());
            continue;
        }
        for &batch in &args.batches {
            let sequential = PlanRequest {
                batch_size: batch,
                seed: 1,
                ..PlanRequest::new(
                    observation.clone(),
                    SamplerConfig { steps: Some(steps), clip_x0: true, ..SamplerConfig::new(kind) },
                )
            };
            let picard = PlanRequest {
                picard: Some(PicardConfig {
                    window: steps,
                    tolerance: args.tolerance,
                    max_sweeps: None,
                    deadline_ms: Some(args.picard_cap_s * 1e3),
                }),
                ..sequential.clone()
            };
            let (sequential_ms, a) = timed(args, || planner.plan(&sequential))?;
            let (picard_ms, b) = timed(args, || planner.plan(&picard))?;
            let stats = b.stats.picard.clone().ok_or_else(|| anyhow::anyhow!("no Picard stats"))?;
            // A stopped plan only bounds the speed-up from above.
            let speedup = sequential_ms / picard_ms;
            let (picard_cell, speedup_cell) = if stats.converged {
                (format!("{picard_ms:.0} ms"), format!("{speedup:.2}"))
            } else {
                (format!("stopped at {picard_ms:.0} ms, not converged"), format!("< {speedup:.2}"))
            };
            let calibration_started = Instant::now();
            let choice = calibrate(&planner, &sequential, &candidate_windows(steps), args.tolerance, 3)?;
            let calibration_s = calibration_started.elapsed().as_secs_f64();
            let auto = PlanRequest {
                picard: choice.window.map(|window| PicardConfig {
                    window,
                    tolerance: args.tolerance,
                    max_sweeps: None,
                    deadline_ms: None,
                }),
                ..sequential.clone()
            };
            // Sequential again, alternating with auto, so that drift over the run cancels.
            let (sequential_again, auto_ms) = alternating(args, &planner, &sequential, &auto)?;
            println!(
                "| {} | {steps} | {batch} | {sequential_ms:.0} ms | {picard_cell} | {speedup_cell} | {} | {} | {:.2e} | {} | \
                 {:.2} | {calibration_s:.1} s |",
                kind.name(),
                stats.sweeps,
                stats.model_evaluations,
                max_difference(&a, &b),
                choice.window.map_or("sequential".into(), |window| format!("p = {window}")),
                auto_ms / sequential_again,
            );
        }
    }
    Ok(())
}

/// Median wall time of `plan` in ms and its last plan. Up to `WARMUP` warm-ups stop once they
/// have taken a tenth of `--budget-s`; a first run that long counts as a timed run instead,
/// since start-up costs are lost in it. Timed runs stop after `--iters` or once they have taken
/// the whole budget; there is at least one.
fn timed(args: &BenchArgs, mut plan: impl FnMut() -> planner::Result<Plan>) -> anyhow::Result<(f64, Plan)> {
    let (budget_ms, iters) = (args.budget_s * 1e3, args.iters.max(1));
    let mut once = || -> anyhow::Result<(f64, Plan)> {
        let started = Instant::now();
        let last = plan()?;
        Ok((started.elapsed().as_secs_f64() * 1e3, last))
    };
    let mut times = Vec::with_capacity(iters);
    let (mut warm_ms, mut last) = (0.0, None);
    for i in 0..WARMUP {
        let (ms, plan) = once()?;
        last = Some(plan);
        if i == 0 && ms >= budget_ms / 10.0 {
            times.push(ms);
            break;
        }
        warm_ms += ms;
        if warm_ms >= budget_ms / 10.0 {
            break;
        }
    }
    while times.is_empty() || (times.len() < iters && times.iter().sum::<f64>() < budget_ms) {
        let (ms, plan) = once()?;
        times.push(ms);
        last = Some(plan);
    }
    Ok((median(times), last.expect("at least one run")))
}

/// Medians (ms) of alternating plans of `a` and `b`. A first pair shorter than a tenth of
/// `--budget-s` is a warm-up; pairs then go on until `--iters` or the budget.
fn alternating(args: &BenchArgs, planner: &Planner, a: &PlanRequest, b: &PlanRequest) -> anyhow::Result<(f64, f64)> {
    let budget_ms = args.budget_s * 1e3;
    let time = |request: &PlanRequest| -> anyhow::Result<f64> {
        let started = Instant::now();
        planner.plan(request)?;
        Ok(started.elapsed().as_secs_f64() * 1e3)
    };
    let (mut times_a, mut times_b, mut spent) = (Vec::new(), Vec::new(), 0.0);
    let mut warm_up = true;
    loop {
        let (ms_a, ms_b) = (time(a)?, time(b)?);
        if std::mem::take(&mut warm_up) && ms_a + ms_b < budget_ms / 10.0 {
            continue;
        }
        times_a.push(ms_a);
        times_b.push(ms_b);
        spent += ms_a + ms_b;
        if times_a.len() >= args.iters.max(1) || spent >= budget_ms {
            return Ok((median(times_a), median(times_b)));
        }
    }
}

/// Largest difference between two plans' states, in the data's units.
fn max_difference(a: &Plan, b: &Plan) -> f64 {
    a.candidates
        .iter()
        .zip(&b.candidates)
        .flat_map(|(x, y)| x.states.iter().flatten().zip(y.states.iter().flatten()))
        .map(|(p, q)| f64::from((p - q).abs()))
        .fold(0.0, f64::max)
}
