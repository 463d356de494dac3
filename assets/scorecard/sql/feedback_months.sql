-- The feedback files of `egov_scan_files` (year, source_file; '' for rows staged without a file) reduced to the
-- months they count in (schema.sql, scorecard_766_feedback_months): each feedback by the month it is due (HanXuLy:
-- feedback_on_time_766 and its trace count it in the period holding that instant).
INSERT INTO scorecard_766_feedback_months BY NAME
SELECT f.year, coalesce(f.source_file, '') AS source_file, year(f.HanXuLy) AS other_year, month(f.HanXuLy) AS month,
       count(*) AS received
FROM stg_feedback AS f
SEMI JOIN egov_scan_files AS s ON s.year = f.year AND s.source_file = coalesce(f.source_file, '')
GROUP BY ALL;
