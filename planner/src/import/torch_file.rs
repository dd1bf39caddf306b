//! Reading a file written by `torch.save` (the zip format of PyTorch ≥ 1.6) without Python and
//! without running its pickle: `<root>/data.pkl` is read by [`pickle::read`], each storage it
//! names is read from `<root>/data/<key>`, and the tensors are rebuilt from storage, offset,
//! size and stride, with every bound checked against the storage.
//!
//! Only the calls a saved tensor or state dict needs are carried out
//! (`torch._utils._rebuild_tensor_v2`, `torch._utils._rebuild_parameter`,
//! `collections.OrderedDict`); any other class stays an inert [`Value::Object`].

use std::collections::HashMap;
use std::fs::File;
use std::io::Read;
use std::path::{Path, PathBuf};

use tch::{Kind, Tensor};

use crate::error::{Error, Result};
use crate::import::pickle::{self, Hooks, Value};

/// Largest file this reader opens, in bytes (4 GiB; Diffuser's checkpoints are tens of MB).
const MAX_FILE_BYTES: u64 = 4 << 30;

/// The content of a `torch.save` file: the pickled value, whose tensors are [`Value::Handle`]s
/// into [`TorchFile::tensor`].
pub struct TorchFile {
    path: PathBuf,
    /// The unpickled object.
    pub value: Value,
    tensors: Vec<Tensor>,
}

impl TorchFile {
    /// Reads `path`, refusing the legacy (pre-1.6) format, big-endian data and any storage,
    /// offset or stride that does not fit.
    pub fn read(path: &Path) -> Result<Self> {
        let fail = |message: String| Error::Import { path: path.to_owned(), message };
        let file = File::open(path).map_err(|source| Error::Io { path: path.to_owned(), source })?;
        let length = file.metadata().map_err(|source| Error::Io { path: path.to_owned(), source })?.len();
        if length > MAX_FILE_BYTES {
            return Err(fail(format!("{length} bytes, more than the {MAX_FILE_BYTES} this reader opens")));
        }
        let mut archive = zip::ZipArchive::new(file).map_err(|e| {
            fail(format!(
                "not a zip archive ({e}): written by torch < 1.6 or not by torch.save; re-save it with \
                 a newer PyTorch: torch.save(torch.load(f), f)"
            ))
        })?;
        let pickles: Vec<String> = archive
            .file_names()
            .filter(|name| name.ends_with("/data.pkl") && name.matches('/').count() == 1)
            .map(str::to_owned)
            .collect();
        let [data_pkl] = pickles.as_slice() else {
            return Err(fail(format!("expected one <root>/data.pkl in the archive, found {pickles:?}")));
        };
        let root = data_pkl.trim_end_matches("data.pkl").to_owned();
        if let Ok(order) = read_entry(&mut archive, &format!("{root}byteorder"))
            && order != b"little"
        {
            return Err(fail(format!(
                "byte order {:?}; only little-endian files are read",
                String::from_utf8_lossy(&order)
            )));
        }
        let pickled = read_entry(&mut archive, data_pkl).map_err(fail)?;
        let mut reader = Rebuilder { archive, root, storages: HashMap::new(), handles: Vec::new() };
        let value = pickle::read(&pickled, &mut reader).map_err(|e| fail(format!("{data_pkl}: {e}")))?;
        let tensors = reader
            .handles
            .into_iter()
            .map(|handle| match handle {
                Handle::Tensor(tensor) => tensor,
                Handle::Storage(_) => Tensor::new(),
            })
            .collect();
        Ok(Self { path: path.to_owned(), value, tensors })
    }

    /// The tensor behind `value`, or an error naming `what` and the type found instead.
    pub fn tensor(&self, value: &Value, what: &str) -> Result<Tensor> {
        match value {
            Value::Handle(index) if self.tensors[*index].defined() => Ok(self.tensors[*index].shallow_clone()),
            other => Err(Error::Import {
                path: self.path.clone(),
                message: format!("{what} is {}, not a tensor", other.type_name()),
            }),
        }
    }
}

/// One entry of the rebuilder's table: a storage (its kind, element count and bytes'
/// tensor), or a tensor viewing one.
enum Handle {
    Storage(Tensor),
    Tensor(Tensor),
}

/// The [`Hooks`] of a `torch.save` pickle: storages from the archive, tensors from storages.
struct Rebuilder {
    archive: zip::ZipArchive<File>,
    root: String,
    /// Storage key → handle index, so tensors sharing a storage share its handle.
    storages: HashMap<String, usize>,
    handles: Vec<Handle>,
}

impl Rebuilder {
    fn push(&mut self, handle: Handle) -> Value {
        self.handles.push(handle);
        Value::Handle(self.handles.len() - 1)
    }

