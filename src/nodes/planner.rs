//! The planner node's settings, and a task's planner in this process: the checkpoints loaded
//! once, the task's sampler, Picard, guidance, constraints and reward, and the warm starts of
//! each plan stream (one per robot or episode).

use std::collections::BTreeMap;
use std::path::PathBuf;

use anyhow::Context;
use planner::driver::WarmStart;
use planner::driver::picard::PicardConfig;
use planner::jumpy::shift_by_steps;
use planner::model::{Checkpoint, ModelSpec};
use planner::observer::Observer;
use planner::sampler::SamplerConfig;
use planner::{Plan, PlanRequest, Planner};
use serde::Deserialize;
use tch::{Device, Tensor};

use super::ros2::Ros2Settings;
use crate::task::{PlannerConfig, TaskFile};

/// Default worker id of `serve`.
const DEFAULT_ID: &str = "planner-0";
/// Default length of the query queue.
const DEFAULT_QUEUE: usize = 8;
/// Default for [`PlannerNodeConfig::max_batch`].
pub const DEFAULT_MAX_BATCH: usize = 64;

/// A planner node's settings: the flags of `diffplan serve` and a launch file's `[planner]`
/// table, one type with each default written once.
#[derive(Debug, Clone, clap::Args, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PlannerNodeConfig {
    /// Task config (TOML) naming the checkpoint and sampler, e.g. configs/tasks/maze2d-umaze.toml.
    #[arg(long)]
    pub config: PathBuf,
    /// Worker id (letters, digits, '_', '-'); a launch with several workers names them
    /// `<id>-0`, `<id>-1`, …
    #[arg(long, default_value = DEFAULT_ID)]
    #[serde(default = "default_id")]
    pub id: String,
    /// Workers a launch starts, each with its own copy of the model (`serve` is one worker).
    #[arg(skip = 1_usize)]
    #[serde(default = "one")]
    pub workers: usize,
    /// `cpu`, `cuda` or `cuda:N`.
    #[arg(long, default_value = "cpu", value_parser = crate::cli::device::parse_device)]
    #[serde(default = "cpu", deserialize_with = "crate::cli::device::deserialize")]
    pub device: Device,
    /// Also replan on every robot state and stream the plans (real-time robots; a launch sets
    /// it from the robot's mode).
    #[arg(long)]
    #[serde(default)]
    pub stream: bool,
    /// Queries waiting beyond this many are refused as busy.
    #[arg(long, default_value_t = DEFAULT_QUEUE)]
    #[serde(default = "default_queue")]
    pub queue: usize,
    /// Requests asking for more candidates than this are refused as `bad_request` before any
    /// work: each candidate is a full trajectory through the model at every step.
    #[arg(long, default_value_t = DEFAULT_MAX_BATCH)]
    #[serde(default = "default_max_batch")]
    pub max_batch: usize,
    /// Record the denoising of every N-th plan only.
    #[arg(long, default_value_t = 1)]
    #[serde(default = "one")]
    pub rerun_denoise_every: u64,
    /// Also drive a ROS 2 robot: its JointState in, JointTrajectory out (implies --stream); a
    /// launch file's `[ros2]` table sets it for worker 0.
    #[command(flatten)]
    #[serde(skip)]
    pub ros2: Ros2Settings,
}

fn default_id() -> String {
    DEFAULT_ID.into()
}

fn one<T: From<u8>>() -> T {
    T::from(1)
}

fn cpu() -> Device {
    Device::Cpu
}

fn default_queue() -> usize {
    DEFAULT_QUEUE
}

fn default_max_batch() -> usize {
    DEFAULT_MAX_BATCH
}

/// The planner and its per-stream warm-start state.
pub struct TaskPlanner {
    planner: Planner,
    config: PlannerConfig,
    /// The task's Picard settings with an `auto` window resolved (`None`: sequential).
    picard: Option<PicardConfig>,
    /// Per stream: the episode and step of its last plan and what a replan starts from: that
    /// plan's Picard iterates, or its executed candidate (`[1, H, A + O]`, normalized).
    warm: BTreeMap<String, (u64, u64, Vec<Tensor>)>,
}

