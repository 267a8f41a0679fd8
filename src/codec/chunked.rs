//! Variable-width values compressed in chunks of consecutive values: the
//! forward index of a text or bytes column stored without a dictionary,
//! with Pinot's `compressionCodec` (LZ4, ZSTANDARD, SNAPPY, GZIP).
//!
//! ```text
//! block      := chunk_values:u32 chunks:u32 chunk_end:u64{chunks} chunk*
//!               (chunk ends count from the first chunk)
//! chunk      := raw_len:u32 compressed
//! compressed := codec( offset:u32{n+1} byte* )     n = chunk_values, fewer in the last
//! ```
//!
//! Value `i` is in chunk `i / chunk_values`. A reader ([`VarReader`])
//! keeps the chunk it last decompressed, so reading values in order
//! decompresses each chunk once. [`Chunked::validate`] decompresses every
//! chunk and checks its offsets, once when a segment opens; afterwards a
//! chunk that cannot be read (a file changed under its mapping) reads as
//! empty values rather than failing.

use std::io::Read;

use super::error::{Error, Result};
use super::var::Var;

/// How chunks are compressed: Pinot's `compressionCodec` values.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Compression {
    Lz4,
    Zstd,
    Snappy,
    Gzip,
}

/// The codec of values stored without a `compressionCodec`.
pub const DEFAULT_COMPRESSION: Compression = Compression::Lz4;

/// Uncompressed bytes a chunk aims at: large enough for the codecs to find
/// repeats, small enough that reading one value decompresses little.
pub const CHUNK_TARGET_BYTES: usize = 64 << 10;
/// Values per chunk, at most: a power of two no larger than a query batch.
const MAX_CHUNK_VALUES: usize = 2048;
/// The largest chunk a reader decompresses.
const MAX_RAW_CHUNK: usize = 1 << 30;

impl Compression {
    /// The codec named by Pinot's `compressionCodec`; `Ok(None)` for
    /// `PASS_THROUGH` (stored uncompressed).
    pub fn from_pinot(name: &str) -> std::result::Result<Option<Compression>, String> {
        Ok(Some(match name.to_ascii_uppercase().as_str() {
            "PASS_THROUGH" => return Ok(None),
            "LZ4" | "LZ4_LENGTH_PREFIXED" => Compression::Lz4,
            "ZSTANDARD" | "ZSTD" => Compression::Zstd,
            "SNAPPY" => Compression::Snappy,
            "GZIP" => Compression::Gzip,
            _ => {
                return Err(format!(
                    "unknown compressionCodec `{name}`; expected PASS_THROUGH, LZ4, ZSTANDARD, SNAPPY or GZIP"
                ))
            }
        }))
    }

    /// The name written in segment footers (Pinot's).
    pub fn name(self) -> &'static str {
        match self {
            Compression::Lz4 => "LZ4",
            Compression::Zstd => "ZSTANDARD",
            Compression::Snappy => "SNAPPY",
            Compression::Gzip => "GZIP",
        }
    }

    fn compress(self, raw: &[u8]) -> Result<Vec<u8>> {
        let failed = |err: String| Error::TooLarge(format!("{} compression: {err}", self.name()));
        Ok(match self {
            Compression::Lz4 => lz4_flex::block::compress(raw),
            Compression::Zstd => zstd::bulk::compress(raw, 3).map_err(|e| failed(e.to_string()))?,
            Compression::Snappy => snap::raw::Encoder::new()
                .compress_vec(raw)
                .map_err(|e| failed(e.to_string()))?,
            Compression::Gzip => {
                use std::io::Write;
                let mut encoder =
                    flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
                encoder
                    .write_all(raw)
                    .and_then(|_| encoder.finish())
                    .map_err(|e| failed(e.to_string()))?
            }
        })
    }

    /// Decompresses `data` into `out`, which must come out `raw_len` long.
    /// `zstd` keeps a ZSTANDARD decompression context between chunks.
    fn decompress(
        self,
        data: &[u8],
        raw_len: usize,
        out: &mut Vec<u8>,
        zstd: &mut Option<zstd::bulk::Decompressor<'static>>,
    ) -> Result<()> {
        let failed = |err: String| {
            Error::Malformed(format!(
                "a {} chunk does not decompress: {err}",
                self.name()
            ))
        };
        if raw_len > MAX_RAW_CHUNK {
            return Err(failed(format!(
                "{raw_len} bytes exceed the {MAX_RAW_CHUNK} a chunk may hold"
            )));
        }
        out.clear();
        out.resize(raw_len, 0);
        let written = match self {
            Compression::Lz4 => {
                lz4_flex::block::decompress_into(data, out).map_err(|e| failed(e.to_string()))?
            }
            Compression::Zstd => {
                let context = match zstd {
                    Some(context) => context,
                    None => zstd.insert(
                        zstd::bulk::Decompressor::new().map_err(|e| failed(e.to_string()))?,
                    ),
                };
                context
                    .decompress_to_buffer(data, out.as_mut_slice())
                    .map_err(|e| failed(e.to_string()))?
            }
            Compression::Snappy => snap::raw::Decoder::new()
                .decompress(data, out)
                .map_err(|e| failed(e.to_string()))?,
            Compression::Gzip => {
                out.clear();
                flate2::read::GzDecoder::new(data)
                    .take(raw_len as u64 + 1)
                    .read_to_end(out)
                    .map_err(|e| failed(e.to_string()))?
            }
        };
        if written != raw_len {
            return Err(failed(format!(
                "{written} bytes where the chunk claims {raw_len}"
            )));
        }
        Ok(())
    }
}

