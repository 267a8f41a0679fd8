"""Per-query latency over one kept-alive HTTP connection.

    python3 benches/latency.py [--url http://127.0.0.1:9000] [--runs N] [QUERY_NUMBERS...]

Runs the queries of ../shared/bench/queries.sql (all, or the numbers
given) against a running Gamay server and prints p50, p99 and min
milliseconds per query, client time included. Unlike the peer harness,
which opens a connection per request, the connection is reused, as a
dashboard's client pool would.
"""

import argparse
import http.client
import json
import time
import urllib.parse
from pathlib import Path

QUERIES = Path(__file__).resolve().parents[2] / "shared" / "bench" / "queries.sql"


def load(path):
    return [line for line in path.read_text().splitlines() if line.strip() and not line.startswith("--")]


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--url", default="http://127.0.0.1:9000")
    parser.add_argument("--runs", type=int, default=100)
    parser.add_argument("--queries", type=Path, default=QUERIES)
    parser.add_argument("numbers", nargs="*", type=int)
    args = parser.parse_args()
    url = urllib.parse.urlparse(args.url)
    conn = http.client.HTTPConnection(url.hostname, url.port or 80)
    queries = load(args.queries)
    for number in args.numbers or range(1, len(queries) + 1):
        body = json.dumps({"sql": queries[number - 1]})
        times = []
        for _ in range(args.runs + 1):
            start = time.perf_counter()
            conn.request("POST", "/query/sql", body, {"content-type": "application/json"})
            response = conn.getresponse()
            payload = json.loads(response.read())
            times.append((time.perf_counter() - start) * 1000)
            if payload.get("exceptions"):
                raise SystemExit(f"q{number}: {payload['exceptions']}")
        times = sorted(times[1:])
        p99 = times[min(len(times) - 1, int(len(times) * 0.99))]
        print(f"q{number}\tp50 {times[len(times) // 2]:.3f} ms\tp99 {p99:.3f} ms\tmin {times[0]:.3f} ms")


if __name__ == "__main__":
    main()
