-- Months with no dossier at all in a year that has dossiers in a later month: a monthly export is probably
-- missing (raw/dossiers/<year>/<MM>/). Province-wide; one row per missing month. Read from the log's counts per
-- file and month of reception (dossier_file_facts, brought up to date by sql_checks.py first), not the log.
WITH months AS (
    SELECT year, month, sum(received) AS dossiers
    FROM dossier_file_facts WHERE list_contains($years, year) GROUP BY ALL
), last_month AS (
    SELECT year, max(month) AS last_month FROM months GROUP BY year
), expected AS (
    SELECT l.year, CAST(g.month AS INTEGER) AS month, l.last_month
    FROM last_month AS l CROSS JOIN LATERAL (SELECT unnest(range(1, l.last_month)) AS month) AS g
)
SELECT e.year, e.month, e.last_month, 1 AS n
FROM expected AS e ANTI JOIN months AS m USING (year, month)
ORDER BY e.year, e.month
