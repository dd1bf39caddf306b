//! TorchScript modules exported from PyTorch (or from a native model), run through libtorch.

use std::path::{Path, PathBuf};

use tch::{CModule, Device, Kind, Tensor};

use crate::error::{Error, Result};
use crate::model::{DENOISER_OUTPUTS, Denoiser, Model, ModelOutput, ModelSpec, ValueModel, check_inputs, check_output};

/// A `torch.jit` module with `forward(x_t [B, H, A+O], t [B]) -> output`, plus the spec from
/// its checkpoint's manifest.
#[derive(Debug)]
pub struct TorchScriptModel {
    module: CModule,
    spec: ModelSpec,
    device: Device,
}

impl TorchScriptModel {
    /// Loads the module onto `device` and probes it once with a zero trajectory, so that a
    /// module whose output shape disagrees with the spec, or is not finite, is rejected here.
    pub fn load(path: &Path, spec: ModelSpec, device: Device) -> Result<Self> {
        spec.validate()?;
        let mut module = CModule::load_on_device(path, device).map_err(|e| Error::Io {
            path: path.to_owned(),
            source: std::io::Error::other(format!("not a loadable TorchScript module: {e}")),
        })?;
        module.set_eval();
        let model = Self { module, spec, device };
        model.probe(path.to_owned())?;
        Ok(model)
    }

    fn probe(&self, path: PathBuf) -> Result<()> {
        let (h, d) = (self.spec.horizon as i64, self.spec.transition_dim() as i64);
        let x = Tensor::zeros([1, h, d], (Kind::Float, self.device));
        let t = Tensor::zeros([1], (Kind::Int64, self.device));
        let out = tch::no_grad(|| self.module.forward_ts(&[&x, &t])).map_err(|e| Error::Config {
            field: "module.pt".into(),
            message: format!(
                "{}: forward on a zero trajectory [1, {h}, {d}] failed, so the module does not fit \
                 [spec] in manifest.toml: {}",
                path.display(),
                e.to_string().lines().next().unwrap_or_default()
            ),
        })?;
        let expected = if self.spec.output == ModelOutput::Value { vec![1, 1] } else { vec![1, h, d] };
        if out.size() != expected {
            return Err(Error::ShapeMismatch { path, name: "forward output".into(), found: out.size(), expected });
        }
        if !bool::try_from(out.isfinite().all())? {
            return Err(Error::NonFinite { path, name: "forward output".into() });
        }
        Ok(())
    }

    fn forward(&self, x_t: &Tensor, t: &Tensor) -> Result<Tensor> {
        check_inputs(&self.spec, self.device, x_t, t)?;
        Ok(self.module.forward_ts(&[x_t, t])?)
    }
}

impl Model for TorchScriptModel {
    fn spec(&self) -> &ModelSpec {
        &self.spec
    }

    fn device(&self) -> Device {
        self.device
    }
}

impl Denoiser for TorchScriptModel {
    fn predict(&self, x_t: &Tensor, t: &Tensor) -> Result<Tensor> {
        check_output(&self.spec, DENOISER_OUTPUTS, "denoiser")?;
        self.forward(x_t, t)
    }
}

impl ValueModel for TorchScriptModel {
    fn value(&self, x_t: &Tensor, t: &Tensor) -> Result<Tensor> {
        check_output(&self.spec, &[ModelOutput::Value], "value model")?;
        Ok(self.forward(x_t, t)?.squeeze_dim(-1))
    }
}
