//! Facts about the libtorch this build runs on.

/// The libtorch version this crate was compiled against (from PyTorch's `version.py`, read by
/// the build script), e.g. `2.11.0+cu130`; `unknown` if the build script could not read it.
pub const LIBTORCH_VERSION: &str = match option_env!("DIFFPLAN_LIBTORCH_VERSION") {
    Some(version) => version,
    None => "unknown",
};

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

/// Path of the `libtorch_cpu` shared library actually mapped into this process (Linux).
#[must_use]
pub fn loaded_libtorch_path() -> Option<std::path::PathBuf> {
    // Make sure libtorch is initialised (and hence mapped) before looking.
    let _ = tch::utils::get_num_threads();
    let maps = std::fs::read_to_string("/proc/self/maps").ok()?;
    maps.lines()
        .filter_map(|line| line.split_whitespace().nth(5))
        .find(|path| path.ends_with("/libtorch_cpu.so"))
        .map(std::path::PathBuf::from)
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
