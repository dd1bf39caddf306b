//! Classic CDR (OMG XCDR1) as ROS 2 middlewares put it on the wire: a 4-byte encapsulation
//! header (`00 01 00 00`: little-endian CDR), then the fields, each primitive aligned to its own
//! size counted from the byte after the header. Strings are a u32 length counting a closing NUL,
//! the bytes and the NUL; sequences a u32 count and the elements.
//!
//! The reader never trusts a length: every count is checked against the bytes left before
//! anything is allocated, so a hostile payload costs at most its own size.

use crate::WireError;

/// The encapsulation header of little-endian classic CDR.
pub const LITTLE_ENDIAN_HEADER: [u8; 4] = [0x00, 0x01, 0x00, 0x00];

/// Writes little-endian classic CDR.
#[derive(Debug)]
pub struct CdrWriter {
    bytes: Vec<u8>,
}

impl Default for CdrWriter {
    fn default() -> Self {
        Self::new()
    }
}

impl CdrWriter {
    /// A payload holding the encapsulation header only.
    #[must_use]
    pub fn new() -> Self {
        Self { bytes: LITTLE_ENDIAN_HEADER.to_vec() }
    }

    /// Pads with zeros to a multiple of `size` bytes past the header.
    fn align(&mut self, size: usize) {
        while !(self.bytes.len() - LITTLE_ENDIAN_HEADER.len()).is_multiple_of(size) {
            self.bytes.push(0);
        }
    }

    /// Writes a u32.
    pub fn u32(&mut self, value: u32) {
        self.align(4);
        self.bytes.extend_from_slice(&value.to_le_bytes());
    }

    /// Writes an i32.
    pub fn i32(&mut self, value: i32) {
        self.align(4);
        self.bytes.extend_from_slice(&value.to_le_bytes());
    }

    /// Writes a string (UTF-8, closed by a NUL that its length counts).
    pub fn string(&mut self, value: &str) {
        self.length(value.len() + 1);
        self.bytes.extend_from_slice(value.as_bytes());
        self.bytes.push(0);
    }

    /// Writes a sequence of strings.
    pub fn strings(&mut self, values: &[String]) {
        self.length(values.len());
        for value in values {
            self.string(value);
        }
    }

    /// Writes a sequence of f64.
    pub fn f64s(&mut self, values: &[f64]) {
        self.length(values.len());
        if !values.is_empty() {
            self.align(8);
        }
        for value in values {
            self.bytes.extend_from_slice(&value.to_le_bytes());
        }
    }

    /// Writes a sequence's element count (or a string's length).
    pub fn length(&mut self, count: usize) {
        // Lengths beyond u32 cannot be sent in CDR; no message of ours comes near.
        self.u32(u32::try_from(count).unwrap_or(u32::MAX));
    }

    /// The payload, header included.
    #[must_use]
    pub fn finish(self) -> Vec<u8> {
        self.bytes
    }
}

/// Reads little-endian classic CDR, refusing anything malformed with a [`WireError`] that names
/// the message type and the field.
#[derive(Debug)]
pub struct CdrReader<'a> {
    bytes: &'a [u8],
    at: usize,
    /// The message type, for errors.
    what: &'static str,
}

impl<'a> CdrReader<'a> {
    /// Checks the encapsulation header of `bytes`, a `what` message, and reads from after it.
    pub fn new(bytes: &'a [u8], what: &'static str) -> Result<Self, WireError> {
        let reader = Self { bytes, at: LITTLE_ENDIAN_HEADER.len(), what };
        match bytes.get(..LITTLE_ENDIAN_HEADER.len()) {
            Some(header) if header == LITTLE_ENDIAN_HEADER => Ok(reader),
            Some([0x00, 0x00, _, _]) => Err(reader.malformed(
                "header",
                "big-endian CDR (encapsulation 00 00) is not supported; send little-endian CDR (00 01)",
            )),
            Some(header) => Err(reader.malformed(
                "header",
                &format!("encapsulation {header:02x?} is not classic little-endian CDR (00 01 00 00)"),
            )),
            None => Err(reader.malformed("header", &format!("{} bytes, shorter than the 4-byte header", bytes.len()))),
        }
    }

    fn malformed(&self, field: &str, reason: &str) -> WireError {
        WireError::Malformed { what: self.what.to_owned(), reason: format!("{field}: {reason}") }
    }

