//! Minari's dataset format (its `hdf5` storage, Minari 0.5), read into the D4RL stream the
//! trainer takes.
//!
//! A dataset folder (`<root>/<id>`, the root being `$MINARI_DATASETS_PATH` or
//! `~/.minari/datasets`, e.g. `D4RL/pointmaze/umaze-v2`) holds `data/metadata.json`
//! (`data_format`, `total_episodes`, `total_steps`, the spaces as JSON strings) and
//! `data/main_data.hdf5`, with one group per episode, `episode_0` … `episode_{N−1}`. An episode
//! of T steps holds:
//!
//! | key | shape | dtype as Minari writes it |
//! |---|---|---|
//! | `observations` | `[T + 1, O]`, or a group of such datasets (a Dict space) | the space's |
//! | `actions` | `[T, A]` | the space's |
//! | `rewards` | `[T]` | float64 |
//! | `terminations`, `truncations` | `[T]` | bool |
//! | `infos/*` | `[T + 1, …]` | any (not read) |
//!
//! Minari's PointMaze datasets (`D4RL/pointmaze/*`, D4RL's Maze2D re-collected in
//! Gymnasium-Robotics) have a Dict space: `observation` `[T + 1, 4]` = [x, y, vx, vy] in metres
//! and m/s, D4RL Maze2D's observation, and `achieved_goal`, `desired_goal` `[T + 1, 2]`, all
//! float64; float32 actions `[T, 2]`. By default a Dict space's observation is its `observation`
//! array alone (`data.observation_keys` chooses others). Their positions are in
//! Gymnasium-Robotics' frame (origin at the maze's centre), not D4RL Maze2D's.
//!
//! The stream has T rows per episode, episode after episode: row t holds o_t, a_t and r_t, as
//! in D4RL's files. o_T, the observation after the last action, is dropped: D4RL's files have
//! none, and a window of the trainer pairs each action with the observation it was taken in.
//! `terminals` are Minari's `terminations` and `timeouts` its `truncations`; the last step of an
//! episode that ended with neither flag gets a timeout, so that every episode group stays one
//! episode. Floats of any width are read as f32.

use std::path::{Path, PathBuf};

use hdf5_metno as hdf5;
use serde::Deserialize;

use super::d4rl::{D4rlDataset, Table, read_all, read_flags};
use crate::error::{Error, Result};

/// The file of a data folder that holds the episodes.
const MAIN_FILE: &str = "main_data.hdf5";
/// The file of a data folder that describes the dataset.
const METADATA_FILE: &str = "metadata.json";
/// The Dict key whose array is the observation when `observation_keys` are not given
/// (Gymnasium-Robotics' goal environments, e.g. PointMaze's [x, y, vx, vy]).
pub const DEFAULT_OBSERVATION_KEY: &str = "observation";

/// The fields of `metadata.json` the reader uses (Minari writes many more).
#[derive(Debug, Deserialize)]
struct Metadata {
    /// The storage: `hdf5`, `arrow` or `parquet`.
    data_format: String,
    /// Episodes, numbered from 0.
    total_episodes: usize,
}

/// One episode's rows, o_T dropped.
struct Episode {
    observations: Table,
    actions: Table,
    rewards: Vec<f32>,
    terminations: Vec<bool>,
    truncations: Vec<bool>,
}

/// Reads the Minari dataset at `path`: a dataset folder, its `data/` folder or its
/// `main_data.hdf5` (with `metadata.json` beside it). For a Dict observation space, the
/// arrays of `observation_keys` are concatenated in that order (default, `None`:
/// [`DEFAULT_OBSERVATION_KEY`] alone); a Box space must have no keys.
///
/// Errors name the file, the episode group and the key, with what was expected and found.
pub fn read(path: &Path, observation_keys: Option<&[String]>) -> Result<D4rlDataset> {
    let (metadata_path, main_path) = locate(path)?;
    let metadata = read_metadata(&metadata_path)?;
    let fail = |message: String| Error::Dataset { path: main_path.clone(), message };
    let file = hdf5::File::open(&main_path).map_err(|e| fail(format!("not a readable HDF5 file: {e}")))?;
    let mut stream: Option<D4rlDataset> = None;
    for i in 0..metadata.total_episodes {
        let name = format!("episode_{i}");
        let group = file.group(&name).map_err(|_| {
            fail(format!(
                "no group `{name}`; {METADATA_FILE} says total_episodes = {}, numbered from 0",
                metadata.total_episodes
            ))
        })?;
        let episode = read_episode(&group, &name, observation_keys).map_err(fail)?;
        let dataset = stream.get_or_insert_with(|| empty_stream(&episode));
        check_widths(dataset, &episode, &name).map_err(fail)?;
        append(dataset, episode);
    }
    let dataset = stream.filter(|d| !d.is_empty()).ok_or_else(|| {
        fail(format!(
            "the dataset holds no steps ({} episodes in {METADATA_FILE}); collect data into it first",
            metadata.total_episodes
        ))
    })?;
    dataset.validate(&main_path)?;
    Ok(dataset)
}

