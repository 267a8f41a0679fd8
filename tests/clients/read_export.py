"""Exports the `trades` table of a running Gamay with an S3 connector into a
local directory, then reads the Hive-partitioned Parquet back with pyarrow,
DuckDB and PySpark, as a data lake's readers would.

Usage: python read_export.py URL DIRECTORY
"""
import json
import os
import pathlib
import sys
import time
import urllib.request

import duckdb
import pyarrow.dataset as ds
from pyspark.sql import SparkSession

url = sys.argv[1].rstrip("/")
out = pathlib.Path(sys.argv[2]).resolve()


def call(method, path, body=None):
    data = None if body is None else json.dumps(body).encode()
    request = urllib.request.Request(
        url + path, data=data, method=method, headers={"Content-Type": "application/json"}
    )
    with urllib.request.urlopen(request) as response:
        return response.status, json.loads(response.read() or b"null")


def query(sql):
    status, body = call("POST", "/query/sql", {"sql": sql})
    assert status == 200 and not body.get("exceptions"), body
    return body["resultTable"]["rows"]


status, _ = call(
    "POST",
    "/connectors",
    {
        "name": "lake",
        "config": {
            "connector.class": "io.confluent.connect.s3.S3SinkConnector",
            "tables": "trades",
            "s3.bucket.name": "lake",
            "store.url": "file://" + str(out),
            "flush.size": "100000",
            "format.class": "io.confluent.connect.s3.format.parquet.ParquetFormat",
            "partitioner.class": "io.confluent.connect.storage.partitioner.TimeBasedPartitioner",
            "path.format": "'year'=YYYY/'month'=MM/'day'=dd",
            "partition.duration.ms": "86400000",
            "locale": "en_US",
            "timezone": "UTC",
            "timestamp.extractor": "Record",
        },
    },
)
assert status == 201, status
expected = query("SELECT COUNT(*) FROM trades")[0][0]
for _ in range(300):
    _, state = call("GET", "/connectors/lake/status")
    if state["lag"]["segments"] == 0 and state["rowsWritten"] == expected:
        break
    time.sleep(0.1)
else:
    raise SystemExit(f"the export did not catch up: {state}")

root = out / "lake" / "topics" / "trades"
dataset = ds.dataset(root, format="parquet", partitioning="hive")
table = dataset.to_table()
assert table.num_rows == expected, (table.num_rows, expected)
assert {"year", "month", "day"} <= set(table.column_names), table.column_names

db = duckdb.connect()
rows = db.execute(
    f"SELECT count(*), count(DISTINCT year), min(month) FROM read_parquet('{root}/*/*/*/*.parquet', hive_partitioning = true)"
).fetchall()[0]
assert rows[0] == expected, rows
by_symbol = dict(
    db.execute(
        f"SELECT symbol, count(*) FROM read_parquet('{root}/**/*.parquet', hive_partitioning = true) GROUP BY symbol"
    ).fetchall()
)
gamay = {row[0]: row[1] for row in query("SELECT symbol, COUNT(*) FROM trades GROUP BY symbol LIMIT 100")}
# Pinot's default null handling answers a null string as "null"; the export keeps it null.
by_symbol = {("null" if symbol is None else symbol): count for symbol, count in by_symbol.items()}
assert by_symbol == gamay, (by_symbol, gamay)
os.environ["SPARK_LOCAL_IP"] = "127.0.0.1"
spark = (
    SparkSession.builder.master("local[1]")
    .config("spark.driver.host", "127.0.0.1")
    .config("spark.driver.bindAddress", "127.0.0.1")
    .appName("read Gamay export")
    .config("spark.ui.enabled", "false")
    .config("spark.sql.session.timeZone", "UTC")
    .getOrCreate()
)
spark.sparkContext.setLogLevel("ERROR")
df = spark.read.parquet(str(root))
assert {"year", "month", "day"} <= set(df.columns), df.columns
assert df.count() == expected, df.count()
# The scenario's glob form keeps the partition columns with basePath.
globbed = spark.read.option("basePath", str(root)).parquet(str(root) + "/year=*/month=*/day=*")
assert "day" in globbed.columns and globbed.count() == expected
spark_symbols = {
    ("null" if row["symbol"] is None else row["symbol"]): row["count"]
    for row in df.groupBy("symbol").count().collect()
}
assert spark_symbols == gamay, (spark_symbols, gamay)
spark.stop()
print(f"pyarrow, DuckDB and Spark read {expected} exported rows in {len(dataset.files)} files")
