#!/usr/bin/env python3
"""TPC-H on Gamay, DuckDB and DataFusion: the companion of `gamay bench`.

Generates the eight tables with tpchgen-cli at a scale factor, loads them
into a fresh Gamay data directory as OFFLINE tables (schemas derived from the
Parquet files: DATE columns become INT day columns, format 1:DAYS:EPOCH;
DECIMAL columns DOUBLE; comment columns raw, without a dictionary), and runs
the 22 queries of `queries.sql`:

- on Gamay's multi-stage engine (`useMultistageEngine=true`), all 22, with
  date literals and date arithmetic written as day numbers and
  `extract(year from d)` as `extract(year from CAST(d AS DATE))`;
- on Gamay's single-table engine, the single-table queries (Q1 and Q6);
- on DuckDB and DataFusion, each holding the tables in memory.

Each engine runs alone on the machine, one after the other. Every Gamay
answer is checked against DuckDB's (dates compared as day numbers, numbers
within 1e-6 relative); the exit status is 1 if any differs. Prints a
markdown table of median milliseconds.

Usage:
    pip install duckdb datafusion pyarrow tpchgen-cli
    cargo build --release
    python3 benches/tpch/run.py --scale 1 --dir /tmp/tpch-sf1
"""
import argparse
import datetime
import json
import math
import os
import re
import shutil
import socket
import statistics
import subprocess
import sys
import time
import urllib.request

TABLES = ["region", "nation", "supplier", "customer", "part", "partsupp", "orders", "lineitem"]
SINGLE_TABLE = {"q1", "q6"}
EPOCH = datetime.date(1970, 1, 1)
HERE = os.path.dirname(os.path.abspath(__file__))


def load_queries(path):
    queries, name = [], None
    for line in open(path):
        line = line.strip()
        if line.startswith("--"):
            name = line[2:].split()[0]
        elif line:
            queries.append((name, line))
    return queries


