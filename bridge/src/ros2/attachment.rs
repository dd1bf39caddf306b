//! The attachment rmw_zenoh requires on every sample (Jazzy ≥ 0.2.4, Kilted, Rolling): 33
//! bytes, as zenoh-ext serialises the tuple (sequence number, source timestamp, publisher GID):
//!
//! | bytes | field |
//! |---|---|
//! | 8 | sequence number, i64 little-endian, from 1, one more per message of the publisher |
//! | 8 | source timestamp, i64 little-endian, nanoseconds since the Unix epoch |
//! | 1 | the GID's length, LEB128 (16) |
//! | 16 | the publisher's GID |
//!
//! A subscriber of rmw_zenoh drops a sample without it. Older releases used string-keyed fields
//! instead; they are refused here, by length.

use crate::WireError;

/// An attachment's length, bytes.
pub const ATTACHMENT_BYTES: usize = 33;

/// What rmw_zenoh attaches to each sample.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Attachment {
    /// The publisher's message count, from 1.
    pub sequence: i64,
    /// When the sample was published, nanoseconds since the Unix epoch, on the sender's clock.
    pub source_timestamp_ns: i64,
    /// The publisher's global id.
    pub gid: [u8; 16],
}

impl Attachment {
    /// The 33 bytes.
    #[must_use]
    pub fn encode(&self) -> [u8; ATTACHMENT_BYTES] {
        let mut bytes = [0u8; ATTACHMENT_BYTES];
        bytes[..8].copy_from_slice(&self.sequence.to_le_bytes());
        bytes[8..16].copy_from_slice(&self.source_timestamp_ns.to_le_bytes());
        bytes[16] = 16;
        bytes[17..].copy_from_slice(&self.gid);
        bytes
    }

    /// Decodes the 33 bytes, refusing any other length or GID length.
    pub fn decode(bytes: &[u8]) -> Result<Self, WireError> {
        let malformed = |reason: String| WireError::Malformed { what: "rmw_zenoh attachment".into(), reason };
        if bytes.len() != ATTACHMENT_BYTES {
            return Err(malformed(format!(
                "{} bytes, not {ATTACHMENT_BYTES} (sequence, timestamp, GID); a sender of rmw_zenoh before \
                 Jazzy 0.2.4 uses an older, incompatible format",
                bytes.len()
            )));
        }
        if bytes[16] != 16 {
            return Err(malformed(format!("GID length {}, not 16", bytes[16])));
        }
        let word = |at: usize| {
            let mut word = [0u8; 8];
            word.copy_from_slice(&bytes[at..at + 8]);
            i64::from_le_bytes(word)
        };
        let mut gid = [0u8; 16];
        gid.copy_from_slice(&bytes[17..]);
        Ok(Self { sequence: word(0), source_timestamp_ns: word(8), gid })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn encodes_to_the_bytes_zenoh_ext_serialises() {
        // Golden bytes: zenoh-ext's serialisation of (1i64, 1763800000123456789i64, [0u8..16]) as
        // rmw_zenoh's attachment_helpers.cpp writes it (checked against the Python eclipse-zenoh
        // `zenoh.ext.z_serialize`).
        let attachment = Attachment {
            sequence: 1,
            source_timestamp_ns: 1_763_800_000_123_456_789,
            gid: std::array::from_fn(|i| i as u8),
        };
        let golden = super::super::from_hex("0100000000000000154d314ec1467a1810000102030405060708090a0b0c0d0e0f");
        assert_eq!(attachment.encode().to_vec(), golden);
        assert_eq!(Attachment::decode(&attachment.encode()).unwrap(), attachment);
    }

    #[test]
    fn other_lengths_are_refused_by_name() {
        let error = Attachment::decode(&[0; 32]).unwrap_err();
        assert!(error.to_string().contains("32 bytes, not 33"), "{error}");
        let mut bytes = [0u8; 33];
        bytes[16] = 15;
        assert!(Attachment::decode(&bytes).unwrap_err().to_string().contains("GID length 15"));
    }
}
