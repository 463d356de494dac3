-- Assemble indicator_values: one row per agency existing that year and catalogue indicator of its group, then
-- inspectors' assessments, which replace a computed value of the same code or add an indicator of their own.
INSERT INTO indicator_values
WITH computed AS (
    SELECT a.year, a.agency_code, k.indicator_code, p.numerator, p.denominator,
           CASE WHEN p.denominator <> 0 THEN p.numerator / p.denominator END AS value
    FROM egov_agencies AS a
    JOIN egov_catalogue AS k ON k.applies_to IS NULL OR list_contains(k.applies_to, a.agency_group)
    LEFT JOIN egov_indicator_parts AS p USING (year, agency_code, indicator_code)
),
assessed AS (
    SELECT year, agency_code, indicator_code, value
    FROM stg_assessments
    WHERE year IN (SELECT year FROM egov_years)
)
SELECT c.year, c.agency_code, c.indicator_code, c.numerator, c.denominator, c.value, 'computed'
FROM computed AS c
ANTI JOIN assessed AS s USING (year, agency_code, indicator_code)
UNION ALL
SELECT year, agency_code, indicator_code, value AS numerator, NULL AS denominator, value, 'assessment'
FROM assessed;
