//! `--device` values: `cpu`, `cuda`, `cuda:N`, on the command line and in launch files.

use anyhow::bail;
use tch::Device;

/// The inference device flag.
#[derive(Debug, Clone, clap::Args)]
pub struct DeviceArgs {
    /// `cpu`, `cuda` or `cuda:N`.
    #[arg(long, default_value = "cpu", value_parser = parse_device)]
    pub device: Device,
}

/// Parses a device name.
pub fn parse_device(text: &str) -> Result<Device, String> {
    match text {
        "cpu" => Ok(Device::Cpu),
        "cuda" => Ok(Device::Cuda(0)),
        _ => text
            .strip_prefix("cuda:")
            .and_then(|n| n.parse().ok())
            .map(Device::Cuda)
            .ok_or_else(|| format!("{text:?} is not cpu, cuda or cuda:N")),
    }
}

/// A device name in a TOML file, parsed like the flag.
pub fn deserialize<'de, D: serde::Deserializer<'de>>(deserializer: D) -> Result<Device, D::Error> {
    let text = <String as serde::Deserialize>::deserialize(deserializer)?;
    parse_device(&text).map_err(serde::de::Error::custom)
}

/// Errors if `device` is CUDA and libtorch sees none.
pub fn check_available(device: Device) -> anyhow::Result<()> {
    if device.is_cuda() && !tch::Cuda::is_available() {
        bail!("--device {device:?} asked for, but libtorch sees no CUDA device; `diffplan doctor` says why");
    }
    Ok(())
}
