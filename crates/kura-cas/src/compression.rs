//! Chunk compression schemes of xorbs: none, LZ4 frame, and byte-grouping-4 + LZ4 frame.

use std::io::{Read, Write};

use crate::error::CasError;

/// Largest compressed payload a decoder accepts (2 × the largest chunk).
pub const MAX_COMPRESSED_CHUNK_LEN: usize = 2 * crate::chunker::MAX_CHUNK_SIZE;

/// How a chunk's payload is encoded (the scheme byte of a chunk header).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[repr(u8)]
pub enum CompressionScheme {
    /// Raw bytes.
    None = 0,
    /// LZ4 *frame* format.
    Lz4 = 1,
    /// Bytes regrouped by offset mod 4, then LZ4 frame.
    ByteGrouping4Lz4 = 2,
}

impl CompressionScheme {
    /// Decodes the scheme byte; `offset` is only used for the error.
    pub fn from_byte(byte: u8, offset: usize) -> Result<Self, CasError> {
        match byte {
            0 => Ok(Self::None),
            1 => Ok(Self::Lz4),
            2 => Ok(Self::ByteGrouping4Lz4),
            scheme => Err(CasError::UnknownCompressionScheme { scheme, offset }),
        }
    }
}

/// Regroups bytes by position mod 4: group `k` holds offsets `k, k+4, …`; groups are
/// concatenated in order, group `k` having `n/4 + (k < n%4)` bytes.
pub fn bg4_split(data: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(data.len());
    for group in 0..4 {
        out.extend(data.iter().skip(group).step_by(4));
    }
    out
}

/// Inverse of [`bg4_split`].
pub fn bg4_join(grouped: &[u8]) -> Vec<u8> {
    let len = grouped.len();
    let mut out = vec![0u8; len];
    let mut start = 0;
    for group in 0..4 {
        let group_len = len / 4 + usize::from(group < len % 4);
        let source = &grouped[start..start + group_len];
        for (slot, byte) in out.iter_mut().skip(group).step_by(4).zip(source) {
            *slot = *byte;
        }
        start += group_len;
    }
    out
}

fn lz4_frame_compress(data: &[u8]) -> Vec<u8> {
    let mut encoder = lz4_flex::frame::FrameEncoder::new(Vec::with_capacity(data.len() / 2 + 64));
    // Writing into a Vec cannot fail; an error here would only come from the encoder itself,
    // and then storing the chunk raw is always correct.
    if encoder.write_all(data).is_err() {
        return Vec::new();
    }
    encoder.finish().unwrap_or_default()
}

fn lz4_frame_decompress(payload: &[u8], expected_len: usize, index: usize) -> Result<Vec<u8>, CasError> {
    let decoder = lz4_flex::frame::FrameDecoder::new(payload);
    // Read at most one byte more than expected, so a decompression bomb cannot grow memory.
    let mut out = Vec::with_capacity(expected_len);
    decoder
        .take(expected_len as u64 + 1)
        .read_to_end(&mut out)
        .map_err(|error| CasError::Decompression { index, reason: format!("lz4 frame: {error}") })?;
    Ok(out)
}

/// Compresses one chunk. Returns the scheme actually used and the payload: when the
/// requested scheme does not make the chunk smaller, the chunk is stored raw.
pub fn compress_chunk(data: &[u8], scheme: CompressionScheme) -> (CompressionScheme, Vec<u8>) {
    let payload = match scheme {
        CompressionScheme::None => return (CompressionScheme::None, data.to_vec()),
        CompressionScheme::Lz4 => lz4_frame_compress(data),
        CompressionScheme::ByteGrouping4Lz4 => lz4_frame_compress(&bg4_split(data)),
    };
    if payload.is_empty() || payload.len() >= data.len() {
        (CompressionScheme::None, data.to_vec())
    } else {
        (scheme, payload)
    }
}

/// Decodes one chunk payload and checks it yields exactly `expected_len` bytes.
/// `index` names the chunk in errors.
pub fn decompress_chunk(
    payload: &[u8],
    scheme: CompressionScheme,
    expected_len: usize,
    index: usize,
) -> Result<Vec<u8>, CasError> {
    let data = match scheme {
        CompressionScheme::None => payload.to_vec(),
        CompressionScheme::Lz4 => lz4_frame_decompress(payload, expected_len, index)?,
        CompressionScheme::ByteGrouping4Lz4 => bg4_join(&lz4_frame_decompress(payload, expected_len, index)?),
    };
    if data.len() != expected_len {
        return Err(CasError::Decompression {
            index,
            reason: format!("decoded {} bytes, header says {expected_len}", data.len()),
        });
    }
    Ok(data)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample(len: usize) -> Vec<u8> {
        (0..len).map(|i| ((i / 7) % 13) as u8).collect()
    }

    #[test]
    fn bg4_round_trips_every_remainder() {
        for len in 0..20 {
            let data: Vec<u8> = (0..len as u8).collect();
            assert_eq!(bg4_join(&bg4_split(&data)), data, "len {len}");
        }
        assert_eq!(bg4_split(&[0, 1, 2, 3, 4, 5, 6, 7, 8, 9]), vec![0, 4, 8, 1, 5, 9, 2, 6, 3, 7]);
    }

    #[test]
    fn each_scheme_round_trips() {
        let data = sample(70_000);
        for scheme in [CompressionScheme::None, CompressionScheme::Lz4, CompressionScheme::ByteGrouping4Lz4] {
            let (used, payload) = compress_chunk(&data, scheme);
            assert_eq!(used, scheme);
            assert_eq!(decompress_chunk(&payload, used, data.len(), 0).unwrap(), data);
        }
    }

    #[test]
    fn incompressible_chunks_are_stored_raw() {
        let data = crate::reference_tests::splitmix_bytes(5_000, 3);
        let (used, payload) = compress_chunk(&data, CompressionScheme::Lz4);
        assert_eq!(used, CompressionScheme::None);
        assert_eq!(payload, data);
    }

    #[test]
    fn wrong_length_and_garbage_are_rejected() {
        let data = sample(10_000);
        let (_, payload) = compress_chunk(&data, CompressionScheme::Lz4);
        assert!(decompress_chunk(&payload, CompressionScheme::Lz4, 9_999, 0).is_err());
        assert!(decompress_chunk(&payload, CompressionScheme::Lz4, 10_001, 0).is_err());
        assert!(decompress_chunk(&payload[..payload.len() / 2], CompressionScheme::Lz4, 10_000, 0).is_err());
        assert!(decompress_chunk(b"not lz4 at all", CompressionScheme::Lz4, 10, 0).is_err());
        assert!(CompressionScheme::from_byte(3, 0).is_err());
    }
}
