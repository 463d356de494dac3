-- Ranks that are not competition ranks (1, 2, 2, 4) of the total rounded to the rubric's decimals (temp table
-- egov_dq_decimals), descending, within year and agency group (docs/domain.md §5); under rounding: index, of the
-- index rounded to the decimals. A unit without a total (not enough data) has no rank.
-- One row per agency whose rank differs from the expected one; every row of a year and group whose rubric rounding is
-- unknown (no rubric_classes rows: not scored by the scoring step).
WITH rounding AS (
    SELECT year, agency_group, max(decimals) AS decimals, coalesce(max(rounding), 'total') AS rounding
    FROM egov_dq_decimals GROUP BY ALL
),
keyed AS (
    SELECT r.year, r.agency_group, r.agency_code, r.total_points, r.rank,
           round(CAST(CASE WHEN d.rounding = 'index' THEN r.index_value ELSE r.total_points END AS DECIMAL(38, 9))
                 * CAST(10 ** d.decimals AS DECIMAL(18, 0)), 0) AS rank_key
    FROM rankings AS r
    LEFT JOIN rounding AS d USING (year, agency_group)
    WHERE list_contains($years, r.year)
),
expected AS (
    SELECT *,
           CASE WHEN rank_key IS NOT NULL
                THEN rank() OVER (PARTITION BY year, agency_group, rank_key IS NULL ORDER BY rank_key DESC) END
               AS expected_rank
    FROM keyed
)
SELECT year, agency_group, agency_code, total_points, rank, expected_rank, 1 AS n
FROM expected
WHERE rank IS DISTINCT FROM expected_rank
ORDER BY year, agency_group, expected_rank, agency_code
