-- Yearly raw sources without a single file for a year ($sources: the partitioned sources). Not a failure: a
-- deployment may not collect a source at all (a national team scoring provinces from submitted component values
-- has only the registry and assessments), and a year's returns may not have arrived yet. Their indicators are
-- empty (NULL, 0 points) that year; the summary says so once per year instead of listing every agency.
SELECT y.year, s.source, '*' AS agency_code, 1 AS n
FROM (SELECT unnest($years) AS year) AS y
CROSS JOIN (SELECT unnest($sources) AS source) AS s
ANTI JOIN ingested_files AS f ON f.year = y.year AND f.source = s.source
ORDER BY y.year, list_position($sources, s.source)
