//! `gamay bench` as a user runs it, on a small data set: the `gamay`
//! binary runs the `gamay-bench` binary beside it, every phase runs, the
//! report holds every figure the command promises, the charts are written,
//! each query's answer matches DuckDB's (and one that differs fails the
//! run), and bad arguments are refused with a message naming them.
//!
//! The `gamay` binary is the one beside `gamay-bench` in the target
//! directory: the workspace's tests (`tests/run`, `cargo test`) build it;
//! `cargo test -p gamay-bench` alone does not rebuild it.
//!
//! The peers phase and the answer check run DuckDB through the bundled
//! `peers.py` when `GAMAY_BENCH_PYTHON` names a Python with duckdb
//! (`tests/services.sh` prints it); with `GAMAY_REQUIRE_SERVICES=1` its
//! absence fails the test.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use serde_json::Value;

/// The `gamay` binary built beside `gamay-bench`.
fn gamay_binary() -> PathBuf {
    let harness = Path::new(env!("CARGO_BIN_EXE_gamay-bench"));
    let gamay = harness.with_file_name(format!("gamay{}", std::env::consts::EXE_SUFFIX));
    assert!(
        gamay.is_file(),
        "{} is not built: run the workspace's tests (tests/run), or `cargo build -p gamay` first",
        gamay.display()
    );
    gamay
}

fn gamay(args: &[&str]) -> Output {
    Command::new(gamay_binary())
        .args(args)
        .env("RUST_LOG", "error")
        .env_remove("GAMAY_BENCH_SERVER")
        .output()
        .expect("the gamay binary runs")
}

/// `gamay bench` on `rows` rows with one run of each query on one client,
/// no Kafka and no isolation phase, writing to `out`; `extra` adds
/// arguments (the peers among them).
fn short_run(rows: &str, out: &Path, extra: &[&str]) -> Output {
    let mut args = vec![
        "bench",
        "--rows",
        rows,
        "--runs",
        "1",
        "--clients",
        "1",
        "--seconds",
        "0.1",
        "--kafka-rows",
        "0",
        "--isolation-seconds",
        "0",
        "--out",
        out.to_str().unwrap(),
    ];
    args.extend(extra);
    gamay(&args)
}

fn python() -> Option<String> {
    let python = std::env::var("GAMAY_BENCH_PYTHON").ok();
    if python.is_none() && std::env::var("GAMAY_REQUIRE_SERVICES").as_deref() == Ok("1") {
        panic!("GAMAY_BENCH_PYTHON is not set: run the tests through tests/run");
    }
    python
}

