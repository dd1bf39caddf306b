//! Facts about the libtorch this build runs on.

use std::path::{Path, PathBuf};

/// The folder of the libtorch libraries baked into the binaries' rpath at build time.
pub const LIBTORCH_LIB_DIR: &str = match option_env!("DIFFPLAN_LIBTORCH_LIB") {
    Some(dir) => dir,
    None => "unknown",
};

/// Whether two versions such as `2.11.0+cu130` and `2.11.1` agree on major and minor.
#[must_use]
pub fn same_minor_version(a: &str, b: &str) -> bool {
    let minor = |v: &str| v.split(['.', '+']).take(2).map(str::to_owned).collect::<Vec<_>>();
    minor(a).len() == 2 && minor(a) == minor(b)
}

/// The version of the libtorch running in this process, e.g. `2.11.0+cu130` (falling back to
/// the build-time folder, then to `unknown`).
#[must_use]
pub fn libtorch_version() -> String {
    loaded_libtorch_path()
        .and_then(|library| torch_version_in(library.parent()?))
        .or_else(|| torch_version_in(Path::new(LIBTORCH_LIB_DIR)))
        .unwrap_or_else(|| "unknown".into())
}

/// Reads `__version__` from pip torch's `version.py`, which sits next to its `lib/` folder.
#[must_use]
pub fn torch_version_in(lib_dir: &Path) -> Option<String> {
    let text = std::fs::read_to_string(lib_dir.parent()?.join("version.py")).ok()?;
    text.lines()
        .find_map(|line| line.strip_prefix("__version__"))
        .map(|rest| rest.trim_matches(|c: char| c == ' ' || c == '=' || c == '\'' || c == '"').to_owned())
}

/// Path of the `libtorch_cpu` shared library actually mapped into this process (Linux).
#[must_use]
pub fn loaded_libtorch_path() -> Option<PathBuf> {
    // Make sure libtorch is initialised (and hence mapped) before looking.
    let _ = tch::utils::get_num_threads();
    let maps = std::fs::read_to_string("/proc/self/maps").ok()?;
    maps.lines()
        .filter_map(|line| line.split_whitespace().nth(5))
        .find(|path| path.ends_with("/libtorch_cpu.so"))
        .map(PathBuf::from)
}

#[cfg(test)]
mod tests {
    use super::same_minor_version;

    #[test]
    fn minor_versions_compare_on_major_and_minor_only() {
        assert!(same_minor_version("2.11.0+cu130", "2.11.1"));
        assert!(!same_minor_version("2.10.0", "2.11.0+cu130"));
        assert!(!same_minor_version("", "2.11.0"));
    }
}
