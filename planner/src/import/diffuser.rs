//! A checkpoint of jannerm/diffuser's trainer as a diffplan model.
//!
//! Diffuser saves `state_<epoch>.pt = {'step', 'model', 'ema'}`, where `model` and `ema` are
//! `state_dict`s of its `GaussianDiffusion`: the temporal U-Net's weights under `model.`, and
//! the diffusion's buffers (`betas`, `alphas_cumprod`, …, and the loss's `loss_fn.weights` of
//! shape `[horizon, transition_dim]`). Its `maze2d` branch keeps each level's down- or
//! up-sampling convolution at index 2 of the level (`downs.0.2.conv`), its `main` branch at
//! index 3 after an attention slot (`downs.0.3.conv`, diffplan's names); the former are renamed. Next to it, the run folder holds `model_config.pkl`,
//! `diffusion_config.pkl` and `dataset_config.pkl`: pickled `diffuser.utils.Config` objects whose
//! `_dict` holds the constructor's keyword arguments.
//!
//! What the weights tell is read from them (width, levels, attention, horizon, transition
//! width, N) and checked against the config where it is present; what they cannot tell (ε- or
//! x0-prediction, the action width, the normalizer) comes from the configs or from the caller.
//! The betas must be Diffuser's cosine schedule, the only one it trains with.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use tch::{Device, Tensor};

use crate::error::{Error, Result};
use crate::import::pickle::{self, Value};
use crate::import::torch_file::TorchFile;
use crate::model::{Architecture, ModelOutput, ModelSpec, NativeModel, Normalizer};
use crate::schedule::{Schedule, ScheduleSpec};

/// Prefix of the network's weights inside `GaussianDiffusion`'s state dict.
const NETWORK_PREFIX: &str = "model.";
/// Largest difference between the checkpoint's betas and the cosine schedule recomputed here
/// (float32 storage of float64 values).
const BETA_TOLERANCE: f64 = 1e-5;

/// Which of the two weight sets of a Diffuser checkpoint to import.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WeightSet {
    /// The exponential moving average (`ema`), which Diffuser plans with.
    Ema,
    /// The raw training weights (`model`).
    Model,
}

impl WeightSet {
    /// The key in the checkpoint dict.
    #[must_use]
    pub fn key(self) -> &'static str {
        match self {
            Self::Ema => "ema",
            Self::Model => "model",
        }
    }
}

/// What the caller knows that a checkpoint without its config pickles does not say. Each
/// field that the config does say must agree with it.
#[derive(Debug, Clone, Default)]
pub struct Overrides {
    /// ε- or x0-prediction (Diffuser's `predict_epsilon`).
    pub output: Option<ModelOutput>,
    /// Action width A (the dataset's, when the caller has it).
    pub action_dim: Option<usize>,
}

/// A Diffuser checkpoint, read and checked, before its normalizer is known.
pub struct DiffuserCheckpoint {
    path: PathBuf,
    /// The network the weights describe.
    pub architecture: Architecture,
    /// Planning horizon H (`loss_weights` rows).
    pub horizon: usize,
    /// Transition width A + O.
    pub transition_dim: usize,
    /// Action width A.
    pub action_dim: usize,
    /// Training diffusion steps N (`betas` length).
    pub diffusion_steps: usize,
    /// What the network predicts.
    pub output: ModelOutput,
    /// Gradient steps trained (`step`).
    pub step: Option<u64>,
    /// Diffuser's `clip_denoised`, if the config says (diffplan's sampler option `clip_x0`).
    pub clip_denoised: Option<bool>,
    /// The normalizer class the dataset config names (`LimitsNormalizer`, `GaussianNormalizer`).
    pub normalizer: Option<String>,
    /// The dataset config's environment name, e.g. `maze2d-umaze-v1`.
    pub env: Option<String>,
    /// The config entries checked against the weights, as `file:key`.
    pub checked: Vec<String>,
    /// The network's weights, without the `model.` prefix.
    weights: HashMap<String, Tensor>,
}