#[test]
fn a_small_run_measures_every_phase() {
    let out = tempfile::tempdir().unwrap();
    let out_dir = out.path().to_str().unwrap();
    let python = python();
    let peers = if python.is_some() { "duckdb" } else { "none" };
    let mut args = vec![
        "bench",
        "--rows",
        "30000",
        "--runs",
        "3",
        "--clients",
        "1,4",
        "--seconds",
        "0.3",
        "--kafka-rows",
        "20000",
        "--fresh-rate",
        "2000",
        "--fresh-seconds",
        "1.5",
        "--isolation-seconds",
        "0.5",
        "--peers",
        peers,
        "--out",
        out_dir,
    ];
    if let Some(python) = &python {
        args.extend(["--python", python.as_str()]);
    }
    let output = gamay(&args);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(output.status.success(), "gamay bench failed:\n{stderr}");

    let report: Value =
        serde_json::from_slice(&std::fs::read(out.path().join("report.json")).unwrap()).unwrap();
    assert_eq!(report["data"]["rows"], 30000);
    let batch = &report["batch"];
    assert_eq!(batch["rows"], 30000);
    assert!(batch["rows_per_second"].as_f64().unwrap() > 0.0);
    let bytes_per_row = batch["bytes_per_row"].as_f64().unwrap();
    assert!((5.0..200.0).contains(&bytes_per_row), "{bytes_per_row}");

    let queries = report["queries"].as_array().unwrap();
    assert_eq!(queries.len(), 10);
    for query in queries {
        assert_eq!(query["latency"]["runs"], 3, "{query}");
        assert!(query["latency"]["p50_ms"].as_f64().unwrap() > 0.0);
        assert!(query["latency"]["p99_ms"].as_f64() >= query["latency"]["p50_ms"].as_f64());
    }
    // Answers have the shapes the queries ask for.
    let rows = |name: &str| {
        queries.iter().find(|q| q["query"]["name"] == name).unwrap()["rows"]
            .as_u64()
            .unwrap()
    };
    assert_eq!(rows("q1"), 1);
    assert_eq!(rows("q4"), 20);
    assert_eq!(rows("q7"), 20);
    assert_eq!(rows("q9"), 10);

    let mixes = report["concurrency"].as_array().unwrap();
    assert_eq!(mixes.len(), 2);
    for mix in mixes {
        let levels = mix["levels"].as_array().unwrap();
        let clients: Vec<u64> = levels
            .iter()
            .map(|l| l["clients"].as_u64().unwrap())
            .collect();
        assert_eq!(clients, [1, 4]);
        for level in levels {
            assert!(level["queries_per_second"].as_f64().unwrap() > 0.0);
            assert_eq!(level["errors"], 0);
        }
    }

    // The selective mix alone and beside the runaway join: neither has
    // errors, and the join ran and ended (answered, or stopped by its
    // memory limit or timeout).
    let isolation = &report["isolation"];
    for half in ["alone", "with_runaway"] {
        assert_eq!(isolation[half]["clients"], 4, "{isolation}");
        assert_eq!(isolation[half]["errors"], 0, "{isolation}");
    }
    let outcomes = isolation["runaway_outcomes"].as_object().unwrap();
    assert!(!outcomes.is_empty(), "{isolation}");
    for code in outcomes.keys() {
        assert!(["0", "245", "250"].contains(&code.as_str()), "{isolation}");
    }

    let kafka = &report["kafka"];
    assert_eq!(kafka["messages"], 20000);
    assert!(kafka["messages_per_second"].as_f64().unwrap() > 0.0);
    // The upsert table on the same messages: 10,000 keys of two versions.
    let upsert = &report["upsert"];
    assert_eq!(upsert["messages"], 20000, "{upsert}");
    assert_eq!(upsert["keys"], 10000, "{upsert}");
    assert_eq!(upsert["primary_keys"], 10000, "{upsert}");
    assert_eq!(upsert["visible_rows"], 10000, "{upsert}");
    assert!(upsert["bytes_per_key"].as_f64().unwrap() > 8.0, "{upsert}");
    assert_eq!(upsert["queries"].as_array().unwrap().len(), 10, "{upsert}");
    let freshness = &report["freshness"];
    assert!(
        freshness["produced"].as_u64().unwrap() > 1000,
        "{freshness}"
    );
    let probes = freshness["probes"].as_u64().unwrap();
    assert!(probes >= 2, "{freshness}");
    // Every probe is waited for: none is left out of the percentiles.
    assert_eq!(
        freshness["lag"]["runs"].as_u64().unwrap(),
        probes,
        "{freshness}"
    );
    assert!(freshness["lag"]["min_ms"].as_f64().unwrap() > 0.0);

    let memory = &report["memory"];
    for phase in ["batch_ingest", "after_load", "queries", "kafka", "peak"] {
        assert!(
            memory[phase].as_u64().unwrap() > 10 << 20,
            "{phase}: {memory}"
        );
    }

    let mut charts = vec!["concurrency.svg", "queries.svg"];
    if python.is_some() {
        let peers = &report["peers"];
        assert_eq!(
            peers["times"]["engines"],
            serde_json::json!(["gamay", "duckdb"]),
            "{peers}"
        );
        let ratios = peers["ratios"].as_array().unwrap();
        assert_eq!(ratios.len(), 10);
        assert!(ratios.iter().all(|r| r["ratio"].as_f64().unwrap() > 0.0));
        charts.push("peers.svg");
        // Every query's answer is DuckDB's.
        let answers = report["answers"].as_array().expect("answers checked");
        assert_eq!(answers.len(), 10, "{answers:?}");
        for answer in answers {
            assert_eq!(answer["outcome"], "matches", "{answer}");
        }
        assert_eq!(answers[3]["rows"], 20, "{answers:?}");
    } else {
        assert!(report["answers"].is_null());
    }
    assert_eq!(report["charts"], serde_json::json!(charts));
    for chart in &charts {
        let svg = std::fs::read_to_string(out.path().join(chart)).unwrap();
        assert!(svg.starts_with("<svg"), "{chart}");
        assert!(
            svg.contains("<rect") || svg.contains("<polyline"),
            "{chart}"
        );
    }
    let queries_svg = std::fs::read_to_string(out.path().join("queries.svg")).unwrap();
    assert!(queries_svg.contains("q10"));

    // The bench's own files are named as its own; the server's data
    // directory carries the mark that lets the next run empty it.
    assert!(out.path().join("server-data/.gamay-bench").exists());
    assert!(out.path().join("gamay-bench-queries.sql").exists());
    let markdown = std::fs::read_to_string(out.path().join("report.md")).unwrap();
    assert!(markdown.contains("| q1 count |"), "{markdown}");
    assert!(markdown.contains("## Upsert table"), "{markdown}");
    assert!(markdown.contains("## Isolation"), "{markdown}");
    if python.is_some() {
        assert!(
            markdown.contains("- q4 low-cardinality group by: matches DuckDB (20 rows)"),
            "{markdown}"
        );
    }
    assert!(markdown.contains("![concurrency.svg](concurrency.svg)"));
    assert!(String::from_utf8_lossy(&output.stdout).contains("## Concurrent clients"));

    // A second run reuses the generated file rather than writing it again.
    let parquet = out.path().join("stock_30000.parquet");
    let modified = std::fs::metadata(&parquet).unwrap().modified().unwrap();
    let again = short_run("30000", out.path(), &["--peers", "none"]);
    assert!(
        again.status.success(),
        "{}",
        String::from_utf8_lossy(&again.stderr)
    );
    assert_eq!(
        std::fs::metadata(&parquet).unwrap().modified().unwrap(),
        modified
    );
    let report: Value =
        serde_json::from_slice(&std::fs::read(out.path().join("report.json")).unwrap()).unwrap();
    assert!(report["kafka"].is_null());
    assert!(report["isolation"].is_null());
    assert!(report["peers"].is_null());
}

