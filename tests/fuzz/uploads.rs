//! Files from outside through the real server: mutated Parquet, CSV and
//! JSON uploads to `POST /ingestFromFile` must answer 4xx (or ingest what
//! is good), never 5xx; then the table's segment files are damaged on
//! disk (checksums fixed, as in `segments.rs`) and the server restarted on
//! them: it must come up, leave the bad segments out, and answer queries
//! and segment listings without a 5xx. Gamay has no segment upload
//! endpoint; these are the two ways segment bytes reach it from outside.

use std::path::Path;
use std::sync::Arc;

use arrow_array::{ArrayRef, Float64Array, Int32Array, Int64Array, RecordBatch, StringArray};
use rand::rngs::StdRng;
use rand::Rng;
use serde_json::{json, Value};

use super::budget::{Budget, Findings};
use super::bytes::mutate_bytes;
use super::http::{judge, short, Server};
use super::mutate::Mutator;
use super::segments;

const TABLE: &str = "fz_OFFLINE";

fn parquet(rows: &[Value]) -> Vec<u8> {
    let column = |name: &'static str| rows.iter().map(move |row| row[name].clone());
    let batch = RecordBatch::try_from_iter([
        (
            "id",
            Arc::new(Int64Array::from_iter(column("id").map(|v| v.as_i64()))) as ArrayRef,
        ),
        (
            "user_id",
            Arc::new(Int32Array::from_iter(
                column("user_id").map(|v| v.as_i64().map(|v| v as i32)),
            )),
        ),
        (
            "symbol",
            Arc::new(StringArray::from_iter(
                column("symbol").map(|v| v.as_str().map(str::to_string)),
            )),
        ),
        (
            "price",
            Arc::new(Float64Array::from_iter(column("price").map(|v| v.as_f64()))),
        ),
        (
            "ts",
            Arc::new(Int64Array::from_iter(column("ts").map(|v| v.as_i64()))),
        ),
    ])
    .unwrap();
    let mut out = Vec::new();
    let mut writer = parquet::arrow::ArrowWriter::try_new(&mut out, batch.schema(), None).unwrap();
    writer.write(&batch).unwrap();
    writer.close().unwrap();
    out
}

fn csv(rows: &[Value]) -> Vec<u8> {
    let mut out = String::from("id,user_id,symbol,side,shares,price,fee,ts,tags\n");
    for row in rows {
        let tags: Vec<String> = row["tags"]
            .as_array()
            .map(|tags| {
                tags.iter()
                    .filter_map(|t| t.as_str().map(str::to_string))
                    .collect()
            })
            .unwrap_or_default();
        out.push_str(&format!(
            "{},{},{},{},{},{},{},{},{}\n",
            row["id"],
            row["user_id"],
            row["symbol"].as_str().unwrap_or(""),
            row["side"].as_str().unwrap_or(""),
            row["shares"],
            row["price"],
            row["fee"],
            row["ts"],
            tags.join(";")
        ));
    }
    out.into_bytes()
}

fn json_lines(rows: &[Value]) -> Vec<u8> {
    let mut out = Vec::new();
    for row in rows {
        out.extend_from_slice(row.to_string().as_bytes());
        out.push(b'\n');
    }
    out
}

/// A mutated upload: format, bytes, what was done.
fn upload(rows: &[Value], mutator: &Mutator, rng: &mut StdRng) -> (&'static str, Vec<u8>, String) {
    let format = ["parquet", "csv", "json"][rng.random_range(0..3)];
    let mut bytes = match format {
        "parquet" => parquet(rows),
        "csv" => csv(rows),
        _ => json_lines(rows),
    };
    if format == "json" && rng.random_bool(0.5) {
        // One line mutated as JSON, the others good.
        let line = rng.random_range(0..rows.len());
        let mut lines: Vec<Vec<u8>> = rows
            .iter()
            .map(|row| row.to_string().into_bytes())
            .collect();
        let mutant = mutator.mutate(&rows[line], rng);
        lines[line] = mutant.bytes;
        return (
            format,
            lines.join(&b'\n'),
            format!("line {line}: {}", mutant.steps.join("; ")),
        );
    }
    let mut what = Vec::new();
    for _ in 0..rng.random_range(1..4) {
        what.push(mutate_bytes(&mut bytes, rng));
    }
    (format, bytes, what.join("; "))
}

