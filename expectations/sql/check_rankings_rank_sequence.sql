-- Ranks that are not competition ranks (1, 2, 2, 4) of the total rounded to the rubric's decimals (temp table
-- egov_dq_decimals), descending, within year and agency group (docs/domain.md §5).
-- One row per agency whose rank differs from the expected one; every row of a year and group whose rubric rounding is
-- unknown (no rubric_classes rows: not scored by the scoring step).
WITH rounding AS (
    SELECT year, agency_group, max(decimals) AS decimals FROM egov_dq_decimals GROUP BY ALL
),
expected AS (
    SELECT r.year, r.agency_group, r.agency_code, r.total_points, r.rank,
           CASE WHEN d.decimals IS NOT NULL THEN rank() OVER (PARTITION BY r.year, r.agency_group
                        ORDER BY round(CAST(r.total_points AS DECIMAL(38, 9))
                                       * CAST(10 ** d.decimals AS DECIMAL(18, 0)), 0) DESC NULLS LAST)
           END AS expected_rank
    FROM rankings AS r
    LEFT JOIN rounding AS d USING (year, agency_group)
    WHERE list_contains($years, r.year)
)
SELECT year, agency_group, agency_code, total_points, rank, expected_rank, 1 AS n
FROM expected
WHERE rank IS DISTINCT FROM expected_rank
ORDER BY year, agency_group, expected_rank, agency_code
