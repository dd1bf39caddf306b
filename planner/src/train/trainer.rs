//! The training loop: Diffuser's x0-prediction objective with the start and goal observations
//! inpainted (docs/ALGORITHMS.md §1.4 `p_losses`) for a denoiser, or its `ValueDiffusion.p_losses`
//! (§1.3) for a value model; Adam with gradient clipping, an EMA copy that is the model saved
//! for planning, checkpoints and exact resumption.
//!
//! Every random number comes from the configured seed. The batch draws (windows, timesteps,
//! noise) come from one ChaCha8 stream whose position is saved, so a resumed run continues the
//! same sequence. The initial weights come from libtorch's global generator after
//! `tch::manual_seed(seed)`: a process that draws from that generator in another thread while a
//! `Trainer` is created gets other initial weights.

use std::collections::BTreeMap;
use std::fs;
use std::path::{Path, PathBuf};

use rand::Rng;
use rand_chacha::ChaCha8Rng;
use rand_chacha::rand_core::SeedableRng;
use serde::{Deserialize, Serialize};
use tch::{Device, Kind, Tensor};

use super::adam::Adam;
use super::config::TrainConfig;
use super::d4rl::D4rlDataset;
use super::staged::write_staged;
use super::windows::Windows;
use crate::error::{Error, Result};
use crate::model::{Checkpoint, Model, ModelSpec, NativeModel, Normalizer, Provenance};
use crate::noise::standard_normals;
use crate::schedule::{Schedule, ScheduleSpec};

/// Folder inside the checkpoint that holds what resuming needs.
const STATE_DIR: &str = "training";

/// What resuming needs beyond the tensors.
#[derive(Debug, Serialize, Deserialize)]
struct TrainingState {
    step: usize,
    /// Position of the batch stream (ChaCha8 word position, as a decimal string).
    rng_word_pos: String,
    dataset: PathBuf,
    /// A value model's discount γ (absent for a denoiser).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    discount: Option<f64>,
}

/// One step's numbers.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct StepReport {
    /// Steps done so far.
    pub step: usize,
    /// The batch's loss: the weighted L2 of x0 for a denoiser, the squared error of the value
    /// (in squared units of the return) for a value model.
    pub loss: f64,
    /// Global gradient norm before clipping.
    pub grad_norm: f64,
}

/// What the network is fitted to; everything else (batches, noising, inpainting, Adam, EMA,
/// checkpoints) is shared.
enum Objective {
    /// Diffuser's `GaussianDiffusion.p_losses` (x0-prediction): the prediction, re-inpainted,
    /// against the clean window, each entry weighted (`[1, H, A + O]`; the first action by
    /// `optimization.action_weight`).
    Denoise { weights: Tensor },
    /// Diffuser's `ValueDiffusion.p_losses` with `value_l2`: V(x_t, t) against the window's
    /// discounted return (`targets`: `[windows]`), squared error averaged over the batch.
    Value { targets: Tensor },
}

/// One batch, noised.
struct Batch {
    /// Indices into the run's windows, `[B]` int64.
    windows: Tensor,
    /// Diffusion steps, `[B]` int64.
    t: Tensor,
    /// Clean windows, `[B, H, A + O]`, normalized.
    x0: Tensor,
    /// q_sample(x0, t) with the conditioned entries inpainted, `[B, H, A + O]`.
    x_t: Tensor,
}

/// A training run in progress.
pub struct Trainer {
    config: TrainConfig,
    model: NativeModel,
    ema: NativeModel,
    variables: BTreeMap<String, Tensor>,
    adam: Adam,
    data: Tensor,
    /// Where the training windows start (their targets moved to `objective`).
    windows: Windows,
    rng: ChaCha8Rng,
    signal: Tensor,
    noise: Tensor,
    mask: Tensor,
    objective: Objective,
    step: usize,
}

