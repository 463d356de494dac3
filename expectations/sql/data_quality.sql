-- The data quality table that data stewards read: per year, raw source and agency, how many rows were read,
-- loaded and quarantined (and why), whether a required return is missing, and which checks failed.
--   agency_code = '*'  the whole source that year (totals from ingested_files, including files rejected whole;
--                      failed_checks lists every failed check and expectation of the source)
--   agency_code NULL   quarantined rows whose agency could not be read
--   source = 'marts'   one '*' row per year: failed checks of the indicators, scores and rankings
-- Rebuilt per year (delete, insert), so reruns and backfills are idempotent.
-- Parameters: $years INTEGER[], $sources VARCHAR[] (the yearly sources of config/sources.yaml), $return_sources
-- VARCHAR[] (those every agency returns each year).
-- Made by sql_checks.py first: the temp table egov_dq_failed(year, source, agency_code, failed_checks), and the
-- temp view egov_source_rows(source, year, agency_code), one row per staged row of every source.
CREATE TABLE IF NOT EXISTS data_quality (
    year              INTEGER NOT NULL,
    source            VARCHAR NOT NULL,
    agency_code       VARCHAR,
    rows_read         BIGINT,
    rows_loaded       BIGINT,
    rows_quarantined  BIGINT,
    quarantined_by_rule VARCHAR,
    missing_return    BOOLEAN,
    failed_checks     VARCHAR
);

DELETE FROM data_quality WHERE list_contains($years, year);

INSERT INTO data_quality
WITH sources AS (
    SELECT unnest($sources) AS source
), loaded AS (
    SELECT source, year, agency_code, count(*) AS n
    FROM egov_source_rows WHERE list_contains($years, year) GROUP BY ALL
), q_rule AS (
    SELECT source, year, agency_code, rule, count(*) AS n
    FROM quarantine
    WHERE list_contains($years, year) AND source IN (SELECT source FROM sources)
    GROUP BY ALL
), q_agency AS (  -- rows of files rejected whole are not rows read: left to the '*' row
    SELECT source, year, agency_code, sum(n) AS n,
           string_agg(rule || ': ' || n, '; ' ORDER BY n DESC, rule ASC) AS by_rule
    FROM q_rule WHERE rule <> 'file_rejected' GROUP BY ALL
), q_total AS (
    SELECT source, year, string_agg(rule || ': ' || n, '; ' ORDER BY n DESC, rule ASC) AS by_rule
    FROM (SELECT source, year, rule, sum(n) AS n FROM q_rule GROUP BY ALL) AS r GROUP BY ALL
), existing AS (
    SELECT ay.year, s.source, ay.agency_code, ay.evaluated
    FROM agency_years AS ay CROSS JOIN sources AS s
    WHERE list_contains($years, ay.year)
), keys AS (
    SELECT year, source, agency_code FROM existing
    UNION
    SELECT year, source, agency_code FROM loaded
    UNION
    SELECT year, source, agency_code FROM q_agency
), per_agency AS (
    SELECT k.year, k.source, k.agency_code,
           coalesce(l.n, 0) + coalesce(q.n, 0) AS rows_read,
           coalesce(l.n, 0) AS rows_loaded,
           coalesce(q.n, 0) AS rows_quarantined,
           q.by_rule AS quarantined_by_rule,
           CASE WHEN list_contains($return_sources, k.source) AND e.evaluated THEN coalesce(l.n, 0) = 0 END
               AS missing_return
    FROM keys AS k
    LEFT JOIN loaded AS l
        ON l.year = k.year AND l.source = k.source AND l.agency_code IS NOT DISTINCT FROM k.agency_code
    LEFT JOIN q_agency AS q
        ON q.year = k.year AND q.source = k.source AND q.agency_code IS NOT DISTINCT FROM k.agency_code
    LEFT JOIN existing AS e
        ON e.year = k.year AND e.source = k.source AND e.agency_code IS NOT DISTINCT FROM k.agency_code
), totals AS (
    SELECT y.year, s.source, '*' AS agency_code,
           coalesce(f.rows_read, 0) AS rows_read, coalesce(f.rows_loaded, 0) AS rows_loaded,
           coalesce(f.rows_quarantined, 0) AS rows_quarantined, qt.by_rule AS quarantined_by_rule,
           NULL::BOOLEAN AS missing_return
    FROM (SELECT unnest($years) AS year) AS y
    CROSS JOIN sources AS s
    LEFT JOIN (
        -- Older versions of a record (superseded, config/sources.yaml key + version) are not records of their own:
        -- read = loaded + quarantined here, as in the rows per agency.
        SELECT year, source, sum(rows_read - rows_superseded) AS rows_read, sum(rows_loaded) AS rows_loaded,
               sum(rows_quarantined) AS rows_quarantined
        FROM ingested_files GROUP BY ALL
    ) AS f ON f.year = y.year AND f.source = s.source
    LEFT JOIN q_total AS qt ON qt.year = y.year AND qt.source = s.source
    UNION ALL
    SELECT year, 'marts', '*', NULL, NULL, NULL, NULL, NULL FROM (SELECT unnest($years) AS year) AS marts_years
), all_rows AS (
    SELECT * FROM per_agency
    UNION ALL
    SELECT * FROM totals
)
SELECT r.year, r.source, r.agency_code, r.rows_read, r.rows_loaded, r.rows_quarantined, r.quarantined_by_rule,
       r.missing_return, f.failed_checks
FROM all_rows AS r
LEFT JOIN egov_dq_failed AS f
    ON f.year = r.year AND f.source = r.source AND f.agency_code IS NOT DISTINCT FROM r.agency_code
ORDER BY r.year, r.source, r.agency_code NULLS LAST;