impl DiffuserCheckpoint {
    /// Reads `path` (a `state_*.pt`) and, if present beside it, the config pickles; takes the
    /// weight set `set`.
    pub fn read(path: &Path, set: WeightSet, overrides: &Overrides) -> Result<Self> {
        let fail = |message: String| Error::Import { path: path.to_owned(), message };
        let file = TorchFile::read(path)?;
        let (weights, buffers) = split_state(&file, path, set)?;
        let step = file.value.get("step").and_then(|s| s.as_int()).and_then(|s| u64::try_from(s).ok());
        let configs = Configs::read(path.parent().unwrap_or(Path::new(".")))?;
        let (architecture, dim, transition) = network(&weights, path)?;
        let loss_weights = buffers.get("loss_fn.weights").map(Tensor::size).ok_or_else(|| {
            fail(format!("no `loss_fn.weights` in `{}`: not a Diffuser GaussianDiffusion state dict", set.key()))
        })?;
        let [horizon, loss_width] = loss_weights[..] else {
            return Err(fail(format!(
                "`loss_fn.weights` has shape {loss_weights:?}, expected [horizon, transition_dim]"
            )));
        };
        if loss_width != transition as i64 {
            return Err(fail(format!(
                "`loss_fn.weights` is {loss_width} wide but the network's transition is {transition}: not one model"
            )));
        }
        let betas = buffers
            .get("betas")
            .ok_or_else(|| fail(format!("no `betas` buffer in `{}`", set.key())))?
            .to_kind(tch::Kind::Double);
        let betas = Vec::<f64>::try_from(betas.flatten(0, -1))?;
        check_cosine(&betas).map_err(fail)?;

        let mut agree = Agreement { path, checked: Vec::new() };
        let horizon = horizon as usize;
        let int = |v: &Value| v.as_int();
        let (model, diffusion) = (configs.model.as_ref(), configs.diffusion.as_ref());
        agree.same("model_config.pkl", model, "horizon", int, &(horizon as i64))?;
        agree.same("model_config.pkl", model, "transition_dim", int, &(transition as i64))?;
        agree.same("model_config.pkl", model, "dim", int, &(dim as i64))?;
        if let Architecture::TemporalUnet { dim_mults, attention, .. } = &architecture {
            let ints = |v: &Value| v.as_sequence().map(|items| items.iter().filter_map(Value::as_int).collect());
            let mults: Vec<i64> = dim_mults.iter().map(|&m| m as i64).collect();
            agree.same("model_config.pkl", model, "dim_mults", ints, &mults)?;
            agree.same("model_config.pkl", model, "attention", Value::as_bool, attention)?;
        }
        agree.same("diffusion_config.pkl", diffusion, "horizon", int, &(horizon as i64))?;
        agree.same("diffusion_config.pkl", diffusion, "n_timesteps", int, &(betas.len() as i64))?;
        let action_dim = action_dim(&configs, overrides, transition, path)?;
        let output = output(&configs, overrides, path)?;
        let text = |config: Option<&Value>, key: &str| {
            config.and_then(|c| c.get(key)).and_then(|v| v.as_str().map(str::to_owned))
        };
        Ok(Self {
            path: path.to_owned(),
            architecture,
            horizon,
            transition_dim: transition,
            action_dim,
            diffusion_steps: betas.len(),
            output,
            step,
            clip_denoised: configs.diffusion.as_ref().and_then(|c| c.get("clip_denoised")).and_then(|v| v.as_bool()),
            normalizer: text(configs.dataset.as_ref(), "normalizer"),
            env: text(configs.dataset.as_ref(), "env"),
            checked: agree.checked,
            weights,
        })
    }

    /// The native model with these weights and `normalizer` (fitted to the training data as
    /// Diffuser fits it); every tensor's name and shape is checked against the architecture.
    pub fn into_model(self, normalizer: Normalizer, device: Device) -> Result<NativeModel> {
        let spec = ModelSpec {
            horizon: self.horizon,
            stride: 1,
            action_dim: self.action_dim,
            observation_dim: self.transition_dim - self.action_dim,
            output: self.output,
            diffusion_steps: self.diffusion_steps,
            schedule: ScheduleSpec::default(),
            normalizer,
        };
        let mut model = NativeModel::new(spec, self.architecture.clone(), device)?;
        let path = self.path.clone();
        let hint = format!("the architecture read from the checkpoint is {:?}", self.architecture);
        model.load_named(&path, self.weights).map_err(|e| match e {
            Error::MissingTensor { name, .. } => {
                Error::Import { path: path.clone(), message: format!("no `{NETWORK_PREFIX}{name}`; {hint}") }
            }
            Error::UnexpectedTensors { names, .. } => Error::Import {
                path: path.clone(),
                message: format!("tensors this architecture does not have: {names:?}; {hint}"),
            },
            Error::ShapeMismatch { name, found, expected, .. } => Error::Import {
                path: path.clone(),
                message: format!(
                    "`{NETWORK_PREFIX}{name}` has shape {found:?}, the architecture needs {expected:?}; {hint}"
                ),
            },
            other => other,
        })?;
        Ok(model)
    }
}

