//! A checkpoint is a folder: `manifest.toml` (spec, architecture, normalizer statistics,
//! provenance), `weights.safetensors`, and optionally `module.pt`, a TorchScript export.

use std::fs;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use tch::{Device, Kind, Tensor};

use crate::error::{Error, Result};
use crate::model::{Architecture, Model, ModelSpec, NativeModel, TorchScriptModel};
use crate::runtime;

/// Manifest layout version this build reads and writes.
pub const FORMAT_VERSION: u32 = 1;
/// File name of the manifest inside a checkpoint folder.
const MANIFEST_FILE: &str = "manifest.toml";
/// File name of the weights inside a checkpoint folder.
const WEIGHTS_FILE: &str = "weights.safetensors";
/// File name of the optional TorchScript export inside a checkpoint folder.
const TORCHSCRIPT_FILE: &str = "module.pt";

/// Where a checkpoint came from.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Provenance {
    /// The program that wrote it, e.g. `diffplan 0.1.0`.
    #[serde(default)]
    pub created_by: String,
    /// The PyTorch/libtorch version the weights and any TorchScript export were produced with.
    #[serde(default)]
    pub torch: String,
    /// How it was produced (command line, script), free text.
    #[serde(default)]
    pub source: String,
    /// Dataset the model was trained on, if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub dataset: Option<String>,
    /// Gradient steps trained, if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub train_steps: Option<u64>,
    /// Seed of the run that produced it, if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub seed: Option<u64>,
    /// The checkpoint whose weights training started from instead of a random initialization
    /// (`diffplan train --init`), with its own steps, e.g. `models/maze2d-medium (15000 steps)`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub initialized_from: Option<String>,
}

/// Contents of `manifest.toml`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Manifest {
    /// Layout version; must equal [`FORMAT_VERSION`].
    pub format_version: u32,
    /// Shapes, output, schedule and normalizer.
    pub spec: ModelSpec,
    /// The network and its hyper-parameters.
    pub architecture: Architecture,
    /// Where the checkpoint came from.
    #[serde(default)]
    pub provenance: Provenance,
}

impl Manifest {
    /// Parses and validates `text`, the contents of the manifest at `path` (named in errors).
    pub fn parse(path: &Path, text: &str) -> Result<Self> {
        let manifest: Self =
            toml::from_str(text).map_err(|e| Error::Manifest { path: path.to_owned(), message: e.to_string() })?;
        if manifest.format_version != FORMAT_VERSION {
            return Err(Error::FormatVersion {
                path: path.to_owned(),
                found: manifest.format_version,
                expected: FORMAT_VERSION,
            });
        }
        manifest.spec.validate()?;
        manifest.architecture.validate(&manifest.spec)?;
        Ok(manifest)
    }
}

/// An opened, validated checkpoint folder.
#[derive(Debug, Clone)]
pub struct Checkpoint {
    dir: PathBuf,
    manifest: Manifest,
}

impl Checkpoint {
    /// Reads and validates `dir/manifest.toml`; weights are read by the `load_*` methods.
    pub fn open(dir: &Path) -> Result<Self> {
        let path = dir.join(MANIFEST_FILE);
        let text = fs::read_to_string(&path).map_err(|source| Error::Io { path: path.clone(), source })?;
        Ok(Self { dir: dir.to_owned(), manifest: Manifest::parse(&path, &text)? })
    }

    /// The validated manifest.
    #[must_use]
    pub fn manifest(&self) -> &Manifest {
        &self.manifest
    }

    /// The weights file (safetensors, float32 or float16).
    #[must_use]
    pub fn weights_path(&self) -> PathBuf {
        self.dir.join(WEIGHTS_FILE)
    }

    /// Builds the native network on `device` and loads its weights, frozen for inference.
    pub fn load_native(&self, device: Device) -> Result<NativeModel> {
        let mut model = NativeModel::new(self.manifest.spec.clone(), self.manifest.architecture.clone(), device)?;
        model.load_weights(&self.weights_path())?;
        model.var_store_mut().freeze();
        Ok(model)
    }

