-- The share of its points each unit of the group earns under each method configuration of the uncertainty
-- analysis (assets/scoring/uncertainty.py): `ua_configs` holds one row per (item, method, parameters) that some
-- run draws, `ua_scope` the year and agency group. The formula is the scoring's own (the method_share macro of
-- pipelines/core/methods.py, as score.sql calls it, in the units the method reads: after the item's transform);
-- the group statistics g_min / g_max are taken over the same units as there: those of the year and group with a
-- finite value for the indicator. A unit is given as its place among the group's agency codes in order (`unit`,
-- from 0), and the rows come in no order: uncertainty.py places each share in its matrix, batch by batch, without
-- sorting rows or holding a code per row.
WITH transforms AS (
    SELECT r.indicator_code, r.transform
    FROM rubric_items AS r
    JOIN ua_scope AS u ON u.year = r.year AND u.agency_group = r.agency_group
),
scope_values AS (
    SELECT dense_rank() OVER (ORDER BY s.agency_code) - 1 AS unit, s.indicator_code,
           method_transform(t.transform, s.value) AS value,
           min(method_transform(t.transform, s.value)) FILTER (WHERE isfinite(s.value)) OVER item_group AS g_min,
           max(method_transform(t.transform, s.value)) FILTER (WHERE isfinite(s.value)) OVER item_group AS g_max
    FROM indicator_scores AS s
    JOIN ua_scope AS u ON u.year = s.year AND u.agency_group = s.agency_group
    LEFT JOIN transforms AS t USING (indicator_code)
    WINDOW item_group AS (PARTITION BY s.indicator_code)
),
configs AS (
    -- the parameters parsed once per configuration, not once per unit
    SELECT c.config_id, c.indicator_code, c.method, method_params_for(c.params, t.transform) AS p
    FROM ua_configs AS c
    LEFT JOIN transforms AS t USING (indicator_code)
)
SELECT c.config_id, v.unit, method_share(c.method, v.value, c.p, v.g_min, v.g_max) AS share
FROM configs AS c
JOIN scope_values AS v USING (indicator_code)
