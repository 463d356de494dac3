-- Agency profiles and the what-if for every ranked year (the tables were just recreated empty).
-- Exact arithmetic on the rubric: points = max_points × min(value / target, 1), so the value that earns p points
-- of an item is target × p / max_points. Sums use DECIMAL(38, 9), like score.sql.

INSERT INTO agency_profile_items
SELECT s.year, s.agency_code, s.agency_group, s.criterion_code, s.indicator_code, s.value, s.target, s.points,
       s.max_points,
       s.max_points - s.points AS points_lost,
       CASE WHEN s.max_points > 0 THEN s.points / s.max_points ELSE 0 END AS earned_share,
       avg(s.points) OVER (PARTITION BY s.year, s.agency_group, s.indicator_code) AS group_avg_points,
       row_number() OVER (PARTITION BY s.year, s.agency_code
                          ORDER BY s.points / nullif(s.max_points, 0) DESC, s.max_points DESC, s.indicator_code),
       row_number() OVER (PARTITION BY s.year, s.agency_code
                          ORDER BY s.max_points - s.points DESC, s.indicator_code)
FROM indicator_scores AS s;

INSERT INTO agency_profiles
WITH ranked AS (
    SELECT * FROM rankings_history
),
group_sizes AS (
    SELECT year, agency_group, count(*) AS group_size FROM ranked GROUP BY ALL
),
next_classes AS (
    -- the lowest class threshold above the agency's total
    SELECT r.year, r.agency_code, arg_min(c.label, c.min_total) AS next_class, min(c.min_total) AS next_class_min
    FROM ranked AS r
    JOIN rubric_classes AS c
      ON c.year = r.year AND c.agency_group = r.agency_group AND c.min_total > r.total_points
    GROUP BY ALL
),
above AS (
    -- the nearest agency with a higher total in the same group (ties: the first code)
    SELECT r.year, r.agency_code,
           arg_min(o.agency_code, (o.total_points, o.agency_code)) AS agency_above_code,
           arg_min(o.agency_name, (o.total_points, o.agency_code)) AS agency_above_name,
           min(o.total_points) AS agency_above_total
    FROM ranked AS r
    JOIN rankings AS o
      ON o.year = r.year AND o.agency_group = r.agency_group AND o.total_points > r.total_points
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
       CAST(CAST(a.agency_above_total AS DECIMAL(38, 9)) + 0.01 - CAST(r.total_points AS DECIMAL(38, 9)) AS DOUBLE),
       h.rank_history
FROM ranked AS r
JOIN group_sizes AS g USING (year, agency_group)
JOIN history AS h USING (year, agency_code)
LEFT JOIN items AS i USING (year, agency_code)
LEFT JOIN next_classes AS n USING (year, agency_code)
LEFT JOIN above AS a USING (year, agency_code)
ORDER BY r.year, r.agency_group, r.rank, r.agency_code;

-- The fewest items: take the items with the most points still to gain, largest first, until the goal is met
-- (the k largest gains beat any other k items, so no smaller set exists). The last item needs only part of its
-- gain: its required value is rounded up to a value the indicator can take (a flag: 1; three security measures:
-- a multiple of 1/3; a ratio: 4 decimals), so the goal is still met. Rankings round the total to 2 decimals,
-- half away from zero, so reaching (threshold - total_points) on the unrounded sum is enough.
INSERT INTO what_if
WITH goals AS (
    SELECT year, agency_code, 'next_class' AS goal, 'đạt loại ' || next_class AS goal_label,
           CAST(next_class_min AS DECIMAL(38, 9)) - CAST(total_points AS DECIMAL(38, 9)) AS points_needed
    FROM agency_profiles
    WHERE next_class IS NOT NULL
    UNION ALL
    SELECT year, agency_code, 'pass_agency_above', 'vượt ' || coalesce(agency_above_name, agency_above_code),
           CAST(agency_above_total AS DECIMAL(38, 9)) + 0.01 - CAST(total_points AS DECIMAL(38, 9))
    FROM agency_profiles
    WHERE agency_above_code IS NOT NULL
),
gains AS (
    SELECT p.year, p.agency_code, p.criterion_code, p.indicator_code, p.value, p.target, p.points, p.max_points,
           CAST(p.max_points AS DECIMAL(38, 9)) - CAST(p.points AS DECIMAL(38, 9)) AS gain,
           coalesce(l.value_levels, 10000) AS value_levels
    FROM agency_profile_items AS p
    LEFT JOIN indicator_labels AS l USING (indicator_code)
    WHERE p.points < p.max_points
),
steps AS (
    SELECT g.year, g.agency_code, g.goal, g.goal_label, g.points_needed, i.criterion_code, i.indicator_code,
           i.value, i.target, i.points, i.max_points, i.gain, i.value_levels,
           row_number() OVER w AS step,
           coalesce(sum(i.gain) OVER (w ROWS BETWEEN UNBOUNDED PRECEDING AND 1 PRECEDING), 0) AS gained_before,
           sum(i.gain) OVER (PARTITION BY g.year, g.agency_code, g.goal) AS gain_available
    FROM goals AS g
    JOIN gains AS i USING (year, agency_code)
    WINDOW w AS (PARTITION BY g.year, g.agency_code, g.goal ORDER BY i.gain DESC, i.indicator_code)
),
chosen AS (
    SELECT *, gain_available >= points_needed AS reachable,
           least(gain, points_needed - gained_before) AS needed_here
    FROM steps
    WHERE gained_before < points_needed
),
valued AS (
    SELECT *,
           least(ceil(CAST(target AS DECIMAL(38, 9)) * (CAST(points AS DECIMAL(38, 9)) + needed_here)
                      / CAST(max_points AS DECIMAL(38, 9)) * value_levels) / value_levels,
                 CAST(target AS DECIMAL(38, 9))) AS required
    FROM chosen
)
SELECT year, agency_code, goal, goal_label, CAST(points_needed AS DOUBLE), reachable, step, criterion_code,
       indicator_code, value, CAST(required AS DOUBLE) AS required_value, target, points AS current_points,
       round(max_points * CAST(required AS DOUBLE) / target, 9) AS new_points,
       round(max_points * CAST(required AS DOUBLE) / target - points, 9) AS points_gained
FROM valued
ORDER BY year, agency_code, goal, step;
