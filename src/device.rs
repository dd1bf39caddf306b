//! `--device` values: `cpu`, `cuda`, `cuda:N`.

use anyhow::bail;
use tch::Device;

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

/// Errors if `device` is CUDA and libtorch sees none.
pub fn check_available(device: Device) -> anyhow::Result<()> {
    if device.is_cuda() && !tch::Cuda::is_available() {
        bail!("--device {device:?} asked for, but libtorch sees no CUDA device; `diffplan doctor` says why");
    }
    Ok(())
}