impl Trainer {
    /// Starts a run, or resumes the one saved in `config.out` when `resume` is set and a saved
    /// state exists. Trains a denoiser or, for `kind = "value_function"`, a value model on the
    /// same windows, normalizer and schedule, so that the two pair up in a planner.
    ///
    /// Both objectives condition on the start observation (index 0) and the goal observation
    /// (index H − 1), as Diffuser's `GoalDataset` does for Maze2D: those entries of x_t are the
    /// clean ones. (Diffuser's own value training inpaints only the start; here the value model
    /// sees what the denoiser's samples have, both pinned.)
    pub fn new(config: TrainConfig, mut dataset: D4rlDataset, device: Device, resume: bool) -> Result<Self> {
        config.validate()?;
        let mut windows = Windows::new(&config, &mut dataset)?;
        let (a, o) = (dataset.actions.width, dataset.observations.width);
        let mut transitions: Vec<f32> = (0..dataset.len())
            .flat_map(|i| dataset.actions.row(i).iter().chain(dataset.observations.row(i)).copied())
            .collect();
        let state_dir = config.out.join(STATE_DIR);
        let resuming = resume && state_dir.join("state.toml").exists();
        let normalizer = if resuming {
            Checkpoint::open(&config.out)?.manifest().spec.normalizer.clone()
        } else {
            Normalizer::fit_limits(&transitions, a + o)?
        };
        let spec = ModelSpec {
            horizon: config.model.horizon,
            stride: config.model.stride,
            action_dim: a,
            observation_dim: o,
            output: config.model.output(),
            diffusion_steps: config.model.diffusion_steps,
            schedule: ScheduleSpec::default(),
            normalizer,
        };
        tch::manual_seed(config.optimization.seed as i64);
        let model = NativeModel::new(spec.clone(), config.model.architecture.clone(), device)?;
        let mut ema = NativeModel::new(spec.clone(), config.model.architecture.clone(), device)?;
        ema.var_store_mut().copy(model.var_store())?;
        let variables: BTreeMap<String, Tensor> = model.var_store().variables().into_iter().collect();
        let adam = Adam::new(&variables, config.optimization.learning_rate);
        // Rows held after each episode's end (`[data] hold_at_end`) follow the dataset's rows; the
        // normalizer is fitted without them.
        transitions.append(&mut windows.held_rows);
        let raw = Tensor::from_slice(&transitions).to_device(device).view([-1, (a + o) as i64]);
        let data = spec.normalizer.normalize(&raw, 0);
        let schedule = Schedule::new(&spec.schedule, spec.diffusion_steps)?;
        let column = |f: &dyn Fn(usize) -> f64| {
            Tensor::from_slice(&(0..schedule.len()).map(f).collect::<Vec<f64>>()).to_kind(Kind::Float).to_device(device)
        };
        let (signal, noise) = (column(&|t| schedule.alpha(t)), column(&|t| schedule.sigma(t)));
        // Conditioned entries: the observations at the first and the last index (GoalDataset).
        let (h, d) = (spec.horizon as i64, spec.transition_dim() as i64);
        let mask = Tensor::zeros([1, h, d], (Kind::Float, device));
        for index in [0, h - 1] {
            let _ = mask.narrow(1, index, 1).narrow(2, a as i64, o as i64).fill_(1.0);
        }
        let objective = if let Some(targets) = windows.targets.take() {
            Objective::Value { targets: Tensor::from_slice(&targets).to_device(device) }
        } else {
            let weights = Tensor::ones([1, h, d], (Kind::Float, device));
            let _ = weights.narrow(1, 0, 1).narrow(2, 0, a as i64).fill_(config.optimization.action_weight);
            Objective::Denoise { weights }
        };
        let mut trainer = Self {
            rng: ChaCha8Rng::seed_from_u64(config.optimization.seed),
            config,
            model,
            ema,
            variables,
            adam,
            data,
            windows,
            signal,
            noise,
            mask,
            objective,
            step: 0,
        };
        if resuming {
            trainer.restore(&state_dir)?;
        }
        Ok(trainer)
    }

    /// Steps done.
    #[must_use]
    pub fn step(&self) -> usize {
        self.step
    }

    /// Number of training windows.
    #[must_use]
    pub fn windows(&self) -> usize {
        self.windows.starts.len()
    }

    /// One gradient step on a fresh batch.
    pub fn train_step(&mut self) -> Result<StepReport> {
        let batch = self.noisy_batch();
        let loss = self.loss(&batch);
        for variable in self.variables.values_mut() {
            variable.zero_grad();
        }
        loss.backward();
        let loss_value = loss.double_value(&[]);
        if !loss_value.is_finite() {
            return Err(Error::Diverged {
                what: "the training loss".into(),
                steps: self.step,
                sampler: "training".into(),
                hint: "lower optimization.learning_rate or set optimization.grad_clip".into(),
            });
        }
        let optimization = &self.config.optimization;
        let grad_norm = self.adam.step(&self.variables, optimization.grad_clip);
        self.step += 1;
        if self.step.is_multiple_of(optimization.ema_every.max(1)) {
            self.update_ema();
        }
        Ok(StepReport { step: self.step, loss: loss_value, grad_norm })
    }

