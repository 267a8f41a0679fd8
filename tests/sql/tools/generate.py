"""Writes tests/sql/*.slt: runs each case on a running Gamay and on DuckDB
(over the same fixture rows, with Pinot's default null values applied) and
writes the case only when both agree; prints the cases that disagree.

Usage: python generate.py URL
The server must hold `trades` and `trades_plain` as tests/sql.rs loads
them (tests/clients/load_trades.py loads `trades`; load `trades_plain` the
same way with an empty tableIndexConfig). Needs `pip install duckdb`.
Cases marked 'manual' have no DuckDB equivalent: check their output by hand.
"""
import json, pathlib, re, sys, urllib.request

import duckdb
D = str(pathlib.Path(__file__).resolve().parent.parent / 'data') + '/'
con = duckdb.connect()
con.execute(f"CREATE TABLE raw AS SELECT * FROM read_json_auto(['{D}trades_a.jsonl','{D}trades_b.jsonl'], columns={{'id':'BIGINT','user_id':'INTEGER','symbol':'VARCHAR','exchange':'VARCHAR','side':'VARCHAR','tags':'VARCHAR[]','active':'BOOLEAN','shares':'INTEGER','price':'DOUBLE','fee':'FLOAT','ts':'BIGINT'}})")
con.execute("CREATE VIEW trades AS SELECT id, user_id, coalesce(symbol,'null') symbol, exchange, side, tags, active, coalesce(shares,0) shares, price, fee, ts, symbol IS NULL AS symbol_null, shares IS NULL AS shares_null FROM raw")
con.execute("CREATE VIEW trades_plain AS SELECT * FROM trades")
URL = sys.argv[1].rstrip('/') + '/query/sql'

def fmt(v, ty):
    if v is None: return 'NULL'
    if isinstance(v, bool): return 'true' if v else 'false'
    if ty in ('DOUBLE', 'FLOAT') or isinstance(v, float):
        s = f"{float(v):.6f}".rstrip('0').rstrip('.')
        return '0' if s == '-0' else s
    if isinstance(v, list): return json.dumps(v, separators=(',', ':'))
    if v == '': return '(empty)'
    return str(v)

def gamay(sql):
    req = urllib.request.Request(URL, data=json.dumps({"sql": sql}).encode())
    try:
        r = json.load(urllib.request.urlopen(req))
    except urllib.error.HTTPError as e:
        r = json.load(e)
    if r['exceptions']:
        return None, r['exceptions'][0]
    types = r['resultTable']['dataSchema']['columnDataTypes']
    rows = [[fmt(v, t) for v, t in zip(row, types)] for row in r['resultTable']['rows']]
    return types, rows

def letter(t):
    # As tests/sql.rs checks them: BOOLEAN and TIMESTAMP are text.
    return {'INT':'I','LONG':'I','DOUBLE':'R','FLOAT':'R','BIG_DECIMAL':'R'}.get(t, 'T')

out = []
bad = 0
def case(sql, duck=None, sort=False, comment=None):
    global bad
    types, rows = gamay(sql)
    if types is None:
        print('ERROR', sql, rows); bad += 1; return
    if duck != 'manual':
        want = con.execute(duck or sql).fetchall()
        want = [[fmt(v, t) for v, t in zip(r, types)] for r in want]
        g, w = (sorted(rows), sorted(want)) if sort else (rows, want)
        if g != w:
            print('MISMATCH', sql, '\n gamay', rows[:6], '\n duck ', want[:6]); bad += 1; return
    else:
        print('MANUAL', sql, rows)
    if comment: out.append(f"# {comment}")
    out.append(f"query {''.join(letter(t) for t in types)}{' rowsort' if sort else ''}")
    out.append(sql)
    out.append('----')
    for r in rows: out.append(' '.join(r))
    out.append('')

def error(sql, pattern, comment=None):
    global bad
    types, exc = gamay(sql)
    if types is not None:
        print('EXPECTED ERROR', sql); bad += 1; return
    text = f"[{exc['errorCode']}] {exc['message']}"
    if not re.search(pattern, text):
        print('ERROR MISMATCH', sql, text); bad += 1; return
    if comment: out.append(f"# {comment}")
    out.append(f"statement error {pattern}")
    out.append(sql)
    out.append('')

def write(name):
    global out
    path = pathlib.Path(__file__).resolve().parent.parent / name
    path.write_text('\n'.join(out))
    out = []


