#!/usr/bin/env python3
"""DuckDB's answer to each query of a queries.sql, through the peer kit's own harness.
Usage: answers.py PEERS_PY DATA.parquet QUERIES.sql
Prints one JSON line per query, in order: {"rows": [[...], ...]} or {"error": "..."}.
"""
import datetime, decimal, importlib.util, json, math, os, sys


def cell(value):
    """A value as JSON: non-finite doubles as Pinot spells them, decimals as numbers."""
    if value is None or isinstance(value, (bool, int, str)):
        return value
    if isinstance(value, float):
        if math.isnan(value):
            return "NaN"
        if math.isinf(value):
            return "Infinity" if value > 0 else "-Infinity"
        return value
    if isinstance(value, decimal.Decimal):
        return int(value) if value == value.to_integral_value() else float(value)
    if isinstance(value, (list, tuple)):
        return [cell(v) for v in value]
    if isinstance(value, (bytes, bytearray)):
        return value.hex()
    if isinstance(value, (datetime.date, datetime.time)):
        return value.isoformat()
    return str(value)


if __name__ == "__main__":
    harness, data, queries = sys.argv[1:4]
    spec = importlib.util.spec_from_file_location("peers", harness)
    peers = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(peers)
    run = peers.duck(os.path.abspath(data))
    for _, sql in peers.load_queries(queries):
        try:
            line = {"rows": [[cell(v) for v in row] for row in run(sql)]}
        except Exception as ex:
            line = {"error": str(ex)[:500]}
        print(json.dumps(line), flush=True)
