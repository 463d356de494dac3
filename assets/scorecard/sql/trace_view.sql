-- The compact trace (schema.sql): the rows judged when their months were scored, and the dossiers' own reasons of
-- the complete months judged per file, each masked by its unit and month's items with a value (scorecard_766_masks,
-- written with the scores: a month not scored, or no longer, shows none of its file rows). The marts copy it.
CREATE OR REPLACE VIEW scorecard_766_lost AS
SELECT year, period, agency_code, record_code, reasons, days_late, sync_days_late FROM scorecard_766_lost_scored
UNION ALL
SELECT f.year, m.period, f.agency_code, f.record_code, f.reasons & m.reasons AS reasons,
       CASE WHEN f.reasons & m.days_reasons <> 0 THEN f.days_late END AS days_late,
       CASE WHEN f.reasons & m.sync_reasons <> 0 THEN f.sync_days_late END AS sync_days_late
FROM scorecard_766_file_lost AS f
JOIN scorecard_766_masks AS m ON m.year = f.year AND m.month = f.month AND m.agency_code = f.agency_code
WHERE m.from_files AND f.reasons & m.reasons <> 0;

-- The trace as analysts and the reports read it (docs/rubrics.md §8): one row per lost item of a record and month,
-- unnested from scorecard_766_lost's reason bits, with the reason's label and its day count. The marts hold the same
-- view without `year` (assets/marts/marts.sql). Rewritten by build.ensure_schema on every run.
CREATE OR REPLACE VIEW scorecard_766_dossiers AS
SELECT year, period, agency_code, indicator_code, record_code, reason_code,
       CASE WHEN contains(label, '{days}') THEN replace(label, '{days}', CAST(days_late AS VARCHAR)) ELSE label END
           AS reason,
       days_late
FROM (
    SELECT l.year, l.period, l.agency_code, r.indicator_code, l.record_code, r.reason_code, r.label,
           CASE r.days WHEN 'days_late' THEN l.days_late WHEN 'sync_days_late' THEN l.sync_days_late END AS days_late
    FROM scorecard_766_lost AS l JOIN scorecard_766_reasons AS r ON l.reasons & r.bit <> 0
) AS unnested;
