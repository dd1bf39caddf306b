//! `diffplan bench kinematics`: the arm's differentiable forward kinematics over a batch of plans
//! (every link frame and the tool point of `[B, H]` configurations, with and without the
//! gradient back to the angles), against one forward pass of the task's denoiser on the same
//! batch, measured in the same run.

use std::time::Instant;

use anyhow::Context;
use planner::kinematics::SerialChain;
use planner::model::{Checkpoint, Denoiser, Model};
use tch::{Device, Kind, Tensor};

use super::{BenchArgs, WARMUP, median, median_ms};
use crate::task::TaskFile;

/// Prints the kinematics table for the arm task `args.task`.
pub fn run(args: &BenchArgs) -> anyhow::Result<()> {
    let file = TaskFile::read(&args.task)?;
    let body = file.task.arm_body().with_context(|| {
        format!("{} is not an arm task; use e.g. --task configs/tasks/panda-reach-obstacles.toml", args.task.display())
    })?;
    let checkpoint_dir = &file.config.planner.checkpoint;
    let model = Checkpoint::open(checkpoint_dir)?.load_native(Device::Cpu)?;
    let (horizon, width) = (model.spec().horizon as i64, model.spec().transition_dim() as i64);
    let chain = SerialChain::new(&body.chain, Kind::Float, Device::Cpu);
    println!(
        "Forward kinematics of {} ({} joints: every link frame and the tool point) over a plan batch [B, H = {horizon}], \
         against one forward pass of {}, median of {} after {WARMUP} warm-ups, CPU, {} threads.\n",
        file.task.label(),
        chain.joints(),
        checkpoint_dir.display(),
        args.iters,
        tch::get_num_threads()
    );
    println!("| batch | denoiser forward (baseline) | kinematics | ratio | kinematics + gradient | ratio |");
    println!("|---|---|---|---|---|---|");
    for &batch in &args.batches {
        let b = batch as i64;
        let x = Tensor::randn([b, horizon, width], (Kind::Float, Device::Cpu));
        let t = Tensor::randint(model.spec().diffusion_steps as i64, [b], (Kind::Int64, Device::Cpu));
        let q = Tensor::rand([b, horizon, chain.joints()], (Kind::Float, Device::Cpu)) * 2.0 - 1.0;
        let forward_ms = median_ms(args.iters, || model.predict(&x, &t))?;
        let kinematics_ms = median_ms(args.iters, || Ok::<_, planner::Error>(chain.tool_frame(&q)))?;
        let gradient_ms = median_with_gradient(args.iters, &chain, &q);
        println!(
            "| {batch} | {forward_ms:.2} ms (1.00) | {kinematics_ms:.2} ms | {:.2} | {gradient_ms:.2} ms | {:.2} |",
            kinematics_ms / forward_ms,
            gradient_ms / forward_ms
        );
    }
    Ok(())
}

/// Median milliseconds of the tool points' kinematics and their gradient back to `q`.
fn median_with_gradient(iters: usize, chain: &SerialChain, q: &Tensor) -> f64 {
    let mut times = Vec::with_capacity(iters);
    for i in 0..WARMUP + iters {
        let angles = q.detach().set_requires_grad(true);
        let started = Instant::now();
        chain.tool_frame(&angles).sum(Kind::Float).backward();
        if i >= WARMUP {
            times.push(started.elapsed().as_secs_f64() * 1e3);
        }
    }
    median(times)
}
