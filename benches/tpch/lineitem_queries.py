"""Text filters and expressions on TPC-H lineitem: Gamay over HTTP against
DuckDB in memory, median milliseconds of 5 runs after one to warm up.

    python3 lineitem_queries.py http://127.0.0.1:9000 lineitem.parquet [TABLE...]

Gamay's side needs tables `lineitem` (l_comment without a dictionary) and
`lineitemdict` (with one), loaded from the same file; see BENCHMARKS.md.
The text filters run on each TABLE given (by default those two), e.g. a
copy of `lineitem` whose l_comment has another compressionCodec.
DuckDB's side runs when the duckdb module is installed.
"""

import json
import statistics
import sys
import time
import urllib.request

QUERIES = {
    "like contains": "SELECT COUNT(*) FROM {t} WHERE l_comment LIKE '%special%requests%'",
    "like prefix": "SELECT COUNT(*) FROM {t} WHERE l_comment LIKE 'furious%'",
    "regexp": "SELECT COUNT(*) FROM {t} WHERE REGEXP_LIKE(l_comment, 'special.*requests')",
    "not like, grouped": "SELECT l_shipmode, COUNT(*) FROM {t} WHERE l_comment NOT LIKE '%special%requests%' GROUP BY l_shipmode ORDER BY l_shipmode",
}

# Gamay's SQL and DuckDB's: dates are INT days since the epoch in Gamay's
# table (format 1:DAYS:EPOCH), DATE in DuckDB's.
EXPRESSIONS = {
    "case sum, grouped": (
        "SELECT l_shipmode, SUM(CASE WHEN l_returnflag = 'R' THEN l_quantity ELSE -l_quantity END) FROM lineitem GROUP BY l_shipmode ORDER BY l_shipmode",
        "SELECT l_shipmode, SUM(CASE WHEN l_returnflag = 'R' THEN l_quantity ELSE -l_quantity END) FROM lineitem GROUP BY l_shipmode ORDER BY l_shipmode",
    ),
    "two columns compared": (
        "SELECT l_shipmode, COUNT(*) FROM lineitem WHERE l_receiptdate > l_commitdate GROUP BY l_shipmode ORDER BY l_shipmode",
        "SELECT l_shipmode, COUNT(*) FROM lineitem WHERE l_receiptdate > l_commitdate GROUP BY l_shipmode ORDER BY l_shipmode",
    ),
    "TPC-H Q6": (
        "SELECT SUM(l_extendedprice * l_discount) FROM lineitem WHERE l_shipdate >= 8766 AND l_shipdate < 9131 AND l_discount BETWEEN 0.05 AND 0.07 AND l_quantity < 24",
        "SELECT SUM(l_extendedprice * l_discount) FROM lineitem WHERE l_shipdate >= DATE '1994-01-01' AND l_shipdate < DATE '1995-01-01' AND l_discount BETWEEN 0.05 AND 0.07 AND l_quantity < 24",
    ),
    "TPC-H Q1": (
        "SELECT l_returnflag, l_linestatus, SUM(l_quantity), SUM(l_extendedprice), SUM(l_extendedprice * (1 - l_discount)), SUM(l_extendedprice * (1 - l_discount) * (1 + l_tax)), AVG(l_quantity), AVG(l_extendedprice), AVG(l_discount), COUNT(*) FROM lineitem WHERE l_shipdate <= 10471 GROUP BY l_returnflag, l_linestatus ORDER BY l_returnflag, l_linestatus",
        "SELECT l_returnflag, l_linestatus, SUM(l_quantity), SUM(l_extendedprice), SUM(l_extendedprice * (1 - l_discount)), SUM(l_extendedprice * (1 - l_discount) * (1 + l_tax)), AVG(l_quantity), AVG(l_extendedprice), AVG(l_discount), COUNT(*) FROM lineitem WHERE l_shipdate <= DATE '1998-09-02' GROUP BY l_returnflag, l_linestatus ORDER BY l_returnflag, l_linestatus",
    ),
}


def close(ours, theirs):
    """Rows equal, numbers within 1e-9 relative (sums of decimals)."""
    if len(ours) != len(theirs):
        return False
    for a, b in zip(ours, theirs):
        for x, y in zip(a, b):
            if isinstance(x, (int, float)) and not isinstance(x, bool):
                y = float(y)
                if abs(float(x) - y) > 1e-9 * max(1.0, abs(y)):
                    return False
            elif x != y:
                return False
    return True


def median_ms(run):
    first = run()
    times = []
    for _ in range(5):
        started = time.perf_counter()
        run()
        times.append((time.perf_counter() - started) * 1000)
    return statistics.median(times), first


def gamay(url, sql):
    request = urllib.request.Request(
        url + "/query/sql",
        json.dumps({"sql": sql}).encode(),
        {"Content-Type": "application/json"},
    )
    answer = json.load(urllib.request.urlopen(request, timeout=300))
    if answer.get("exceptions"):
        raise SystemExit(f"{sql}: {answer['exceptions']}")
    return [tuple(row) for row in answer["resultTable"]["rows"]]


def main():
    url, parquet = sys.argv[1], sys.argv[2]
    tables = sys.argv[3:] or ["lineitem", "lineitemdict"]
    results = {}
    for table in tables:
        for name, sql in QUERIES.items():
            ms, rows = median_ms(lambda: gamay(url, sql.format(t=table)))
            results[(table, name)] = rows
            print(f"gamay {table:13} {name:18} {ms:8.1f} ms")
    for name, (sql, _) in EXPRESSIONS.items():
        ms, rows = median_ms(lambda: gamay(url, sql))
        results[("expr", name)] = rows
        print(f"gamay {'lineitem':13} {name:18} {ms:8.1f} ms")
    try:
        import duckdb
    except ImportError:
        return
    con = duckdb.connect()
    con.execute(f"CREATE TABLE lineitem AS SELECT * FROM '{parquet}'")
    for name, sql in QUERIES.items():
        sql = sql.format(t="lineitem").replace("REGEXP_LIKE", "regexp_matches")
        ms, rows = median_ms(lambda: con.execute(sql).fetchall())
        same = all(results[(t, name)] == [tuple(r) for r in rows] for t in tables)
        print(f"duckdb {'':12} {name:18} {ms:8.1f} ms  {'same answer' if same else 'DIFFERENT ANSWER'}")
    for name, (_, sql) in EXPRESSIONS.items():
        ms, rows = median_ms(lambda: con.execute(sql).fetchall())
        same = close(results[("expr", name)], rows)
        print(f"duckdb {'':12} {name:18} {ms:8.1f} ms  {'same answer' if same else 'DIFFERENT ANSWER'}")


if __name__ == "__main__":
    main()