# ---- filters.py ----
for t in ['trades', 'trades_plain']:
    out.append(f"# ---- {t} ----")
    case(f"SELECT COUNT(*) FROM {t}")
    case(f"SELECT id, symbol, shares FROM {t} WHERE symbol = 'AAPL' ORDER BY id LIMIT 100")
    case(f"SELECT id FROM {t} WHERE symbol <> 'AAPL' AND exchange = 'LSE' ORDER BY id LIMIT 100")
    case(f"SELECT COUNT(*) FROM {t} WHERE user_id = 107")
    case(f"SELECT COUNT(*) FROM {t} WHERE user_id IN (100, 103, 999)")
    case(f"SELECT COUNT(*) FROM {t} WHERE user_id NOT IN (100, 103)")
    case(f"SELECT COUNT(*) FROM {t} WHERE price > 130 AND price <= 140.5")
    case(f"SELECT COUNT(*) FROM {t} WHERE price >= 130.25")
    case(f"SELECT COUNT(*) FROM {t} WHERE price < 100.25")
    case(f"SELECT COUNT(*) FROM {t} WHERE price BETWEEN 110 AND 120")
    case(f"SELECT COUNT(*) FROM {t} WHERE price NOT BETWEEN 110 AND 120")
    case(f"SELECT id FROM {t} WHERE ts >= 1780018000000 AND ts < 1780022500000 ORDER BY id LIMIT 100")
    case(f"SELECT COUNT(*) FROM {t} WHERE ts > 1780000000000")
    case(f"SELECT COUNT(*) FROM {t} WHERE 1780018000000 <= ts")
    case(f"SELECT COUNT(*) FROM {t} WHERE ts = 1780000900000 OR user_id = 101")
    case(f"SELECT COUNT(*) FROM {t} WHERE NOT (exchange = 'NYSE' OR side = 'BUY')")
    case(f"SELECT COUNT(*) FROM {t} WHERE exchange = 'NASDAQ' AND (side = 'SELL' OR shares > 50)")
    case(f"SELECT COUNT(*) FROM {t} WHERE symbol LIKE 'A%'")
    case(f"SELECT COUNT(*) FROM {t} WHERE symbol NOT LIKE '_OOG'")
    case(f"SELECT COUNT(*) FROM {t} WHERE REGEXP_LIKE(symbol, '^(MS|GO)')", f"SELECT COUNT(*) FROM {t} WHERE regexp_matches(symbol, '^(MS|GO)')")
    case(f"SELECT COUNT(*) FROM {t} WHERE symbol IS NULL", f"SELECT COUNT(*) FROM {t} WHERE symbol_null")
    case(f"SELECT COUNT(*) FROM {t} WHERE shares IS NOT NULL", f"SELECT COUNT(*) FROM {t} WHERE NOT shares_null")
    case(f"SELECT COUNT(*) FROM {t} WHERE shares * 2 > price", f"SELECT COUNT(*) FROM {t} WHERE shares * 2 > price")
    case(f"SELECT COUNT(*) FROM {t} WHERE shares + user_id = 157")
    case(f"SELECT COUNT(*) FROM {t} WHERE fee > 1.0")
    case(f"SELECT COUNT(*) FROM {t} WHERE active = true")
    case(f"SELECT COUNT(*) FROM {t} WHERE tags = 'cloud'", f"SELECT COUNT(*) FROM {t} WHERE list_contains(tags, 'cloud')")
    case(f"SELECT COUNT(*) FROM {t} WHERE tags IN ('auto', 'tech')", f"SELECT COUNT(*) FROM {t} WHERE list_contains(tags, 'auto') OR list_contains(tags, 'tech')")
    case(f"SELECT COUNT(*) FROM {t} WHERE symbol = 'NOPE'")
    case(f"SELECT COUNT(*) FROM {t} WHERE exchange = 'TSE'")
    case(f"SELECT COUNT(*) FROM {t} WHERE user_id > 99")
    case(f"SELECT COUNT(*) FROM {t} WHERE user_id < 50")
write('filters.slt')

