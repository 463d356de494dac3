-- Score the periods of `sc_periods` (year, period, period_type, first_month, last_month, ref) from the facts of
-- scorecard_766_facts, for the units of `sc_units` (year, agency_code, agency_group) and the province as a unit
-- ('PROVINCE': numerators and denominators summed over all its agencies), with the rubric items of `sc_items`
-- (scorecard_766_items rows of the years scored). Run by build.py in one transaction, after the periods' old rows
-- were deleted. A period is its own ratio: a quarter sums its months' numerators and denominators, and judges its
-- unfinished dossiers at its own reference instant `ref` (the start of the next period, or the log's latest
-- NgayTiepNhan when that is earlier), never averages months: their due date moves by their supplement's pause only
-- when the supplement was provided by `ref` (facts_766.sql).
-- Points: the item's scoring method (pipelines/core/methods.py: method_share), rounded to the rubric's decimals
-- like the portal's published item points; NULL when the value is NULL (no dossiers, or the data is unknown).

CREATE OR REPLACE TEMP TABLE sc_sums AS
SELECT p.year, p.period, coalesce(f.agency_code, 'PROVINCE') AS agency_code,
       sum(f.counted)                                                              AS counted,
       sum(f.on_time_closed) + coalesce(sum(f.open_judged) FILTER (
           WHERE f.open_due + CASE WHEN f.open_provided <= p.ref THEN f.open_provided - f.open_requested
                                   ELSE INTERVAL 0 SECOND END >= p.ref), 0)              AS on_time,
       sum(f.accepted) FILTER (WHERE f.online_service)                             AS os_accepted,
       sum(f.accepted_online) FILTER (WHERE f.online_service)                      AS os_online,
       sum(f.accepted_fee) AS accepted_fee, sum(f.paid_online) AS paid_online, sum(f.accepted) AS accepted,
       sum(f.e_result) AS e_result, sum(f.e_result_known) AS e_result_known,
       sum(f.digitised_result) AS digitised_result, sum(f.digitised_result_known) AS digitised_result_known,
       sum(f.digitised) AS digitised, sum(f.digitised_known) AS digitised_known,
       sum(f.data_store) AS data_store, sum(f.data_store_known) AS data_store_known
FROM sc_periods AS p
JOIN scorecard_766_facts AS f ON f.year = p.year AND f.month BETWEEN p.first_month AND p.last_month
GROUP BY GROUPING SETS ((p.year, p.period, f.agency_code), (p.year, p.period));

-- One row per unit, period and computed indicator. A flag item's numerator is NULL (so its value is) when no
-- accepted dossier of the period carries the flag: the column was absent or empty, which is unknown, not 0.
CREATE OR REPLACE TEMP TABLE sc_values AS
WITH units AS (
    SELECT year, agency_code, agency_group FROM sc_units
    UNION ALL
    SELECT DISTINCT year, 'PROVINCE', NULL FROM sc_periods
)
SELECT u.year, p.period, p.period_type, u.agency_code, u.agency_group, k.indicator_code,
       k.numerator, k.denominator,
       CASE WHEN k.denominator > 0 THEN k.numerator / k.denominator END AS value
FROM units AS u
JOIN sc_periods AS p USING (year)
LEFT JOIN sc_sums AS s ON s.year = u.year AND s.period = p.period AND s.agency_code = u.agency_code,
LATERAL (SELECT unnest([
    {'indicator_code': 'on_time_766',           'numerator': coalesce(s.on_time, 0)::DOUBLE,     'denominator': coalesce(s.counted, 0)::DOUBLE},
    {'indicator_code': 'online_submission_766', 'numerator': coalesce(s.os_online, 0)::DOUBLE,   'denominator': coalesce(s.os_accepted, 0)::DOUBLE},
    {'indicator_code': 'paid_online_766',       'numerator': coalesce(s.paid_online, 0)::DOUBLE, 'denominator': coalesce(s.accepted_fee, 0)::DOUBLE},
    {'indicator_code': 'e_result_766',          'numerator': CASE WHEN s.e_result_known > 0 THEN s.e_result END::DOUBLE,                 'denominator': coalesce(s.accepted, 0)::DOUBLE},
    {'indicator_code': 'digitised_result_766',  'numerator': CASE WHEN s.digitised_result_known > 0 THEN s.digitised_result END::DOUBLE, 'denominator': coalesce(s.accepted, 0)::DOUBLE},
    {'indicator_code': 'digitised_766',         'numerator': CASE WHEN s.digitised_known > 0 THEN s.digitised END::DOUBLE,               'denominator': coalesce(s.accepted, 0)::DOUBLE},
    {'indicator_code': 'data_store_766',        'numerator': CASE WHEN s.data_store_known > 0 THEN s.data_store END::DOUBLE,             'denominator': coalesce(s.accepted, 0)::DOUBLE}
], recursive := true)) AS k;

-- Every item of the rubric for every unit and period; a not computable item has no value and keeps its maximum.
CREATE OR REPLACE TEMP TABLE sc_scored AS
WITH units AS (SELECT DISTINCT year, period, period_type, agency_code, agency_group FROM sc_values),
joined AS (
    SELECT u.year, u.period, u.period_type, u.agency_code, u.agency_group, i.indicator_code, i.method,
           method_params(i.params) AS p, i.max_points, i.decimals, v.numerator, v.denominator, v.value
    FROM units AS u
    JOIN sc_items AS i ON i.year = u.year
    LEFT JOIN sc_values AS v ON v.year = u.year AND v.period = u.period AND v.agency_code = u.agency_code
                            AND v.indicator_code = i.indicator_code AND i.computable
)
SELECT *,
       CASE WHEN value IS NOT NULL AND isfinite(value) THEN CAST(round_decimals(
           max_points * method_share(method, value, p,
                                     min(value) OVER unit_group, max(value) OVER unit_group), decimals) AS DOUBLE)
       END AS points
FROM joined
WINDOW unit_group AS (PARTITION BY period, agency_group IS NULL, agency_group, indicator_code);

INSERT INTO scorecard_766
SELECT year, period, period_type, agency_code, indicator_code, numerator, denominator, value, points, max_points
FROM sc_scored;

-- Totals: the points earned of the computable maximum (the items with a value this period); the rank is within the
-- agency group and period by total points (ties share a rank); the province is not ranked.
INSERT INTO scorecard_766_totals
WITH totals AS (
    SELECT year, period, period_type, agency_code, agency_group,
           CAST(round_decimals(sum(points), max(decimals)) AS DOUBLE) AS total_points,
           coalesce(sum(max_points) FILTER (WHERE points IS NOT NULL), 0) AS computable_max
    FROM sc_scored
    GROUP BY ALL
)
SELECT year, period, period_type, agency_code, agency_group, total_points, computable_max,
       CASE WHEN agency_group IS NOT NULL AND total_points IS NOT NULL THEN
           rank() OVER (PARTITION BY period, agency_group, agency_group IS NOT NULL AND total_points IS NOT NULL
                        ORDER BY total_points DESC) END AS rank
FROM totals;

DROP TABLE sc_sums;
DROP TABLE sc_values;
DROP TABLE sc_scored;
