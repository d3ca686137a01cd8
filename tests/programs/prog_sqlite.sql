-- prog_sqlite.sql: a real SQL workload for prog_sqlite.sh.  Deterministic:
-- data comes from recursive CTEs and arithmetic, every query has ORDER BY.
PRAGMA journal_mode = WAL;
PRAGMA cache_size = -20000;

CREATE TABLE customers (id INTEGER PRIMARY KEY, name TEXT NOT NULL,
			region TEXT NOT NULL, since INTEGER NOT NULL);
CREATE TABLE products (id INTEGER PRIMARY KEY, title TEXT NOT NULL,
		       price_cents INTEGER NOT NULL, category TEXT NOT NULL);
CREATE TABLE orders (id INTEGER PRIMARY KEY, customer_id INTEGER NOT NULL
			 REFERENCES customers(id), product_id INTEGER NOT NULL
			 REFERENCES products(id), qty INTEGER NOT NULL,
		     day INTEGER NOT NULL, note TEXT);

BEGIN;
WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 5000)
INSERT INTO customers (id, name, region, since)
SELECT i, 'customer-' || printf('%05d', i) || '-' || substr('abcdefghijklmnopqrstuvwxyz', 1 + i % 26, 1 + i % 7),
       CASE i % 5 WHEN 0 THEN 'north' WHEN 1 THEN 'south' WHEN 2 THEN 'east'
		  WHEN 3 THEN 'west' ELSE 'centre' END,
       2000 + i % 24
FROM n;

WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 800)
INSERT INTO products (id, title, price_cents, category)
SELECT i, 'product ' || i || ' ' || hex(randomblob(0)) || replace(printf('%.*c', 1 + i % 40, 'x'), ' ', 'y'),
       100 + (i * 7919) % 100000,
       'cat' || (i % 17)
FROM n;

WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 200000)
INSERT INTO orders (id, customer_id, product_id, qty, day, note)
SELECT i, 1 + (i * 2654435761) % 5000, 1 + (i * 40503) % 800, 1 + i % 9,
       i % 365,
       CASE WHEN i % 11 = 0 THEN printf('%.*c', 200 + i % 3000, 'n') ELSE NULL END
FROM n;
COMMIT;

CREATE INDEX orders_by_customer ON orders(customer_id, day);
CREATE INDEX orders_by_product ON orders(product_id);
CREATE INDEX customers_by_region ON customers(region, name);

-- Joins and aggregates.
SELECT c.region, count(*) AS orders, sum(o.qty * p.price_cents) AS revenue,
       round(avg(o.qty), 4) AS avg_qty
FROM orders o JOIN customers c ON c.id = o.customer_id
JOIN products p ON p.id = o.product_id
GROUP BY c.region ORDER BY c.region;

SELECT p.category, count(DISTINCT o.customer_id) AS buyers,
       max(p.price_cents), min(o.day), max(o.day)
FROM orders o JOIN products p ON p.id = o.product_id
GROUP BY p.category HAVING count(*) > 100 ORDER BY p.category;

-- Top customers with a correlated subquery and window function.
SELECT name, total, rnk FROM (
  SELECT c.name, sum(o.qty * p.price_cents) AS total,
	 rank() OVER (ORDER BY sum(o.qty * p.price_cents) DESC, c.name) AS rnk
  FROM customers c JOIN orders o ON o.customer_id = c.id
  JOIN products p ON p.id = o.product_id
  GROUP BY c.id)
WHERE rnk <= 15 ORDER BY rnk;

-- Recursive CTE: a walk over a generated graph.
CREATE TABLE edges (src INTEGER, dst INTEGER);
WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 3000)
INSERT INTO edges SELECT i, (i * 7) % 3000 + 1 FROM n
UNION ALL SELECT i, (i * 13 + 5) % 3000 + 1 FROM n;
CREATE INDEX edges_src ON edges(src);
WITH RECURSIVE reach(node, depth) AS (
  SELECT 1, 0
  UNION
  SELECT e.dst, r.depth + 1 FROM reach r JOIN edges e ON e.src = r.node
  WHERE r.depth < 12)
SELECT depth, count(DISTINCT node) FROM reach GROUP BY depth ORDER BY depth;

-- Big strings, updates, deletes, vacuum.
UPDATE orders SET note = coalesce(note, '') || printf('%.*c', 50, 'u')
WHERE day % 7 = 3;
DELETE FROM orders WHERE qty = 9 AND day % 2 = 0;
SELECT count(*), sum(length(note)), max(length(note)) FROM orders;
SELECT group_concat(name, ',') FROM (SELECT name FROM customers
  WHERE region = 'east' ORDER BY name LIMIT 40);
SELECT length(group_concat(note, '|')) FROM orders WHERE note IS NOT NULL;
VACUUM;
PRAGMA integrity_check;
SELECT count(*) FROM orders o JOIN customers c USING (id);
