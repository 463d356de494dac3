-- Criterion ranks that are not competition ranks of the criterion points rounded to 2 decimals, descending,
-- within year, agency group and criterion. One row per agency and criterion whose rank differs.
WITH expected AS (
    SELECT year, agency_group, criterion_code, agency_code, points, rank,
           rank() OVER (PARTITION BY year, agency_group, criterion_code
                        ORDER BY round(points, 2) DESC NULLS LAST) AS expected_rank
    FROM criterion_scores
    WHERE list_contains($years, year)
)
SELECT year, agency_group, criterion_code, agency_code, points, rank, expected_rank, 1 AS n
FROM expected
WHERE rank IS DISTINCT FROM expected_rank
ORDER BY year, agency_group, criterion_code, expected_rank, agency_code