/// The network's weights (without `model.`) and the diffusion's buffers of weight set `set`.
fn split_state(file: &TorchFile, path: &Path, set: WeightSet) -> Result<Weights> {
    let fail = |message: String| Error::Import { path: path.to_owned(), message };
    let state = file.value.get(set.key()).ok_or_else(|| {
        fail(format!(
            "no `{}` entry: a Diffuser checkpoint is a dict with `step`, `model` and `ema` (found {})",
            set.key(),
            keys(&file.value)
        ))
    })?;
    let Value::Dict(entries) = &state else {
        return Err(fail(format!("`{}` is {}, not a state dict", set.key(), state.type_name())));
    };
    let mut weights = HashMap::new();
    let mut buffers = HashMap::new();
    for (key, value) in entries.borrow().iter() {
        let name = key.as_str().ok_or_else(|| fail(format!("a key of `{}` is {}", set.key(), key.type_name())))?;
        let tensor = file.tensor(value, &format!("`{}.{name}`", set.key()))?;
        match name.strip_prefix(NETWORK_PREFIX) {
            Some(network) => weights.insert(network.to_owned(), tensor),
            None => buffers.insert(name.to_owned(), tensor),
        };
    }
    Ok((main_branch_names(weights), buffers))
}

/// Named tensors: the network's weights and the diffusion's buffers.
type Weights = (HashMap<String, Tensor>, HashMap<String, Tensor>);

/// The architecture the weights describe, its width `dim` and the transition width.
fn network(weights: &HashMap<String, Tensor>, path: &Path) -> Result<(Architecture, usize, usize)> {
    let fail = |message: String| Error::Import { path: path.to_owned(), message };
    let final_conv = weights
        .get("final_conv.1.weight")
        .map(Tensor::size)
        .ok_or_else(|| fail("no `model.final_conv.1.weight`: not a Diffuser temporal U-Net".into()))?;
    let [transition, dim, 1] = final_conv[..] else {
        return Err(fail(format!(
            "`model.final_conv.1.weight` has shape {final_conv:?}, expected [transition, dim, 1]"
        )));
    };
    let mut dim_mults = Vec::new();
    while let Some(conv) = weights.get(&format!("downs.{}.0.blocks.0.block.0.weight", dim_mults.len())) {
        let width = conv.size()[0];
        if dim == 0 || width % dim != 0 {
            return Err(fail(format!(
                "level {} is {width} channels wide, not a multiple of dim {dim}",
                dim_mults.len()
            )));
        }
        dim_mults.push((width / dim) as usize);
    }
    let attention = weights.keys().any(|k| k.ends_with(".fn.fn.to_qkv.weight"));
    Ok((Architecture::TemporalUnet { dim: dim as usize, dim_mults, attention }, dim as usize, transition as usize))
}

/// The action width: diffusion_config's `action_dim`, else transition − model_config's
/// `cond_dim` (the observation width), checked against the caller's dataset.
fn action_dim(configs: &Configs, overrides: &Overrides, transition: usize, path: &Path) -> Result<usize> {
    let fail = |message: String| Error::Import { path: path.to_owned(), message };
    let config_action =
        configs.diffusion.as_ref().and_then(|c| c.get("action_dim")).and_then(|v| v.as_int()).or_else(|| {
            let cond = configs.model.as_ref().and_then(|c| c.get("cond_dim")).and_then(|v| v.as_int())?;
            Some(transition as i64 - cond)
        });
    let action_dim = match (config_action, overrides.action_dim) {
        (Some(c), Some(o)) if c as usize != o => {
            return Err(fail(format!(
                "the config pickles say action_dim = {c}, the dataset's actions are {o} wide: \
                 the dataset is not the one this model was trained on"
            )));
        }
        (Some(c), _) => c as usize,
        (None, Some(o)) => o,
        (None, None) => {
            return Err(fail("the action width is unknown: give the dataset the model was trained on".into()));
        }
    };
    if action_dim >= transition {
        return Err(fail(format!("action_dim {action_dim} leaves no observation in a transition of {transition}")));
    }
    Ok(action_dim)
}

/// What the network predicts: diffusion_config's `predict_epsilon`, or the caller's say.
fn output(configs: &Configs, overrides: &Overrides, path: &Path) -> Result<ModelOutput> {
    let fail = |message: String| Error::Import { path: path.to_owned(), message };
    let config_output = configs
        .diffusion
        .as_ref()
        .and_then(|c| c.get("predict_epsilon"))
        .and_then(|v| v.as_bool())
        .map(|eps| if eps { ModelOutput::Epsilon } else { ModelOutput::Sample });
    match (config_output, overrides.output) {
        (Some(c), Some(o)) if c != o => Err(fail(format!(
            "diffusion_config.pkl says the model predicts {c:?}, but {o:?} was asked for; drop the option"
        ))),
        (Some(output), _) | (None, Some(output)) => Ok(output),
        (None, None) => Err(fail(
            "what the network predicts is not in the weights and diffusion_config.pkl is not beside \
             the checkpoint: say it (--predict sample for Diffuser's maze2d configs, \
             --predict epsilon for predict_epsilon=True)"
                .into(),
        )),
    }
}

