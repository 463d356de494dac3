-- Agency profiles and the what-if for every ranked year (the tables were just recreated empty).
-- Exact arithmetic on the rubric: an item's points are max_points × its method's share of the value
-- (method_share), and the value that earns p of its points is the method's inverse (method_value, both macros of
-- pipelines/core/methods.py), so the what-if is right for every scoring method. Sums use DECIMAL(38, 9), like
-- score.sql; totals are rounded to the rubric's decimals (rubric_classes.decimals).

INSERT INTO agency_profile_items
SELECT s.year, s.agency_code, s.agency_group, s.criterion_code, s.indicator_code, s.value, s.target, s.points,
       s.max_points,
       s.max_points - s.points AS points_lost,
       CASE WHEN s.max_points > 0 THEN s.points / s.max_points ELSE 0 END AS earned_share,
       -- in exact decimals: a DOUBLE sum over parallel threads differs in its last digit from run to run
       CAST(avg(CAST(s.points AS DECIMAL(38, 9))) OVER (PARTITION BY s.year, s.agency_group, s.indicator_code)
            AS DOUBLE) AS group_avg_points,
       row_number() OVER (PARTITION BY s.year, s.agency_code
                          ORDER BY s.points / nullif(s.max_points, 0) DESC, s.max_points DESC, s.indicator_code ASC),
       row_number() OVER (PARTITION BY s.year, s.agency_code
                          ORDER BY s.max_points - s.points DESC, s.indicator_code)
FROM indicator_scores AS s
WHERE s.points IS NOT NULL;  -- an indicator without a value under missing: skip is left out, not lost

INSERT INTO agency_profiles
WITH ranked AS (
    -- a unit without enough data for a total: no profile. `standing`: what classes and ranks compare (the total;
    -- under rounding: index, the rounded index × the maximum)
    SELECT h.*, CASE WHEN k.rounding = 'index' THEN h.index_value * h.max_points ELSE h.total_points END AS standing
    FROM rankings_history AS h
    LEFT JOIN (SELECT DISTINCT year, agency_group, rounding FROM rubric_classes) AS k USING (year, agency_group)
    WHERE h.rank IS NOT NULL
),
rounding AS (
    SELECT DISTINCT year, agency_group, decimals FROM rubric_classes
),
group_sizes AS (
    SELECT year, agency_group, count(*) AS group_size FROM ranked GROUP BY ALL
),
next_classes AS (
    -- the lowest class threshold above the agency's standing
    SELECT r.year, r.agency_code, arg_min(c.label, c.min_total) AS next_class, min(c.min_total) AS next_class_min
    FROM ranked AS r
    JOIN rubric_classes AS c
      ON c.year = r.year AND c.agency_group = r.agency_group AND c.min_total > r.standing
    GROUP BY ALL
),
above AS (
    -- the nearest agency with a higher standing in the same group (ties: the first code)
    SELECT r.year, r.agency_code,
           arg_min(o.agency_code, (o.standing, o.agency_code)) AS agency_above_code,
           arg_min(o.agency_name, (o.standing, o.agency_code)) AS agency_above_name,
           arg_min(o.total_points, (o.standing, o.agency_code)) AS agency_above_total
    FROM ranked AS r
    JOIN ranked AS o
      ON o.year = r.year AND o.agency_group = r.agency_group AND o.standing > r.standing
    GROUP BY ALL
),
items AS (
    SELECT year, agency_code,
           list(indicator_code ORDER BY strength_order) FILTER (WHERE strength_order <= 3 AND points > 0) AS strongest,
           list(indicator_code ORDER BY weakness_order) FILTER (WHERE weakness_order <= 3 AND points_lost > 0)
               AS weakest
    FROM agency_profile_items
    GROUP BY ALL
),
history AS (
    SELECT r.year, r.agency_code,
           list({'year': h.year, 'rank': h.rank, 'total_points': h.total_points,
                 'classification': h.classification} ORDER BY h.year) AS rank_history
    FROM ranked AS r
    JOIN rankings AS h ON h.agency_code = r.agency_code AND h.year <= r.year
    GROUP BY ALL
)
SELECT r.year, r.agency_code, r.agency_name, r.agency_group, r.total_points, r.max_points,
       CAST(CAST(r.max_points AS DECIMAL(38, 9)) - CAST(r.total_points AS DECIMAL(38, 9)) AS DOUBLE),
       r.rank, g.group_size, r.prev_rank, r.rank_change, r.classification,
       coalesce(i.strongest, []), coalesce(i.weakest, []),
       n.next_class, n.next_class_min,
       CAST(CAST(n.next_class_min AS DECIMAL(38, 9)) - CAST(r.total_points AS DECIMAL(38, 9)) AS DOUBLE),
       a.agency_above_code, a.agency_above_name, a.agency_above_total,
       -- one unit of the last decimal above it (0.01 for totals with 2 decimals)
       CAST(CAST(a.agency_above_total AS DECIMAL(38, 9)) + CAST(10 ** -d.decimals AS DECIMAL(18, 9))
            - CAST(r.total_points AS DECIMAL(38, 9)) AS DOUBLE),
       h.rank_history
