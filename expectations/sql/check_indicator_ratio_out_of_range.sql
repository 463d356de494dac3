-- Values of ratio indicators outside [0, 1] (NaN and infinities included). Indicators given a range by the year's
-- rubric (assessed_indicators min/max) or thresholds.yaml indicator_bounds (temp table egov_dq_indicator_bounds,
-- per year) are not ratios: see check_indicator_out_of_bounds.sql. One row per value.
SELECT v.year, v.agency_code, v.indicator_code, v.numerator, v.denominator, v.value, 1 AS n
FROM indicator_values AS v
ANTI JOIN egov_dq_indicator_bounds AS b USING (year, indicator_code)
WHERE list_contains($years, v.year) AND (v.value < 0 OR v.value > 1 OR isnan(v.value))
ORDER BY v.year, v.indicator_code, v.agency_code
