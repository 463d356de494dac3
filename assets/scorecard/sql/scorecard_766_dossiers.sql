-- Every lost point traced to its records: for the monthly periods of `sc_periods`, the records that are in an
-- item's denominator but not its numerator, by the same rules as facts_766.sql and scorecard_766.sql (docs/rubrics.md
-- §8), and only where the item has a value for the unit and month (an unknown item lost nothing). Run by build.py
-- after scorecard_766.sql, in its transaction, after the months' old rows were deleted. No personal column: the
-- dossier log's were dropped at ingestion; a record is named by its code.
-- Stored compactly (schema.sql): one row per record and month with its lost reasons as bits (`reason_bit(code)`,
-- assets/scorecard/reasons_766.yaml) and their day counts; the view scorecard_766_dossiers unnests them, one row
-- per lost item, with the reasons' labels.
-- The dossiers' own reasons (on time, online, paid online, the flags, synced: dossier_reasons.sql) and the finished
-- dossiers not rated (rated_766) are not written here: the view scorecard_766_lost judges them from the log with
-- each month's reference instant and the mask written here (scorecard_766_masks), and the marts copy them once (a
-- trace stored in the warehouse too cost as much as the rest of the scoring: docs/benchmarks.md "Issue 27, third
-- part" and "fourth part").

-- The reasons of the items with a value for the unit and month: an item unknown for them (a flag absent, an input
-- not sent) lost nothing, and a not computable one neither.
INSERT INTO scorecard_766_masks
SELECT s.year, s.period, p.first_month AS month, s.agency_code, p.ref, bit_or(r.bit) AS reasons,
       coalesce(bit_or(r.bit) FILTER (WHERE r.days = 'days_late'), 0) AS days_reasons,
       coalesce(bit_or(r.bit) FILTER (WHERE r.days = 'sync_days_late'), 0) AS sync_reasons
FROM scorecard_766 AS s JOIN scorecard_766_reasons AS r ON r.indicator_code = s.indicator_code
JOIN sc_periods AS p ON p.year = s.year AND p.period = s.period AND p.period_type = 'month'
WHERE s.points IS NOT NULL
GROUP BY s.year, s.period, p.first_month, s.agency_code, p.ref;

INSERT INTO scorecard_766_lost_scored
WITH months AS (
    SELECT year, period, first_month AS month, ref,
           make_timestamp(year, first_month, 1, 0, 0, 0) AS period_start,
           make_timestamp(year, first_month, 1, 0, 0, 0) + INTERVAL 1 MONTH AS period_end
    FROM sc_periods WHERE period_type = 'month'
),
lost AS (  -- the records other than the dossiers' own reasons and the finished dossiers not rated
    SELECT m.year, m.period, s.agency_code, s.procedure_code AS record_code,
           CASE WHEN s.published_on IS NULL THEN reason_bit('not_published') ELSE reason_bit('not_matching') END
               AS reasons,
           NULL::INTEGER AS days_late, NULL::INTEGER AS sync_days_late
    FROM months AS m JOIN stg_services AS s ON s.year = m.year
    WHERE s.synced_national IS DISTINCT FROM 1
    UNION ALL
    SELECT DISTINCT m.year, m.period, r.agency_code, r.MaHoSo,  -- a dossier's latest rating in the month (none
           -- later by the month's end), when not satisfied; two dossiers of one code and agency are one record
           CASE r.MucDo WHEN 3 THEN reason_bit('rated_neutral') ELSE reason_bit('rated_unsatisfied') END, NULL, NULL
    FROM months AS m JOIN sc_rated AS r ON r.year = m.year AND year(r.NgayDanhGia) = m.year
                                       AND month(r.NgayDanhGia) = m.month
    WHERE (r.next_at IS NULL OR r.next_at >= m.period_end) AND r.MucDo NOT IN (1, 2)
    UNION ALL
    SELECT m.year, m.period, f.DonViXuLy, f.MaPhanAnh,
           CASE WHEN f.TrangThai = 3 THEN reason_bit('answered_late') ELSE reason_bit('unanswered_late') END,
           CAST(ceil(epoch(CASE WHEN f.TrangThai = 3 THEN f.NgayXuLy ELSE m.ref END - f.HanXuLy) / 86400) AS INTEGER),
           NULL
    FROM months AS m JOIN stg_feedback AS f ON f.HanXuLy >= m.period_start AND f.HanXuLy < m.period_end
    WHERE f.TrangThai <> 4
      AND NOT coalesce((f.TrangThai = 3 AND f.NgayXuLy <= f.HanXuLy) OR (f.TrangThai IN (1, 2) AND f.HanXuLy >= m.ref),
                       FALSE)
)
SELECT l.year, l.period, l.agency_code, l.record_code, l.reasons & v.reasons AS reasons,
       CASE WHEN l.reasons & v.days_reasons <> 0 THEN l.days_late END AS days_late,
       CASE WHEN l.reasons & v.sync_reasons <> 0 THEN l.sync_days_late END AS sync_days_late
FROM lost AS l
JOIN scorecard_766_masks AS v ON v.year = l.year AND v.period = l.period AND v.agency_code = l.agency_code
WHERE l.reasons & v.reasons <> 0;

DROP VIEW sc_rated;
DROP TABLE sc_rerated;
DROP TABLE sc_ratings;