pub fn run_target(data_dir: &Path, ci_cases: u64, restarts: usize) {
    let mut server = Server::start(data_dir);
    for (path, body) in [
        ("/schemas", segments::schema()),
        ("/tables", segments::table()),
    ] {
        let answer = server
            .call("POST", path, Some(body.to_string().as_bytes()))
            .unwrap();
        assert!(answer.ok(), "{path}: {}", answer.text);
    }
    let rows = segments::rows(300, 2);
    let mutator = Mutator::new(&rows[..20]);
    let mut budget = Budget::from_env("uploads", ci_cases);
    let mut findings = Findings::default();
    // Good files first: the table has segments to damage later.
    for format in ["parquet", "csv", "json"] {
        let bytes = match format {
            "parquet" => parquet(&rows),
            "csv" => csv(&rows),
            _ => json_lines(&rows),
        };
        let answer = server
            .send(
                "POST",
                &ingest_path(format),
                "application/octet-stream",
                Some(&bytes),
            )
            .unwrap();
        assert!(answer.ok(), "good {format} file: {}", answer.text);
    }
    let mut tally = Tally {
        secret: data_dir.display().to_string(),
        ..Tally::default()
    };
    // Files that once found a bug, then the mutants.
    let corpus = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fuzz/corpus/uploads");
    let mut kept: Vec<_> = std::fs::read_dir(&corpus)
        .map(|entries| entries.flatten().map(|entry| entry.path()).collect())
        .unwrap_or_default();
    kept.sort();
    for path in kept {
        let format = match path.extension().and_then(|ext| ext.to_str()) {
            Some("parquet") => "parquet",
            Some("csv") => "csv",
            _ => "json",
        };
        let bytes = std::fs::read(&path).unwrap();
        let what = format!("corpus file {}", path.display());
        tally.upload(
            &mut server,
            &mut findings,
            &budget,
            u64::MAX,
            format,
            &bytes,
            &what,
        );
    }
    while let Some((case, mut rng)) = budget.next_case() {
        let (format, bytes, what) = upload(&rows, &mutator, &mut rng);
        tally.upload(
            &mut server,
            &mut findings,
            &budget,
            case,
            format,
            &bytes,
            &what,
        );
        if !server.alive() {
            findings.add(
                &budget,
                case,
                format!("the server died on a {format} upload: {what}"),
            );
            break;
        }
    }
    let uploaded = budget.elapsed();
    for round in 0..restarts {
        let case = u64::MAX - round as u64;
        if let Err(problem) = server.stop() {
            findings.add(&budget, case, format!("shutdown: {problem}"));
            break;
        }
        let damaged = damage_segments(data_dir, &mut budget.rng(case));
        server = Server::start(data_dir);
        for path in ["/segments/fz", "/tables/fz/metadata"] {
            check(
                &server,
                &mut findings,
                &budget,
                case,
                "GET",
                path,
                None,
                &damaged,
            );
        }
        for sql in [
            "SELECT COUNT(*), SUM(shares), MAX(price) FROM fz",
            "SELECT symbol, COUNT(*) FROM fz WHERE user_id IN (1, 2) GROUP BY symbol",
            "SELECT * FROM fz WHERE tags = 't1' ORDER BY ts LIMIT 10",
        ] {
            let body = json!({ "sql": sql }).to_string();
            check(
                &server,
                &mut findings,
                &budget,
                case,
                "POST",
                "/query/sql",
                Some(&body),
                &damaged,
            );
        }
        for panic in server.panics() {
            findings.add(
                &budget,
                case,
                format!("the server logged a panic on damaged segments ({damaged}): {panic}"),
            );
        }
    }
    eprintln!(
        "fuzz uploads: {} files in {:.1} s {:?}, {} Parquet decoder panics caught and answered 400; {restarts} restart(s) on damaged segment files in {:.1} s; {} finding(s)",
        tally.statuses.values().sum::<u64>(),
        uploaded.as_secs_f64(),
        tally.statuses,
        tally.caught,
        (budget.elapsed() - uploaded).as_secs_f64(),
        findings.len()
    );
    findings.assert_none(&budget);
}

