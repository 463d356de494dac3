-- Criterion ranks that are not competition ranks of the criterion points rounded to the rubric's decimals (temp
-- table egov_dq_decimals), descending, within year, agency group and criterion (of any level); a criterion without a
-- value (not enough data) has no rank.
-- One row per agency and criterion whose rank differs; every row of a year and group whose rubric rounding is unknown.
WITH rounding AS (
    SELECT year, agency_group, max(decimals) AS decimals FROM egov_dq_decimals GROUP BY ALL
),
expected AS (
    SELECT c.year, c.agency_group, c.criterion_code, c.agency_code, c.points, c.rank,
           CASE WHEN d.decimals IS NOT NULL AND c.points IS NOT NULL
                THEN rank() OVER (PARTITION BY c.year, c.agency_group, c.criterion_code, c.points IS NULL
                                  ORDER BY round(CAST(c.points AS DECIMAL(38, 9))
                                                 * CAST(10 ** d.decimals AS DECIMAL(18, 0)), 0) DESC)
           END AS expected_rank
    FROM criterion_scores AS c
    LEFT JOIN rounding AS d USING (year, agency_group)
    WHERE list_contains($years, c.year)
)
SELECT year, agency_group, criterion_code, agency_code, points, rank, expected_rank, 1 AS n
FROM expected
WHERE rank IS DISTINCT FROM expected_rank
ORDER BY year, agency_group, criterion_code, expected_rank, agency_code