/// `metadata.json` and `main_data.hdf5` of the dataset `path` names.
fn locate(path: &Path) -> Result<(PathBuf, PathBuf)> {
    let data = if path.is_file() {
        path.parent().map_or_else(PathBuf::new, Path::to_path_buf)
    } else if path.join("data").is_dir() {
        path.join("data")
    } else if path.is_dir() {
        path.to_owned()
    } else {
        return Err(Error::Dataset {
            path: path.to_owned(),
            message: "no such file or folder; name a Minari dataset folder (<root>/<id>, e.g. \
                      ~/.minari/datasets/D4RL/pointmaze/umaze-v2) or its main_data.hdf5"
                .into(),
        });
    };
    let main = if path.is_file() { path.to_owned() } else { data.join(MAIN_FILE) };
    Ok((data.join(METADATA_FILE), main))
}

/// Reads `metadata.json` and checks that the data is in Minari's HDF5 storage.
fn read_metadata(path: &Path) -> Result<Metadata> {
    let fail = |message: String| Error::Dataset { path: path.to_owned(), message };
    let text = std::fs::read_to_string(path)
        .map_err(|e| fail(format!("{e}; a Minari data folder holds {METADATA_FILE} beside {MAIN_FILE}")))?;
    let metadata: Metadata = serde_json::from_str(&text)
        .map_err(|e| fail(format!("not Minari metadata (it needs data_format and total_episodes): {e}")))?;
    if metadata.data_format != "hdf5" {
        return Err(fail(format!(
            "data_format is {:?}; only Minari's \"hdf5\" storage is read: recreate the dataset with \
             minari.create_dataset_from_buffers(..., data_format=\"hdf5\")",
            metadata.data_format
        )));
    }
    Ok(metadata)
}

/// Reads episode group `name`: its T actions, rewards and flags and its first T observations,
/// after checking that it holds T + 1 observations.
fn read_episode(
    group: &hdf5::Group,
    name: &str,
    observation_keys: Option<&[String]>,
) -> std::result::Result<Episode, String> {
    let dataset = |key: &str| group.dataset(key).map_err(|_| missing(name, key));
    let actions = read_rows(&dataset("actions")?).map_err(|e| format!("`{name}/actions`: {e}"))?;
    let steps = actions.rows();
    let mut observations = read_observations(group, name, observation_keys)?;
    if observations.rows() != steps + 1 {
        return Err(format!(
            "`{name}/observations` has {} rows, expected {} (one more than the {steps} of `actions`: Minari \
             stores the observation after the last step too)",
            observations.rows(),
            steps + 1
        ));
    }
    observations.values.truncate(steps * observations.width);
    let rewards = read_all::<f32>(&dataset("rewards")?).map_err(|e| format!("reading `{name}/rewards`: {e}"))?;
    let flags = |key: &str| read_flags(&dataset(key)?).map_err(|e| format!("reading `{name}/{key}`: {e}"));
    let (terminations, truncations) = (flags("terminations")?, flags("truncations")?);
    for (key, rows) in
        [("rewards", rewards.len()), ("terminations", terminations.len()), ("truncations", truncations.len())]
    {
        if rows != steps {
            return Err(format!("`{name}/{key}` has {rows} rows, expected {steps} (one per action)"));
        }
    }
    for (key, table) in [("observations", &observations), ("actions", &actions)] {
        if let Some(i) = table.values.iter().position(|v| !v.is_finite()) {
            return Err(format!(
                "`{name}/{key}` row {} holds {}; clean or regenerate the dataset",
                i / table.width,
                table.values[i]
            ));
        }
    }
    Ok(Episode { observations, actions, rewards, terminations, truncations })
}

