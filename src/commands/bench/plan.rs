//! `diffplan bench plan`: a whole plan per sampler, against two baselines measured in the same
//! run: K forward passes of the same model (the overhead ratio) and the PyTorch loop of
//! `sampler_reference.py` doing the same work.

use std::time::Instant;

use anyhow::Context;
use planner::model::Denoiser;
use planner::sampler::{Sampler, SamplerConfig, SamplerKind};
use planner::{PlanRequest, Planner};
use tch::{Device, Kind, Tensor};

use super::{BenchArgs, DIFFUSION_STEPS, SHAPES, WARMUP, json_field, median, python, save_checkpoint};

const SAMPLERS: [SamplerKind; 3] = [SamplerKind::Ddpm, SamplerKind::Ddim, SamplerKind::DpmSolverPp];

/// Prints the plan table.
pub fn run(args: &BenchArgs) -> anyhow::Result<()> {
    let threads = tch::get_num_threads();
    let k = args.steps;
    println!(
        "Whole plan (K = {k} steps of N = {DIFFUSION_STEPS}, start and goal pinned), median of {} after {WARMUP} \
         warm-up plans, CPU, {threads} threads.\n",
        args.iters
    );
    println!(
        "| network | sampler | batch | K forward passes | plan | plan ÷ K forward | PyTorch loop | PyTorch loop ÷ K PyTorch forward | plan ÷ PyTorch loop |"
    );
    println!("|---|---|---|---|---|---|---|---|---|");
    for shape in SHAPES {
        let dir = tempfile::tempdir()?;
        let checkpoint = save_checkpoint(args, shape, dir.path())?;
        let model = checkpoint.load_native(Device::Cpu)?;
        let planner = Planner::new(Box::new(checkpoint.load_native(Device::Cpu)?))?;
        for &batch in &args.batches {
            let x = Tensor::randn(
                [batch as i64, shape.horizon as i64, (shape.action_dim + shape.observation_dim) as i64],
                (Kind::Float, Device::Cpu),
            );
            for kind in SAMPLERS {
                let sampler = SamplerConfig { steps: Some(k), ..SamplerConfig::new(kind) };
                let request = PlanRequest {
                    goal: Some(vec![0.5; shape.observation_dim]),
                    batch_size: batch,
                    ..PlanRequest::new(vec![-0.5; shape.observation_dim], sampler.clone())
                };
                let timesteps = Sampler::new(&sampler, planner.spec())?.timesteps().to_vec();
                let k_forward = || -> planner::Result<()> {
                    for &t in &timesteps {
                        drop(model.predict(&x, &Tensor::full([batch as i64], t as i64, (Kind::Int64, Device::Cpu)))?);
                    }
                    Ok(())
                };
                let (k_forward_ms, plan_ms) = paired_medians_ms(args.iters, k_forward, || planner.plan(&request))?;
                let (pytorch_ms, pytorch_forward_ms) = pytorch_loop_ms(args, dir.path(), kind.name(), batch, threads)?;
                println!(
                    "| {} | {} | {batch} | {k_forward_ms:.1} ms | {plan_ms:.1} ms | {:.3} | {pytorch_ms:.1} ms | {:.3} | {:.2} |",
                    shape.name,
                    kind.name(),
                    plan_ms / k_forward_ms,
                    pytorch_ms / (k as f64 * pytorch_forward_ms),
                    plan_ms / pytorch_ms
                );
            }
        }
    }
    Ok(())
}

/// Medians (ms) of `f` and `g`, timed alternately so that drift of the machine's speed
/// affects both alike.
fn paired_medians_ms<T, U>(
    iters: usize,
    mut f: impl FnMut() -> planner::Result<T>,
    mut g: impl FnMut() -> planner::Result<U>,
) -> anyhow::Result<(f64, f64)> {
    let _guard = tch::no_grad_guard();
    let (mut f_ms, mut g_ms) = (Vec::with_capacity(iters), Vec::with_capacity(iters));
    for i in 0..WARMUP + iters {
        let started = Instant::now();
        f()?;
        let between = Instant::now();
        g()?;
        if i >= WARMUP {
            f_ms.push((between - started).as_secs_f64() * 1e3);
            g_ms.push(between.elapsed().as_secs_f64() * 1e3);
        }
    }
    Ok((median(f_ms), median(g_ms)))
}

/// Medians (ms) of the PyTorch loop of `sampler_reference.py bench` and of one PyTorch forward
/// pass.
fn pytorch_loop_ms(
    args: &BenchArgs,
    checkpoint: &std::path::Path,
    sampler: &str,
    batch: usize,
    threads: i32,
) -> anyhow::Result<(f64, f64)> {
    let (steps, batch, iters, warmup, threads) =
        (args.steps.to_string(), batch.to_string(), args.iters.to_string(), WARMUP.to_string(), threads.to_string());
    let out = python(
        args,
        "sampler_reference.py",
        &[
            "bench".as_ref(),
            checkpoint.as_os_str(),
            "--sampler".as_ref(),
            sampler.as_ref(),
            "--steps".as_ref(),
            steps.as_ref(),
            "--batch".as_ref(),
            batch.as_ref(),
            "--iters".as_ref(),
            iters.as_ref(),
            "--warmup".as_ref(),
            warmup.as_ref(),
            "--threads".as_ref(),
            threads.as_ref(),
        ],
    )?;
    let first = |key| json_field(&out, key)?.first().copied().context("sampler_reference.py printed nothing");
    Ok((first("median_ms")?, first("forward_median_ms")?))
}
