//! D4RL's dataset format: flat arrays of one long stream of transitions in an HDF5 file
//! (`observations [N, O]`, `actions [N, A]`, `rewards [N]`, `terminals [N]`, `timeouts [N]`,
//! and `infos/*` such as `infos/goal`), readable by h5py and by D4RL's own loaders.

use std::path::Path;

use hdf5_metno as hdf5;
use ndarray::{ArrayView1, ArrayView2};

use super::staged::write_staged;
use crate::error::{Error, Result};

/// Rows of equal width, row-major.
#[derive(Debug, Clone, PartialEq)]
pub struct Table {
    /// `rows × width` values.
    pub values: Vec<f32>,
    /// Values per row.
    pub width: usize,
}

impl Table {
    /// Number of rows.
    #[must_use]
    pub fn rows(&self) -> usize {
        self.values.len().checked_div(self.width).unwrap_or(0)
    }

    /// Row `i`.
    #[must_use]
    pub fn row(&self, i: usize) -> &[f32] {
        &self.values[i * self.width..(i + 1) * self.width]
    }
}

/// A D4RL-format dataset in memory.
#[derive(Debug, Clone, PartialEq)]
pub struct D4rlDataset {
    /// Observation of each step.
    pub observations: Table,
    /// Action taken at each step.
    pub actions: Table,
    /// Reward of each step.
    pub rewards: Vec<f32>,
    /// The task ended at this step.
    pub terminals: Vec<bool>,
    /// The episode was cut at this step (time limit; in D4RL's Maze2D files: a navigation goal
    /// was reached).
    pub timeouts: Vec<bool>,
    /// Extra per-step tables under `infos/` (Maze2D: `goal`, `qpos`, `qvel`).
    pub infos: Vec<(String, Table)>,
}

impl D4rlDataset {
    /// Number of steps.
    #[must_use]
    pub fn len(&self) -> usize {
        self.rewards.len()
    }

