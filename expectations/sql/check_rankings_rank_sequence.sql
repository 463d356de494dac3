-- Ranks that are not competition ranks (1, 2, 2, 4) of the total rounded to 2 decimals, descending,
-- within year and agency group (docs/domain.md §5). One row per agency whose rank differs from the expected one.
WITH expected AS (
    SELECT year, agency_group, agency_code, total_points, rank,
           rank() OVER (PARTITION BY year, agency_group ORDER BY round(total_points, 2) DESC NULLS LAST)
               AS expected_rank
    FROM rankings
    WHERE list_contains($years, year)
)
SELECT year, agency_group, agency_code, total_points, rank, expected_rank, 1 AS n
FROM expected
WHERE rank IS DISTINCT FROM expected_rank
ORDER BY year, agency_group, expected_rank, agency_code