/// Values per chunk for values averaging `mean_len` bytes: a power of two
/// that makes chunks about [`CHUNK_TARGET_BYTES`].
pub fn chunk_values(mean_len: usize) -> usize {
    (CHUNK_TARGET_BYTES / mean_len.max(1))
        .clamp(1, MAX_CHUNK_VALUES)
        .next_power_of_two()
        .min(MAX_CHUNK_VALUES)
}

/// Encodes values (`offsets` holds their `n+1` boundaries in `data`) as a
/// chunked block.
pub fn encode(offsets: &[usize], data: &[u8], compression: Compression) -> Result<Vec<u8>> {
    let count = offsets.len().saturating_sub(1);
    let per_chunk = chunk_values(data.len() / count.max(1));
    let chunks = count.div_ceil(per_chunk);
    let mut body = Vec::new();
    let mut ends = Vec::with_capacity(chunks);
    let mut raw = Vec::new();
    for chunk in 0..chunks {
        let first = chunk * per_chunk;
        let last = (first + per_chunk).min(count);
        let (start, end) = (offsets[first], offsets[last]);
        raw.clear();
        for offset in &offsets[first..=last] {
            let local = u32::try_from(offset - start).map_err(|_| {
                Error::TooLarge(format!(
                    "{} bytes of values in one chunk exceed 4 GiB",
                    end - start
                ))
            })?;
            raw.extend_from_slice(&local.to_le_bytes());
        }
        raw.extend_from_slice(&data[start..end]);
        let raw_len = u32::try_from(raw.len()).map_err(|_| {
            Error::TooLarge(format!("a chunk of {} bytes exceeds 4 GiB", raw.len()))
        })?;
        body.extend_from_slice(&raw_len.to_le_bytes());
        body.extend_from_slice(&compression.compress(&raw)?);
        ends.push(body.len() as u64);
    }
    let mut out = Vec::with_capacity(8 + chunks * 8 + body.len());
    out.extend_from_slice(&(per_chunk as u32).to_le_bytes());
    out.extend_from_slice(&(chunks as u32).to_le_bytes());
    for end in ends {
        out.extend_from_slice(&end.to_le_bytes());
    }
    out.extend_from_slice(&body);
    Ok(out)
}

/// A chunked block, borrowed from a mapped file.
#[derive(Debug, Clone, Copy)]
pub struct Chunked<'a> {
    ends: &'a [u64],
    data: &'a [u8],
    per_chunk: usize,
    count: usize,
    text: bool,
    compression: Compression,
}