/// The observations of episode group `name`: its `observations` dataset (a Box space), or the
/// datasets `observation_keys` of its `observations` group side by side (a Dict space).
fn read_observations(
    group: &hdf5::Group,
    name: &str,
    observation_keys: Option<&[String]>,
) -> std::result::Result<Table, String> {
    if let Ok(dataset) = group.dataset("observations") {
        if let Some(keys) = observation_keys {
            return Err(format!(
                "`{name}/observations` is one array (a Box space), but data.observation_keys = {keys:?} \
                 name parts of a Dict space; remove observation_keys"
            ));
        }
        return read_rows(&dataset).map_err(|e| format!("`{name}/observations`: {e}"));
    }
    let parts = group.group("observations").map_err(|_| missing(name, "observations"))?;
    let default = [DEFAULT_OBSERVATION_KEY.to_string()];
    let keys = match observation_keys {
        Some(keys) => keys,
        None if parts.link_exists(DEFAULT_OBSERVATION_KEY) => &default[..],
        None => {
            let found = parts.member_names().unwrap_or_default();
            return Err(format!(
                "`{name}/observations` is a Dict space with keys {found:?} and no \
                 `{DEFAULT_OBSERVATION_KEY}`; name the keys that make an observation, in order, with \
                 data.observation_keys"
            ));
        }
    };
    let mut tables = Vec::with_capacity(keys.len());
    for key in keys {
        let dataset = parts.dataset(key).map_err(|_| {
            let found = parts.member_names().unwrap_or_default();
            format!("`{name}/observations` has no array `{key}` (data.observation_keys); it has {found:?}")
        })?;
        tables.push(read_rows(&dataset).map_err(|e| format!("`{name}/observations/{key}`: {e}"))?);
    }
    let rows = tables.first().map_or(0, Table::rows);
    if let Some((key, table)) = keys.iter().zip(&tables).find(|(_, t)| t.rows() != rows) {
        return Err(format!(
            "`{name}/observations/{key}` has {} rows, `{name}/observations/{}` {rows}; every key needs one \
             row per observation",
            table.rows(),
            keys[0]
        ));
    }
    let width = tables.iter().map(|t| t.width).sum();
    let values = (0..rows).flat_map(|i| tables.iter().flat_map(move |t| t.row(i).iter().copied())).collect();
    Ok(Table { values, width })
}

/// The message for episode group `name` lacking `key`.
fn missing(name: &str, key: &str) -> String {
    format!(
        "`{name}` has no `{key}`; a Minari episode needs observations, actions, rewards, terminations \
         and truncations"
    )
}

/// A dataset as rows of f32: `[rows]` is one column, `[rows, width]` is read as is.
fn read_rows(dataset: &hdf5::Dataset) -> std::result::Result<Table, String> {
    let shape = dataset.shape();
    let width = match shape[..] {
        [_] => 1,
        [_, width] => width,
        _ => return Err(format!("shape {shape:?}, expected [steps, width] (a flat Box space)")),
    };
    let values = read_all::<f32>(dataset).map_err(|e| format!("reading as float: {e}"))?;
    Ok(Table { values, width })
}

/// A stream with no rows and the widths of `episode`.
fn empty_stream(episode: &Episode) -> D4rlDataset {
    D4rlDataset {
        observations: Table { values: Vec::new(), width: episode.observations.width },
        actions: Table { values: Vec::new(), width: episode.actions.width },
        rewards: Vec::new(),
        terminals: Vec::new(),
        timeouts: Vec::new(),
        infos: Vec::new(),
    }
}

/// Checks that episode group `name` has the widths of the stream, which are `episode_0`'s.
fn check_widths(dataset: &D4rlDataset, episode: &Episode, name: &str) -> std::result::Result<(), String> {
    for (key, ours, theirs) in [
        ("observations", episode.observations.width, dataset.observations.width),
        ("actions", episode.actions.width, dataset.actions.width),
    ] {
        if ours != theirs {
            return Err(format!(
                "`{name}/{key}` is {ours} wide, `episode_0/{key}` {theirs}; every episode needs the same width"
            ));
        }
    }
    Ok(())
}

/// Appends `episode`'s rows to `dataset`, its last step ending an episode.
fn append(dataset: &mut D4rlDataset, episode: Episode) {
    let steps = episode.actions.rows();
    dataset.observations.values.extend(episode.observations.values);
    dataset.actions.values.extend(episode.actions.values);
    dataset.rewards.extend(episode.rewards);
    dataset.terminals.extend(&episode.terminations);
    dataset.timeouts.extend(
        episode.truncations.iter().enumerate().map(|(t, &cut)| cut || (t + 1 == steps && !episode.terminations[t])),
    );
}
