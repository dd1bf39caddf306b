//! Flag sets that several commands share, each declared once: the device, the Rerun sink, the
//! Zenoh transport and Picard's settings; and the progress bar long commands share. Only flags
//! and their presentation here; what they mean lives with the code that uses them.

pub mod device;
mod picard;
pub mod progress;
mod rerun;
mod transport;

pub use device::DeviceArgs;
pub use picard::PicardArgs;
pub use rerun::RerunArgs;
pub use transport::TransportArgs;
