-- Score the years of `scoring_years` (temp table) with the rubric rows already in rubric_items, rubric_criteria and
-- rubric_classes. Run by score.py inside one transaction, after the years' old rows were deleted, in three parts:
-- this file (the items), score_nodes.sql once per level of criteria from the deepest up to the total (level 0) (or,
-- for a rubric of one level of plain sums, score_sums.sql), and score_ranks.sql (criterion_scores and rankings). Each item's share of its points comes from its scoring method
-- (rubric_items.method, .params, .transform) through the macros of pipelines/core/methods.py: method_share (value →
-- share), method_value (share → value), method_params_for / method_transform (transform: log), round_decimals.
-- Arithmetic is DECIMAL(38, 9) from the item points on: sums are exact and 79.995 rounds to 80.00, whatever
-- the binary noise of the doubles (0.45 / 0.9 × 8 and the like).

-- The value that earns an item's full points, where it does not depend on the other units (goalposts: best;
-- steps: the top step's minimum); NULL for the methods relative to the group (fraction_of_max, minmax).
UPDATE rubric_items
SET target = method_untransform(transform, method_value(method, 1, 1, method_params_for(params, transform), NULL, NULL))
WHERE year IN (SELECT year FROM scoring_years) AND method <> 'target';

-- Points per agency and rubric item. Every evaluated agency gets every item of its group's rubric; a missing,
-- NULL, NaN or infinite value earns 0 (or, under a criterion with missing: skip, no points at all: NULL, left out
-- of the criterion), a share below 0 is clamped to 0 and above 1 to 1 (a negative value of a ratio earns 0, a
-- value above target the full points).
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
    SELECT r.*, method_params_for(r.params, r.transform) AS p, c.missing
    FROM rubric_items AS r
    JOIN rubric_criteria AS c USING (year, agency_group, criterion_code)
    WHERE r.year IN (SELECT year FROM scoring_years)
),
scored AS (
    -- g_min / g_max: the group of the method, i.e. the units of the same agency group and year that have a
    -- (finite) value for the indicator, in the units the method reads (after the transform)
    SELECT a.year, a.agency_code, a.agency_group, r.criterion_code, r.indicator_code, r.criterion_order,
           r.item_order, r.method, r.p, r.transform, r.missing, r.points AS max_points, v.value,
           method_transform(r.transform, v.value) AS tv,
           min(method_transform(r.transform, v.value)) FILTER (WHERE isfinite(v.value)) OVER item_group AS g_min,
           max(method_transform(r.transform, v.value)) FILTER (WHERE isfinite(v.value)) OVER item_group AS g_max
    FROM scoring_agencies AS a
    JOIN items AS r ON r.year = a.year AND r.agency_group = a.agency_group
    LEFT JOIN vals AS v ON v.year = a.year AND v.agency_code = a.agency_code AND v.indicator_code = r.indicator_code
    WINDOW item_group AS (PARTITION BY a.year, a.agency_group, r.indicator_code)
)
SELECT year, agency_code, agency_group, criterion_code, indicator_code, value,
       method_untransform(transform, method_value(method, 1, 1, p, g_min, g_max)) AS target,
       CASE WHEN missing = 'skip' AND NOT coalesce(isfinite(value), FALSE) THEN NULL
            ELSE CAST(CAST(max_points * method_share(method, tv, p, g_min, g_max) AS DECIMAL(38, 9)) AS DOUBLE)
       END AS points,
       max_points
FROM scored
ORDER BY year, agency_code, criterion_order, item_order;
