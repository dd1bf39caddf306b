//! `diffplan bench forward`: one denoiser forward pass, native `tch::nn` and TorchScript against
//! PyTorch eager on the same weights and inputs.

use std::path::Path;

use planner::model::Denoiser;
use tch::{Device, Kind, Tensor};

use super::{BenchArgs, DIFFUSION_STEPS, SHAPES, WARMUP, json_field, median_ms, python, save_checkpoint};

/// Prints the forward-pass table.
pub fn run(args: &BenchArgs) -> anyhow::Result<()> {
    let threads = tch::get_num_threads();
    println!(
        "Forward pass, median of {} after {WARMUP} warm-up calls, CPU, {threads} threads, same weights and inputs.\n",
        args.iters
    );
    println!("| network | batch | PyTorch eager (baseline) | native tch::nn | TorchScript in tch |");
    println!("|---|---|---|---|---|");
    for shape in SHAPES {
        let dir = tempfile::tempdir()?;
        let checkpoint = save_checkpoint(args, shape, dir.path())?;
        let baseline = pytorch_eager_ms(args, dir.path(), threads)?;
        let native = checkpoint.load_native(Device::Cpu)?;
        let scripted = checkpoint.load_torchscript(Device::Cpu)?;
        for (&batch, eager_ms) in args.batches.iter().zip(baseline) {
            let x = Tensor::randn(
                [batch as i64, shape.horizon as i64, (shape.action_dim + shape.observation_dim) as i64],
                (Kind::Float, Device::Cpu),
            );
            let t = Tensor::randint(DIFFUSION_STEPS as i64, [batch as i64], (Kind::Int64, Device::Cpu));
            let native_ms = median_ms(args.iters, || native.predict(&x, &t))?;
            let scripted_ms = median_ms(args.iters, || scripted.predict(&x, &t))?;
            println!(
                "| {} | {batch} | {eager_ms:.2} ms (1.00) | {native_ms:.2} ms ({:.2}) | {scripted_ms:.2} ms ({:.2}) |",
                shape.name,
                native_ms / eager_ms,
                scripted_ms / eager_ms
            );
        }
    }
    Ok(())
}

/// PyTorch eager medians (ms) for `args.batches`, from `diffuser_torch.py bench`.
fn pytorch_eager_ms(args: &BenchArgs, checkpoint: &Path, threads: i32) -> anyhow::Result<Vec<f64>> {
    let batches = args.batches.iter().map(ToString::to_string).collect::<Vec<_>>().join(",");
    let (iters, threads) = (args.iters.to_string(), threads.to_string());
    let out = python(
        args,
        "diffuser_torch.py",
        &[
            "bench".as_ref(),
            checkpoint.as_os_str(),
            "--batches".as_ref(),
            batches.as_ref(),
            "--iters".as_ref(),
            iters.as_ref(),
            "--threads".as_ref(),
            threads.as_ref(),
        ],
    )?;
    json_field(&out, "median_ms")
}
