-- The share of its points each unit of the group earns under each method configuration of the uncertainty
-- analysis (assets/scoring/uncertainty.py): `ua_configs` holds one row per (item, method, parameters) that some
-- run draws, `ua_scope` the year and agency group. The formula is the scoring's own (the method_share macro of
-- pipelines/core/methods.py, as score.sql calls it); the group statistics g_min / g_max are taken over the same
-- units as there: those of the year and group with a finite value for the indicator. A unit is given as its place
-- among the group's agency codes in order (`unit`, from 0), and the rows come in no order: uncertainty.py places
-- each share in its matrix, batch by batch, without sorting rows or holding a code per row.
WITH scope_values AS (
    SELECT dense_rank() OVER (ORDER BY s.agency_code) - 1 AS unit, s.indicator_code, s.value,
           min(s.value) FILTER (WHERE isfinite(s.value)) OVER item_group AS g_min,
           max(s.value) FILTER (WHERE isfinite(s.value)) OVER item_group AS g_max
    FROM indicator_scores AS s
    JOIN ua_scope AS u ON u.year = s.year AND u.agency_group = s.agency_group
    WINDOW item_group AS (PARTITION BY s.indicator_code)
),
configs AS (
    -- the parameters parsed once per configuration, not once per unit
    SELECT config_id, indicator_code, method, method_params(params) AS p
    FROM ua_configs
)
SELECT c.config_id, v.unit, method_share(c.method, v.value, c.p, v.g_min, v.g_max) AS share
FROM configs AS c
JOIN scope_values AS v USING (indicator_code)