FROM ranked AS r
JOIN group_sizes AS g USING (year, agency_group)
JOIN history AS h USING (year, agency_code)
JOIN rounding AS d USING (year, agency_group)
LEFT JOIN items AS i USING (year, agency_code)
LEFT JOIN next_classes AS n USING (year, agency_code)
LEFT JOIN above AS a USING (year, agency_code)
ORDER BY r.year, r.agency_group, r.rank, r.agency_code;

-- The groups whose total is not the sum of their item points (a node geometric, missing: skip or min_coverage, or the
-- total's index rounded): the greedy choice below is exact only for the others, so these get their what-if from
-- tree_what_if.py, on the whole tree. A temp table that profiles.py drops: read by the what-if below and by
-- tree_what_if.py, and empty for a rubric of plain sums.
CREATE OR REPLACE TEMP TABLE what_if_tree_groups AS
SELECT year, agency_group FROM rubric_classes
WHERE coalesce(aggregate, 'arithmetic') <> 'arithmetic' OR coalesce(missing, 'zero') <> 'zero'
   OR coalesce(min_coverage, 0) <> 0 OR coalesce(rounding, 'total') <> 'total'
UNION
SELECT year, agency_group FROM rubric_criteria
WHERE aggregate <> 'arithmetic' OR missing <> 'zero' OR min_coverage > 0;

-- The fewest items: take the items with the most points still to gain, largest first, until the goal is met
-- (the k largest gains beat any other k items, so no smaller set exists; every method can reach its full points).
-- The last item needs only part of its gain: the method's inverse gives the value that earns it, the other units'
-- values held fixed, and that value is rounded to one the indicator can take (a flag: 1; three security
-- measures: a multiple of 1/3; else 4 decimals) in the direction that earns more, so the goal is still met;
-- new_points is the method's forward formula at that value, with the group's minimum and maximum updated. Under
-- minmax, lifting the group's lowest unit lowers the others' points: the goal is then met with room to spare.
-- Rankings round the total half away from zero, so reaching (threshold - total_points) on the unrounded sum is enough.
-- Only for the groups whose total is the sum of their item points: not those of what_if_tree_groups (below).
INSERT INTO what_if
WITH rounding AS (
    SELECT DISTINCT year, agency_group, decimals FROM rubric_classes
),
goals AS (
    SELECT year, agency_code, 'next_class' AS goal, 'đạt loại ' || next_class AS goal_label,
           CAST(next_class_min AS DECIMAL(38, 9)) - CAST(total_points AS DECIMAL(38, 9)) AS points_needed
    FROM agency_profiles
    ANTI JOIN what_if_tree_groups USING (year, agency_group)
    WHERE next_class IS NOT NULL
    UNION ALL
    SELECT year, agency_code, 'pass_agency_above', 'vượt ' || coalesce(agency_above_name, agency_above_code),
           CAST(agency_above_total AS DECIMAL(38, 9)) + CAST(10 ** -d.decimals AS DECIMAL(18, 9))
               - CAST(total_points AS DECIMAL(38, 9))
    FROM agency_profiles
    JOIN rounding AS d USING (year, agency_group)
    ANTI JOIN what_if_tree_groups USING (year, agency_group)
    WHERE agency_above_code IS NOT NULL
),
items AS (
    -- each item with its method and parameters (rubric rows scored before methods existed: target), and the
    -- smallest and largest value of the OTHER units of its group with a value (what fraction_of_max and minmax
    -- compare with)
    -- (under transform: log, the method reads logs: the parameters, the others' values and the inverse's value are
    -- in those units, and the value is taken back to the indicator's units before it is rounded)
    SELECT p.year, p.agency_code, p.criterion_code, p.indicator_code, p.value, p.points, p.max_points, r.method,
           r.transform, method_params_for(coalesce(r.params, json_object('target', r.target)), r.transform) AS prm,
           min(method_transform(r.transform, p.value)) FILTER (WHERE isfinite(p.value)) OVER others AS o_min,
           max(method_transform(r.transform, p.value)) FILTER (WHERE isfinite(p.value)) OVER others AS o_max
    FROM agency_profile_items AS p
    JOIN rubric_items AS r USING (year, agency_group, criterion_code, indicator_code)
    WINDOW others AS (PARTITION BY p.year, p.agency_group, p.indicator_code
                      ROWS BETWEEN UNBOUNDED PRECEDING AND UNBOUNDED FOLLOWING EXCLUDE CURRENT ROW)
),
gains AS (
    SELECT i.*, CAST(i.max_points AS DECIMAL(38, 9)) - CAST(i.points AS DECIMAL(38, 9)) AS gain,
           coalesce(l.value_levels, 10000) AS value_levels,
           method_higher_is_better(i.method, i.prm) AS higher_is_better
    FROM items AS i
    LEFT JOIN indicator_labels AS l USING (indicator_code)
    WHERE i.points < i.max_points
),
steps AS (
    SELECT g.year, g.agency_code, g.goal, g.goal_label, g.points_needed, i.criterion_code, i.indicator_code,
           i.value, i.points, i.max_points, i.gain, i.value_levels, i.method, i.transform, i.prm, i.o_min, i.o_max,
           i.higher_is_better,
           row_number() OVER w AS step,
           coalesce(sum(i.gain) OVER (w ROWS BETWEEN UNBOUNDED PRECEDING AND 1 PRECEDING), 0) AS gained_before,
           sum(i.gain) OVER (PARTITION BY g.year, g.agency_code, g.goal) AS gain_available
    FROM goals AS g
    JOIN gains AS i USING (year, agency_code)
    WINDOW w AS (PARTITION BY g.year, g.agency_code, g.goal ORDER BY i.gain DESC, i.indicator_code ASC)
),
chosen AS (
    SELECT *, gain_available >= points_needed AS reachable,
           least(gain, points_needed - gained_before) AS needed_here
    FROM steps
    WHERE gained_before < points_needed
),
valued AS (
    -- exact: the value that earns points + needed_here; full: the value from which the item earns all its points
    SELECT *,
           method_untransform(transform, method_value(method, CAST(points AS DECIMAL(38, 9)) + needed_here,
                                                      CAST(max_points AS DECIMAL(38, 9)), prm, o_min, o_max))
               AS exact_value,
           method_untransform(transform, method_value(method, 1, 1, prm, o_min, o_max)) AS full_value
    FROM chosen
),
rounded AS (
    -- NULL exact value: any value earns it (no other unit to compare with): the smallest positive one
    SELECT *,
           CASE WHEN exact_value IS NULL THEN 1.0 / value_levels
                WHEN higher_is_better THEN least(ceil(exact_value * value_levels) / value_levels, full_value)
                ELSE greatest(floor(exact_value * value_levels) / value_levels, full_value) END AS required
    FROM valued
),
scored AS (
    SELECT *, max_points * method_share(method, t, prm, least(o_min, t), greatest(o_max, t)) AS new_points_raw
    FROM (SELECT *, method_transform(transform, required) AS t FROM rounded) AS transformed
)
SELECT year, agency_code, goal, goal_label, CAST(points_needed AS DOUBLE), reachable, step, criterion_code,
       indicator_code, value, CAST(required AS DOUBLE) AS required_value, full_value AS target,
       points AS current_points, round(new_points_raw, 9) AS new_points,
       round(new_points_raw - points, 9) AS points_gained, NOT higher_is_better AS lower_is_better
FROM scored
ORDER BY year, agency_code, goal, step;
