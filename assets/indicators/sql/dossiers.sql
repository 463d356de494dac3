-- Dossier indicators of a year (dossiers received that year), from egov_dossier_facts.
-- "Dossiers of online services" are those whose level (MucDo, else the catalogue's) is 3 or 4.
-- svc_with_online_dossier_ratio: the agency's catalogue procedures of level 3/4 that received at least one
-- accepted online dossier, over all its catalogue procedures of level 3/4.
-- satisfaction_ratio: the ratings given in the year (NgayDanhGia; the optional ratings source), each dossier's latest
-- of the year, with MucDo 1 or 2 (hài lòng, rất hài lòng), by the dossier's agency; no rating: no value.
INSERT INTO egov_indicator_parts
WITH per_agency AS (
    SELECT year, agency_code,
           sum(accepted_online) FILTER (WHERE level IN (3, 4)) AS online_accepted_online,
           sum(accepted)        FILTER (WHERE level IN (3, 4)) AS online_accepted,
           sum(accepted_online) FILTER (WHERE level = 3)       AS l3_accepted_online,
           sum(accepted)        FILTER (WHERE level = 3)       AS l3_accepted,
           sum(accepted_online) FILTER (WHERE level = 4)       AS l4_accepted_online,
           sum(accepted)        FILTER (WHERE level = 4)       AS l4_accepted,
           sum(processed_on_time) AS processed_on_time,
           sum(processed)         AS processed,
           sum(paid_online)       AS paid_online,
           sum(accepted_with_fee) AS accepted_with_fee,
           sum(digitised)         AS digitised,
           sum(accepted)          AS accepted
    FROM egov_dossier_facts
    GROUP BY ALL
),
online_services AS (
    SELECT s.year, s.agency_code,
           count(*) AS services,
           count(*) FILTER (WHERE EXISTS (
               SELECT 1 FROM egov_dossier_facts AS f
               WHERE f.year = s.year AND f.agency_code = s.agency_code AND f.procedure_code = s.procedure_code
                 AND f.accepted_online > 0)) AS with_online_dossier
    FROM stg_services AS s
    WHERE s.year IN (SELECT year FROM egov_years) AND s.level IN (3, 4)
    GROUP BY ALL
),
latest_rating AS (
    SELECT r.year, r.MaHoSo, arg_max(r.MucDo, r.NgayDanhGia) AS MucDo
    FROM stg_ratings AS r
    WHERE r.year IN (SELECT year FROM egov_years)
    GROUP BY ALL
),
ratings AS (
    SELECT l.year, d.DonViXuLy AS agency_code, count(*) AS ratings,
           count(*) FILTER (WHERE l.MucDo IN (1, 2)) AS satisfied
    FROM latest_rating AS l JOIN stg_dossiers AS d ON d.MaHoSo = l.MaHoSo AND d.year <= l.year
    GROUP BY ALL
)
SELECT a.year, a.agency_code, m.indicator_code, coalesce(m.numerator, 0), coalesce(m.denominator, 0)
FROM egov_agencies AS a
LEFT JOIN per_agency AS p USING (year, agency_code)
LEFT JOIN online_services AS o USING (year, agency_code)
LEFT JOIN ratings AS g USING (year, agency_code),
LATERAL (SELECT unnest([
    {'indicator_code': 'dossier_online_ratio',          'numerator': p.online_accepted_online, 'denominator': p.online_accepted},
    {'indicator_code': 'dossier_online_ratio_l3',       'numerator': p.l3_accepted_online,     'denominator': p.l3_accepted},
    {'indicator_code': 'dossier_online_ratio_l4',       'numerator': p.l4_accepted_online,     'denominator': p.l4_accepted},
    {'indicator_code': 'svc_with_online_dossier_ratio', 'numerator': o.with_online_dossier,    'denominator': o.services},
    {'indicator_code': 'dossier_on_time_ratio',         'numerator': p.processed_on_time,      'denominator': p.processed},
    {'indicator_code': 'dossier_paid_online_ratio',     'numerator': p.paid_online,            'denominator': p.accepted_with_fee},
    {'indicator_code': 'dossier_digitized_ratio',       'numerator': p.digitised,              'denominator': p.accepted},
    {'indicator_code': 'satisfaction_ratio',            'numerator': g.satisfied,              'denominator': g.ratings}
], recursive := TRUE)) AS m;
