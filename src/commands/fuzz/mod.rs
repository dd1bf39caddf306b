//! `diffplan fuzz`: generated and mutated inputs through every decoder of bytes from outside (the
//! wire's messages, ROS 2's, task, launch and training files, checkpoint manifests, D4RL
//! datasets). Counts what each decoder accepts, refuses and panics on, its slowest input and the
//! memory the run took; exits with failure if anything panicked. docs/RELIABILITY.md has the
//! figures of a full run.

mod d4rl_files;
mod mutator;
mod targets;

use std::panic::AssertUnwindSafe;
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use serde::Serialize;

use self::targets::{Inputs, Target};

#[derive(Debug, clap::Args)]
pub struct FuzzArgs {
    /// Inputs per decoder.
    #[arg(long, default_value_t = 1_000_000)]
    inputs: u64,
    /// Seed of the inputs: the same seed makes the same inputs.
    #[arg(long, default_value_t = 0)]
    seed: u64,
    /// Fuzz only this decoder (repeatable), named as in the table.
    #[arg(long = "target")]
    targets: Vec<String>,
    /// Also write the table as JSON to this file.
    #[arg(long)]
    json: Option<PathBuf>,
}

/// What one decoder did with its inputs.
#[derive(Debug, Serialize)]
struct Outcome {
    target: &'static str,
    inputs: u64,
    accepted: u64,
    refused: u64,
    panics: u64,
    /// The first panic: the input's index, the message and the input's first bytes.
    first_panic: Option<String>,
    /// The slowest input's decoding time, milliseconds.
    slowest_ms: f64,
    /// How much the process's peak resident memory grew during the target, MiB.
    peak_memory_growth_mib: f64,
    seconds: f64,
}

/// The message of the panic caught last.
static LAST_PANIC: Mutex<Option<String>> = Mutex::new(None);

pub fn run(args: &FuzzArgs) -> anyhow::Result<ExitCode> {
    let dir = tempfile::tempdir()?;
    let mut all = targets::mutated_targets();
    all.extend(d4rl_files::targets(dir.path()));
    let names: Vec<&str> = all.iter().map(|t| t.name).collect();
    if let Some(unknown) = args.targets.iter().find(|name| !names.contains(&name.as_str())) {
        anyhow::bail!("--target {unknown}: no such decoder; the decoders are {}", names.join(", "));
    }
    let chosen = all.into_iter().filter(|t| args.targets.is_empty() || args.targets.iter().any(|n| n == t.name));
    // Panics are counted, not printed (the first of each target is in the table).
    let previous_hook = std::panic::take_hook();
    std::panic::set_hook(Box::new(|info| {
        *LAST_PANIC.lock().unwrap_or_else(std::sync::PoisonError::into_inner) = Some(info.to_string());
    }));
    let outcomes: anyhow::Result<Vec<Outcome>> = chosen.map(|target| fuzz(target, args)).collect();
    std::panic::set_hook(previous_hook);
    let outcomes = outcomes?;
    println!("| decoder | inputs | accepted | refused | panics | slowest input | peak memory growth | time |");
    println!("|---|---|---|---|---|---|---|---|");
    for o in &outcomes {
        println!(
            "| {} | {} | {} | {} | {} | {:.2} ms | {:.1} MiB | {:.1} s |",
            o.target, o.inputs, o.accepted, o.refused, o.panics, o.slowest_ms, o.peak_memory_growth_mib, o.seconds
        );
    }
    for panic in outcomes.iter().filter_map(|o| o.first_panic.as_ref().map(|p| (o.target, p))) {
        eprintln!("{}: first panic at {}", panic.0, panic.1);
    }
    if let Some(path) = &args.json {
        std::fs::write(path, serde_json::to_string_pretty(&outcomes)?)?;
    }
    Ok(if outcomes.iter().all(|o| o.panics == 0) { ExitCode::SUCCESS } else { ExitCode::FAILURE })
}

/// Runs `args.inputs` inputs through `target`, its random numbers seeded from `args.seed` and
/// its name (a decoder's inputs do not depend on which others run).
fn fuzz(mut target: Target, args: &FuzzArgs) -> anyhow::Result<Outcome> {
    let seed = target.name.bytes().fold(args.seed, |h, b| h.wrapping_mul(0x100_0000_01b3) ^ u64::from(b));
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let (start, peak_before) = (Instant::now(), peak_memory_mib());
    let mut outcome = Outcome {
        target: target.name,
        inputs: args.inputs,
        accepted: 0,
        refused: 0,
        panics: 0,
        first_panic: None,
        slowest_ms: 0.0,
        peak_memory_growth_mib: 0.0,
        seconds: 0.0,
    };
    let mut slowest = Duration::ZERO;
    for index in 0..args.inputs {
        let input = match &mut target.inputs {
            Inputs::Mutated(examples) => mutator::input(&mut rng, examples),
            Inputs::Generated(generate) => generate(&mut rng)?,
        };
        let began = Instant::now();
        let decoded = std::panic::catch_unwind(AssertUnwindSafe(|| (target.decode)(&input)));
        slowest = slowest.max(began.elapsed());
        match decoded {
            Ok(Ok(())) => outcome.accepted += 1,
            Ok(Err(_)) => outcome.refused += 1,
            Err(_) => {
                outcome.panics += 1;
                if outcome.first_panic.is_none() {
                    let message = LAST_PANIC.lock().unwrap_or_else(std::sync::PoisonError::into_inner).take();
                    let head = String::from_utf8_lossy(&input[..input.len().min(160)]).escape_debug().to_string();
                    outcome.first_panic =
                        Some(format!("input {index}: {}; input begins {head}", message.unwrap_or_default()));
                }
            }
        }
    }
    outcome.slowest_ms = slowest.as_secs_f64() * 1e3;
    outcome.peak_memory_growth_mib = (peak_memory_mib() - peak_before).max(0.0);
    outcome.seconds = start.elapsed().as_secs_f64();
    eprintln!("{}: {} inputs, {} panics, {:.1} s", outcome.target, outcome.inputs, outcome.panics, outcome.seconds);
    Ok(outcome)
}

/// The process's peak resident memory so far (Linux's VmHWM), MiB; 0 where unknown.
fn peak_memory_mib() -> f64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    status
        .lines()
        .find_map(|line| line.strip_prefix("VmHWM:"))
        .and_then(|kb| kb.trim().trim_end_matches("kB").trim().parse::<f64>().ok())
        .map_or(0.0, |kb| kb / 1024.0)
}
