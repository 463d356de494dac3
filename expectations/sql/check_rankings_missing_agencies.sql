-- Evaluated agencies (still existing on 31 December) without a ranking row, in years that have a ranking:
-- every evaluated agency is scored and ranked (docs/domain.md §1, §5). One row per agency.
SELECT ay.year, ay.agency_group, ay.agency_code, ay.agency_name, 1 AS n
FROM agency_years AS ay
ANTI JOIN rankings AS r ON r.year = ay.year AND r.agency_code = ay.agency_code
WHERE ay.evaluated AND list_contains($years, ay.year)
  AND ay.year IN (SELECT DISTINCT year FROM rankings)
ORDER BY ay.year, ay.agency_group, ay.agency_code