    /// The next `len` bytes after aligning to `align`, or an error naming `field`.
    fn take(&mut self, align: usize, len: usize, field: &str) -> Result<&'a [u8], WireError> {
        let body = self.at - LITTLE_ENDIAN_HEADER.len();
        let start = self.at + (align - body % align) % align;
        let end = start.checked_add(len).filter(|&end| end <= self.bytes.len()).ok_or_else(|| {
            self.malformed(field, &format!("needs {len} bytes at offset {start}, the payload has {}", self.bytes.len()))
        })?;
        self.at = end;
        Ok(&self.bytes[start..end])
    }

    /// Reads a u32.
    pub fn u32(&mut self, field: &str) -> Result<u32, WireError> {
        let bytes = self.take(4, 4, field)?;
        Ok(u32::from_le_bytes([bytes[0], bytes[1], bytes[2], bytes[3]]))
    }

    /// Reads an i32.
    pub fn i32(&mut self, field: &str) -> Result<i32, WireError> {
        let bytes = self.take(4, 4, field)?;
        Ok(i32::from_le_bytes([bytes[0], bytes[1], bytes[2], bytes[3]]))
    }

    /// Reads a sequence's element count, refusing one that the bytes left cannot hold at
    /// `min_element_bytes` each.
    pub fn length(&mut self, field: &str, min_element_bytes: usize) -> Result<usize, WireError> {
        let count = self.u32(field)? as usize;
        let left = self.bytes.len() - self.at;
        if count.saturating_mul(min_element_bytes) > left {
            return Err(self.malformed(field, &format!("{count} elements cannot fit in the {left} bytes left")));
        }
        Ok(count)
    }

    /// Reads a string: UTF-8, closed by a NUL.
    pub fn string(&mut self, field: &str) -> Result<String, WireError> {
        let len = self.length(field, 1)?;
        if len == 0 {
            return Err(self.malformed(field, "a string's length counts its closing NUL, so it cannot be 0"));
        }
        let bytes = self.take(1, len, field)?;
        let (text, nul) = bytes.split_at(len - 1);
        if nul != [0] || text.contains(&0) {
            return Err(self.malformed(field, "a string must end with its only NUL"));
        }
        String::from_utf8(text.to_vec()).map_err(|_| self.malformed(field, "not UTF-8"))
    }

    /// Reads a sequence of strings.
    pub fn strings(&mut self, field: &str) -> Result<Vec<String>, WireError> {
        let count = self.length(field, 5)?;
        (0..count).map(|i| self.string(&format!("{field}[{i}]"))).collect()
    }

    /// Reads a sequence of f64.
    pub fn f64s(&mut self, field: &str) -> Result<Vec<f64>, WireError> {
        let count = self.length(field, 8)?;
        if count == 0 {
            return Ok(Vec::new());
        }
        let bytes = self.take(8, count * 8, field)?;
        Ok(bytes
            .chunks_exact(8)
            .map(|c| f64::from_le_bytes([c[0], c[1], c[2], c[3], c[4], c[5], c[6], c[7]]))
            .collect())
    }

    /// Refuses bytes left over after the message (beyond the up to 3 bytes of padding that
    /// some writers add to a multiple of 4).
    pub fn end(&self) -> Result<(), WireError> {
        let left = &self.bytes[self.at..];
        if left.len() > 3 || left.iter().any(|&b| b != 0) {
            return Err(self.malformed("end", &format!("{} bytes left over after the message", left.len())));
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn primitives_are_aligned_from_the_byte_after_the_header() {
        // Reference: OMG XCDR1 alignment; the offset counts from the end of the encapsulation.
        let mut writer = CdrWriter::new();
        writer.string("ab");
        writer.f64s(&[1.0]);
        let bytes = writer.finish();
        assert_eq!(bytes[..4], LITTLE_ENDIAN_HEADER);
        // u32 3, "ab\0", one byte of padding to 8, count 1 (at 8), then f64 at 12 → padded to 16.
        assert_eq!(&bytes[4..12], &[3, 0, 0, 0, b'a', b'b', 0, 0]);
        assert_eq!(&bytes[12..16], &[1, 0, 0, 0]);
        assert_eq!(&bytes[16..20], &[0, 0, 0, 0]);
        assert_eq!(bytes[20..28], 1.0f64.to_le_bytes());
        let mut reader = CdrReader::new(&bytes, "test").unwrap();
        assert_eq!(reader.string("s").unwrap(), "ab");
        assert_eq!(reader.f64s("v").unwrap(), vec![1.0]);
        reader.end().unwrap();
    }

    #[test]
    fn lengths_beyond_the_payload_are_refused_before_allocating() {
        let mut bytes = LITTLE_ENDIAN_HEADER.to_vec();
        bytes.extend_from_slice(&u32::MAX.to_le_bytes());
        let error = CdrReader::new(&bytes, "test").unwrap().f64s("positions").unwrap_err();
        assert!(error.to_string().contains("positions: 4294967295 elements cannot fit"), "{error}");
        let error = CdrReader::new(&[0, 0, 0, 0], "test").unwrap_err();
        assert!(error.to_string().contains("big-endian"), "{error}");
    }

    #[test]
    fn strings_must_end_with_their_only_nul() {
        for body in [&[2u8, 0, 0, 0, b'a', b'b'][..], &[3, 0, 0, 0, b'a', 0, 0], &[0, 0, 0, 0]] {
            let bytes = [&LITTLE_ENDIAN_HEADER[..], body].concat();
            assert!(CdrReader::new(&bytes, "test").unwrap().string("s").is_err(), "{body:?}");
        }
    }
}
