//! `diffplan`: the command-line application. Parses arguments and dispatches to one file per
//! subcommand; no math, physics or wire formats live here.

mod bench;
mod collect;
mod config_file;
mod device;
mod doctor;
mod eval;
mod plan;
mod ship;
mod train;

use std::process::ExitCode;

use clap::{Parser, Subcommand};

/// A diffusion-policy planner for robots: guided, constraint-projected, observable.
#[derive(Debug, Parser)]
#[command(name = "diffplan", version, about)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Check the installation: libtorch, CUDA, threads, versions of the pinned stack.
    Doctor(doctor::DoctorArgs),
    /// Measure speed; results are printed as a Markdown table for docs/BENCHMARKS.md.
    Bench(bench::BenchArgs),
    /// Record a D4RL-format Maze2D dataset with the scripted expert.
    Collect(collect::CollectArgs),
    /// Evaluate a planner (or the expert, or random actions) on Maze2D; prints a score table.
    Eval(eval::EvalArgs),
    /// Train a denoiser from a config (checkpoints, resume, TorchScript export).
    Train(train::TrainArgs),
    /// Copy a trained checkpoint with float16 weights, for shipping under models/.
    Ship(ship::ShipArgs),
    /// Sample one plan from a checkpoint and print it as JSON.
    Plan(plan::PlanArgs),
}

fn main() -> ExitCode {
    match run(Cli::parse()) {
        Ok(code) => code,
        Err(error) => {
            eprintln!("error: {error:#}");
            ExitCode::FAILURE
        }
    }
}

fn run(cli: Cli) -> anyhow::Result<ExitCode> {
    match cli.command {
        Command::Doctor(args) => Ok(doctor::run(&args)),
        Command::Bench(args) => bench::run(&args).map(|()| ExitCode::SUCCESS),
        Command::Collect(args) => collect::run(&args).map(|()| ExitCode::SUCCESS),
        Command::Eval(args) => eval::run(&args).map(|()| ExitCode::SUCCESS),
        Command::Train(args) => train::run(&args).map(|()| ExitCode::SUCCESS),
        Command::Ship(args) => ship::run(&args).map(|()| ExitCode::SUCCESS),
        Command::Plan(args) => plan::run(&args).map(|()| ExitCode::SUCCESS),
    }
}
