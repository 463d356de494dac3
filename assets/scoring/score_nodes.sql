-- One level of the rubric's tree ($level; score.py runs it from the deepest level up to 0, the total): each node's
-- points from its children (its indicators' points in indicator_scores, or its sub-criteria's rows of the level
-- below in the temp table node_points), by the node's settings in the temp table scoring_nodes (docs/rubrics.md §3):
--   a child has a value when its indicator value is finite / its own points are not NULL; w = its maximum points;
--   no value: under missing: skip when no child has a value, or when the children with a value hold less than
--   min_coverage of the node's maximum (a reason in words is kept, for the unranked unit);
--   arithmetic, zero: the sum of the children's points (a child without a value earns 0): the rule of every rubric
--     before nested criteria, in exact DECIMAL;
--   arithmetic, skip: the children with a value, re-weighted to the node's maximum: max × Σ points / Σ w;
--   geometric: max × Π (points_i / w_i) ^ (w_i / Σ w) over the children (skip: those with a value), 0 when one of
--     them has share 0.
INSERT INTO node_points
WITH children AS (
    SELECT s.year, s.agency_code, s.agency_group, s.criterion_code AS node, CAST(s.max_points AS DECIMAL(38, 9)) AS w,
           CAST(s.points AS DECIMAL(38, 9)) AS pts, coalesce(isfinite(s.value), FALSE) AS valued,
           NULL::VARCHAR AS reason
    FROM indicator_scores AS s
    SEMI JOIN scoring_nodes AS n
           ON n.year = s.year AND n.agency_group = s.agency_group AND n.node = s.criterion_code AND n.level = $level
    WHERE s.year IN (SELECT year FROM scoring_years)
    UNION ALL
    SELECT c.year, c.agency_code, c.agency_group, n.parent_code, c.max_points, c.points, c.points IS NOT NULL,
           c.reason
    FROM node_points AS c
    JOIN scoring_nodes AS n ON n.year = c.year AND n.agency_group = c.agency_group AND n.node = c.node
    WHERE c.level = $level + 1
),
sums AS (
    SELECT year, agency_code, agency_group, node,
           sum(w) AS w_all,
           coalesce(sum(w) FILTER (WHERE valued), 0) AS w_valued,
           sum(coalesce(pts, 0)) AS sum_all,
           sum(pts) FILTER (WHERE valued) AS sum_valued,
           bool_or(coalesce(pts, 0) <= 0) AS zero_all,
           coalesce(bool_or(pts <= 0) FILTER (WHERE valued), FALSE) AS zero_valued,
           sum(CAST(w AS DOUBLE) * ln(CAST(pts AS DOUBLE) / CAST(w AS DOUBLE))) FILTER (WHERE pts > 0) AS log_all,
           sum(CAST(w AS DOUBLE) * ln(CAST(pts AS DOUBLE) / CAST(w AS DOUBLE))) FILTER (WHERE valued AND pts > 0)
               AS log_valued,
           string_agg(reason, '; ' ORDER BY reason) FILTER (WHERE NOT valued) AS child_reasons
    FROM children
    GROUP BY ALL
),
judged AS (
    SELECT s.*, n.level, n.aggregate, n.missing, n.min_coverage, n.label,
           (n.missing = 'skip' AND s.w_valued = 0)
               OR s.w_valued < CAST(n.min_coverage AS DECIMAL(38, 9)) * s.w_all AS no_value
    FROM sums AS s
    JOIN scoring_nodes AS n ON n.year = s.year AND n.agency_group = s.agency_group AND n.node = s.node
    WHERE n.level = $level
)
SELECT year, agency_code, agency_group, node, level,
       CASE WHEN no_value THEN NULL
            WHEN aggregate = 'arithmetic' AND missing = 'zero' THEN sum_all
            WHEN aggregate = 'arithmetic' THEN CAST(w_all * sum_valued / w_valued AS DECIMAL(38, 9))
            WHEN missing = 'zero' THEN
                CASE WHEN zero_all THEN 0 ELSE CAST(CAST(w_all AS DOUBLE) * exp(log_all / CAST(w_all AS DOUBLE))
                                                    AS DECIMAL(38, 9)) END
            WHEN zero_valued THEN 0
            ELSE CAST(CAST(w_all AS DOUBLE) * exp(log_valued / CAST(w_valued AS DOUBLE))
                                                        AS DECIMAL(38, 9))
       END AS points,
       w_all AS max_points,
       CASE WHEN NOT no_value THEN NULL
            WHEN w_valued = 0 THEN label || ': không có dữ liệu'
            ELSE label || ': có dữ liệu cho ' || replace(printf('%g', round(100 * CAST(w_valued AS DOUBLE)
                                                                            / CAST(w_all AS DOUBLE), 1)), '.', ',')
                 || '% trọng số, dưới mức tối thiểu '
                 || replace(printf('%g', round(100 * min_coverage, 1)), '.', ',') || '%'
       END || coalesce(' (' || child_reasons || ')', '') AS reason
FROM judged;
