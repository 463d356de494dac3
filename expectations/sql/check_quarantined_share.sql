-- Share of a source's rows quarantined in a year (ingested_files: sum rows_quarantined / sum rows_read)
-- above its threshold (thresholds.yaml; temp table egov_dq_thresholds holds per-source overrides).
-- The agency registry has no year (NULL) and is checked with every year. One row per source and year.
WITH shares AS (
    SELECT source, year, sum(rows_read) AS rows_read, sum(rows_quarantined) AS rows_quarantined,
           sum(rows_quarantined) / nullif(sum(rows_read), 0) AS share
    FROM ingested_files
    WHERE year IS NULL OR list_contains($years, year)
    GROUP BY source, year
)
SELECT s.source, s.year, s.rows_read, s.rows_quarantined, round(s.share, 4) AS share,
       coalesce(t.max_share, $default_share) AS max_share, 1 AS n
FROM shares AS s LEFT JOIN egov_dq_thresholds AS t USING (source)
WHERE s.share > coalesce(t.max_share, $default_share) AND s.rows_read >= $min_rows
ORDER BY s.source, s.year