# ---- agg.py ----
for t in ['trades', 'trades_plain']:
    out.append(f"# ---- {t} ----")
    case(f"SELECT COUNT(*), SUM(shares), MIN(price), MAX(price), AVG(shares) FROM {t}")
    case(f"SELECT MINMAXRANGE(price), COUNT(DISTINCT symbol), DISTINCTCOUNT(user_id) FROM {t}", f"SELECT MAX(price) - MIN(price), COUNT(DISTINCT symbol), COUNT(DISTINCT user_id) FROM {t}")
    case(f"SELECT DISTINCTCOUNTHLL(exchange) FROM {t}", f"SELECT COUNT(DISTINCT exchange) FROM {t}")
    case(f"SELECT PERCENTILE(shares, 50), PERCENTILE90(price), PERCENTILEEST(shares, 10), PERCENTILETDIGEST(price, 99) FROM {t}", 'manual')
    case(f"SELECT SUM(shares) FILTER (WHERE side = 'BUY'), COUNT(*) FILTER (WHERE price > 130), COUNT(*) FROM {t}")
    case(f"SELECT symbol, COUNT(*), SUM(shares) FROM {t} GROUP BY symbol ORDER BY symbol", sort=False)
    case(f"SELECT exchange, side, COUNT(*) AS n, SUM(price) FROM {t} GROUP BY exchange, side ORDER BY exchange, side DESC")
    case(f"SELECT exchange, SUM(shares) AS s FROM {t} GROUP BY exchange ORDER BY s DESC LIMIT 2")
    case(f"SELECT exchange, SUM(shares) AS s FROM {t} GROUP BY exchange ORDER BY 2 LIMIT 1 OFFSET 1")
    case(f"SELECT user_id, COUNT(*) FROM {t} GROUP BY user_id HAVING COUNT(*) >= 5 ORDER BY user_id")
    case(f"SELECT user_id, MAX(shares) - MIN(shares) AS spread FROM {t} GROUP BY user_id HAVING SUM(shares) > 250 ORDER BY spread DESC, user_id LIMIT 5")
    case(f"SELECT ts - ts % 3600000 AS hour, COUNT(*) FROM {t} GROUP BY ts - ts % 3600000 ORDER BY hour LIMIT 5")
    case(f"SELECT shares % 3, COUNT(*) FROM {t} GROUP BY shares % 3 ORDER BY 1", f"SELECT shares % 3, COUNT(*) FROM {t} GROUP BY 1 ORDER BY 1")
    case(f"SELECT CASE WHEN price > 130 THEN 'high' ELSE 'low' END AS band, COUNT(*) FROM {t} GROUP BY band ORDER BY band")
    case(f"SELECT side, exchange, AVG(price) FROM {t} WHERE shares > 40 GROUP BY side, exchange ORDER BY side, exchange")
    case(f"SELECT symbol, COUNT(DISTINCT user_id) AS users FROM {t} WHERE exchange = 'NYSE' GROUP BY symbol ORDER BY users DESC, symbol LIMIT 10")
    case(f"SELECT active, COUNT(*) FROM {t} GROUP BY active ORDER BY active", f"SELECT active, COUNT(*) FROM {t} GROUP BY 1 ORDER BY 1")
    case(f"SELECT fee, COUNT(*) FROM {t} GROUP BY fee ORDER BY fee DESC LIMIT 3")
    case(f"SELECT COUNT(*) FROM {t} WHERE symbol = 'NOPE'")
    case(f"SELECT SUM(shares), MAX(price) FROM {t} WHERE symbol = 'NOPE'", "SELECT 0.0, NULL")
    case(f"SELECT symbol, COUNT(*) FROM {t} WHERE symbol = 'NOPE' GROUP BY symbol", f"SELECT symbol, COUNT(*) FROM {t} WHERE symbol = 'NOPE' GROUP BY symbol")
    case(f"SELECT DISTINCT exchange FROM {t} ORDER BY exchange")
    case(f"SELECT DISTINCT side, exchange FROM {t} ORDER BY exchange, side LIMIT 4")
    case(f"SELECT SUM(shares) / COUNT(*) AS mean, COUNT(*) * 2 FROM {t}", f"SELECT SUM(shares) / COUNT(*), COUNT(*) * 2 FROM {t}")
    case(f"SELECT exchange, COUNT(*) FROM {t} GROUP BY exchange ORDER BY COUNT(*) DESC, exchange")
    case(f"SELECT UPPER(side), COUNT(*) FROM {t} GROUP BY UPPER(side) ORDER BY 1")
    case(f"SELECT symbol, SUM(shares) FROM {t} GROUP BY symbol ORDER BY symbol LIMIT 3", sort=False)
write('aggregate.slt')

