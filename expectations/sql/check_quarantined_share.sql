-- Share of a source's rows quarantined in a year (ingested_files: sum rows_quarantined / sum rows_read, the older
-- versions of a record, rows_superseded, left out: they are not records of their own)
-- above its threshold (thresholds.yaml; temp table egov_dq_thresholds holds per-source overrides).
-- A source whose threshold is 0 (assessments: one value can move a rank) fails on any quarantined row or rejected
-- file, however few rows it has; the others only from $min_rows rows read.
-- The agency registry has no year (NULL) and is checked with every year. One row per source and year, naming its
-- first $sample_rows quarantined rows (file:line and reason; reasons never quote personal data).
WITH shares AS (
    SELECT source, year, sum(rows_read - rows_superseded) AS rows_read, sum(rows_quarantined) AS rows_quarantined,
           sum(rows_quarantined) / nullif(sum(rows_read - rows_superseded), 0) AS share,
           count(*) FILTER (WHERE status = 'rejected') AS rejected_files
    FROM ingested_files
    WHERE year IS NULL OR list_contains($years, year)
    GROUP BY source, year
),
failing AS (
    SELECT s.*, coalesce(t.max_share, $default_share) AS max_share
    FROM shares AS s LEFT JOIN egov_dq_thresholds AS t USING (source)
    WHERE (s.share > coalesce(t.max_share, $default_share) AND s.rows_read >= $min_rows)
       OR (coalesce(t.max_share, $default_share) = 0 AND (s.rows_quarantined > 0 OR s.rejected_files > 0))
),
-- The first rows by file and line: min_by keeps $sample_rows of them per pair (5M quarantined rows: 3 s; sorting
-- them all with row_number() took 27 s).
named AS (
    SELECT q.source, q.year, count(*) AS held,
           min_by({'file': q.file, 'line': q.line, 'reason': q.reason}, {'file': q.file, 'line': q.line},
                  greatest($sample_rows, 1)) AS first
    FROM quarantine AS q SEMI JOIN failing AS f ON q.source = f.source AND q.year IS NOT DISTINCT FROM f.year
    GROUP BY q.source, q.year
)
SELECT f.source, f.year, f.rows_read, f.rows_quarantined, round(f.share, 4) AS share, f.max_share,
       nullif(f.rejected_files, 0) AS rejected_files,
       array_to_string(list_transform(n.first, LAMBDA r: r.file || ':' || r.line || ' (' || left(r.reason, 200) || ')'),  -- noqa: RF01
                       '; ')
           || CASE WHEN n.held > $sample_rows
                   THEN '; and ' || (n.held - $sample_rows) || ' more in the table quarantine' ELSE '' END
           AS quarantined,
       1 AS n
FROM failing AS f LEFT JOIN named AS n ON n.source = f.source AND n.year IS NOT DISTINCT FROM f.year
ORDER BY f.source, f.year
