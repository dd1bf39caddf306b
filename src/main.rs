//! `diffplan`: the command-line application. Parses arguments and dispatches to one file per
//! subcommand (`commands/`). The folders show the architecture: `cli/` (shared flag sets),
//! `commands/`, `task/` (robot tasks as plug-ins), `episode/` (episode loops and their tables),
//! `nodes/` (the planner and robot nodes, wire conversions, launch files) and `telemetry/`
//! (Rerun). No math, physics or wire formats live here.

mod cli;
mod commands;
mod config_file;
mod conformance;
mod episode;
mod nodes;
mod task;
mod telemetry;

use std::process::ExitCode;

use clap::{Parser, Subcommand};
use commands::{bench, collect, doctor, eval, import, launch, plan, robot, router, serve, ship, train};

/// A diffusion-policy planner for robots: guided, constraint-projected, observable.
#[derive(Debug, Parser)]
#[command(name = "diffplan", version, about)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    // Tools
    /// Check the installation: libtorch, CUDA, threads, versions of the pinned stack.
    Doctor(doctor::DoctorArgs),
    /// Measure speed; results are printed as a Markdown table for docs/BENCHMARKS.md.
    Bench(bench::BenchArgs),
    /// Feed generated and mutated inputs to every decoder of outside bytes (wire, ROS 2, task,
    /// launch and training files, manifests, datasets); fails if any panics.
    Fuzz(commands::fuzz::FuzzArgs),
    // Data and models
    /// Record a D4RL-format dataset with a task's scripted expert.
    Collect(collect::CollectArgs),
    /// Train a denoiser from a config (checkpoints, resume, TorchScript export).
    Train(train::TrainArgs),
    /// Copy a trained checkpoint with float16 weights, for shipping under models/.
    Ship(ship::ShipArgs),
    /// Turn a model trained by another program (jannerm/diffuser) into a diffplan checkpoint.
    Import(import::ImportArgs),
    // Planning
    /// Sample one plan from a checkpoint and print it as JSON.
    Plan(plan::PlanArgs),
    /// Evaluate a planner (or the expert, or random actions) on a task; prints a score table.
    Eval(eval::EvalArgs),
    // The robot stack
    /// Serve plans on Zenoh: plan queries, and streamed replanning on robot states.
    Serve(serve::ServeArgs),
    /// Run a task's simulator as a robot on Zenoh: publish state, execute plans, print the score
    /// table.
    Robot(robot::RobotArgs),
    /// Run a Zenoh router: the hub planner workers on several machines connect to.
    Router(router::RouterArgs),
    /// Start the nodes of a launch file (robot, planners) on one Zenoh network; the main job.
    Launch(launch::LaunchArgs),
    /// Check a planner or a streaming robot, ours or anyone's, against docs/PROTOCOL.md.
    Conformance(commands::conformance::ConformanceArgs),
}

fn main() -> ExitCode {
    // Logs go to stderr; RUST_LOG overrides the default (our nodes' events, Zenoh's warnings).
    let filter = tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| {
        // Zenoh's orchestrator warns on every peer whose endpoints are not all up within its
        // scouting delay, which is normal when nodes start in any order.
        tracing_subscriber::EnvFilter::new("warn,zenoh::net::runtime::orchestrator=error,diffplan=info,bridge=info")
    });
    let ansi = std::io::IsTerminal::is_terminal(&std::io::stderr());
    tracing_subscriber::fmt().with_env_filter(filter).with_writer(std::io::stderr).with_ansi(ansi).init();
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
        Command::Import(args) => import::run(&args).map(|()| ExitCode::SUCCESS),
        Command::Plan(args) => plan::run(&args).map(|()| ExitCode::SUCCESS),
        Command::Serve(args) => serve::run(&args).map(|()| ExitCode::SUCCESS),
        Command::Robot(args) => robot::run(&args).map(|()| ExitCode::SUCCESS),
        Command::Router(args) => router::run(&args).map(|()| ExitCode::SUCCESS),
        Command::Launch(args) => launch::run(&args).map(|()| ExitCode::SUCCESS),
        Command::Conformance(args) => commands::conformance::run(&args),
        Command::Fuzz(args) => commands::fuzz::run(&args),
    }
}

#[cfg(test)]
mod tests {
    use clap::CommandFactory;

    #[test]
    fn the_command_line_is_consistent() {
        // clap's own checks: no clashing flags or ids, valid defaults and requirements.
        super::Cli::command().debug_assert();
    }
}
