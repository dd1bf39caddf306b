//! `diffplan bench picard`: sequential sampling against Picard iterations on one checkpoint, in
//! one run: latency, sweeps (sequential depth), model evaluations, and how far the Picard plan is
//! from the sequential one on the same tape.

use planner::model::Checkpoint;
use planner::picard::PicardConfig;
use planner::sampler::{SamplerConfig, SamplerKind};
use planner::{Plan, PlanRequest, Planner};

use super::{BenchArgs, WARMUP, median_ms};

/// Prints the Picard table for `args.checkpoint`.
pub fn run(args: &BenchArgs) -> anyhow::Result<()> {
    let Some(dir) = &args.checkpoint else {
        anyhow::bail!("bench picard needs --checkpoint DIR (e.g. models/maze2d-umaze)");
    };
    let checkpoint = Checkpoint::open(dir)?;
    let spec = checkpoint.manifest().spec.clone();
    let planner = Planner::new(Box::new(checkpoint.load_native(args.device)?))?;
    let n = spec.diffusion_steps;
    println!(
        "Sequential vs Picard (window = K, τ = {}), {} ({:?}), median of {} after {WARMUP} warm-up plans, {} threads.\n",
        args.tolerance,
        dir.display(),
        args.device,
        args.iters,
        tch::get_num_threads()
    );
    println!(
        "| sampler | K | batch | sequential | Picard | speedup | sweeps | model evaluations | max |Δ| vs sequential |"
    );
    println!("|---|---|---|---|---|---|---|---|---|");
    let observation: Vec<f32> = (0..spec.observation_dim).map(|i| 0.2 * i as f32).collect();
    for &(kind, steps) in &[(SamplerKind::DpmSolverPp, 20), (SamplerKind::Ddpm, 64), (SamplerKind::Ddpm, 256)] {
        if steps > n {
            println!("| {} | {steps} | – | skipped: the model has N = {n} | | | | | |", kind.name());
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
                    deadline_ms: None,
                }),
                ..sequential.clone()
            };
            let sequential_ms = median_ms(args.iters, || planner.plan(&sequential))?;
            let picard_ms = median_ms(args.iters, || planner.plan(&picard))?;
            let (a, b) = (planner.plan(&sequential)?, planner.plan(&picard)?);
            let stats = b.stats.picard.clone().ok_or_else(|| anyhow::anyhow!("no Picard stats"))?;
            println!(
                "| {} | {steps} | {batch} | {sequential_ms:.0} ms | {picard_ms:.0} ms | {:.2} | {} | {} | {:.2e} |",
                kind.name(),
                sequential_ms / picard_ms,
                stats.sweeps,
                stats.model_evaluations,
                max_difference(&a, &b)
            );
        }
    }
    Ok(())
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