    /// `_rebuild_tensor_v2(storage, storage_offset, size, stride, requires_grad, hooks[, metadata])`.
    fn rebuild_tensor(&mut self, args: &[Value]) -> Result<Value, String> {
        let [storage, offset, size, stride, ..] = args else {
            return Err(format!("_rebuild_tensor_v2 with {} arguments, expected at least 4", args.len()));
        };
        let storage = match storage {
            Value::Handle(i) => match &self.handles[*i] {
                Handle::Storage(storage) => storage.shallow_clone(),
                Handle::Tensor(_) => return Err("_rebuild_tensor_v2 of a tensor, not a storage".into()),
            },
            other => return Err(format!("_rebuild_tensor_v2 of {}, not a storage", other.type_name())),
        };
        let offset = offset.as_int().filter(|&o| o >= 0).ok_or("a storage offset that is not a non-negative int")?;
        let ints = |value: &Value, what: &str| -> Result<Vec<i64>, String> {
            let items = value.as_sequence().ok_or_else(|| format!("a {what} that is not a tuple"))?;
            items
                .iter()
                .map(|v| v.as_int().filter(|&i| i >= 0).ok_or_else(|| format!("a negative or non-int {what}")))
                .collect()
        };
        let (size, stride) = (ints(size, "size")?, ints(stride, "stride")?);
        if size.len() != stride.len() {
            return Err(format!("size {size:?} and stride {stride:?} differ in length"));
        }
        let numel = storage.size()[0];
        if size.iter().all(|&s| s > 0) {
            let last =
                size.iter().zip(&stride).try_fold(offset, |acc, (&s, &st)| acc.checked_add((s - 1).checked_mul(st)?));
            if last.is_none_or(|last| last >= numel) {
                return Err(format!(
                    "a tensor of size {size:?}, stride {stride:?} at offset {offset} reaches past its storage of {numel} elements"
                ));
            }
        }
        let tensor = storage.as_strided(size.as_slice(), stride.as_slice(), Some(offset)).contiguous();
        Ok(self.push(Handle::Tensor(tensor)))
    }
}

impl Hooks for Rebuilder {
    /// `('storage', storage_type, key, location, numel)`: the bytes of `<root>/data/<key>`.
    fn load(&mut self, id: Value) -> Result<Value, String> {
        let items = id.as_sequence().ok_or("a persistent id that is not a tuple")?;
        let [tag, class, key, _location, numel] = items.as_slice() else {
            return Err(format!(
                "a persistent id of {} items, expected 5 ('storage', type, key, location, numel)",
                items.len()
            ));
        };
        if tag.as_str() != Some("storage") {
            return Err(format!("a persistent id tagged {tag:?}, expected 'storage'"));
        }
        let key = key.as_str().ok_or("a storage key that is not a str")?.to_owned();
        if let Some(&index) = self.storages.get(&key) {
            return Ok(Value::Handle(index));
        }
        let class = class.class_name().unwrap_or_default();
        let kind = storage_kind(&class).ok_or_else(|| format!("storage type {class} is not one this reader knows"))?;
        let numel = numel.as_int().filter(|&n| n >= 0).ok_or("a storage size that is not a non-negative int")?;
        let bytes = read_entry(&mut self.archive, &format!("{}data/{key}", self.root))?;
        let expected = numel.checked_mul(kind.elt_size_in_bytes() as i64).ok_or("a storage size that overflows")?;
        if bytes.len() as i64 != expected {
            return Err(format!("storage {key}: {} bytes, {numel} elements of {kind:?} need {expected}", bytes.len()));
        }
        let storage = Tensor::from_data_size(&bytes, &[numel], kind);
        let value = self.push(Handle::Storage(storage));
        if let Value::Handle(index) = value {
            self.storages.insert(key, index);
        }
        Ok(value)
    }

    fn call(&mut self, callable: &Value, args: &[Value]) -> Result<Option<Value>, String> {
        match callable.class_name().as_deref() {
            Some("torch._utils._rebuild_tensor_v2") => self.rebuild_tensor(args).map(Some),
            // A parameter saved as such: its data is the first argument.
            Some("torch._utils._rebuild_parameter" | "torch._utils._rebuild_parameter_with_state") => {
                args.first().cloned().map(Some).ok_or_else(|| "_rebuild_parameter without its tensor".into())
            }
            Some("collections.OrderedDict") if args.is_empty() => Ok(Some(Value::Dict(std::rc::Rc::default()))),
            _ => Ok(None),
        }
    }
}

/// The element kind of a typed storage class, e.g. `torch.FloatStorage`.
fn storage_kind(class: &str) -> Option<Kind> {
    Some(match class.strip_prefix("torch.")? {
        "FloatStorage" => Kind::Float,
        "DoubleStorage" => Kind::Double,
        "HalfStorage" => Kind::Half,
        "BFloat16Storage" => Kind::BFloat16,
        "LongStorage" => Kind::Int64,
        "IntStorage" => Kind::Int,
        "ShortStorage" => Kind::Int16,
        "CharStorage" => Kind::Int8,
        "ByteStorage" => Kind::Uint8,
        "BoolStorage" => Kind::Bool,
        _ => return None,
    })
}

/// The bytes of one archive entry.
fn read_entry(archive: &mut zip::ZipArchive<File>, name: &str) -> Result<Vec<u8>, String> {
    let mut entry = archive.by_name(name).map_err(|e| format!("{name}: {e}"))?;
    if entry.size() > MAX_FILE_BYTES {
        return Err(format!("{name}: {} bytes uncompressed, more than {MAX_FILE_BYTES}", entry.size()));
    }
    let mut bytes = Vec::with_capacity(entry.size() as usize);
    entry.read_to_end(&mut bytes).map_err(|e| format!("{name}: {e}"))?;
    Ok(bytes)
}