    /// Whether it holds no steps.
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.rewards.is_empty()
    }

    /// Checks that every key has one row per step and that observations and actions are finite.
    pub fn validate(&self, path: &Path) -> Result<()> {
        let n = self.len();
        let bad = |message: String| Error::Dataset { path: path.to_owned(), message };
        let mut lengths = vec![
            ("observations", self.observations.rows()),
            ("actions", self.actions.rows()),
            ("terminals", self.terminals.len()),
            ("timeouts", self.timeouts.len()),
        ];
        lengths.extend(self.infos.iter().map(|(name, table)| (name.as_str(), table.rows())));
        if let Some((key, rows)) = lengths.iter().find(|(_, rows)| *rows != n) {
            return Err(bad(format!(
                "`{key}` has {rows} rows but `rewards` has {n}; every key needs one row per step"
            )));
        }
        for (key, table) in [("observations", &self.observations), ("actions", &self.actions)] {
            if let Some(i) = table.values.iter().position(|v| !v.is_finite()) {
                return Err(bad(format!(
                    "`{key}` row {} holds {}; clean or regenerate the dataset",
                    i / table.width,
                    table.values[i]
                )));
            }
        }
        Ok(())
    }

    /// Writes the dataset to `path` (staged under a temporary name, then renamed, so an
    /// interrupted write never replaces a good file).
    pub fn write_hdf5(&self, path: &Path) -> Result<()> {
        self.validate(path)?;
        write_staged(path, |staged| {
            let fail =
                |e: hdf5::Error| Error::Dataset { path: staged.to_owned(), message: format!("writing HDF5: {e}") };
            let file = hdf5::File::create(staged).map_err(fail)?;
            write_table(&file, "observations", &self.observations).map_err(fail)?;
            write_table(&file, "actions", &self.actions).map_err(fail)?;
            write_1d(&file, "rewards", &self.rewards).map_err(fail)?;
            write_1d(&file, "terminals", &self.terminals).map_err(fail)?;
            write_1d(&file, "timeouts", &self.timeouts).map_err(fail)?;
            let infos = file.create_group("infos").map_err(fail)?;
            for (name, table) in &self.infos {
                write_table(&infos, name, table).map_err(fail)?;
            }
            Ok(())
        })
    }

    /// Reads a D4RL-format file: ours, or one of D4RL's own. `observations`, `actions`, `rewards`
    /// and `terminals` are required; `timeouts` may be missing (files regenerated with D4RL's
    /// script lack it) and then reads as all false. Floats of any width are read as f32.
    pub fn read_hdf5(path: &Path) -> Result<Self> {
        let fail = |message: String| Error::Dataset { path: path.to_owned(), message };
        let file = hdf5::File::open(path).map_err(|e| fail(format!("not a readable HDF5 file: {e}")))?;
        let require = |key: &str| {
            file.dataset(key).map_err(|_| {
                fail(format!("no `{key}` dataset; a D4RL file needs observations, actions, rewards and terminals"))
            })
        };
        let read_table = |dataset: hdf5::Dataset, key: &str| -> Result<Table> {
            let shape = dataset.shape();
            if shape.len() != 2 {
                return Err(fail(format!("`{key}` has shape {shape:?}, expected [steps, width]")));
            }
            let values = read_all::<f32>(&dataset).map_err(|e| fail(format!("reading `{key}`: {e}")))?;
            Ok(Table { values, width: shape[1] })
        };
        let flags =
            |dataset: hdf5::Dataset, key: &str| read_flags(&dataset).map_err(|e| fail(format!("reading `{key}`: {e}")));
        let observations = read_table(require("observations")?, "observations")?;
        let actions = read_table(require("actions")?, "actions")?;
        let rewards = read_all::<f32>(&require("rewards")?).map_err(|e| fail(format!("reading `rewards`: {e}")))?;
        let terminals = flags(require("terminals")?, "terminals")?;
        let timeouts = match file.dataset("timeouts") {
            Ok(dataset) => flags(dataset, "timeouts")?,
            Err(_) => vec![false; rewards.len()],
        };
        let mut infos = Vec::new();
        if let Ok(group) = file.group("infos") {
            for name in group.member_names().map_err(|e| fail(format!("listing infos/: {e}")))? {
                let Ok(dataset) = group.dataset(&name) else { continue };
                if dataset.shape().len() == 2 {
                    infos.push((name.clone(), read_table(dataset, &format!("infos/{name}"))?));
                }
            }
        }
        let dataset = Self { observations, actions, rewards, terminals, timeouts, infos };
        dataset.validate(path)?;
        Ok(dataset)
    }

    /// The `infos/<name>` table, if present.
    #[must_use]
    pub fn info(&self, name: &str) -> Option<&Table> {
        self.infos.iter().find(|(n, _)| n == name).map(|(_, table)| table)
    }
}

/// The most values one dataset of a file may hold: 2^31 (8 GiB as f32, a thousand times the
/// largest D4RL dataset). A file that claims more (a corrupt or hostile shape; HDF5 serves unwritten
/// chunks as zeros) is refused before anything is allocated.
pub const MAX_VALUES: usize = 1 << 31;

/// Reads all of `dataset` as `T`, refusing one that claims more than [`MAX_VALUES`] values.
pub(super) fn read_all<T: hdf5::H5Type>(dataset: &hdf5::Dataset) -> std::result::Result<Vec<T>, String> {
    let values = dataset.size();
    if values > MAX_VALUES {
        return Err(format!(
            "its shape {:?} claims {values} values, more than the {MAX_VALUES} a dataset may hold",
            dataset.shape()
        ));
    }
    dataset.read_raw::<T>().map_err(|e| e.to_string())
}

/// Reads a dataset of flags: numpy bools (an HDF5 enum, as D4RL and Minari write them) or, as
/// some D4RL files have them, floats (nonzero is set).
pub(super) fn read_flags(dataset: &hdf5::Dataset) -> std::result::Result<Vec<bool>, String> {
    read_all::<bool>(dataset).or_else(|_| read_all::<f32>(dataset).map(|v| v.into_iter().map(|x| x != 0.0).collect()))
}

fn write_table(group: &hdf5::Group, name: &str, table: &Table) -> hdf5::Result<()> {
    let view = ArrayView2::from_shape((table.rows(), table.width), &table.values)?;
    group.new_dataset_builder().with_data(view).create(name)?;
    Ok(())
}

fn write_1d<T: hdf5::H5Type>(group: &hdf5::Group, name: &str, values: &[T]) -> hdf5::Result<()> {
    group.new_dataset_builder().with_data(ArrayView1::from(values)).create(name)?;
    Ok(())
}