    /// Draws B windows (H rows, `stride` steps apart), B timesteps and the noise (in that order,
    /// from the batch stream) and noises the windows: x_t = α_t x0 + σ_t ε (`q_sample`), then
    /// the conditioned entries are set back to x0 (`apply_conditioning`).
    fn noisy_batch(&mut self) -> Batch {
        let (b, h) = (self.config.optimization.batch_size, self.config.model.horizon as i64);
        let device = self.data.device();
        let windows: Vec<i64> = (0..b).map(|_| self.rng.gen_range(0..self.windows.starts.len()) as i64).collect();
        let stride = self.config.model.stride;
        let rows: Vec<i64> =
            windows.iter().flat_map(|&i| self.windows.rows(i as usize, h as usize, stride)).map(|r| r as i64).collect();
        let rows = Tensor::from_slice(&rows).to_device(device);
        let d = self.data.size()[1];
        let x0 = self.data.index_select(0, &rows.view([-1])).view([b as i64, h, d]);
        let n = self.signal.size()[0];
        let t: Vec<i64> = (0..b).map(|_| self.rng.gen_range(0..n)).collect();
        let t = Tensor::from_slice(&t).to_device(device);
        let eps = Tensor::from_slice(&standard_normals(&mut self.rng, b * (h * d) as usize))
            .to_device(device)
            .view([b as i64, h, d]);
        let x_t = self.signal.index_select(0, &t).view([-1, 1, 1]) * &x0
            + self.noise.index_select(0, &t).view([-1, 1, 1]) * eps;
        let x_t = &x_t * (1.0 - &self.mask) + &x0 * &self.mask;
        Batch { windows: Tensor::from_slice(&windows).to_device(device), t, x0, x_t }
    }

    /// The objective's loss on `batch`, a scalar that records gradients.
    fn loss(&self, batch: &Batch) -> Tensor {
        let prediction = self.model.forward(&batch.x_t, &batch.t);
        match &self.objective {
            Objective::Denoise { weights } => {
                let keep: Tensor = 1.0 - &self.mask;
                let prediction = prediction * keep + &batch.x0 * &self.mask;
                ((prediction - &batch.x0).square() * weights).mean(Kind::Float)
            }
            Objective::Value { targets } => {
                let target = targets.index_select(0, &batch.windows);
                (prediction.view([-1]) - target).square().mean(Kind::Float)
            }
        }
    }

    fn update_ema(&mut self) {
        let _no_grad = tch::no_grad_guard();
        let decay =
            if self.step < self.config.optimization.ema_start { 0.0 } else { self.config.optimization.ema_decay };
        let ema_variables = self.ema.var_store().variables();
        for (name, variable) in &self.variables {
            if let Some(average) = ema_variables.get(name) {
                let mut average = average.shallow_clone();
                average *= decay;
                average += variable * (1.0 - decay);
            }
        }
    }

    /// Writes the EMA model as a checkpoint into `config.out` (what planning loads) and the state
    /// resuming needs into its `training/` folder: the model, optimizer and EMA tensors under
    /// this step's names, then `state.toml` naming the step, then the older steps' tensors are
    /// removed. Each file is staged and renamed, and `state.toml` is the commit: a run killed at
    /// any point resumes from one whole save, this one or the one before.
    pub fn save(&self, provenance: Provenance) -> Result<Checkpoint> {
        let checkpoint = Checkpoint::save(&self.config.out, &self.ema, provenance)?;
        let state_dir = self.config.out.join(STATE_DIR);
        fs::create_dir_all(&state_dir).map_err(|source| Error::Io { path: state_dir.clone(), source })?;
        let model: Vec<(String, Tensor)> = self.variables.iter().map(|(k, v)| (k.clone(), v.shallow_clone())).collect();
        let ema: Vec<(String, Tensor)> = self.ema.var_store().variables().into_iter().collect();
        let step = self.step;
        write_staged(&state_file(&state_dir, "model", step), |p| Ok(Tensor::write_safetensors(&model, p)?))?;
        write_staged(&state_file(&state_dir, "adam", step), |p| Ok(Tensor::write_safetensors(&self.adam.state(), p)?))?;
        write_staged(&state_file(&state_dir, "ema", step), |p| Ok(Tensor::write_safetensors(&ema, p)?))?;
        let state = TrainingState {
            step: self.step,
            rng_word_pos: self.rng.get_word_pos().to_string(),
            dataset: self.config.data.path.clone(),
            discount: self.config.value.as_ref().map(|v| v.discount),
        };
        let text = toml::to_string(&state)
            .map_err(|e| Error::Manifest { path: state_dir.join("state.toml"), message: e.to_string() })?;
        write_staged(&state_dir.join("state.toml"), |p| {
            fs::write(p, &text).map_err(|source| Error::Io { path: p.to_owned(), source })
        })?;
        remove_other_steps(&state_dir, step)?;
        Ok(checkpoint)
    }

