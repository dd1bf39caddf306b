//! A task's planner in this process: the checkpoints loaded once, the task's sampler, Picard,
//! guidance, constraints and reward, and the warm starts of each plan stream (one per robot or
//! episode).

use std::collections::BTreeMap;
use std::path::Path;

use anyhow::Context;
use planner::model::{Checkpoint, ModelSpec};
use planner::observer::Observer;
use planner::picard::{PicardConfig, shift_iterates};
use planner::sampler::SamplerConfig;
use planner::{Plan, PlanRequest, Planner};
use tch::{Device, Tensor};

use crate::task::{PlannerConfig, TaskConfig};

/// The planner and its per-stream warm-start state.
pub struct LocalPlanner {
    planner: Planner,
    config: PlannerConfig,
    /// The task's Picard settings with an `auto` window resolved (`None`: sequential).
    picard: Option<PicardConfig>,
    /// Per stream: the episode and step of its last plan and that plan's Picard iterates.
    warm: BTreeMap<String, (u64, u64, Vec<Tensor>)>,
}

impl LocalPlanner {
    /// Loads the checkpoints `task` names (`source` is the file that named them, for errors)
    /// with the task's guidance, constraints and reward.
    pub fn load(task: &TaskConfig, source: &Path, device: Device) -> anyhow::Result<Self> {
        crate::device::check_available(device)?;
        let config = &task.planner;
        let named_by = || format!("named by {}", source.display());
        let checkpoint =
            Checkpoint::open(&config.checkpoint).with_context(|| format!("the checkpoint {}", named_by()))?;
        let mut planner = Planner::new(Box::new(checkpoint.load_native(device)?))?;
        if let Some(path) = &config.value {
            let value = Checkpoint::open(path).with_context(|| format!("the value checkpoint {}", named_by()))?;
            planner = planner
                .with_value_model(Box::new(value.load_native(device)?))
                .with_context(|| format!("the value checkpoint {}", path.display()))?;
        }
        let mut env = task.make_env();
        let dt = f64::from(sim::Env::dt(&env));
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
            planner = planner.with_reward(reward.build(task.env.layout));
        }
        let mut local = Self { planner, config: config.clone(), picard: None, warm: BTreeMap::new() };
        if let Some(picard) = &config.picard {
            // Calibrated on the first episode's start and goal: the request shape every plan of
            // the task has (B candidates, start and goal pinned), and one the constraints admit.
            let start = sim::Env::reset(&mut env, task.eval.seed);
            let request = local.request(start, Some(env.goal_observation()), task.eval.seed, None);
            let (resolved, choice) = crate::picard_window::resolve(picard, &local.planner, &request)
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

    /// Plans `request` for `stream` (a robot) at control step `step` of `episode`. With warm
    /// starts on, a later step of the same episode starts Picard from the previous plan's
    /// iterates shifted by the steps executed since; anything else starts cold.
    pub fn plan(
        &mut self,
        stream: &str,
        episode: u64,
        step: u64,
        request: &PlanRequest,
        observer: &mut dyn Observer,
    ) -> planner::Result<Plan> {
        let warm = match self.warm.get(stream) {
            Some((e, last, iterates)) if *e == episode && step > *last && !iterates.is_empty() => {
                Some(shift_iterates(iterates, (step - last) as usize))
            }
            _ => None,
        };
        let (plan, iterates) = self.planner.plan_warm(request, warm.as_deref(), observer)?;
        if self.config.warm_start {
            self.warm.insert(stream.to_owned(), (episode, step, iterates));
        }
        Ok(plan)
    }
}
