-- The nightly scorecard: dossier indicators year to date, for each month up to the last month with data,
-- per agency and for the whole province ('*'), from egov_dossier_facts (same definitions as dossiers.sql).
INSERT INTO dossier_indicators_ytd
WITH months AS (
    SELECT year, unnest(range(1, max(month) + 1)) AS month FROM egov_dossier_facts GROUP BY year
),
first_online AS (  -- the first month each online catalogue service received an accepted online dossier
    SELECT s.year, s.agency_code, s.procedure_code,
           (SELECT min(f.month) FROM egov_dossier_facts AS f
            WHERE f.year = s.year AND f.agency_code = s.agency_code AND f.procedure_code = s.procedure_code
              AND f.accepted_online > 0) AS first_month
    FROM stg_services AS s
    WHERE s.year IN (SELECT year FROM egov_years) AND s.level IN (3, 4)
),
ytd AS (
    SELECT m.year, m.month, coalesce(f.agency_code, '*') AS agency_code,
           sum(f.accepted_online) FILTER (WHERE f.level IN (3, 4)) AS online_accepted_online,
           sum(f.accepted)        FILTER (WHERE f.level IN (3, 4)) AS online_accepted,
           sum(f.accepted_online) FILTER (WHERE f.level = 3)       AS l3_accepted_online,
           sum(f.accepted)        FILTER (WHERE f.level = 3)       AS l3_accepted,
           sum(f.accepted_online) FILTER (WHERE f.level = 4)       AS l4_accepted_online,
           sum(f.accepted)        FILTER (WHERE f.level = 4)       AS l4_accepted,
           sum(f.processed_on_time) AS processed_on_time, sum(f.processed) AS processed,
           sum(f.paid_online) AS paid_online, sum(f.accepted_with_fee) AS accepted_with_fee,
           sum(f.digitised) AS digitised, sum(f.accepted) AS accepted
    FROM months AS m
    JOIN egov_dossier_facts AS f ON f.year = m.year AND f.month <= m.month
    GROUP BY GROUPING SETS ((m.year, m.month, f.agency_code), (m.year, m.month))
),
services_ytd AS (
    SELECT m.year, m.month, coalesce(o.agency_code, '*') AS agency_code,
           count(*) FILTER (WHERE o.first_month <= m.month) AS with_online_dossier, count(*) AS services
    FROM months AS m
    JOIN first_online AS o ON o.year = m.year
    GROUP BY GROUPING SETS ((m.year, m.month, o.agency_code), (m.year, m.month))
)
SELECT y.year, y.month, y.agency_code, k.indicator_code, k.numerator, k.denominator,
       CASE WHEN k.denominator <> 0 THEN k.numerator / k.denominator END
FROM ytd AS y
LEFT JOIN services_ytd AS s USING (year, month, agency_code),
LATERAL (SELECT unnest([
    {'indicator_code': 'dossier_online_ratio',          'numerator': coalesce(y.online_accepted_online, 0)::DOUBLE, 'denominator': coalesce(y.online_accepted, 0)::DOUBLE},
    {'indicator_code': 'dossier_online_ratio_l3',       'numerator': coalesce(y.l3_accepted_online, 0)::DOUBLE,     'denominator': coalesce(y.l3_accepted, 0)::DOUBLE},
    {'indicator_code': 'dossier_online_ratio_l4',       'numerator': coalesce(y.l4_accepted_online, 0)::DOUBLE,     'denominator': coalesce(y.l4_accepted, 0)::DOUBLE},
    {'indicator_code': 'svc_with_online_dossier_ratio', 'numerator': coalesce(s.with_online_dossier, 0)::DOUBLE,    'denominator': coalesce(s.services, 0)::DOUBLE},
    {'indicator_code': 'dossier_on_time_ratio',         'numerator': y.processed_on_time::DOUBLE,                   'denominator': y.processed::DOUBLE},
    {'indicator_code': 'dossier_paid_online_ratio',     'numerator': y.paid_online::DOUBLE,                         'denominator': y.accepted_with_fee::DOUBLE},
    {'indicator_code': 'dossier_digitized_ratio',       'numerator': y.digitised::DOUBLE,                           'denominator': y.accepted::DOUBLE}
], recursive := TRUE)) AS k;
