//! The native networks behind one type: a `VarStore` and the network built in it.

use std::path::Path;

use tch::nn::VarStore;
use tch::{Device, Kind, Tensor};

use crate::error::{Error, Result};
use crate::model::{
    Architecture, DENOISER_OUTPUTS, Denoiser, Model, ModelOutput, ModelSpec, TemporalUnet, ValueFunction, ValueModel,
    check_inputs, check_output,
};

#[derive(Debug)]
enum Network {
    Unet(Box<TemporalUnet>),
    Value(Box<ValueFunction>),
}

/// A native `tch::nn` model (trainable) with its spec.
#[derive(Debug)]
pub struct NativeModel {
    spec: ModelSpec,
    architecture: Architecture,
    var_store: VarStore,
    network: Network,
}

impl NativeModel {
    /// Builds the architecture with freshly initialized weights on `device`.
    pub fn new(spec: ModelSpec, architecture: Architecture, device: Device) -> Result<Self> {
        spec.validate()?;
        architecture.validate(&spec)?;
        let var_store = VarStore::new(device);
        let root = var_store.root();
        let network = match &architecture {
            Architecture::TemporalUnet { dim, dim_mults, attention } => {
                Network::Unet(Box::new(TemporalUnet::new(&root, spec.transition_dim(), *dim, dim_mults, *attention)))
            }
            Architecture::ValueFunction { dim, dim_mults } => Network::Value(Box::new(ValueFunction::new(
                &root,
                spec.transition_dim(),
                spec.horizon,
                *dim,
                dim_mults,
            ))),
        };
        Ok(Self { spec, architecture, var_store, network })
    }

    /// The architecture hyper-parameters.
    #[must_use]
    pub fn architecture(&self) -> &Architecture {
        &self.architecture
    }

    /// The variables, for optimizers and saving.
    #[must_use]
    pub fn var_store(&self) -> &VarStore {
        &self.var_store
    }

    /// Mutable variables, e.g. to freeze them for inference or unfreeze them for training.
    pub fn var_store_mut(&mut self) -> &mut VarStore {
        &mut self.var_store
    }

    /// The raw network output without input checks: `[B, H, A + O]` for the U-Net, `[B, 1]`
    /// for the value function.
    pub fn forward(&self, x_t: &Tensor, t: &Tensor) -> Tensor {
        match &self.network {
            Network::Unet(net) => net.forward(x_t, t),
            Network::Value(net) => net.forward(x_t, t),
        }
    }

    /// Copies weights from a safetensors file, checked as [`NativeModel::load_named`] does.
    pub fn load_weights(&mut self, path: &Path) -> Result<()> {
        let file = Tensor::read_safetensors(path)
            .map_err(|e| Error::Io { path: path.to_owned(), source: std::io::Error::other(e.to_string()) })?;
        self.load_named(path, file.into_iter().collect())
    }

    /// Copies weights from named tensors read from `path` (named in errors) after checking
    /// that every tensor is present, float32 (or float16, widened), of the right shape and
    /// finite, and that no tensor is left over.
    pub fn load_named(&mut self, path: &Path, mut file: std::collections::HashMap<String, Tensor>) -> Result<()> {
        let mut variables: Vec<(String, Tensor)> = self.var_store.variables().into_iter().collect();
        variables.sort_by(|a, b| a.0.cmp(&b.0));
        let mut pairs = Vec::with_capacity(variables.len());
        for (name, variable) in variables {
            let Some(stored) = file.remove(&name) else {
                return Err(Error::MissingTensor { path: path.to_owned(), name });
            };
            if stored.size() != variable.size() {
                return Err(Error::ShapeMismatch {
                    path: path.to_owned(),
                    name,
                    found: stored.size(),
                    expected: variable.size(),
                });
            }
            let stored = match stored.kind() {
                Kind::Float => stored,
                // Compact checkpoints (`Checkpoint::save_compact`) store float16.
                Kind::Half => stored.to_kind(Kind::Float),
                other => return Err(Error::WrongDtype { path: path.to_owned(), name, found: format!("{other:?}") }),
            };
            if !bool::try_from(stored.isfinite().all())? {
                return Err(Error::NonFinite { path: path.to_owned(), name });
            }
            pairs.push((variable, stored));
        }
        if !file.is_empty() {
            let mut names: Vec<String> = file.into_keys().collect();
            names.sort();
            names.truncate(5);
            return Err(Error::UnexpectedTensors { path: path.to_owned(), names });
        }
        tch::no_grad(|| {
            for (mut variable, stored) in pairs {
                variable.copy_(&stored);
            }
        });
        Ok(())
    }
}

impl Model for NativeModel {
    fn spec(&self) -> &ModelSpec {
        &self.spec
    }

    fn device(&self) -> Device {
        self.var_store.device()
    }
}

impl Denoiser for NativeModel {
    fn predict(&self, x_t: &Tensor, t: &Tensor) -> Result<Tensor> {
        check_output(&self.spec, DENOISER_OUTPUTS, "denoiser")?;
        check_inputs(&self.spec, self.var_store.device(), x_t, t)?;
        Ok(self.forward(x_t, t))
    }
}

impl ValueModel for NativeModel {
    fn value(&self, x_t: &Tensor, t: &Tensor) -> Result<Tensor> {
        check_output(&self.spec, &[ModelOutput::Value], "value model")?;
        check_inputs(&self.spec, self.var_store.device(), x_t, t)?;
        Ok(self.forward(x_t, t).squeeze_dim(-1))
    }
}
