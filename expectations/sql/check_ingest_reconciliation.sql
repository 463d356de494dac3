-- Counts reconcile (docs/domain.md §3): per source and year, rows read = loaded + quarantined + superseded (older
-- versions of a record, config/sources.yaml key + version) in ingested_files,
-- staging holds exactly the rows loaded, and quarantine holds exactly the rows quarantined (rows of files
-- rejected whole are not counted in either). A difference means a loader bug or a table edited by hand.
-- egov_source_rows (a temp view over every source of config/sources.yaml) is made by sql_checks.py.
WITH staged AS (
    SELECT source, year, count(*) AS n FROM egov_source_rows
    WHERE year IS NULL OR list_contains($years, year)
    GROUP BY source, year
), quarantined AS (
    SELECT source, year, count(*) AS n FROM quarantine
    WHERE rule <> 'file_rejected' AND (year IS NULL OR list_contains($years, year))
    GROUP BY source, year
), files AS (
    SELECT source, year, sum(rows_read) AS rows_read, sum(rows_loaded) AS rows_loaded,
           sum(rows_quarantined) AS rows_quarantined, sum(rows_superseded) AS rows_superseded
    FROM ingested_files WHERE year IS NULL OR list_contains($years, year)
    GROUP BY source, year
), joined AS (
    SELECT coalesce(f.source, s.source, q.source) AS source, coalesce(f.year, s.year, q.year) AS year,
           coalesce(f.rows_read, 0) AS rows_read, coalesce(f.rows_loaded, 0) AS rows_loaded,
           coalesce(f.rows_quarantined, 0) AS rows_quarantined, coalesce(f.rows_superseded, 0) AS rows_superseded,
           coalesce(s.n, 0) AS rows_in_staging, coalesce(q.n, 0) AS rows_in_quarantine
    FROM files AS f
    FULL JOIN staged AS s ON s.source = f.source AND s.year IS NOT DISTINCT FROM f.year
    FULL JOIN quarantined AS q
        ON q.source = coalesce(f.source, s.source) AND q.year IS NOT DISTINCT FROM coalesce(f.year, s.year)
)
SELECT *, 1 AS n
FROM joined
WHERE rows_read <> rows_loaded + rows_quarantined + rows_superseded
   OR rows_loaded <> rows_in_staging
   OR rows_quarantined <> rows_in_quarantine
ORDER BY source, year
