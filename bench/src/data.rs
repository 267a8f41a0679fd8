//! The benchmark's data set: `stock_transactions` rows with the columns,
//! distributions and seed of the peer kit's `gen_stock.py`, written as zstd
//! Parquet (for batch ingestion and for the peers) and read back as JSON
//! messages (for Kafka).
//!
//! The kit draws from numpy's generator; this one draws the same
//! distributions (numpy's Zipf rejection sampler, clamped as the kit clamps
//! it) from `rand`'s `StdRng` seeded alike, so the two files agree in shape,
//! not row by row. Pass the kit's own file with `--input` for identical rows.

use std::fs::File;
use std::path::Path;
use std::sync::Arc;

use arrow_array::{ArrayRef, Float64Array, Int32Array, Int64Array, RecordBatch, StringArray};
use arrow_schema::{DataType, Field, Schema, SchemaRef};
use parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;
use parquet::arrow::ArrowWriter;
use parquet::basic::{Compression, ZstdLevel};
use parquet::file::properties::WriterProperties;
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

use super::BenchError;

/// Start of the 60-day window of `update_at`, epoch milliseconds.
pub const T0: i64 = 1_780_000_000_000;
const DAY: i64 = 86_400_000;
const SYMBOLS: usize = 5000;
const USERS: i64 = 1_000_000;
const COUNTRIES: usize = 50;
const EXCHANGES: [&str; 10] = [
    "NYSE", "NASDAQ", "LSE", "TSE", "HKEX", "SSE", "EURONEXT", "TSX", "B3", "ASX",
];
const EXCHANGE_WEIGHTS: [f64; 10] = [0.3, 0.3, 0.1, 0.08, 0.06, 0.05, 0.04, 0.03, 0.02, 0.02];
/// Rows per Parquet row group, as the kit writes them.
const ROW_GROUP: usize = 1_000_000;

/// The Arrow schema of the data set.
pub fn schema() -> SchemaRef {
    let field = |name: &str, data_type: DataType| Field::new(name, data_type, false);
    Arc::new(Schema::new(vec![
        field("id", DataType::Int64),
        field("user_id", DataType::Int32),
        field("symbol", DataType::Utf8),
        field("exchange", DataType::Utf8),
        field("country", DataType::Utf8),
        field("side", DataType::Utf8),
        field("shares", DataType::Int32),
        field("price", DataType::Float64),
        field("purchase", DataType::Float64),
        field("update_at", DataType::Int64),
    ]))
}

/// numpy's `Generator.zipf(a)` for `a > 1` (Devroye's rejection method):
/// unbounded ranks from 1.
fn zipf(rng: &mut StdRng, a: f64) -> i64 {
    let am1 = a - 1.0;
    let b = 2f64.powf(am1);
    loop {
        let u = 1.0 - rng.random::<f64>();
        let v = rng.random::<f64>();
        let x = u.powf(-1.0 / am1).floor();
        if !(1.0..=i64::MAX as f64).contains(&x) {
            continue;
        }
        let t = (1.0 + 1.0 / x).powf(am1);
        if v * x * (t - 1.0) / (b - 1.0) <= t / b {
            return x as i64;
        }
    }
}

/// numpy's `round(x, 2)`: half to even on the hundredths.
fn round2(x: f64) -> f64 {
    (x * 100.0).round_ties_even() / 100.0
}

