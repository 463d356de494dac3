-- Evaluated agencies (agency_years.evaluated: still existing on 31 December) that sent no return of a
-- required source that year (thresholds.yaml required_returns, e.g. infrastructure, capacity). Their
-- indicators of that return are NULL and earn 0 points. One row per agency, source and year.
WITH returned AS (
    SELECT DISTINCT 'infrastructure' AS source, year, agency_code FROM stg_infrastructure
    UNION ALL SELECT DISTINCT 'capacity', year, agency_code FROM stg_capacity
    UNION ALL SELECT DISTINCT 'one_stop', year, agency_code FROM stg_one_stop
    UNION ALL SELECT DISTINCT 'services', year, agency_code FROM stg_services
    UNION ALL SELECT DISTINCT 'assessments', year, agency_code FROM stg_assessments
)
SELECT ay.year, r.source, ay.agency_code, ay.agency_name, ay.agency_group, 1 AS n
FROM agency_years AS ay
CROSS JOIN (SELECT unnest($required) AS source) AS r
ANTI JOIN returned AS x ON x.source = r.source AND x.year = ay.year AND x.agency_code = ay.agency_code
WHERE ay.evaluated AND list_contains($years, ay.year)
ORDER BY ay.year, r.source,
    CASE ay.agency_group WHEN 'department' THEN 1 WHEN 'district' THEN 2 WHEN 'commune' THEN 3 ELSE 4 END,
    ay.agency_code