impl<'a> Chunked<'a> {
    /// Reads the block's directory; `count` values, from a file, not trusted.
    pub fn parse(
        bytes: &'a [u8],
        count: usize,
        text: bool,
        compression: Compression,
    ) -> Result<Chunked<'a>> {
        let malformed = |what: &str| Error::Malformed(format!("compressed values: {what}"));
        let word = |at: usize| {
            bytes
                .get(at..at + 4)
                .map(|b| u32::from_le_bytes([b[0], b[1], b[2], b[3]]) as usize)
                .ok_or_else(|| malformed("the block is shorter than its header"))
        };
        let (per_chunk, chunks) = (word(0)?, word(4)?);
        if per_chunk == 0 || count.div_ceil(per_chunk) != chunks {
            return Err(malformed(&format!(
                "{chunks} chunks of {per_chunk} values cannot hold {count} values"
            )));
        }
        let data_start = chunks
            .checked_mul(8)
            .and_then(|len| len.checked_add(8))
            .filter(|start| *start <= bytes.len())
            .ok_or_else(|| malformed("the chunk directory is past the block's end"))?;
        let ends: &[u64] = bytemuck::try_cast_slice(&bytes[8..data_start])
            .map_err(|err| malformed(&format!("chunk directory: {err}")))?;
        let data = &bytes[data_start..];
        let mut previous = 0;
        for &end in ends {
            if end < previous + 4 || end > data.len() as u64 {
                return Err(malformed("chunk ends are out of order or past the block"));
            }
            previous = end;
        }
        if previous != data.len() as u64 {
            return Err(malformed("chunks do not end at the block's end"));
        }
        Ok(Chunked {
            ends,
            data,
            per_chunk,
            count,
            text,
            compression,
        })
    }

    pub fn len(&self) -> usize {
        self.count
    }

    pub fn is_empty(&self) -> bool {
        self.count == 0
    }

    /// Whether the values are UTF-8 text (else raw bytes).
    pub fn is_text(&self) -> bool {
        self.text
    }

    pub fn compression(&self) -> Compression {
        self.compression
    }

    /// The full check done once when a segment opens: every chunk
    /// decompresses to offsets in order that end at its data's end.
    pub fn validate(&self) -> Result<()> {
        let mut chunk = Chunk::default();
        (0..self.ends.len()).try_for_each(|index| self.read(index, &mut chunk))
    }

    /// Decompresses chunk `index` into `chunk`, checking its layout.
    fn read(&self, index: usize, chunk: &mut Chunk) -> Result<()> {
        let start = if index == 0 {
            0
        } else {
            self.ends[index - 1] as usize
        };
        let bytes = &self.data[start..self.ends[index] as usize];
        let raw_len = u32::from_le_bytes([bytes[0], bytes[1], bytes[2], bytes[3]]) as usize;
        chunk.index = None;
        self.compression
            .decompress(&bytes[4..], raw_len, &mut chunk.raw, &mut chunk.zstd)?;
        let values = (self.count - index * self.per_chunk).min(self.per_chunk);
        let header = (values + 1) * 4;
        let malformed = |what: &str| Error::Malformed(format!("compressed chunk {index}: {what}"));
        if chunk.raw.len() < header {
            return Err(malformed("shorter than its offsets"));
        }
        chunk.offsets.clear();
        chunk.offsets.extend(
            chunk.raw[..header]
                .chunks_exact(4)
                .map(|b| u32::from_le_bytes([b[0], b[1], b[2], b[3]])),
        );
        let data_len = chunk.raw.len() - header;
        if chunk.offsets[0] != 0
            || chunk.offsets.windows(2).any(|pair| pair[0] > pair[1])
            || chunk.offsets[values] as usize != data_len
        {
            return Err(malformed("value offsets are out of order"));
        }
        chunk.header = header;
        chunk.index = Some(index);
        Ok(())
    }
}

/// One decompressed chunk, and what decompressing the next one reuses.
#[derive(Default)]
struct Chunk {
    index: Option<usize>,
    raw: Vec<u8>,
    offsets: Vec<u32>,
    header: usize,
    zstd: Option<zstd::bulk::Decompressor<'static>>,
}

impl std::fmt::Debug for Chunk {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Chunk")
            .field("index", &self.index)
            .field("bytes", &self.raw.len())
            .finish()
    }
}

impl Chunk {
    fn value(&self, local: usize) -> &[u8] {
        let data = &self.raw[self.header..];
        &data[self.offsets[local] as usize..self.offsets[local + 1] as usize]
    }
}

/// The stored values of a text or bytes column without a dictionary, as
/// written or compressed in chunks.
#[derive(Debug, Clone, Copy)]
pub enum VarBlock<'a> {
    Plain(Var<'a>),
    Chunked(Chunked<'a>),
}

impl<'a> VarBlock<'a> {
    pub fn len(&self) -> usize {
        match self {
            VarBlock::Plain(var) => var.len(),
            VarBlock::Chunked(chunked) => chunked.len(),
        }
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    pub fn is_text(&self) -> bool {
        match self {
            VarBlock::Plain(var) => var.is_text(),
            VarBlock::Chunked(chunked) => chunked.is_text(),
        }
    }

    /// The full check done once when a segment opens.
    pub fn validate(&self) -> Result<()> {
        match self {
            VarBlock::Plain(var) => var.validate(),
            VarBlock::Chunked(chunked) => chunked.validate(),
        }
    }

    /// A reader of the values, which keeps the chunk it last read.
    pub fn reader(&self) -> VarReader<'a> {
        VarReader {
            block: *self,
            chunk: Chunk::default(),
        }
    }
}

/// Reads a [`VarBlock`]'s values by index.
#[derive(Debug)]
pub struct VarReader<'a> {
    block: VarBlock<'a>,
    chunk: Chunk,
}

