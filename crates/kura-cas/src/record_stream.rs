//! Decoding a fetched xorb byte range as it arrives: chunk records in, raw chunks out.
//!
//! A reconstruction's `url_range` holds whole chunk records laid end to end (no footer). The
//! decoder buffers at most one incomplete record (8 bytes of header plus the largest payload a
//! header may announce), so memory stays bounded whatever the range's length.

use crate::error::CasError;
use crate::xorb::{CHUNK_HEADER_LEN, ChunkHeader};

/// Decodes chunk records pushed piece by piece.
#[derive(Debug, Default)]
pub struct RecordDecoder {
    /// Bytes of the record being received.
    pending: Vec<u8>,
    /// Its header, once all 8 bytes arrived.
    header: Option<ChunkHeader>,
    /// Records decoded so far (names chunks in errors).
    decoded: usize,
    /// Bytes consumed so far (offsets in errors).
    consumed: usize,
}

impl RecordDecoder {
    pub fn new() -> Self {
        Self::default()
    }

    /// Chunks decoded so far.
    pub fn chunks(&self) -> usize {
        self.decoded
    }

    /// Feeds the next piece of the range; returns the chunks it completed, decoded, in order.
    pub fn push(&mut self, mut data: &[u8]) -> Result<Vec<Vec<u8>>, CasError> {
        let mut out = Vec::new();
        while !data.is_empty() {
            let want = match &self.header {
                None => CHUNK_HEADER_LEN - self.pending.len(),
                Some(header) => CHUNK_HEADER_LEN + header.compressed_len as usize - self.pending.len(),
            };
            let take = want.min(data.len());
            self.pending.extend_from_slice(&data[..take]);
            data = &data[take..];
            if take < want {
                break;
            }
            if self.header.is_none() {
                let bytes: [u8; CHUNK_HEADER_LEN] =
                    self.pending[..CHUNK_HEADER_LEN].try_into().expect("eight header bytes");
                self.header = Some(ChunkHeader::parse(bytes, self.consumed)?);
                // A zero-length payload completes the record at once.
                if self.header.is_some_and(|h| h.compressed_len > 0) {
                    continue;
                }
            }
            out.push(self.complete()?);
        }
        Ok(out)
    }

    fn complete(&mut self) -> Result<Vec<u8>, CasError> {
        let header = self.header.take().expect("a complete record has a header");
        let payload = &self.pending[CHUNK_HEADER_LEN..];
        let chunk = crate::compression::decompress_chunk(
            payload,
            header.scheme,
            header.uncompressed_len as usize,
            self.decoded,
        )?;
        self.consumed += self.pending.len();
        self.pending.clear();
        self.decoded += 1;
        Ok(chunk)
    }

    /// Checks that the range ended on a record boundary.
    pub fn finish(self) -> Result<(), CasError> {
        if self.pending.is_empty() {
            Ok(())
        } else {
            Err(CasError::malformed("chunk records", "the range ends inside a record"))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::compression::CompressionScheme;
    use crate::xorb::XorbWriter;

    fn chunks() -> Vec<Vec<u8>> {
        vec![
            (0..9000u32).map(|i| (i % 7) as u8).collect(),
            (0..20000u32).map(|i| (i.wrapping_mul(2654435761) >> 13) as u8).collect(),
            vec![5u8; 3],
        ]
    }

    fn records(parts: &[Vec<u8>], scheme: CompressionScheme) -> Vec<u8> {
        let mut writer = XorbWriter::new();
        for part in parts {
            writer.add_chunk(part, scheme).unwrap();
        }
        let (bytes, info) = writer.finish();
        // The records alone, as a url_range serves them (no footer).
        bytes[..info.records_len as usize].to_vec()
    }

    #[test]
    fn records_decode_whatever_the_piece_sizes() {
        for scheme in [CompressionScheme::None, CompressionScheme::Lz4, CompressionScheme::ByteGrouping4Lz4] {
            let bytes = records(&chunks(), scheme);
            for piece in [1, 7, 8, 9, 4096, bytes.len()] {
                let mut decoder = RecordDecoder::new();
                let mut got = Vec::new();
                for part in bytes.chunks(piece) {
                    got.extend(decoder.push(part).unwrap());
                }
                assert_eq!(decoder.chunks(), 3);
                decoder.finish().unwrap();
                assert_eq!(got, chunks(), "{scheme:?} in pieces of {piece}");
            }
        }
    }

    #[test]
    fn a_range_cut_inside_a_record_or_with_a_bad_header_is_refused() {
        let bytes = records(&chunks(), CompressionScheme::Lz4);
        let mut decoder = RecordDecoder::new();
        decoder.push(&bytes[..bytes.len() - 1]).unwrap();
        assert!(decoder.finish().is_err());
        let mut bad = bytes.clone();
        bad[0] = 9;
        assert!(RecordDecoder::new().push(&bad).is_err());
        // A header announcing more than any chunk may hold fails before its payload is buffered.
        let mut huge = vec![0u8, 0xff, 0xff, 0xff, 0, 0xff, 0xff, 0xff];
        huge.extend_from_slice(&[0; 16]);
        assert!(RecordDecoder::new().push(&huge).is_err());
    }
}
