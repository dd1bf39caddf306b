//! Denoisers and value models: the trait the samplers drive, the native `tch::nn` networks,
//! TorchScript modules, checkpoints and normalizers.

mod architecture;
mod attention;
mod checkpoint;
mod gaussian_mixture;
mod layers;
mod native;
mod normalizer;
mod spec;
mod temporal_unet;
mod torchscript;
mod value_function;

use tch::{Device, Kind, Tensor};

pub use architecture::Architecture;
pub use checkpoint::{Checkpoint, FORMAT_VERSION, Manifest, Provenance};
pub use gaussian_mixture::{Component, GaussianMixture};
pub use native::NativeModel;
pub use normalizer::Normalizer;
pub use spec::{ModelOutput, ModelSpec, dense_stride, steps_covered};
pub use temporal_unet::TemporalUnet;
pub use torchscript::TorchScriptModel;
pub use value_function::ValueFunction;

use crate::error::{Error, Result};

/// A trained network with the spec it was trained under.
pub trait Model {
    /// Shapes, output type, schedule and normalizer of the model.
    fn spec(&self) -> &ModelSpec;
    /// Where the weights live; inputs must be on the same device.
    fn device(&self) -> Device;
}

/// A trained network that maps a noisy trajectory and its diffusion step to ε or x0.
pub trait Denoiser: Model {
    /// The model's prediction (ε or x0, as `spec().output` says). Records gradients only if
    /// the caller has not disabled them.
    ///
    /// # Shapes
    /// `x_t`: `[B, H, A + O]` float32, normalized; `t`: `[B]` int64 steps in `0..N` →
    /// `[B, H, A + O]`.
    fn predict(&self, x_t: &Tensor, t: &Tensor) -> Result<Tensor>;
}

/// A trained network that scores a noisy trajectory at a diffusion step (guidance, ranking).
pub trait ValueModel: Model {
    /// The predicted value of each trajectory.
    ///
    /// # Shapes
    /// `x_t`: `[B, H, A + O]` float32, normalized; `t`: `[B]` int64 → `[B]`.
    fn value(&self, x_t: &Tensor, t: &Tensor) -> Result<Tensor>;
}

/// Checks what every implementation needs of its inputs, so a wrong call fails with a
/// message instead of a libtorch backtrace.
pub(crate) fn check_inputs(spec: &ModelSpec, device: Device, x_t: &Tensor, t: &Tensor) -> Result<()> {
    let invalid = |field: &str, message: String| Error::Internal { what: format!("{field}: {message}") };
    let size = x_t.size();
    let want_last = spec.transition_dim() as i64;
    if size.len() != 3 || size[1] != spec.horizon as i64 || size[2] != want_last {
        return Err(invalid(
            "x_t",
            format!(
                "shape {size:?}, the model expects [B, {}, {want_last}] (horizon, action_dim + observation_dim)",
                spec.horizon
            ),
        ));
    }
    if t.size() != [size[0]] {
        return Err(invalid("t", format!("shape {:?}, expected [{}] (one step per trajectory)", t.size(), size[0])));
    }
    if x_t.kind() != Kind::Float {
        return Err(invalid("x_t", format!("dtype {:?}, expected float32", x_t.kind())));
    }
    if x_t.device() != device || t.device() != device {
        return Err(invalid(
            "x_t",
            format!("on {:?} / t on {:?}, the model is on {device:?}", x_t.device(), t.device()),
        ));
    }
    Ok(())
}

/// Errors unless `spec.output` is one of `allowed`.
pub(crate) fn check_output(spec: &ModelSpec, allowed: &[ModelOutput], role: &str) -> Result<()> {
    if allowed.contains(&spec.output) {
        return Ok(());
    }
    Err(Error::Config {
        field: "spec.output".into(),
        message: format!(
            "the model predicts {:?}, which cannot serve as a {role} (needs one of {allowed:?})",
            spec.output
        ),
    })
}

/// The outputs a [`Denoiser`] may predict.
pub(crate) const DENOISER_OUTPUTS: &[ModelOutput] = &[ModelOutput::Epsilon, ModelOutput::Sample];