impl VarReader<'_> {
    /// Value `index`, below the block's length.
    #[inline]
    pub fn get(&mut self, index: usize) -> &[u8] {
        match &self.block {
            VarBlock::Plain(var) => var.bytes_at(index),
            VarBlock::Chunked(chunked) => {
                let wanted = index / chunked.per_chunk;
                if self.chunk.index != Some(wanted)
                    && chunked.read(wanted, &mut self.chunk).is_err()
                {
                    return &[];
                }
                self.chunk.value(index % chunked.per_chunk)
            }
        }
    }

    pub fn is_text(&self) -> bool {
        self.block.is_text()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const ALL: [Compression; 4] = [
        Compression::Lz4,
        Compression::Zstd,
        Compression::Snappy,
        Compression::Gzip,
    ];

    fn values(count: usize) -> (Vec<usize>, Vec<u8>) {
        let mut offsets = vec![0];
        let mut data = Vec::new();
        for i in 0..count {
            // Lengths from 0 to 150 bytes, some empty.
            let text = format!("value {i} {}", "carefully ".repeat(i % 15));
            let text = if i % 7 == 0 { "" } else { text.as_str() };
            data.extend_from_slice(text.as_bytes());
            offsets.push(data.len());
        }
        (offsets, data)
    }

    #[test]
    fn every_codec_reads_back_every_value_in_any_order() {
        for count in [0, 1, 5, 1024, 3000] {
            let (offsets, data) = values(count);
            for compression in ALL {
                let block = encode(&offsets, &data, compression).unwrap();
                let chunked = Chunked::parse(&block, count, true, compression).unwrap();
                chunked.validate().unwrap();
                let mut reader = VarBlock::Chunked(chunked).reader();
                let expect = |i: usize| &data[offsets[i]..offsets[i + 1]];
                for i in 0..count {
                    assert_eq!(reader.get(i), expect(i), "{compression:?} value {i}");
                }
                for i in (0..count).rev().step_by(97) {
                    assert_eq!(reader.get(i), expect(i), "{compression:?} value {i}");
                }
            }
        }
    }

    #[test]
    fn repetitive_text_is_stored_smaller() {
        let (offsets, data) = values(5000);
        for compression in ALL {
            let block = encode(&offsets, &data, compression).unwrap();
            assert!(
                block.len() * 3 < data.len(),
                "{compression:?}: {}",
                block.len()
            );
        }
    }

    #[test]
    fn damaged_blocks_are_refused_not_read() {
        let (offsets, data) = values(3000);
        let block = encode(&offsets, &data, Compression::Lz4).unwrap();
        // A count the chunks cannot hold, a truncated block, a flipped byte.
        assert!(Chunked::parse(&block, 9000, true, Compression::Lz4).is_err());
        assert!(Chunked::parse(&block[..block.len() - 3], 3000, true, Compression::Lz4).is_err());
        assert!(Chunked::parse(&block[..6], 3000, true, Compression::Lz4).is_err());
        for at in (8..block.len()).step_by(61) {
            let mut damaged = block.clone();
            damaged[at] ^= 0x5a;
            if let Ok(chunked) = Chunked::parse(&damaged, 3000, true, Compression::Lz4) {
                // Either refused when checked, or every value still reads
                // without panicking.
                if chunked.validate().is_err() {
                    continue;
                }
                let mut reader = VarBlock::Chunked(chunked).reader();
                (0..3000).for_each(|i| {
                    reader.get(i);
                });
            }
        }
        // Read with the wrong codec: refused.
        let chunked = Chunked::parse(&block, 3000, true, Compression::Zstd).unwrap();
        assert!(chunked.validate().is_err());
    }

    #[test]
    fn pinot_codec_names() {
        assert_eq!(Compression::from_pinot("PASS_THROUGH"), Ok(None));
        assert_eq!(Compression::from_pinot("lz4"), Ok(Some(Compression::Lz4)));
        assert_eq!(
            Compression::from_pinot("ZSTANDARD"),
            Ok(Some(Compression::Zstd))
        );
        let err = Compression::from_pinot("BROTLI").unwrap_err();
        assert!(err.contains("expected PASS_THROUGH, LZ4"), "{err}");
    }
}