    /// Starts from the weights of `checkpoint` instead of the random initialization: the model
    /// and its EMA both take them, the optimizer starts fresh. The checkpoint must have this
    /// run's architecture and transition dims; its horizon and normalizer may differ (the
    /// network is convolutional over time and works on normalized values), so e.g. a medium
    /// maze model can seed a large maze run. Only before the first step.
    pub fn initialize_from(&mut self, checkpoint: &Checkpoint) -> Result<()> {
        let manifest = checkpoint.manifest();
        let mismatch = |field: &str, message: String| Err(Error::Config { field: field.into(), message });
        if self.step > 0 {
            return mismatch(
                "init",
                format!("the run in {} is already at step {}", self.config.out.display(), self.step),
            );
        }
        if manifest.architecture != self.config.model.architecture {
            return mismatch(
                "model.architecture",
                format!(
                    "{} has {:?}, this config {:?}; initialize from a checkpoint of the same architecture",
                    checkpoint.weights_path().display(),
                    manifest.architecture,
                    self.config.model.architecture
                ),
            );
        }
        let (ours, theirs) = (self.ema.spec(), &manifest.spec);
        if (theirs.action_dim, theirs.observation_dim, &theirs.output)
            != (ours.action_dim, ours.observation_dim, &ours.output)
        {
            return mismatch(
                "init",
                format!(
                    "{} predicts {:?} for {} actions and {} observations, this run {:?} for {} and {}",
                    checkpoint.weights_path().display(),
                    theirs.output,
                    theirs.action_dim,
                    theirs.observation_dim,
                    ours.output,
                    ours.action_dim,
                    ours.observation_dim
                ),
            );
        }
        self.ema.load_weights(&checkpoint.weights_path())?;
        self.model.var_store_mut().copy(self.ema.var_store())?;
        Ok(())
    }

    fn restore(&mut self, state_dir: &Path) -> Result<()> {
        let path = state_dir.join("state.toml");
        let text = fs::read_to_string(&path).map_err(|source| Error::Io { path: path.clone(), source })?;
        let state: TrainingState =
            toml::from_str(&text).map_err(|e| Error::Manifest { path: path.clone(), message: e.to_string() })?;
        if state.dataset != self.config.data.path {
            return Err(Error::Config {
                field: "data.path".into(),
                message: format!(
                    "the run in {} was trained on {}, the config names {}; resume with the same dataset or start a new run",
                    self.config.out.display(),
                    state.dataset.display(),
                    self.config.data.path.display()
                ),
            });
        }
        let discount = self.config.value.as_ref().map(|v| v.discount);
        if state.discount != discount {
            return Err(Error::Config {
                field: "value.discount".into(),
                message: format!(
                    "the run in {} was trained with discount {:?}, the config names {discount:?}; \
                     resume with the same one or start a new run",
                    self.config.out.display(),
                    state.discount
                ),
            });
        }
        let _no_grad = tch::no_grad_guard();
        let read = |name: &str| {
            let path = state_file(state_dir, name, state.step);
            Tensor::read_safetensors(&path).map_err(|e| Error::Manifest {
                path,
                message: format!(
                    "{e}; state.toml names step {}, whose tensors this file holds: resume from a run saved by this \
                     version, or start a new run",
                    state.step
                ),
            })
        };
        for (name, saved) in read("model")? {
            if let Some(variable) = self.variables.get(&name) {
                variable.shallow_clone().copy_(&saved);
            }
        }
        self.ema.load_named(&state_file(state_dir, "ema", state.step), read("ema")?.into_iter().collect())?;
        let missing = self.adam.restore(read("adam")?, state.step as i64);
        if !missing.is_empty() {
            return Err(Error::MissingTensor {
                path: state_file(state_dir, "adam", state.step),
                name: missing.join(", "),
            });
        }
        let word_pos: u128 = state.rng_word_pos.parse().map_err(|_| Error::Manifest {
            path: path.clone(),
            message: format!("rng_word_pos {:?} is not a number", state.rng_word_pos),
        })?;
        self.rng.set_word_pos(word_pos);
        self.step = state.step;
        Ok(())
    }
}

/// The file of tensors `name` (model, adam, ema) of the training state saved at `step`.
fn state_file(state_dir: &Path, name: &str, step: usize) -> PathBuf {
    state_dir.join(format!("{name}-{step}.safetensors"))
}

/// Removes the tensors of every step but `step` from `state_dir`, and staged files left by a run
/// killed while saving.
fn remove_other_steps(state_dir: &Path, step: usize) -> Result<()> {
    let io = |source| Error::Io { path: state_dir.to_owned(), source };
    let kept = ["model", "adam", "ema"].map(|name| state_file(state_dir, name, step));
    for entry in fs::read_dir(state_dir).map_err(io)? {
        let path = entry.map_err(io)?.path();
        let name = path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
        let stale = name.ends_with(".safetensors") || name.ends_with(".safetensors.partial");
        if stale && !kept.contains(&path) {
            fs::remove_file(&path).map_err(|source| Error::Io { path: path.clone(), source })?;
        }
    }
    Ok(())
}