def shift(day, amount, unit):
    if unit == "day":
        return day + datetime.timedelta(days=amount)
    months = day.month - 1 + amount * (12 if unit == "year" else 1)
    return day.replace(year=day.year + months // 12, month=months % 12 + 1)


def gamay_sql(sql):
    """The query for Gamay's day-number date columns."""
    def arithmetic(match):
        day = datetime.date.fromisoformat(match.group(1))
        if match.group(2):
            sign = 1 if match.group(2) == "+" else -1
            day = shift(day, sign * int(match.group(3)), match.group(4).lower())
        return str((day - EPOCH).days)
    sql = re.sub(
        r"date '(\d{4}-\d{2}-\d{2})'(?:\s*([+-])\s*interval '(\d+)' (day|month|year))?",
        arithmetic, sql, flags=re.IGNORECASE)
    return re.sub(r"extract\(year from (\w+)\)", r"extract(year from CAST(\1 AS DATE))",
                  sql, flags=re.IGNORECASE)


def pinot_type(arrow_type):
    import pyarrow as pa
    if pa.types.is_date32(arrow_type):
        return "DATE"
    if pa.types.is_int64(arrow_type):
        return "LONG"
    if pa.types.is_integer(arrow_type):
        return "INT"
    if pa.types.is_decimal(arrow_type) or pa.types.is_floating(arrow_type):
        return "DOUBLE"
    return "STRING"


def table_configs(name, path):
    """The schema and OFFLINE table config of one Parquet file."""
    import pyarrow.parquet as pq
    schema = {"schemaName": name, "dimensionFieldSpecs": [], "metricFieldSpecs": [],
              "dateTimeFieldSpecs": []}
    time_column = None
    for field in pq.read_schema(path):
        kind = pinot_type(field.type)
        if kind == "DATE":
            schema["dateTimeFieldSpecs"].append({"name": field.name, "dataType": "INT",
                                                 "format": "1:DAYS:EPOCH", "granularity": "1:DAYS"})
            time_column = time_column or field.name
        elif kind == "DOUBLE":
            schema["metricFieldSpecs"].append({"name": field.name, "dataType": kind})
        else:
            schema["dimensionFieldSpecs"].append({"name": field.name, "dataType": kind})
    raw = [f["name"] for f in schema["dimensionFieldSpecs"] if f["name"].endswith("_comment")]
    table = {"tableName": name, "tableType": "OFFLINE",
             "segmentsConfig": {"replication": "1"},
             "tableIndexConfig": {"noDictionaryColumns": raw}}
    if time_column:
        table["segmentsConfig"]["timeColumnName"] = time_column
    return schema, table


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Gamay:
    def __init__(self, binary, data_dir):
        self.binary, self.data_dir = binary, data_dir
        self.process, self.url = None, None

    def start(self):
        port = free_port()
        self.url = f"http://127.0.0.1:{port}"
        log = open(os.path.join(os.path.dirname(self.data_dir), "gamay.log"), "a")
        self.process = subprocess.Popen(
            # The result cache off: each run of a query measures the engine.
            [self.binary, "serve", "--listen", f"127.0.0.1:{port}", "--data-dir", self.data_dir,
             "--result-cache-bytes", "0"],
            stdout=log, stderr=log)
        for _ in range(600):
            try:
                urllib.request.urlopen(self.url + "/health", timeout=1).read()
                return
            except OSError:
                time.sleep(0.1)
        raise SystemExit("gamay did not start; see gamay.log")

    def stop(self):
        if self.process:
            self.process.terminate()
            self.process.wait(30)
            self.process = None

    def post(self, path, body):
        request = urllib.request.Request(self.url + path, json.dumps(body).encode(),
                                         {"Content-Type": "application/json"})
        try:
            return json.load(urllib.request.urlopen(request, timeout=600))
        except urllib.error.HTTPError as err:
            raise SystemExit(f"POST {path}: {err.code} {err.read().decode()[:300]}")

    def query(self, sql, multistage):
        options = "timeoutMs=600000"
        if multistage:
            options += ";useMultistageEngine=true"
        out = self.post("/query/sql", {"sql": sql, "queryOptions": options})
        if out.get("exceptions"):
            raise RuntimeError(out["exceptions"][0].get("message", str(out["exceptions"]))[:300])
        return [tuple(row) for row in out["resultTable"]["rows"]]


def load(args, files):
    data_dir = os.path.join(args.dir, "gamay-data")
    gamay = Gamay(args.gamay, data_dir)
    if os.path.exists(os.path.join(data_dir, "loaded")):
        return gamay
    shutil.rmtree(data_dir, ignore_errors=True)
    os.makedirs(data_dir)
    gamay.start()
    for name in TABLES:
        schema, table = table_configs(name, files[name])
        gamay.post("/schemas", schema)
        gamay.post("/tables", table)
    gamay.stop()
    for name in TABLES:
        started = time.perf_counter()
        subprocess.run([args.gamay, "ingest", "--data-dir", data_dir, "--table", name, files[name]],
                       check=True, stdout=subprocess.DEVNULL)
        print(f"# gamay loaded {name} in {time.perf_counter() - started:.1f} s", file=sys.stderr)
    open(os.path.join(data_dir, "loaded"), "w").close()
    return gamay


def comparable(value):
    if isinstance(value, datetime.date):
        return float((value - EPOCH).days)
    if isinstance(value, (int, float)) or type(value).__name__ == "Decimal":
        return float(value)
    return value


def same(ours, theirs):
    if len(ours) != len(theirs):
        return False
    for a, b in zip(ours, theirs):
        if len(a) != len(b):
            return False
        for x, y in zip(map(comparable, a), map(comparable, b)):
            if isinstance(x, float) and isinstance(y, float):
                if not math.isclose(x, y, rel_tol=1e-6, abs_tol=1e-6):
                    return False
            elif x != y:
                return False
    return True


def timed(run, runs):
    run()
    times = []
    for _ in range(runs):
        started = time.perf_counter()
        run()
        times.append((time.perf_counter() - started) * 1000)
    return statistics.median(times)


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--scale", default="1", help="TPC-H scale factor")
    parser.add_argument("--dir", default="tpch-data", help="where the data and Gamay's data directory go")
    parser.add_argument("--gamay", default="target/release/gamay", help="the gamay binary")
    parser.add_argument("--runs", type=int, default=5, help="timed runs of each query, after a warm-up")
    parser.add_argument("--queries", default=os.path.join(HERE, "queries.sql"))
    parser.add_argument("--only", help="comma-separated query names, e.g. q1,q12")
    args = parser.parse_args()
    os.makedirs(args.dir, exist_ok=True)
    files = {name: os.path.join(args.dir, f"{name}.parquet") for name in TABLES}
    if not all(os.path.exists(path) for path in files.values()):
        subprocess.run(["tpchgen-cli", "parquet", "-s", str(args.scale),
                        "--output-dir", args.dir], check=True)
    gamay = load(args, files)
    queries = [(name, sql) for name, sql in load_queries(args.queries)
               if not args.only or name in args.only.split(",")]
    # Each engine runs alone on the machine: Gamay first, then DuckDB, then
    # DataFusion, each loaded only for its own phase.
    ours = {}
    gamay.start()
    try:
        for name, sql in queries:
            for multistage in (True, False):
                if not multistage and name not in SINGLE_TABLE:
                    continue
                text = gamay_sql(sql)
                try:
                    answer = gamay.query(text, multistage)
                    ms = timed(lambda: gamay.query(text, multistage), args.runs)
                    ours[name, multistage] = (answer, f"{ms:.1f}")
                except RuntimeError as err:
                    ours[name, multistage] = (err, "error")
    finally:
        gamay.stop()
    import duckdb
    duck = duckdb.connect()
    for name in TABLES:
        duck.execute(f"CREATE TABLE {name} AS SELECT * FROM read_parquet('{files[name]}')")
    expected, duck_ms = {}, {}
    for name, sql in queries:
        expected[name] = duck.execute(sql).fetchall()
        duck_ms[name] = timed(lambda: duck.execute(sql).fetchall(), args.runs)
    duck.close()
    del duck
    import datafusion
    import pyarrow.parquet as pq
    fusion = datafusion.SessionContext()
    for name in TABLES:
        fusion.register_record_batches(name, [pq.read_table(files[name]).to_batches()])
    fusion_ms = {name: timed(lambda: fusion.sql(sql).collect(), args.runs) for name, sql in queries}
    print("| query | gamay multi-stage | gamay single-table | duckdb | datafusion | answer |")
    print("|---|---|---|---|---|---|")
    mismatches = 0
    for name, _ in queries:
        cells, verdict = [], "same as DuckDB"
        for multistage in (True, False):
            if (name, multistage) not in ours:
                cells.append("")
                continue
            answer, ms = ours[name, multistage]
            cells.append(ms)
            if isinstance(answer, Exception):
                verdict = f"error: {answer}"
                mismatches += 1
            elif not same(answer, expected[name]):
                verdict = "DIFFERS from DuckDB"
                mismatches += 1
                print(f"# {name}: gamay {answer[:3]} duckdb {expected[name][:3]}", file=sys.stderr)
        cells += [f"{duck_ms[name]:.1f}", f"{fusion_ms[name]:.1f}"]
        print(f"| {name} | {' | '.join(cells)} | {verdict} |", flush=True)
    sys.exit(1 if mismatches else 0)


if __name__ == "__main__":
    main()
