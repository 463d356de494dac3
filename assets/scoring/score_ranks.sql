-- Criterion scores and rankings from the tree's points (the temp table node_points that score_nodes.sql or
-- score_sums.sql filled, level 0 being the total), for the years of `scoring_years`. Every criterion of every level
-- is ranked within year, group and criterion, on its points rounded to the rubric's decimals; a node without a value
-- (missing: skip, min_coverage) has no rank, and a unit whose total has none is listed unranked, with the reason.

INSERT INTO criterion_scores BY NAME
WITH rounding AS (
    SELECT DISTINCT year, agency_group, decimals FROM rubric_classes WHERE year IN (SELECT year FROM scoring_years)
)
SELECT p.year, p.agency_code, p.agency_group, p.node AS criterion_code, n.criterion_name,
       CAST(p.points AS DOUBLE) AS points, CAST(p.max_points AS DOUBLE) AS max_points,
       CASE WHEN p.points IS NOT NULL
            THEN rank() OVER (PARTITION BY p.year, p.agency_group, p.node, p.points IS NULL
                              ORDER BY round_decimals(p.points, d.decimals) DESC) END AS rank,
       nullif(n.parent_code, '') AS parent_code, p.level
FROM node_points AS p
JOIN scoring_nodes AS n ON n.year = p.year AND n.agency_group = p.agency_group AND n.node = p.node
JOIN rounding AS d ON d.year = p.year AND d.agency_group = p.agency_group
WHERE p.level >= 1
ORDER BY p.year, p.agency_group, n.criterion_order, rank, p.agency_code;

INSERT INTO rankings BY NAME
WITH settings AS (
    SELECT DISTINCT year, agency_group, decimals, coalesce(rounding, 'total') AS rounding, rubric_year
    FROM rubric_classes
    WHERE year IN (SELECT year FROM scoring_years)
),
totals AS (
    -- the total rounded half away from zero to the rubric's decimals (2 unless the rubric says otherwise); under
    -- rounding: index the index is rounded instead, and the total kept as computed
    SELECT p.year, p.agency_group, p.agency_code, p.max_points, p.reason, s.rounding, s.rubric_year,
           CASE WHEN s.rounding = 'index' THEN p.points ELSE round_decimals(p.points, s.decimals) END AS total_points,
           CASE WHEN s.rounding = 'index' THEN round_decimals(p.points / p.max_points, s.decimals) END AS rounded_index
    FROM node_points AS p
    JOIN settings AS s ON s.year = p.year AND s.agency_group = p.agency_group
    WHERE p.level = 0
),
classified AS (
    -- the class on the rounded figure: the total, or the rounded index × the maximum (thresholds are totals)
    SELECT t.year, t.agency_group, t.agency_code, t.total_points, t.max_points, t.rounded_index, t.rounding,
           t.reason, t.rubric_year,
           CASE WHEN t.rounding = 'index' THEN t.rounded_index ELSE t.total_points END AS rank_key,
           arg_max(c.label, c.min_total) AS classification
    FROM totals AS t
    LEFT JOIN rubric_classes AS c
      ON c.year = t.year AND c.agency_group = t.agency_group
     AND c.min_total <= CASE WHEN t.rounding = 'index' THEN t.rounded_index * t.max_points ELSE t.total_points END
    GROUP BY ALL
)
SELECT c.year, c.agency_group, c.agency_code, a.agency_name,
       CAST(c.total_points AS DOUBLE) AS total_points, CAST(c.max_points AS DOUBLE) AS max_points,
       CASE WHEN c.rounding = 'index' THEN CAST(c.rounded_index AS DOUBLE)
            -- 0.9265, not 0.92650000000001
            ELSE round(CAST(c.total_points AS DOUBLE) / CAST(c.max_points AS DOUBLE), 9) END AS index_value,
       CASE WHEN c.rank_key IS NOT NULL
            THEN rank() OVER (PARTITION BY c.year, c.agency_group, c.rank_key IS NULL ORDER BY c.rank_key DESC)
       END AS rank,
       c.classification, c.rubric_year,
       CASE WHEN c.total_points IS NULL THEN 'không đủ dữ liệu: ' || coalesce(c.reason, 'tổng điểm không có giá trị')
       END AS unranked_reason
FROM classified AS c
JOIN scoring_agencies AS a USING (year, agency_code)
ORDER BY c.year, c.agency_group, rank, c.agency_code;