impl TaskPlanner {
    /// Loads the checkpoints `file` names with the task's guidance, constraints and reward.
    pub fn load(file: &TaskFile, device: Device) -> anyhow::Result<Self> {
        crate::cli::device::check_available(device)?;
        let config = &file.config.planner;
        let named_by = || format!("named by {}", file.path.display());
        let checkpoint =
            Checkpoint::open(&config.checkpoint).with_context(|| format!("the checkpoint {}", named_by()))?;
        let mut planner = Planner::new(Box::new(checkpoint.load_native(device)?))?;
        if let Some(path) = &config.value {
            let value = Checkpoint::open(path).with_context(|| format!("the value checkpoint {}", named_by()))?;
            planner = planner
                .with_value_model(Box::new(value.load_native(device)?))
                .with_context(|| format!("the value checkpoint {}", path.display()))?;
        }
        let dt = file.task.dt_secs();
        if let Some(body) = file.task.arm_body() {
            planner = planner.with_arm(body).with_context(|| format!("the arm of {}", file.task.label()))?;
        }
        if let Some(guidance) = &config.guidance {
            planner = planner
                .with_guidance(guidance.clone(), dt)
                .with_context(|| format!("planner.guidance {}", named_by()))?;
        }
        if let Some(constraints) = &config.constraints {
            planner = planner
                .with_constraints(constraints, dt)
                .with_context(|| format!("planner.constraints {}", named_by()))?;
        }
        if let Some(reward) = config.reward {
            planner = planner.with_reward(file.task.reward(reward));
        }
        let mut local = Self { planner, config: config.clone(), picard: None, warm: BTreeMap::new() };
        if let Some(picard) = &config.picard {
            // Calibrated on the first episode's start and goal: the request shape every plan of
            // the task has (B candidates, start and goal pinned), and one the constraints admit.
            let seed = file.config.eval.seed;
            let mut env = file.task.make_env();
            let start = env.reset(seed);
            let request = local.request(start, Some(env.goal_state()), seed, None);
            let (resolved, choice) = crate::task::picard::resolve(picard, &local.planner, &request)
                .with_context(|| format!("planner.picard {}", named_by()))?;
            if let Some(choice) = choice {
                let chosen = choice.window.map_or("sequential sampling".into(), |window| format!("window {window}"));
                eprintln!("Picard auto: {chosen} (calibration: {})", serde_json::to_string(&choice)?);
            }
            local.picard = resolved;
        }
        Ok(local)
    }

    /// The planner.
    #[must_use]
    pub fn planner(&self) -> &Planner {
        &self.planner
    }

    /// The model's spec.
    #[must_use]
    pub fn spec(&self) -> &ModelSpec {
        self.planner.spec()
    }

    /// The task's sampler settings.
    #[must_use]
    pub fn sampler(&self) -> &SamplerConfig {
        &self.config.sampler
    }

    /// A request from `observation` to `goal` with the task's sampler (or `sampler`) and Picard.
    #[must_use]
    pub fn request(
        &self,
        observation: Vec<f32>,
        goal: Option<Vec<f32>>,
        seed: u64,
        sampler: Option<SamplerConfig>,
    ) -> PlanRequest {
        PlanRequest {
            goal,
            seed,
            batch_size: self.config.batch_size,
            picard: self.picard.clone(),
            soft_decoding: self.config.soft_decoding.clone(),
            ..PlanRequest::new(observation, sampler.unwrap_or_else(|| self.config.sampler.clone()))
        }
    }

    /// Plans `request` for `stream` (a robot) at control step `step` of `episode`. A later step
    /// of the same episode starts from the previous plan moved along by the steps executed
    /// since: Picard from its iterates (`warm_start`), the sequential driver from its executed
    /// candidate renoised (`renoise`); anything else starts cold.
    pub fn plan(
        &mut self,
        stream: &str,
        episode: u64,
        step: u64,
        request: &PlanRequest,
        observer: &mut dyn Observer,
    ) -> planner::Result<Plan> {
        let shifted = match self.warm.get(stream) {
            Some((e, last, tensors)) if *e == episode && step > *last && !tensors.is_empty() => {
                Some(shift_by_steps(tensors, (step - last) as usize, self.spec().stride))
            }
            _ => None,
        };
        let renoised: Option<Tensor>;
        let warm = match (&shifted, self.renoise_from(request)) {
            (Some(iterates), _) if self.picard.is_some() => Some(WarmStart::Iterates(iterates)),
            (Some(best), Some(from_step)) => {
                renoised = Some(best[0].expand([request.batch_size as i64, -1, -1], false));
                renoised.as_ref().map(|x0| WarmStart::Renoised { x0, from_step })
            }
            _ => None,
        };
        let (plan, run) = self.planner.plan_warm(request, warm, observer)?;
        let kept = if self.picard.is_some() && self.config.warm_start {
            Some(run.iterates)
        } else if self.config.renoise.is_some() {
            Some(vec![run.x.narrow(0, plan.best().batch_index as i64, 1)])
        } else {
            None
        };
        if let Some(kept) = kept {
            self.warm.insert(stream.to_owned(), (episode, step, kept));
        }
        Ok(plan)
    }

    /// Forgets `stream`'s warm start: its next plan starts cold.
    pub fn forget(&mut self, stream: &str) {
        self.warm.remove(stream);
    }

    /// The first sampler step of a renoised replan of `request` (`None`: no renoising): the
    /// last `renoise` share of its steps run, at least one.
    fn renoise_from(&self, request: &PlanRequest) -> Option<usize> {
        let fraction = self.config.renoise?;
        let steps = request.sampler.steps_for(self.spec().diffusion_steps);
        let run = ((f64::from(fraction) * steps as f64).ceil() as usize).clamp(1, steps);
        Some(steps - run)
    }
}