#[test]
fn bad_arguments_are_named() {
    let out = tempfile::tempdir().unwrap();
    let missing = out.path().join("missing.parquet");
    let output = gamay(&[
        "bench",
        "--input",
        missing.to_str().unwrap(),
        "--out",
        out.path().to_str().unwrap(),
    ]);
    assert!(!output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("missing.parquet"), "{stderr}");

    let not_parquet = out.path().join("rows.parquet");
    std::fs::write(&not_parquet, "id,user_id\n1,2\n").unwrap();
    let output = gamay(&[
        "bench",
        "--input",
        not_parquet.to_str().unwrap(),
        "--out",
        out.path().to_str().unwrap(),
    ]);
    assert!(!output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains("rows.parquet") && stderr.contains("not a readable Parquet file"),
        "{stderr}"
    );

    let output = gamay(&[
        "bench",
        "--clients",
        "0,4",
        "--out",
        out.path().to_str().unwrap(),
    ]);
    assert!(!output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("--clients"), "{stderr}");
    for (flag, value) in [
        ("--seconds", "-1"),
        ("--fresh-seconds", "NaN"),
        ("--runs", "0"),
    ] {
        let arg = format!("{flag}={value}");
        let output = gamay(&["bench", &arg, "--out", out.path().to_str().unwrap()]);
        assert!(!output.status.success());
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert!(
            stderr.contains(flag) && !stderr.contains("panicked"),
            "{stderr}"
        );
    }
    assert!(!Path::new(&out.path().join("report.json")).exists());
}