    /// Loads the TorchScript export on `device`, after checking that it was produced with the
    /// same major.minor PyTorch as the linked libtorch.
    pub fn load_torchscript(&self, device: Device) -> Result<TorchScriptModel> {
        let path = self.dir.join(TORCHSCRIPT_FILE);
        let exported_with = &self.manifest.provenance.torch;
        let linked = runtime::libtorch_version();
        if !exported_with.is_empty() && !runtime::same_minor_version(exported_with, &linked) {
            return Err(Error::Config {
                field: "provenance.torch".into(),
                message: format!(
                    "{}: exported with PyTorch {exported_with}, this build links libtorch {}; \
                     re-export the module with torch=={}",
                    path.display(),
                    linked,
                    linked.split('+').next().unwrap_or_default()
                ),
            });
        }
        TorchScriptModel::load(&path, self.manifest.spec.clone(), device)
    }

    /// Copies this checkpoint to `dir` for shipping: the manifest and the weights rounded to
    /// float16 (half the size; loading widens them back to float32), without a TorchScript
    /// export or training state. Written like [`Checkpoint::save`].
    pub fn save_compact(&self, dir: &Path) -> Result<Self> {
        let weights = self.dir.join(WEIGHTS_FILE);
        let tensors = Tensor::read_safetensors(&weights)
            .map_err(|e| Error::Io { path: weights.clone(), source: std::io::Error::other(e.to_string()) })?;
        let half: Vec<(String, Tensor)> = tensors.into_iter().map(|(name, t)| (name, t.to_kind(Kind::Half))).collect();
        Self::write(dir, &self.manifest, &half)
    }

    /// Writes `model` as a checkpoint into `dir` (created if needed): manifest and weights.
    /// Files are written under temporary names and renamed, so an interrupted save never
    /// leaves a half-written checkpoint in place of a good one. A TorchScript export is added
    /// by `scripts/torch/diffuser_torch.py export DIR` (PyTorch traces the same architecture
    /// loaded from these weights; libtorch cannot reload a graph traced from Rust, whose
    /// weights become tensor constants).
    pub fn save(dir: &Path, model: &NativeModel, provenance: Provenance) -> Result<Self> {
        let manifest = Manifest {
            format_version: FORMAT_VERSION,
            spec: model.spec().clone(),
            architecture: model.architecture().clone(),
            provenance,
        };
        let variables: Vec<(String, Tensor)> = model.var_store().variables().into_iter().collect();
        Self::write(dir, &manifest, &variables)
    }

    /// Writes `manifest` and `weights` (sorted by name) into `dir`, staged then renamed.
    fn write(dir: &Path, manifest: &Manifest, weights: &[(String, Tensor)]) -> Result<Self> {
        fs::create_dir_all(dir).map_err(|source| Error::Io { path: dir.to_owned(), source })?;
        let text = toml::to_string(manifest)
            .map_err(|e| Error::Manifest { path: dir.join(MANIFEST_FILE), message: e.to_string() })?;
        let staged_weights = dir.join(format!("{WEIGHTS_FILE}.partial"));
        let mut variables: Vec<(String, Tensor)> =
            weights.iter().map(|(n, t)| (n.clone(), t.shallow_clone())).collect();
        variables.sort_by(|a, b| a.0.cmp(&b.0));
        Tensor::write_safetensors(&variables, &staged_weights)?;
        let mut staged = vec![(staged_weights, dir.join(WEIGHTS_FILE))];
        let staged_manifest = dir.join(format!("{MANIFEST_FILE}.partial"));
        fs::write(&staged_manifest, text).map_err(|source| Error::Io { path: staged_manifest.clone(), source })?;
        staged.push((staged_manifest, dir.join(MANIFEST_FILE)));
        for (from, to) in staged {
            fs::rename(&from, &to).map_err(|source| Error::Io { path: to, source })?;
        }
        Ok(Self { dir: dir.to_owned(), manifest: manifest.clone() })
    }
}
