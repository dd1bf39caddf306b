//! Writing a file so that an interrupted write never replaces a good one.

use std::path::{Path, PathBuf};

use crate::error::{Error, Result};

/// Writes through `write` to `path.partial`, then renames it to `path`, creating the folder
/// `path` lies in where it is missing.
pub(super) fn write_staged(path: &Path, write: impl FnOnce(&Path) -> Result<()>) -> Result<()> {
    if let Some(folder) = path.parent().filter(|f| !f.as_os_str().is_empty()) {
        std::fs::create_dir_all(folder).map_err(|source| Error::Io { path: folder.to_owned(), source })?;
    }
    let staged = PathBuf::from(format!("{}.partial", path.display()));
    write(&staged)?;
    std::fs::rename(&staged, path).map_err(|source| Error::Io { path: path.to_owned(), source })
}