/// Answers to uploads, judged as they come.
#[derive(Default)]
struct Tally {
    statuses: std::collections::BTreeMap<u16, u64>,
    /// Panics of the Parquet and Arrow decoders the server caught.
    caught: u64,
    /// Text no answer may contain: the data directory.
    secret: String,
}

impl Tally {
    /// Uploads `bytes` as `format` and judges the answer and the log.
    #[allow(clippy::too_many_arguments)]
    fn upload(
        &mut self,
        server: &mut Server,
        findings: &mut Findings,
        budget: &Budget,
        case: u64,
        format: &'static str,
        bytes: &[u8],
        what: &str,
    ) {
        let answer = server.send(
            "POST",
            &ingest_path(format),
            "application/octet-stream",
            Some(bytes),
        );
        let refused = match answer {
            Ok(answer) => {
                *self.statuses.entry(answer.status).or_default() += 1;
                if let Some(problem) = judge(&answer, &self.secret) {
                    findings.add(
                        budget,
                        case,
                        format!("{format} upload {problem}\n  mutations: {what}"),
                    );
                    findings.save(case, format, bytes);
                }
                (400..500).contains(&answer.status)
            }
            Err(err) => {
                findings.add(
                    budget,
                    case,
                    format!("{format} upload: {err}\n  mutations: {what}"),
                );
                false
            }
        };
        for panic in server.panics() {
            // Their message still reaches the log; the request is refused.
            let decoder = panic.contains("/parquet-") || panic.contains("/arrow-");
            if refused && decoder {
                self.caught += 1;
            } else {
                findings.add(
                    budget,
                    case,
                    format!("the server logged a panic: {panic}\n  mutations: {what}"),
                );
            }
        }
    }
}

fn ingest_path(format: &str) -> String {
    let config = json!({ "inputFormat": format }).to_string();
    let mut encoded = String::new();
    for byte in config.bytes() {
        if byte.is_ascii_alphanumeric() {
            encoded.push(byte as char);
        } else {
            encoded.push_str(&format!("%{byte:02X}"));
        }
    }
    format!("/ingestFromFile?tableNameWithType={TABLE}&batchConfigMapStr={encoded}")
}

/// A request after a restart on damaged segments: answered, without a 5xx.
#[allow(clippy::too_many_arguments)]
fn check(
    server: &Server,
    findings: &mut Findings,
    budget: &Budget,
    case: u64,
    method: &str,
    path: &str,
    body: Option<&str>,
    damaged: &str,
) {
    match server.call(method, path, body.map(str::as_bytes)) {
        Ok(answer) if answer.status >= 500 => findings.add(
            budget,
            case,
            format!(
                "{method} {path} {body:?} answered {} on damaged segments ({damaged}): {}",
                answer.status,
                short(&answer.text)
            ),
        ),
        Ok(_) => {}
        Err(err) => findings.add(
            budget,
            case,
            format!("{err} on damaged segments ({damaged})"),
        ),
    }
}

/// Damages every segment file of the table; says what was done.
fn damage_segments(data_dir: &Path, rng: &mut StdRng) -> String {
    let dir = data_dir.join("tables").join(TABLE).join("segments");
    let mut what = Vec::new();
    let Ok(entries) = std::fs::read_dir(&dir) else {
        return "no segment directory".into();
    };
    let mutator = Mutator::new(&[]);
    for entry in entries.flatten() {
        let path = entry.path();
        if path.extension().is_none_or(|ext| ext != "seg") {
            continue;
        }
        let Ok(bytes) = std::fs::read(&path) else {
            continue;
        };
        let Some(parsed) = segments::split(&bytes) else {
            continue;
        };
        let (damaged, how) = segments::mutate(&parsed, &mutator, rng);
        std::fs::write(&path, damaged).unwrap();
        what.push(format!(
            "{}: {how}",
            path.file_name().unwrap_or_default().to_string_lossy()
        ));
    }
    what.join("; ")
}