#[test]
fn a_directory_it_did_not_make_is_left_alone() {
    let out = tempfile::tempdir().unwrap();
    let theirs = out.path().join("server-data");
    std::fs::create_dir_all(&theirs).unwrap();
    std::fs::write(theirs.join("keep.txt"), "mine").unwrap();
    let output = gamay(&[
        "bench",
        "--rows",
        "1000",
        "--out",
        out.path().to_str().unwrap(),
    ]);
    assert!(!output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains("server-data") && stderr.contains("not made by gamay bench"),
        "{stderr}"
    );
    assert_eq!(
        std::fs::read_to_string(theirs.join("keep.txt")).unwrap(),
        "mine"
    );
}

#[test]
fn a_failing_query_is_named() {
    let out = tempfile::tempdir().unwrap();
    let queries = out.path().join("mine.sql");
    std::fs::write(
        &queries,
        "-- q1 count\nSELECT COUNT(*) FROM stock_transactions\n-- q2 typo\nSELECT SUM(sharez) FROM stock_transactions\n",
    )
    .unwrap();
    let output = gamay(&[
        "bench",
        "--rows",
        "2000",
        "--runs",
        "1",
        "--peers",
        "none",
        "--kafka-rows",
        "0",
        "--queries",
        queries.to_str().unwrap(),
        "--out",
        out.path().to_str().unwrap(),
    ]);
    assert!(!output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains("q2 SELECT SUM(sharez)") && stderr.contains("sharez"),
        "{stderr}"
    );
}

#[test]
fn an_answer_that_differs_from_duckdbs_fails_the_run() {
    let Some(python) = python() else {
        return;
    };
    let out = tempfile::tempdir().unwrap();
    let queries = out.path().join("mine.sql");
    // Pinot answers a selection without LIMIT with its first 10 rows;
    // DuckDB with all of them.
    std::fs::write(
        &queries,
        "-- q1 count\nSELECT COUNT(*) FROM stock_transactions\n\
         -- q2 every id\nSELECT id FROM stock_transactions ORDER BY id\n",
    )
    .unwrap();
    let run = |extra: &[&str]| {
        let mut args = vec![
            "--peers",
            "duckdb",
            "--python",
            python.as_str(),
            "--queries",
            queries.to_str().unwrap(),
        ];
        args.extend(extra);
        short_run("2000", out.path(), &args)
    };
    let output = run(&[]);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(!output.status.success(), "{stderr}");
    assert!(
        stderr.contains("answers to q2 differ from DuckDB's")
            && stderr.contains("--allow-answer-mismatch"),
        "{stderr}"
    );
    let markdown = std::fs::read_to_string(out.path().join("report.md")).unwrap();
    assert!(
        markdown.contains("- q1 count: matches DuckDB (1 row)"),
        "{markdown}"
    );
    assert!(
        markdown.contains(
            "- q2 every id: DIFFERS from DuckDB at row 11 (Gamay 10 rows, DuckDB 2000): Gamay no row, DuckDB `[10]`"
        ),
        "{markdown}"
    );
    let report: Value =
        serde_json::from_slice(&std::fs::read(out.path().join("report.json")).unwrap()).unwrap();
    assert_eq!(report["answers"][1]["outcome"], "differs");
    assert_eq!(report["answers"][1]["row"], 11);

    let output = run(&["--allow-answer-mismatch"]);
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
}