# ---- sel_gen.py ----
t = 'trades'
case(f"SELECT id, symbol, price FROM {t} ORDER BY price DESC, id LIMIT 5")
case(f"SELECT id, shares * price AS amount FROM {t} WHERE side = 'SELL' ORDER BY amount DESC LIMIT 3")
case(f"SELECT id FROM {t} ORDER BY id LIMIT 3 OFFSET 10")
case(f"SELECT id FROM {t} ORDER BY id LIMIT 10, 3", f"SELECT id FROM {t} ORDER BY id LIMIT 3 OFFSET 10")
case(f"SELECT COUNT(*) FROM (SELECT 1) x" if False else f"SELECT id FROM {t} ORDER BY ts DESC LIMIT 2")
case(f"SELECT id, tags FROM {t} WHERE id < 3 ORDER BY id", f"SELECT id, tags FROM {t} WHERE id < 3 ORDER BY id")
case(f"SELECT id, active, fee FROM {t} WHERE id IN (0, 1, 7) ORDER BY id")
case(f"SELECT id, symbol, shares FROM {t} WHERE id IN (5, 7, 22, 26) ORDER BY id", f"SELECT id, symbol, shares FROM {t} WHERE id IN (5, 7, 22, 26) ORDER BY id")
case(f"SELECT id, CASE WHEN side = 'BUY' THEN shares ELSE -shares END AS signed FROM {t} ORDER BY id LIMIT 4")
case(f"SELECT id, CASE exchange WHEN 'NYSE' THEN 1 WHEN 'LSE' THEN 2 END AS code FROM {t} ORDER BY id LIMIT 4")
case(f"SELECT id, price / 4, shares % 7, -price FROM {t} ORDER BY id LIMIT 3")
case(f"SELECT COUNT(*) FROM {t} LIMIT 0", "SELECT 1 WHERE false")
case(f"SELECT id FROM {t} WHERE exchange = 'NYSE' AND side = 'BUY' ORDER BY id", sort=False)
case(f"SELECT id, symbol FROM {t} WHERE id < 4", f"SELECT id, symbol FROM {t} WHERE id < 4", sort=True)
case(f"SELECT UPPER(exchange), LOWER(symbol), LENGTH(exchange), CONCAT(symbol, side), CONCAT(symbol, side, '-') FROM {t} WHERE id = 1",
     f"SELECT UPPER(exchange), LOWER(symbol), LENGTH(exchange), symbol || side, symbol || '-' || side FROM {t} WHERE id = 1")
case(f"SELECT SUBSTR(exchange, 1, 3), SUBSTR(exchange, 2) FROM {t} WHERE id = 1", f"SELECT substr(exchange, 2, 2), substr(exchange, 3) FROM {t} WHERE id = 1")
case(f"SELECT ABS(-shares), FLOOR(price), CEIL(price), ROUND(price), ROUND(price, 1), MOD(shares, 7) FROM {t} WHERE id = 1",
     f"SELECT ABS(-shares), FLOOR(price), CEIL(price), ROUND(price), ROUND(price, 1), shares % 7 FROM {t} WHERE id = 1")
case(f"SELECT CAST(price AS INT), CAST(shares AS DOUBLE), CAST(shares AS VARCHAR), CAST('12' AS BIGINT) FROM {t} WHERE id = 2",
     f"SELECT CAST(trunc(price) AS INT), CAST(shares AS DOUBLE), CAST(shares AS VARCHAR), 12 FROM {t} WHERE id = 2")
case(f"SELECT toEpochSeconds(ts), toEpochMinutes(ts), toEpochHours(ts), toEpochDays(ts) FROM {t} WHERE id = 3",
     f"SELECT ts // 1000, ts // 60000, ts // 3600000, ts // 86400000 FROM {t} WHERE id = 3")
case(f"SELECT fromEpochSeconds(1780000000), fromEpochMinutes(29666666), fromEpochHours(494444), fromEpochDays(20601) FROM {t} WHERE id = 3",
     "SELECT 1780000000000, 29666666::BIGINT * 60000, 494444::BIGINT * 3600000, 20601::BIGINT * 86400000")
case(f"SELECT DATETRUNC('hour', ts), DATETRUNC('DAY', ts), DATETRUNC('month', ts) FROM {t} WHERE id = 30",
     f"SELECT epoch_ms(date_trunc('hour', make_timestamp(ts * 1000))), epoch_ms(date_trunc('day', make_timestamp(ts * 1000))), epoch_ms(date_trunc('month', make_timestamp(ts * 1000))) FROM {t} WHERE id = 30")
case(f"SELECT DATETIMECONVERT(ts, '1:MILLISECONDS:EPOCH', '1:HOURS:EPOCH', '1:HOURS'), DATETIMECONVERT(ts, '1:MILLISECONDS:EPOCH', '1:DAYS:SIMPLE_DATE_FORMAT:yyyy-MM-dd', '1:DAYS') FROM {t} WHERE id = 30",
     f"SELECT ts // 3600000, strftime(make_timestamp(ts * 1000), '%Y-%m-%d') FROM {t} WHERE id = 30")
