//! Encodes one output file: Parquet (row groups of at most 128Ki rows, page
//! statistics, the configured codec) or newline-delimited JSON objects.
//! Both are deterministic: the same rows give the same bytes, which is what
//! lets a replayed export recognise its own earlier output.

use arrow_array::RecordBatch;
use parquet::arrow::ArrowWriter;
use parquet::basic::{Compression, GzipLevel, ZstdLevel};
use parquet::file::properties::{EnabledStatistics, WriterProperties};

use super::error::{Error, Result};
use super::{Codec, Format};

/// Rows per Parquet row group.
const ROW_GROUP_ROWS: usize = 128 * 1024;

/// The file's bytes.
pub fn encode(format: Format, batch: &RecordBatch) -> Result<Vec<u8>> {
    match format {
        Format::Parquet(codec) => parquet(codec, batch),
        Format::Json => json_lines(batch),
    }
}

fn parquet(codec: Codec, batch: &RecordBatch) -> Result<Vec<u8>> {
    let compression = match codec {
        Codec::None => Compression::UNCOMPRESSED,
        Codec::Snappy => Compression::SNAPPY,
        Codec::Gzip => Compression::GZIP(GzipLevel::default()),
        Codec::Zstd => Compression::ZSTD(ZstdLevel::default()),
        Codec::Lz4 => Compression::LZ4_RAW,
    };
    let properties = WriterProperties::builder()
        .set_compression(compression)
        .set_max_row_group_row_count(Some(ROW_GROUP_ROWS))
        .set_statistics_enabled(EnabledStatistics::Page)
        .set_created_by("gamay".to_string())
        .build();
    let mut out = Vec::new();
    let mut writer = ArrowWriter::try_new(&mut out, batch.schema(), Some(properties))
        .map_err(Error::ParquetStart)?;
    writer.write(batch).map_err(Error::ParquetEncode)?;
    writer.close().map_err(Error::ParquetFinish)?;
    Ok(out)
}

fn json_lines(batch: &RecordBatch) -> Result<Vec<u8>> {
    let mut out = Vec::new();
    let mut writer = arrow_json::LineDelimitedWriter::new(&mut out);
    writer.write(batch).map_err(Error::JsonEncode)?;
    writer.finish().map_err(Error::JsonFinish)?;
    Ok(out)
}
