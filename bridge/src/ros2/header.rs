//! `builtin_interfaces/msg/Time` and `Duration` (both a signed second and an unsigned
//! nanosecond count) and `std_msgs/msg/Header` (a stamp and a frame id).

use super::cdr::{CdrReader, CdrWriter};
use crate::WireError;

/// A time or a duration as ROS 2 sends it: `sec` seconds plus `nanosec` (< 10⁹) nanoseconds.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, PartialOrd, Ord)]
pub struct Stamp {
    /// Whole seconds.
    pub sec: i32,
    /// Nanoseconds, below 10⁹.
    pub nanosec: u32,
}

/// Nanoseconds per second.
const NANOS: i64 = 1_000_000_000;

impl Stamp {
    /// The stamp `nanos` nanoseconds after zero (saturating at the i32 seconds range).
    #[must_use]
    pub fn from_nanos(nanos: i64) -> Self {
        let sec = nanos.div_euclid(NANOS).clamp(i64::from(i32::MIN), i64::from(i32::MAX));
        Self { sec: sec as i32, nanosec: nanos.rem_euclid(NANOS) as u32 }
    }

    /// The stamp `seconds` after zero, rounded to the nanosecond.
    #[must_use]
    pub fn from_secs_f64(seconds: f64) -> Self {
        Self::from_nanos((seconds * 1e9).round() as i64)
    }

    /// Nanoseconds since zero.
    #[must_use]
    pub fn nanos(self) -> i64 {
        i64::from(self.sec) * NANOS + i64::from(self.nanosec)
    }

    /// Whether this is the zero stamp (for a trajectory: "start on arrival").
    #[must_use]
    pub fn is_zero(self) -> bool {
        self == Self::default()
    }

    pub(super) fn write(self, writer: &mut CdrWriter) {
        writer.i32(self.sec);
        writer.u32(self.nanosec);
    }

    pub(super) fn read(reader: &mut CdrReader<'_>, field: &str) -> Result<Self, WireError> {
        let sec = reader.i32(&format!("{field}.sec"))?;
        let nanosec = reader.u32(&format!("{field}.nanosec"))?;
        if i64::from(nanosec) >= NANOS {
            return Err(WireError::Invalid {
                field: format!("{field}.nanosec"),
                reason: format!("{nanosec} is not below 10^9"),
            });
        }
        Ok(Self { sec, nanosec })
    }
}

/// `std_msgs/msg/Header`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Header {
    /// When the data was taken, on the sender's clock.
    pub stamp: Stamp,
    /// The coordinate frame (often empty for joint data).
    pub frame_id: String,
}

impl Header {
    pub(super) fn write(&self, writer: &mut CdrWriter) {
        self.stamp.write(writer);
        writer.string(&self.frame_id);
    }

    pub(super) fn read(reader: &mut CdrReader<'_>) -> Result<Self, WireError> {
        Ok(Self { stamp: Stamp::read(reader, "header.stamp")?, frame_id: reader.string("header.frame_id")? })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stamps_split_nanoseconds_into_seconds_and_a_remainder() {
        assert_eq!(Stamp::from_nanos(1_500_000_000), Stamp { sec: 1, nanosec: 500_000_000 });
        assert_eq!(Stamp::from_nanos(-1), Stamp { sec: -1, nanosec: 999_999_999 });
        assert_eq!(Stamp::from_secs_f64(0.03).nanos(), 30_000_000);
        assert!(Stamp::default().is_zero());
    }
}