/// Generates `rows` rows as record batches of up to one row group each.
pub fn generate(rows: usize, seed: u64) -> Vec<RecordBatch> {
    let mut rng = StdRng::seed_from_u64(seed);
    let symbol: Vec<usize> = (0..rows)
        .map(|_| (zipf(&mut rng, 1.3) - 1).min(SYMBOLS as i64 - 1) as usize)
        .collect();
    let user: Vec<i32> = (0..rows)
        .map(|_| zipf(&mut rng, 1.2).min(USERS) as i32)
        .collect();
    let exchange: Vec<usize> = (0..rows)
        .map(|_| {
            let mut draw = rng.random::<f64>();
            EXCHANGE_WEIGHTS
                .iter()
                .position(|&weight| {
                    draw -= weight;
                    draw < 0.0
                })
                .unwrap_or(EXCHANGES.len() - 1)
        })
        .collect();
    let country: Vec<usize> = (0..rows)
        .map(|_| (zipf(&mut rng, 1.5) - 1).min(COUNTRIES as i64 - 1) as usize)
        .collect();
    let buy: Vec<bool> = (0..rows).map(|_| rng.random_range(0..2) == 0).collect();
    let shares: Vec<i32> = (0..rows).map(|_| rng.random_range(1..1001)).collect();
    let price: Vec<f64> = symbol
        .iter()
        .map(|&s| round2(10.0 + (s % 500) as f64 + rng.random::<f64>() * 5.0))
        .collect();
    let mut update_at: Vec<i64> = (0..rows)
        .map(|_| T0 + rng.random_range(0..60 * DAY))
        .collect();
    update_at.sort_unstable();

    let symbols: Vec<String> = (0..SYMBOLS).map(|i| format!("S{i:04}")).collect();
    let countries: Vec<String> = (0..COUNTRIES).map(|i| format!("C{i:02}")).collect();
    (0..rows)
        .step_by(ROW_GROUP)
        .map(|start| {
            let range = start..(start + ROW_GROUP).min(rows);
            let columns: Vec<ArrayRef> = vec![
                Arc::new(Int64Array::from_iter_values(
                    range.clone().map(|i| i as i64),
                )),
                Arc::new(Int32Array::from(user[range.clone()].to_vec())),
                Arc::new(StringArray::from_iter_values(
                    symbol[range.clone()].iter().map(|&s| &symbols[s]),
                )),
                Arc::new(StringArray::from_iter_values(
                    exchange[range.clone()].iter().map(|&e| EXCHANGES[e]),
                )),
                Arc::new(StringArray::from_iter_values(
                    country[range.clone()].iter().map(|&c| &countries[c]),
                )),
                Arc::new(StringArray::from_iter_values(
                    buy[range.clone()]
                        .iter()
                        .map(|&buy| if buy { "BUY" } else { "SELL" }),
                )),
                Arc::new(Int32Array::from(shares[range.clone()].to_vec())),
                Arc::new(Float64Array::from(price[range.clone()].to_vec())),
                Arc::new(Float64Array::from_iter_values(
                    range.clone().map(|i| round2(shares[i] as f64 * price[i])),
                )),
                Arc::new(Int64Array::from(update_at[range].to_vec())),
            ];
            RecordBatch::try_new(schema(), columns).expect("columns match the schema")
        })
        .collect()
}

/// Writes batches as zstd Parquet with the kit's row groups, atomically.
pub fn write_parquet(batches: &[RecordBatch], path: &Path) -> Result<(), BenchError> {
    let io = |err: std::io::Error| BenchError::io(path, err);
    let temp = path.with_extension("parquet.tmp");
    let file = File::create(&temp).map_err(io)?;
    let properties = WriterProperties::builder()
        .set_compression(Compression::ZSTD(ZstdLevel::default()))
        .set_max_row_group_row_count(Some(ROW_GROUP))
        .build();
    let parquet = |err: parquet::errors::ParquetError| BenchError::Data {
        path: path.to_path_buf(),
        message: err.to_string(),
    };
    let mut writer = ArrowWriter::try_new(file, schema(), Some(properties)).map_err(parquet)?;
    for batch in batches {
        writer.write(batch).map_err(parquet)?;
    }
    writer.close().map_err(parquet)?;
    std::fs::rename(&temp, path).map_err(io)
}

/// Rows in a Parquet file, from its footer.
pub fn parquet_rows(path: &Path) -> Result<usize, BenchError> {
    let builder = open_parquet(path)?;
    Ok(builder.metadata().file_metadata().num_rows() as usize)
}

/// The reader of a Parquet file, its footer read.
fn open_parquet(path: &Path) -> Result<ParquetRecordBatchReaderBuilder<File>, BenchError> {
    let file = File::open(path).map_err(|err| BenchError::io(path, err))?;
    ParquetRecordBatchReaderBuilder::try_new(file).map_err(|err| BenchError::Data {
        path: path.to_path_buf(),
        message: format!("not a readable Parquet file: {err}"),
    })
}

/// Fails unless the file has the data set's columns, of its types.
pub fn check_columns(path: &Path) -> Result<(), BenchError> {
    let builder = open_parquet(path)?;
    let found = builder.schema();
    for expected in schema().fields() {
        let problem = match found.field_with_name(expected.name()) {
            Err(_) => "missing column",
            Ok(field) if field.data_type() != expected.data_type() => "wrong type for column",
            Ok(_) => continue,
        };
        return Err(BenchError::Data {
            path: path.to_path_buf(),
            message: format!(
                "{problem} `{}` (expected {}); the file must have gen_stock.py's columns",
                expected.name(),
                expected.data_type()
            ),
        });
    }
    Ok(())
}

/// Reads up to `limit` rows of a Parquet file and calls `each` with every
/// row as one JSON object (the kit's `--json` lines), in file order; stops
/// at the first error `each` returns.
pub fn json_rows(
    path: &Path,
    limit: usize,
    mut each: impl FnMut(&[u8]) -> Result<(), BenchError>,
) -> Result<usize, BenchError> {
    let data = |message: String| BenchError::Data {
        path: path.to_path_buf(),
        message,
    };
    let reader = open_parquet(path)?
        .with_batch_size(8192)
        .build()
        .map_err(|err| data(format!("not a readable Parquet file: {err}")))?;
    let mut sent = 0;
    let mut buffer = Vec::new();
    for batch in reader {
        let batch = batch.map_err(|err| data(err.to_string()))?;
        let batch = batch.slice(0, batch.num_rows().min(limit - sent));
        buffer.clear();
        let mut writer = arrow_json::LineDelimitedWriter::new(&mut buffer);
        writer
            .write(&batch)
            .and_then(|()| writer.finish())
            .map_err(|err| data(err.to_string()))?;
        for line in buffer
            .split(|&b| b == b'\n')
            .filter(|line| !line.is_empty())
        {
            each(line)?;
            sent += 1;
        }
        if sent >= limit {
            break;
        }
    }
    Ok(sent)
}

