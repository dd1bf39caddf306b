//! D4RL-format HDF5 files with their keys, shapes and dtypes varied, read by the reader `train`,
//! `import` and the tasks' datasets use ([`D4rlDataset::read_hdf5`]). Each input is a whole file:
//! keys missing, renamed or groups instead of datasets; ranks, row counts and widths that
//! disagree; floats, integers and flags of other types; NaN and infinities; shapes that claim
//! far more values than the file holds; and, as a second target, such files with bytes changed.

use std::path::{Path, PathBuf};

use hdf5::H5Type;
use hdf5_metno as hdf5;
use planner::train::d4rl::D4rlDataset;
use rand::Rng;
use rand::seq::SliceRandom;
use rand_chacha::ChaCha8Rng;

use super::mutator;
use super::targets::{Inputs, Target};

/// The keys D4RL's files have, each with its usual rank.
const KEYS: [(&str, usize); 6] =
    [("observations", 2), ("actions", 2), ("rewards", 1), ("terminals", 1), ("timeouts", 1), ("infos/goal", 2)];

/// The element types a dataset is written with.
#[derive(Clone, Copy)]
enum Dtype {
    F32,
    F64,
    I32,
    I64,
    U8,
    Bool,
}

/// The two targets, their files written in `dir`: `d4rl-hdf5`, whole files with their keys,
/// shapes and dtypes varied; `d4rl-hdf5-bytes`, such files with one to eight bytes changed
/// (what libhdf5 itself must survive).
pub fn targets(dir: &Path) -> [Target; 2] {
    [target("d4rl-hdf5", dir, false), target("d4rl-hdf5-bytes", dir, true)]
}

fn target(name: &'static str, dir: &Path, mutated: bool) -> Target {
    let (generated, input) = (dir.join(format!("{name}-generated.h5")), dir.join(format!("{name}-input.h5")));
    Target {
        name,
        inputs: Inputs::Generated(Box::new(move |rng| generate(rng, &generated, mutated))),
        decode: Box::new(move |bytes| {
            std::fs::write(&input, bytes).map_err(|e| format!("writing {}: {e}", input.display()))?;
            D4rlDataset::read_hdf5(&input).map(drop).map_err(|e| e.to_string())
        }),
    }
}

/// One file's bytes: written at `path` with the keys varied, read back and, if `mutated`, with
/// one to eight mutations.
fn generate(rng: &mut ChaCha8Rng, path: &PathBuf, mutated: bool) -> anyhow::Result<Vec<u8>> {
    write_file(rng, path).map_err(|e| anyhow::anyhow!("writing a generated file: {e}"))?;
    let mut bytes = std::fs::read(path)?;
    if mutated {
        let count = rng.gen_range(1..=8);
        mutator::mutate(rng, &mut bytes, count);
    }
    Ok(bytes)
}

fn write_file(rng: &mut ChaCha8Rng, path: &Path) -> hdf5::Result<()> {
    let file = hdf5::File::create(path)?;
    let rows = rng.gen_range(0..6);
    let width = rng.gen_range(1..5);
    for (key, rank) in KEYS {
        if rng.gen_ratio(1, 12) {
            continue;
        }
        let key = if rng.gen_ratio(1, 24) { format!("{key}_renamed") } else { key.to_owned() };
        let (group, name) = match key.split_once('/') {
            Some((group, name)) => (file.group(group).or_else(|_| file.create_group(group))?, name.to_owned()),
            None => (file.as_group()?, key),
        };
        if rng.gen_ratio(1, 24) {
            group.create_group(&name)?;
            continue;
        }
        let rank = if rng.gen_ratio(1, 8) { rng.gen_range(0..=3) } else { rank };
        let rows = if rng.gen_ratio(1, 8) { rng.gen_range(0..6) } else { rows };
        let width = if rng.gen_ratio(1, 8) { rng.gen_range(0..5) } else { width };
        let shape = [rows, width, 2][..rank].to_vec();
        let usual = if name.ends_with("terminals") || name.ends_with("timeouts") { Dtype::Bool } else { Dtype::F32 };
        let dtype = if rng.gen_ratio(1, 4) {
            *[Dtype::F32, Dtype::F64, Dtype::I32, Dtype::I64, Dtype::U8, Dtype::Bool].choose(rng).expect("types")
        } else {
            usual
        };
        if rng.gen_ratio(1, 32) {
            // Claims 2^40 rows it never stores (chunked, unwritten): reading it must not try to
            // allocate them.
            group.new_dataset::<f32>().chunk(vec![1; rank.max(1)]).shape(huge(rank)).create(name.as_str())?;
            continue;
        }
        write_dataset(&group, &name, &shape, dtype, rng)?;
    }
    Ok(())
}

/// A shape of `rank` (at least 1) whose first dimension is 2^40.
fn huge(rank: usize) -> Vec<usize> {
    let mut shape = vec![4; rank.max(1)];
    shape[0] = 1 << 40;
    shape
}

fn write_dataset(
    group: &hdf5::Group,
    name: &str,
    shape: &[usize],
    dtype: Dtype,
    rng: &mut ChaCha8Rng,
) -> hdf5::Result<()> {
    let count: usize = shape.iter().product();
    let mut floats = || -> Vec<f64> { (0..count).map(|_| float(rng)).collect() };
    match dtype {
        Dtype::F32 => write(group, name, shape, &floats().iter().map(|&v| v as f32).collect::<Vec<_>>()),
        Dtype::F64 => write(group, name, shape, &floats()),
        Dtype::I32 => write(group, name, shape, &floats().iter().map(|&v| v as i32).collect::<Vec<_>>()),
        Dtype::I64 => write(group, name, shape, &floats().iter().map(|&v| v as i64).collect::<Vec<_>>()),
        Dtype::U8 => write(group, name, shape, &floats().iter().map(|&v| v as u8).collect::<Vec<_>>()),
        Dtype::Bool => write(group, name, shape, &floats().iter().map(|&v| v > 0.0).collect::<Vec<_>>()),
    }
}

fn write<T: H5Type>(group: &hdf5::Group, name: &str, shape: &[usize], values: &[T]) -> hdf5::Result<()> {
    group.new_dataset::<T>().shape(shape.to_vec()).create(name)?.write_raw(values)
}

/// A value in [−10, 10), or one in eight times NaN or an infinity.
fn float(rng: &mut ChaCha8Rng) -> f64 {
    match rng.gen_range(0..16) {
        0 => f64::NAN,
        1 => f64::INFINITY,
        _ => rng.gen_range(-10.0..10.0),
    }
}