case(f"SELECT DATETRUNC('day', ts) AS day, COUNT(*) FROM {t} GROUP BY DATETRUNC('day', ts) ORDER BY day",
     f"SELECT epoch_ms(date_trunc('day', make_timestamp(ts * 1000))) AS day, COUNT(*) FROM {t} GROUP BY 1 ORDER BY 1")
write('select.slt')
error(f"SELECT sharez FROM {t}", r"\[710\] unknown column `sharez` in table trades; did you mean `shares`\?", "unknown column (710)")
error("SELECT COUNT(*) FROM tradez", r"\[190\] table tradez does not exist; did you mean `trades`\?", "unknown table (190)")
error("SELEC COUNT(*) FROM trades", r"\[150\]", "SQL that does not parse (150)")
error(f"SELECT symbol, COUNT(*) FROM {t}", r"\[700\] column `symbol` must appear in GROUP BY", "validation (700)")
error(f"SELECT SUM(symbol) FROM {t}", r"\[700\] SUM needs a numeric argument", None)
error(f"SELECT FOO(shares) FROM {t}", r"\[700\] unknown function FOO", None)
error(f"SELECT SUBSTR(symbol, 3, 99) FROM {t}", r"\[200\] substr: indexes 3\.\.99", "execution (200)")
error(f"SELECT shares FROM {t} WHERE symbol", r"\[700\] WHERE needs a condition", None)
error(f"SELECT id FROM {t} ORDER BY 3", r"\[700\] ORDER BY position 3", None)
error(f"SELECT PERCENTILE(price) FROM {t}", r"\[700\] PERCENTILE needs a percentile between 0 and 100", None)
out.append("")
write('errors.slt')

# ---- ms.py ----
out.append("# Queries outside the single-table subset run on DataFusion over the same segments.")
case("SELECT a.id, b.symbol, b.price FROM trades a JOIN trades_plain b ON a.id = b.id WHERE a.symbol = 'AAPL' AND b.price > 120 ORDER BY a.id")
case("SELECT symbol, COUNT(*) AS n, ROW_NUMBER() OVER (ORDER BY COUNT(*) DESC, symbol) AS r FROM trades GROUP BY symbol ORDER BY r")
case("WITH x AS (SELECT user_id, SUM(shares) s FROM trades GROUP BY user_id) SELECT MAX(s), MIN(s) FROM x")
case("SELECT COUNT(*) FROM trades WHERE user_id IN (SELECT user_id FROM trades_plain WHERE exchange = 'LSE' AND shares > 80)")
case("SELECT exchange FROM trades WHERE side = 'BUY' UNION SELECT side FROM trades_plain ORDER BY 1")
case("SELECT t.exchange, t.n FROM (SELECT exchange, COUNT(*) AS n FROM trades WHERE price BETWEEN 110 AND 140 GROUP BY exchange) t ORDER BY t.n DESC, t.exchange")
case("SELECT id, price, SUM(shares) OVER (PARTITION BY exchange ORDER BY ts ROWS BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW) AS running FROM trades WHERE exchange = 'NYSE' AND ts < 1780010000000 ORDER BY id")
case("SELECT COUNT(*) FROM trades a, trades_plain b WHERE a.user_id = b.user_id AND a.tags IS NOT NULL AND a.symbol NOT IN ('AAPL', 'MSFT') AND b.symbol LIKE 'G%'")
error("SELECT * FROM nope JOIN trades ON nope.id = trades.id", r"\[190\].*nope.*not found")
write('multistage.slt')

# ---- order.py ----
out.append("# ORDER BY the sorted column reads docs in order and stops early.")
for t in ['trades', 'trades_plain']:
    case(f"SELECT id, ts FROM {t} WHERE symbol = 'AAPL' ORDER BY ts DESC, id DESC LIMIT 3")
    case(f"SELECT id FROM {t} ORDER BY ts LIMIT 3 OFFSET 2")
    case(f"SELECT id, ts FROM {t} WHERE side = 'SELL' ORDER BY ts DESC LIMIT 4 OFFSET 1")
    case(f"SELECT exchange, id FROM {t} ORDER BY exchange DESC, ts DESC LIMIT 4")
write('order.slt')

print('disagreements:', bad)
sys.exit(1 if bad else 0)