#[cfg(test)]
mod tests {
    use super::*;
    use arrow_array::Array;

    fn column<'a, T: 'static>(batch: &'a RecordBatch, name: &str) -> &'a T {
        batch
            .column_by_name(name)
            .unwrap()
            .as_any()
            .downcast_ref::<T>()
            .unwrap()
    }

    #[test]
    fn same_seed_same_rows() {
        let a = generate(2_000, 42);
        let b = generate(2_000, 42);
        let c = generate(2_000, 7);
        assert_eq!(a, b);
        assert_ne!(a, c);
    }

    #[test]
    fn distributions_match_the_kit() {
        let rows = 200_000;
        let batch = &generate(rows, 42)[0];
        assert_eq!(batch.num_rows(), rows);
        let symbol = column::<StringArray>(batch, "symbol");
        let share =
            |value: &str| symbol.iter().filter(|s| *s == Some(value)).count() as f64 / rows as f64;
        // Zipf(1.3): P(1) = 1/ζ(1.3) ≈ 0.255; ranks past 5000 clamp onto
        // the last symbol (about 6.6% of rows, as in the kit).
        assert!((share("S0000") - 0.255).abs() < 0.01, "{}", share("S0000"));
        assert!((share("S4999") - 0.066).abs() < 0.01, "{}", share("S4999"));
        let exchange = column::<StringArray>(batch, "exchange");
        let nyse = exchange.iter().filter(|e| *e == Some("NYSE")).count() as f64;
        assert!((nyse / rows as f64 - 0.3).abs() < 0.01);
        let users = column::<Int32Array>(batch, "user_id");
        let first = users.values().iter().filter(|&&u| u == 1).count() as f64;
        // Zipf(1.2): P(1) = 1/ζ(1.2) ≈ 0.177.
        assert!((first / rows as f64 - 0.177).abs() < 0.01);
        assert!(users.values().iter().all(|&u| (1..=1_000_000).contains(&u)));
        let update_at = column::<Int64Array>(batch, "update_at");
        assert!(update_at.values().windows(2).all(|w| w[0] <= w[1]));
        assert!(update_at
            .values()
            .iter()
            .all(|&t| (T0..T0 + 60 * DAY).contains(&t)));
        let shares = column::<Int32Array>(batch, "shares");
        let price = column::<Float64Array>(batch, "price");
        let purchase = column::<Float64Array>(batch, "purchase");
        for i in 0..rows {
            assert!((1..=1000).contains(&shares.value(i)));
            assert_eq!(
                purchase.value(i),
                round2(shares.value(i) as f64 * price.value(i))
            );
            let cents = price.value(i) * 100.0;
            assert!((cents - cents.round()).abs() < 1e-6);
        }
        assert_eq!(
            column::<Int64Array>(batch, "id").value(rows - 1),
            rows as i64 - 1
        );
        assert_eq!(batch.column(0).null_count(), 0);
    }

    #[test]
    fn parquet_round_trip_as_json_messages() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("stock.parquet");
        write_parquet(&generate(1_500_001, 42), &path).unwrap();
        assert_eq!(parquet_rows(&path).unwrap(), 1_500_001);
        let mut lines = Vec::new();
        let sent = json_rows(&path, 3, |line| {
            lines.push(line.to_vec());
            Ok(())
        })
        .unwrap();
        assert_eq!(sent, 3);
        let first: serde_json::Value = serde_json::from_slice(&lines[0]).unwrap();
        assert_eq!(first["id"], 0);
        assert_eq!(first.as_object().unwrap().len(), 10);
        let mut count = 0;
        json_rows(&path, usize::MAX, |_| {
            count += 1;
            Ok(())
        })
        .unwrap();
        assert_eq!(count, 1_500_001);
        check_columns(&path).unwrap();
        // A file of other columns is refused, naming the first one missing.
        let other = dir.path().join("other.parquet");
        let batch =
            RecordBatch::try_from_iter([("a", Arc::new(Int64Array::from(vec![1, 2])) as ArrayRef)])
                .unwrap();
        let mut writer =
            ArrowWriter::try_new(File::create(&other).unwrap(), batch.schema(), None).unwrap();
        writer.write(&batch).unwrap();
        writer.close().unwrap();
        let err = check_columns(&other).unwrap_err().to_string();
        assert!(err.contains("missing column `id`"), "{err}");
    }
}
