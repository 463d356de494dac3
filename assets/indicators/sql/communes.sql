-- District roll-ups of their communes (communes existing that year whose parent_code is the district).
--   commune_computers_ratio: mean of least(computers / staff_count, 1) over the communes that sent an
--     infrastructure return (a return with no or zero staff_count cannot give a ratio and is left out)
--   commune_lan_ratio, commune_website_ratio: share of the communes that sent a return with the flag = 1
--   commune_one_stop_ratio: share of ALL the district's communes with uses_software = 1 in at least one month
-- A district without communes gets 0 / 0, hence NULL.
INSERT INTO egov_indicator_parts
WITH communes AS (
    SELECT c.year, c.parent_code AS district_code, c.agency_code,
           i.agency_code IS NOT NULL AS sent_return,
           CASE WHEN i.staff_count > 0 THEN least(i.computers / i.staff_count, 1.0) END AS computers_ratio,
           i.has_lan, i.has_website,
           EXISTS (SELECT 1 FROM stg_one_stop AS o
                   WHERE o.year = c.year AND o.agency_code = c.agency_code AND o.uses_software = 1) AS uses_one_stop
    FROM egov_agencies AS c
    LEFT JOIN stg_infrastructure AS i USING (year, agency_code)
    WHERE c.agency_group = 'commune' AND c.parent_code IS NOT NULL
),
per_district AS (
    SELECT year, district_code AS agency_code,
           sum(computers_ratio)                                     AS computers_ratio_sum,
           count(computers_ratio)                                   AS communes_with_ratio,
           count(*) FILTER (WHERE sent_return AND has_lan = 1)      AS with_lan,
           count(*) FILTER (WHERE sent_return AND has_website = 1)  AS with_website,
           count(*) FILTER (WHERE sent_return)                      AS returned,
           count(*) FILTER (WHERE uses_one_stop)                    AS using_one_stop,
           count(*)                                                 AS communes
    FROM communes
    GROUP BY ALL
)
SELECT a.year, a.agency_code, m.indicator_code, coalesce(m.numerator, 0), coalesce(m.denominator, 0)
FROM egov_agencies AS a
LEFT JOIN per_district AS d USING (year, agency_code),
LATERAL (SELECT unnest([
    {'indicator_code': 'commune_computers_ratio', 'numerator': d.computers_ratio_sum, 'denominator': d.communes_with_ratio::DOUBLE},
    {'indicator_code': 'commune_lan_ratio',       'numerator': d.with_lan::DOUBLE,    'denominator': d.returned::DOUBLE},
    {'indicator_code': 'commune_one_stop_ratio',  'numerator': d.using_one_stop::DOUBLE, 'denominator': d.communes::DOUBLE},
    {'indicator_code': 'commune_website_ratio',   'numerator': d.with_website::DOUBLE, 'denominator': d.returned::DOUBLE}
], recursive := TRUE)) AS m
WHERE a.agency_group = 'district';
