-- Evaluated agencies (agency_years.evaluated: still existing on 31 December) that sent no return of a
-- required source that year (thresholds.yaml required_returns, e.g. infrastructure, capacity). Their
-- indicators of that return are NULL and earn 0 points. One row per agency, source and year.
-- egov_source_rows (a temp view over every source of config/sources.yaml) is made by sql_checks.py.
WITH returned AS (
    SELECT DISTINCT source, year, agency_code FROM egov_source_rows WHERE list_contains($required, source)
)
SELECT ay.year, r.source, ay.agency_code, ay.agency_name, ay.agency_group, 1 AS n
FROM agency_years AS ay
CROSS JOIN (SELECT unnest($required) AS source) AS r
ANTI JOIN returned AS x ON x.source = r.source AND x.year = ay.year AND x.agency_code = ay.agency_code
LEFT JOIN agency_groups AS g ON g.agency_group = ay.agency_group
WHERE ay.evaluated AND list_contains($years, ay.year)
ORDER BY ay.year, r.source, g.group_order NULLS LAST, ay.agency_group, ay.agency_code
