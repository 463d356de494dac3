-- Score the years of `scoring_years` (temp table) with the rubric rows already in rubric_items/rubric_classes.
-- Run by score.py inside one transaction, after the years' old rows were deleted. Each item's share of its points
-- comes from its scoring method (rubric_items.method, .params) through the macros of pipelines/core/methods.py:
-- method_share (value → share), method_value (share → value), round_decimals.
-- Arithmetic is DECIMAL(38, 9) from the item points on: sums are exact and 79.995 rounds to 80.00, whatever
-- the binary noise of the doubles (0.45 / 0.9 × 8 and the like).

-- The value that earns an item's full points, where it does not depend on the other units (goalposts: best;
-- steps: the top step's minimum); NULL for the methods relative to the group (fraction_of_max, minmax).
UPDATE rubric_items SET target = method_value(method, 1, 1, method_params(params), NULL, NULL)
WHERE year IN (SELECT year FROM scoring_years) AND method <> 'target';

-- Points per agency and rubric item. Every evaluated agency gets every item of its group's rubric; a missing,
-- NULL, NaN or infinite value earns 0, a share below 0 is clamped to 0 and above 1 to 1 (a negative value of a
-- ratio earns 0, a value above target the full points).
INSERT INTO indicator_scores
WITH vals AS (
    -- one value per agency and indicator: indicator_values.sql already lets an assessment replace the computed
    -- row; should a duplicate still slip in, the larger value is kept rather than scoring the indicator twice
    SELECT year, agency_code, indicator_code, value
    FROM indicator_values
    WHERE year IN (SELECT year FROM scoring_years)
    QUALIFY row_number() OVER (PARTITION BY year, agency_code, indicator_code ORDER BY value DESC NULLS LAST) = 1
),
items AS (
    SELECT *, method_params(params) AS p
    FROM rubric_items
    WHERE year IN (SELECT year FROM scoring_years)
),
scored AS (
    -- g_min / g_max: the group of the method, i.e. the units of the same agency group and year that have a
    -- (finite) value for the indicator
    SELECT a.year, a.agency_code, a.agency_group, r.criterion_code, r.indicator_code, r.criterion_order,
           r.item_order, r.method, r.p, r.points AS max_points, v.value,
           min(v.value) FILTER (WHERE isfinite(v.value)) OVER item_group AS g_min,
           max(v.value) FILTER (WHERE isfinite(v.value)) OVER item_group AS g_max
    FROM scoring_agencies AS a
    JOIN items AS r ON r.year = a.year AND r.agency_group = a.agency_group
    LEFT JOIN vals AS v ON v.year = a.year AND v.agency_code = a.agency_code AND v.indicator_code = r.indicator_code
    WINDOW item_group AS (PARTITION BY a.year, a.agency_group, r.indicator_code)
)
SELECT year, agency_code, agency_group, criterion_code, indicator_code, value,
       method_value(method, 1, 1, p, g_min, g_max) AS target,
       CAST(CAST(max_points * method_share(method, value, p, g_min, g_max) AS DECIMAL(38, 9)) AS DOUBLE) AS points,
       max_points
FROM scored
ORDER BY year, agency_code, criterion_order, item_order;

INSERT INTO criterion_scores
WITH sums AS (
    SELECT year, agency_code, agency_group, criterion_code,
           sum(CAST(points AS DECIMAL(38, 9))) AS points, sum(CAST(max_points AS DECIMAL(38, 9))) AS max_points
    FROM indicator_scores
    WHERE year IN (SELECT year FROM scoring_years)
    GROUP BY ALL
),
names AS (
    SELECT DISTINCT year, agency_group, criterion_code, criterion_name, criterion_order
    FROM rubric_items
    WHERE year IN (SELECT year FROM scoring_years)
),
rounding AS (
    SELECT DISTINCT year, agency_group, decimals FROM rubric_classes WHERE year IN (SELECT year FROM scoring_years)
)
SELECT s.year, s.agency_code, s.agency_group, s.criterion_code, n.criterion_name,
       CAST(s.points AS DOUBLE), CAST(s.max_points AS DOUBLE),
       rank() OVER (PARTITION BY s.year, s.agency_group, s.criterion_code
                    ORDER BY round_decimals(s.points, d.decimals) DESC)
FROM sums AS s
JOIN names AS n USING (year, agency_group, criterion_code)
JOIN rounding AS d USING (year, agency_group)
ORDER BY s.year, s.agency_group, n.criterion_order, 8, s.agency_code;

INSERT INTO rankings
WITH rounding AS (
    SELECT DISTINCT year, agency_group, decimals FROM rubric_classes WHERE year IN (SELECT year FROM scoring_years)
),
totals AS (
    -- the total rounded half away from zero to the rubric's decimals (2 unless the rubric says otherwise)
    SELECT s.year, s.agency_group, s.agency_code,
           round_decimals(sum(CAST(s.points AS DECIMAL(38, 9))), any_value(d.decimals)) AS total_points,
           sum(CAST(s.max_points AS DECIMAL(38, 9))) AS max_points
    FROM indicator_scores AS s
    JOIN rounding AS d USING (year, agency_group)
    WHERE s.year IN (SELECT year FROM scoring_years)
    GROUP BY ALL
),
classified AS (
    SELECT t.year, t.agency_group, t.agency_code, t.total_points, t.max_points,
           arg_max(c.label, c.min_total) AS classification, any_value(c.rubric_year) AS rubric_year
    FROM totals AS t
    JOIN rubric_classes AS c
      ON c.year = t.year AND c.agency_group = t.agency_group AND c.min_total <= t.total_points
    GROUP BY ALL
)
SELECT c.year, c.agency_group, c.agency_code, a.agency_name,
       CAST(c.total_points AS DOUBLE), CAST(c.max_points AS DOUBLE),
       round(CAST(c.total_points AS DOUBLE) / CAST(c.max_points AS DOUBLE), 9),  -- 0.9265, not 0.92650000000001
       rank() OVER (PARTITION BY c.year, c.agency_group ORDER BY c.total_points DESC),
       c.classification, c.rubric_year
FROM classified AS c
JOIN scoring_agencies AS a USING (year, agency_code)
ORDER BY c.year, c.agency_group, 8, c.agency_code;
