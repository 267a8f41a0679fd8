"""Loads the `trades` fixture (tests/sql/data) into a running Gamay.

Usage: python load_trades.py URL
"""
import pathlib
import sys
import urllib.request

url = sys.argv[1].rstrip("/")
data = pathlib.Path(__file__).resolve().parent.parent / "sql" / "data"


def post(path, body, content_type="application/json"):
    request = urllib.request.Request(url + path, data=body, headers={"Content-Type": content_type})
    with urllib.request.urlopen(request) as response:
        assert response.status == 200, (path, response.status)


post("/schemas", (data / "trades.schema.json").read_bytes())
post("/tables", (data / "trades.table.json").read_bytes())
for name in ("trades_a.jsonl", "trades_b.jsonl"):
    post(
        "/ingestFromFile?tableNameWithType=trades_OFFLINE"
        "&batchConfigMapStr=%7B%22inputFormat%22%3A%22json%22%7D",
        (data / name).read_bytes(),
        "application/octet-stream",
    )
print("loaded trades")
