-- The compact trace (schema.sql): the rows judged when their months were scored (scorecard_766_lost_scored), and
-- the dossiers' own reasons, judged here from the log (dossier_reasons.sql) at each scored month's reference instant,
-- and the finished dossiers not rated by the month's end, each masked by the unit and month's items with a value
-- (scorecard_766_masks, written with the scores: a month not scored, or no longer, shows none of its dossiers).
-- The marts copy it. The reasons' bits are written in as constants (build.py; the view outlives the connection's
-- macros).
CREATE OR REPLACE VIEW scorecard_766_lost AS
SELECT year, period, agency_code, record_code, reasons, days_late, sync_days_late FROM scorecard_766_lost_scored
UNION ALL
SELECT year, period, DonViXuLy AS agency_code, MaHoSo AS record_code, reasons & mask AS reasons,
       CASE WHEN reasons & days_reasons <> 0 THEN days_late END AS days_late,
       CASE WHEN reasons & sync_reasons <> 0 THEN sync_days_late END AS sync_days_late
FROM (
    WITH reason_in AS (  -- the masks LEFT joined, and absent taken as nothing (coalesce): the optimizer then keeps the
        -- catalogue's level joined with the catalogue hashed, not the log (an inner join made it hash the log)
        SELECT m.period, m.ref, coalesce(m.reasons, 0) AS mask, m.days_reasons, m.sync_reasons, d.*, s.level
        FROM stg_dossiers AS d
        LEFT JOIN stg_services AS s ON s.year = d.year AND s.agency_code = d.DonViXuLy AND s.procedure_code = d.MaTTHC
        LEFT JOIN scorecard_766_masks AS m
               ON m.year = d.year AND m.month = month(d.NgayTiepNhan) AND m.agency_code = d.DonViXuLy
    )
    {dossier_reasons}
) AS dossiers
WHERE reasons & mask <> 0
UNION ALL
-- rated_766 (not_rated): each dossier (of the month's year or before; two of one code are two records) finished
-- (9, 10) in a scored month, by NgayKetThucXuLy, with no rating given by the month's end (of its year or before)
SELECT m.year, m.period, d.DonViXuLy, d.MaHoSo, reason_bit('not_rated'), NULL, NULL
FROM stg_dossiers AS d
JOIN scorecard_766_masks AS m
  ON m.year = year(d.NgayKetThucXuLy) AND m.month = month(d.NgayKetThucXuLy) AND m.agency_code = d.DonViXuLy
ANTI JOIN stg_ratings AS r
       ON r.MaHoSo = d.MaHoSo AND r.year <= m.year
      AND r.NgayDanhGia < make_timestamp(m.year, m.month, 1, 0, 0, 0) + INTERVAL 1 MONTH
WHERE d.TrangThaiHoSo IN (9, 10) AND d.year <= m.year AND m.reasons & reason_bit('not_rated') <> 0;

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