/// The network's weights under diffplan's names: a `maze2d`-branch level's resampling
/// convolution `(downs|ups).i.2.conv.*` becomes `(downs|ups).i.3.conv.*` (the `main` branch's
/// and diffplan's index, after the attention slot).
fn main_branch_names(weights: HashMap<String, Tensor>) -> HashMap<String, Tensor> {
    weights
        .into_iter()
        .map(|(name, tensor)| {
            let parts: Vec<&str> = name.splitn(4, '.').collect();
            let renamed = match parts.as_slice() {
                [path @ ("downs" | "ups"), level, "2", rest] if rest.starts_with("conv.") => {
                    format!("{path}.{level}.3.{rest}")
                }
                _ => name,
            };
            (renamed, tensor)
        })
        .collect()
}

/// The `_dict` of each config pickle found beside a checkpoint.
struct Configs {
    model: Option<Value>,
    diffusion: Option<Value>,
    dataset: Option<Value>,
}

impl Configs {
    fn read(dir: &Path) -> Result<Self> {
        Ok(Self {
            model: config_dict(&dir.join("model_config.pkl"))?,
            diffusion: config_dict(&dir.join("diffusion_config.pkl"))?,
            dataset: config_dict(&dir.join("dataset_config.pkl"))?,
        })
    }
}

/// The keyword arguments a pickled `diffuser.utils.Config` holds (its `_dict`), or `None` if
/// `path` does not exist.
fn config_dict(path: &Path) -> Result<Option<Value>> {
    let fail = |message: String| Error::Import { path: path.to_owned(), message };
    let bytes = match std::fs::read(path) {
        Ok(bytes) => bytes,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(source) => return Err(Error::Io { path: path.to_owned(), source }),
    };
    let value = pickle::read(&bytes, &mut NoTensors).map_err(fail)?;
    let Value::Object(object) = &value else {
        return Err(fail(format!("{}, not a pickled diffuser.utils.Config", value.type_name())));
    };
    let state = object.borrow().state.clone();
    state.and_then(|s| s.get("_dict")).map(Some).ok_or_else(|| {
        fail(format!("a {} without `_dict`: not a diffuser.utils.Config", value.class_name().unwrap_or_default()))
    })
}

/// Config pickles hold no tensors; calls stay inert objects.
struct NoTensors;

impl pickle::Hooks for NoTensors {
    fn load(&mut self, _id: Value) -> Result<Value, String> {
        Err("a persistent id in a config pickle".into())
    }
    fn call(&mut self, _callable: &Value, _args: &[Value]) -> Result<Option<Value>, String> {
        Ok(None)
    }
}

/// Checks the values read from the weights against a config that is present.
struct Agreement<'a> {
    path: &'a Path,
    checked: Vec<String>,
}

impl Agreement<'_> {
    /// Checks `key` of the config pickle `file`, where it is present and holds the key: its
    /// value, as `read` takes it, must be `found` (read from the weights). Records it as checked.
    fn same<T: PartialEq + std::fmt::Debug>(
        &mut self,
        file: &str,
        config: Option<&Value>,
        key: &str,
        read: impl Fn(&Value) -> Option<T>,
        found: &T,
    ) -> Result<()> {
        let Some(value) = config.and_then(|c| c.get(key)) else { return Ok(()) };
        let said = read(&value);
        if said.as_ref() != Some(found) {
            let said = said.map_or_else(|| format!("{value:?}"), |v| format!("{v:?}"));
            return Err(Error::Import {
                path: self.path.to_owned(),
                message: format!(
                    "{file} says {key} = {said}, the weights say {found:?}: the config belongs to another run"
                ),
            });
        }
        self.checked.push(format!("{file}:{key}"));
        Ok(())
    }
}

/// `Ok` if `betas` are Diffuser's cosine schedule (s = 0.008) over `betas.len()` steps.
fn check_cosine(betas: &[f64]) -> Result<(), String> {
    let expected = Schedule::new(&ScheduleSpec::default(), betas.len()).map_err(|e| e.to_string())?.betas;
    let worst = betas.iter().zip(&expected).map(|(a, b)| (a - b).abs()).fold(0.0, f64::max);
    if worst > BETA_TOLERANCE {
        return Err(format!(
            "`betas` differ from Diffuser's cosine schedule over {} steps by up to {worst:.2e}; \
             only the cosine schedule (s = 0.008) is imported",
            betas.len()
        ));
    }
    Ok(())
}

/// The string keys of a dict, for messages.
fn keys(value: &Value) -> String {
    match value {
        Value::Dict(entries) => {
            let names: Vec<String> =
                entries.borrow().iter().filter_map(|(k, _)| k.as_str().map(str::to_owned)).collect();
            format!("{names:?}")
        }
        other => other.type_name(),
    }
}
