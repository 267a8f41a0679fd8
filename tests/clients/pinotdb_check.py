"""Queries a running Gamay with Pinot's Python client, pinotdb (DB-API).

Usage: python pinotdb_check.py HOST PORT [USER PASSWORD]
Expects the table `trades` loaded from tests/sql/data (60 rows). With USER
and PASSWORD the server runs with authentication: the queries go with
pinotdb's username/password, and the same queries without credentials or
with a wrong password must fail.
Exits non-zero when an answer is not the expected one.
"""
import sys

from pinotdb import connect

host, port = sys.argv[1], int(sys.argv[2])
credentials = {}
if len(sys.argv) == 5:
    credentials = {"username": sys.argv[3], "password": sys.argv[4]}
    for wrong in ({}, {"username": sys.argv[3], "password": sys.argv[4] + "x"}):
        refused = connect(host=host, port=port, path="/query/sql", scheme="http", **wrong)
        try:
            refused.cursor().execute("SELECT COUNT(*) FROM trades")
        except Exception as error:
            assert "401" in str(error) or "auth" in str(error).lower(), error
        else:
            raise AssertionError(f"a query with credentials {wrong} must be refused")
conn = connect(host=host, port=port, path="/query/sql", scheme="http", **credentials)
cursor = conn.cursor()

cursor.execute("SELECT COUNT(*) FROM trades")
rows = cursor.fetchall()
assert rows == [[60]] or rows == [(60,)], rows

cursor.execute(
    "SELECT exchange, SUM(shares) AS total FROM trades "
    "WHERE side = 'BUY' GROUP BY exchange ORDER BY total DESC LIMIT 2"
)
names = [column[0] for column in cursor.description]
assert names == ["exchange", "total"], names
rows = cursor.fetchall()
assert len(rows) == 2 and rows[0][1] >= rows[1][1], rows

try:
    cursor.execute("SELECT sharez FROM trades")
except Exception as error:  # pinotdb raises DatabaseError with Pinot's message
    assert "sharez" in str(error), error
else:
    raise AssertionError("an unknown column must raise")

print("pinotdb: ok")