#[test]
fn gamay_bench_without_the_harness_says_how_to_build_it() {
    // A gamay binary alone in a directory of the same file system.
    let gamay = gamay_binary();
    let alone = tempfile::tempdir_in(gamay.parent().unwrap()).unwrap();
    let copy = alone.path().join(gamay.file_name().unwrap());
    if std::fs::hard_link(&gamay, &copy).is_err() {
        std::fs::copy(&gamay, &copy).unwrap();
    }
    let output = Command::new(&copy)
        .args(["bench", "--rows", "1000"])
        .output()
        .unwrap();
    assert!(!output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains("gamay-bench, which is not built") && stderr.contains("-p gamay-bench`"),
        "{stderr}"
    );
}

#[test]
fn gamay_bench_help_is_the_harnesss() {
    let output = gamay(&["bench", "--help"]);
    assert!(output.status.success());
    let help = String::from_utf8_lossy(&output.stdout);
    assert!(
        help.contains("--allow-answer-mismatch") && help.contains("--kafka-rows"),
        "{help}"
    );
}

/// `gamay bench --cluster` on a small data set against the PostgreSQL of
/// `tests/services.sh`: both deployments measured, every answer agrees,
/// the report written, and the schema it made dropped again.
#[test]
fn a_small_cluster_run_compares_both_deployments() {
    let Some(postgres) = std::env::var("GAMAY_TEST_POSTGRES")
        .ok()
        .filter(|url| !url.is_empty())
    else {
        assert!(
            std::env::var("GAMAY_REQUIRE_SERVICES").as_deref() != Ok("1"),
            "GAMAY_TEST_POSTGRES is not set: run the tests through tests/run"
        );
        eprintln!("skipped: GAMAY_TEST_POSTGRES is not set (tests/run starts PostgreSQL)");
        return;
    };
    let out = tempfile::tempdir().unwrap();
    let output = gamay(&[
        "bench",
        "--cluster",
        &postgres,
        "--rows",
        "6000",
        "--runs",
        "3",
        "--clients",
        "2",
        "--seconds",
        "0.2",
        "--out",
        out.path().to_str().unwrap(),
    ]);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(output.status.success(), "{stderr}");
    let report: Value =
        serde_json::from_slice(&std::fs::read(out.path().join("cluster-report.json")).unwrap())
            .unwrap();
    assert_eq!(report["data"]["rows"], 6000);
    assert_eq!(report["segment_rows"], 1000);
    for side in ["single", "cluster"] {
        let deployment = &report[side];
        let timed: Vec<&str> = deployment["latency"]
            .as_array()
            .unwrap()
            .iter()
            .map(|t| t["query"]["name"].as_str().unwrap())
            .collect();
        assert_eq!(timed, ["q4", "q3"], "{deployment}");
        assert_eq!(deployment["latency"][0]["latency"]["runs"], 3);
        let level = &deployment["throughput"][0];
        assert_eq!(level["clients"], 2);
        assert!(level["queries_per_second"].as_f64().unwrap() > 0.0);
        assert_eq!(level["errors"], 0, "{deployment}");
    }
    assert!(report["cluster"]["nodes"]
        .as_str()
        .unwrap()
        .contains("3 servers"));
    let answers = report["answers"].as_array().unwrap();
    assert_eq!(answers.len(), 10);
    assert!(answers.iter().all(|a| a["agrees"] == true), "{report}");
    let markdown = std::fs::read_to_string(out.path().join("cluster-report.md")).unwrap();
    for expected in [
        "added p50",
        "cluster ÷ single",
        "q4 low-cardinality group by: agree",
    ] {
        assert!(markdown.contains(expected), "{expected}: {markdown}");
    }
    assert!(
        out.path().join("cluster").join("server-2.log").is_file(),
        "each node's log is kept under --out"
    );

    // A URL that is not PostgreSQL's is refused before anything starts.
    let output = gamay(&[
        "bench",
        "--cluster",
        "mysql://gamay:secret@127.0.0.1/db",
        "--rows",
        "10",
        "--out",
        out.path().to_str().unwrap(),
    ]);
    assert!(!output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains("PostgreSQL URL") && !stderr.contains("secret"),
        "{stderr}"
    );
}
