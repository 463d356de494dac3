-- Values of the non-ratio indicators (the year's rubric's assessed_indicators min/max, thresholds.yaml
-- indicator_bounds, e.g. computers_per_staff in [0, 10]) outside their plausible range: probably a typing error
-- in a return. One row per value.
SELECT v.year, v.agency_code, v.indicator_code, v.numerator, v.denominator, v.value,
       b.min_value, b.max_value, 1 AS n
FROM indicator_values AS v
JOIN egov_dq_indicator_bounds AS b USING (year, indicator_code)
WHERE list_contains($years, v.year)
  AND (v.value < b.min_value OR v.value > b.max_value OR isnan(v.value))
ORDER BY v.year, v.indicator_code, v.agency_code
