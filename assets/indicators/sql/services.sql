-- Catalogue indicators: shares of the agency's procedures by level (level 3 = "một phần", 4 = "toàn trình").
-- An agency without catalogue rows gets 0 / 0, hence a NULL value.
INSERT INTO egov_indicator_parts
SELECT a.year, a.agency_code, m.indicator_code, m.numerator, m.denominator
FROM egov_agencies AS a
LEFT JOIN (
    SELECT year, agency_code,
           count(*) FILTER (WHERE level IN (3, 4)) AS online,
           count(*) FILTER (WHERE level = 3)       AS level3,
           count(*) FILTER (WHERE level = 4)       AS level4,
           count(*)                                AS total
    FROM stg_services
    WHERE year IN (SELECT year FROM egov_years)
    GROUP BY ALL
) AS c USING (year, agency_code),
LATERAL (SELECT unnest([
    {'indicator_code': 'svc_online_ratio', 'numerator': coalesce(c.online, 0), 'denominator': coalesce(c.total, 0)},
    {'indicator_code': 'svc_level3_ratio', 'numerator': coalesce(c.level3, 0), 'denominator': coalesce(c.total, 0)},
    {'indicator_code': 'svc_level4_ratio', 'numerator': coalesce(c.level4, 0), 'denominator': coalesce(c.total, 0)}
], recursive := TRUE)) AS m;
