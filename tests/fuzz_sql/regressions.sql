-- Regression cases of the SQL fuzzer (tests/fuzz_sql.rs): each was a
-- finding once, and is replayed before every run's random phase.
-- Format: tests/fuzz_sql/corpus.rs.

-- The documented bounds, just past them: refused with a 400.
SELECT {{501*(}}price{{501*)}} FROM stock_transactions

-- A CASE without END sent the shape check into an endless loop, holding
-- an HTTP worker and a core for good: a parse error now.
SELECT -2147483649, CASE WHEN purchase IN ('Infinity', 10) THEN,up

SELECT CASE WHEN a THEN

SELECT (CASE CASE WHEN price > 1 THEN (1 FROM stock_transactions

-- Argument types that fit no signature of a DataFusion function, or of
-- BETWEEN, were DataFusion "internal errors" from its type coercion rule
-- (500): the query's mistake, now 400 with code 700.
-- @endpoint POST /query
SELECT a.price FROM stock_transactions a FULL JOIN trades b ON a.id = b.id ORDER BY round(b.purchase, b.purchase) DESC

-- @options {"useMultistageEngine": "true"}
SELECT DISTINCT a.purchase FROM stock_transactions a JOIN trades b ON a.id = b.id AND REGEXP_LIKE(a.purchase, '\')

SET useMultistageEngine=true; (SELECT exchange FROM trades LIMIT 1) UNION ALL (SELECT user_id FROM trades WHERE shares BETWEEN 0x1F AND 2 LIMIT 1)

-- DISTINCT over a window function with a LIMIT: DataFusion gave the
-- aggregate a soft limit it then refused to run (internal error, 500);
-- answered now.
SET useMultistageEngine=true; SELECT DISTINCT COUNT(*) OVER (PARTITION BY country ORDER BY side ROWS BETWEEN 1 PRECEDING AND CURRENT ROW), price AS c1 FROM trades LIMIT 0, 1

-- A scalar subquery selecting nothing panicked DataFusion's planner
-- (500); a SELECT with an empty select list is a parse error now.
SET useMultistageEngine=true; (SELECT   FROM trades WHERE update_at LIKE '.' OR  (SELECT   FROM stock_transactions WHERE price <111) OR id LIKE '\_*' ESCAPE '\' LIMIT 10) MINUS (SELECT update_at FROM trades WHERE (priceprice> 100) LIMIT 50)

-- @endpoint POST /query
SELECT COUNT(*) FROM stock_transactions GROUP BY (SELECT FROM trades)

SELECT FROM stock_transactions

-- A negative lpad/rpad width over rows overflowed DataFusion's buffer
-- sizing (a panic, 500): negative widths pad to an empty string now.
-- @endpoint POST /query
SELECT lpad(' ', -2147483648, shares) FROM stock_transactions WHERE id < 3 LIMIT 3

-- @endpoint POST /query
SELECT rpad(symbol, -1, 'x'), lpad(symbol, -5) FROM stock_transactions WHERE id < 3 LIMIT 3

-- A REGEXP_LIKE pattern past the regex crate's size limit failed
-- DataFusion's match kernel as an internal error (500); it is the
-- query's error (400) now.
SET useMultistageEngine = true; SELECT * FROM stock_transactions WHERE REGEXP_LIKE(country, 'a{1000000}') LIMIT 10

SET useMultistageEngine = true; SELECT COUNT(*) FROM stock_transactions WHERE country ~ '(' 
