-- Every lost point traced to its records: for the monthly periods of `sc_periods`, the records that are in an
-- item's denominator but not its numerator, by the same rules as facts_766.sql and scorecard_766.sql (docs/rubrics.md
-- §8), and only where the item has a value for the unit and month (an unknown item lost nothing). Run by build.py
-- after scorecard_766.sql, in its transaction, after the months' old rows were deleted. No personal column: the
-- dossier log's were dropped at ingestion; a record is named by its code.
-- Stored compactly (schema.sql): one row per record and month with its lost reasons as bits (`reason_bit(code)`,
-- assets/scorecard/reasons_766.yaml) and their day counts; the view scorecard_766_dossiers unnests them, one row
-- per lost item, with the reasons' labels. A dossier loses 3-4 items on average: a third of the rows to write.
INSERT INTO scorecard_766_lost
WITH months AS (
    SELECT year, period, first_month AS month, ref,
           make_timestamp(year, first_month, 1, 0, 0, 0) AS period_start,
           make_timestamp(year, first_month, 1, 0, 0, 0) + INTERVAL 1 MONTH AS period_end
    FROM sc_periods WHERE period_type = 'month'
),
d AS (
    SELECT m.year, m.period, m.ref, m.period_end, d.MaHoSo, d.DonViXuLy AS agency_code,
           d.TrangThaiHoSo NOT IN (1, 3, 7, 8) AS counted,
           d.TrangThaiHoSo NOT IN (1, 3) AS accepted,
           d.TrangThaiHoSo IN (9, 10) AS finished,
           coalesce(d.SoLanBoSung, 0) >= 2 AS asked_twice,
           coalesce(coalesce(d.MucDo, s.level) IN (3, 4), FALSE) AS online_service,
           d.NgayHenTra, d.NgayKetThucXuLy, d.KenhThucHien, d.LePhi, d.DuocThanhToanTrucTuyen, d.CoKetQuaDienTu,
           d.DaSoHoaKetQua, d.HoSoCoThanhPhanSoHoa, d.DuocLayTuKhoDMQG, d.NgayDongBo,
           CASE WHEN d.NgayTiepNhan <= d.NgayYeuCauBoSung AND d.NgayYeuCauBoSung <= d.NgayCongDanBoSung
                THEN d.NgayCongDanBoSung - d.NgayYeuCauBoSung END AS pause,
           CASE WHEN d.NgayTiepNhan <= d.NgayYeuCauBoSung AND d.NgayYeuCauBoSung <= d.NgayCongDanBoSung
                THEN d.NgayCongDanBoSung END AS provided
    FROM months AS m
    JOIN stg_dossiers AS d ON d.year = m.year AND month(d.NgayTiepNhan) = m.month
    LEFT JOIN stg_services AS s ON s.year = d.year AND s.agency_code = d.DonViXuLy AND s.procedure_code = d.MaTTHC
),
timed AS (  -- the due date as the on-time item moves it: by the pause of a supplement provided in time
    SELECT *, NgayHenTra + CASE WHEN finished AND provided <= NgayKetThucXuLy THEN pause
                                WHEN NOT finished AND provided <= ref THEN pause
                                ELSE INTERVAL 0 SECOND END AS due
    FROM d
),
lost AS (  -- the dossier items in one pass: each dossier's lost reasons as bits, its day counts beside them
    SELECT year, period, agency_code, MaHoSo AS record_code,
           CASE WHEN on_time_lost THEN CASE WHEN asked_twice THEN reason_bit('asked_twice')
                                            WHEN due IS NULL THEN reason_bit('no_due_date')
                                            WHEN finished AND NgayKetThucXuLy IS NULL THEN reason_bit('no_finish_date')
                                            WHEN finished THEN reason_bit('late')
                                            ELSE reason_bit('open_late') END ELSE 0 END
           + CASE WHEN accepted AND online_service AND coalesce(KenhThucHien <> 2, TRUE)
                  THEN reason_bit('not_online') ELSE 0 END
           + CASE WHEN accepted AND LePhi > 0 AND coalesce(DuocThanhToanTrucTuyen NOT IN (1, 2), TRUE)
                  THEN reason_bit('not_paid_online') ELSE 0 END
           + CASE WHEN accepted AND coalesce(CoKetQuaDienTu <> 1, TRUE) THEN reason_bit('no_e_result') ELSE 0 END
           + CASE WHEN accepted AND coalesce(DaSoHoaKetQua <> 1, TRUE) THEN reason_bit('result_not_digitised') ELSE 0 END
           + CASE WHEN accepted AND coalesce(HoSoCoThanhPhanSoHoa <> 1, TRUE) THEN reason_bit('not_digitised') ELSE 0 END
           + CASE WHEN accepted AND coalesce(DuocLayTuKhoDMQG <> 1, TRUE) THEN reason_bit('no_data_store') ELSE 0 END
           + CASE WHEN counted AND NgayDongBo IS NULL THEN reason_bit('not_synced')
                  WHEN counted AND NgayDongBo > ref THEN reason_bit('synced_late') ELSE 0 END AS reasons,
           CASE WHEN on_time_lost AND NOT asked_twice AND due IS NOT NULL AND finished
                THEN CAST(ceil(epoch(NgayKetThucXuLy - due) / 86400) AS INTEGER)
                WHEN on_time_lost AND NOT asked_twice AND due IS NOT NULL
                THEN CAST(ceil(epoch(ref - due) / 86400) AS INTEGER) END AS days_late,
           CASE WHEN counted AND NgayDongBo > ref
                THEN CAST(ceil(epoch(NgayDongBo - ref) / 86400) AS INTEGER) END AS sync_days_late
    FROM (
        SELECT *, counted AND NOT coalesce(NOT asked_twice AND CASE WHEN finished THEN NgayKetThucXuLy <= due
                                                                   ELSE due >= ref END, FALSE) AS on_time_lost
        FROM timed
    ) AS judged
    UNION ALL
    SELECT m.year, m.period, s.agency_code, s.procedure_code,
           CASE WHEN s.published_on IS NULL THEN reason_bit('not_published') ELSE reason_bit('not_matching') END,
           NULL, NULL
    FROM months AS m JOIN stg_services AS s ON s.year = m.year
    WHERE s.synced_national IS DISTINCT FROM 1
    UNION ALL
    SELECT year, period, agency_code, MaHoSo,
           CASE MucDo WHEN 3 THEN reason_bit('rated_neutral') ELSE reason_bit('rated_unsatisfied') END, NULL, NULL
    FROM (  -- a dossier's latest rating given by the month's end, when it falls in the month: then it is the
        -- latest of those given in the month (only the month's ratings are read, not every earlier month's again)
        SELECT m.year, m.period, d.DonViXuLy AS agency_code, r.MaHoSo, arg_max(r.MucDo, r.NgayDanhGia) AS MucDo
        FROM months AS m JOIN stg_ratings AS r ON r.year <= m.year AND r.NgayDanhGia >= m.period_start
                                              AND r.NgayDanhGia < m.period_end
        JOIN stg_dossiers AS d ON d.MaHoSo = r.MaHoSo AND d.year <= m.year
        GROUP BY m.year, m.period, d.DonViXuLy, r.MaHoSo
    ) AS latest_ratings
    WHERE MucDo NOT IN (1, 2)
    UNION ALL
    SELECT m.year, m.period, d.DonViXuLy, d.MaHoSo, reason_bit('not_rated'), NULL, NULL
    FROM months AS m JOIN stg_dossiers AS d ON d.year <= m.year AND year(d.NgayKetThucXuLy) = m.year
     AND month(d.NgayKetThucXuLy) = m.month
    WHERE d.TrangThaiHoSo IN (9, 10)
      AND NOT EXISTS (SELECT 1 FROM stg_ratings AS r WHERE r.MaHoSo = d.MaHoSo AND r.NgayDanhGia < m.period_end)
    UNION ALL
    SELECT m.year, m.period, f.DonViXuLy, f.MaPhanAnh,
           CASE WHEN f.TrangThai = 3 THEN reason_bit('answered_late') ELSE reason_bit('unanswered_late') END,
           CAST(ceil(epoch(CASE WHEN f.TrangThai = 3 THEN f.NgayXuLy ELSE m.ref END - f.HanXuLy) / 86400) AS INTEGER),
           NULL
    FROM months AS m JOIN stg_feedback AS f ON f.HanXuLy >= m.period_start AND f.HanXuLy < m.period_end
    WHERE f.TrangThai <> 4
      AND NOT coalesce((f.TrangThai = 3 AND f.NgayXuLy <= f.HanXuLy) OR (f.TrangThai IN (1, 2) AND f.HanXuLy >= m.ref),
                       FALSE)
),
valued AS (  -- the reasons of the items with a value for the unit and month: an item unknown for them (a flag
    -- absent, an input not sent) lost nothing, and a not computable one neither
    SELECT s.year, s.period, s.agency_code, bit_or(r.bit) AS reasons
    FROM scorecard_766 AS s JOIN scorecard_766_reasons AS r ON r.indicator_code = s.indicator_code
    WHERE s.points IS NOT NULL AND s.period IN (SELECT period FROM months)
    GROUP BY ALL
)
SELECT l.year, l.period, l.agency_code, l.record_code, l.reasons & v.reasons AS reasons,
       CASE WHEN l.reasons & v.reasons & reason_bits('days_late') <> 0 THEN l.days_late END AS days_late,
       CASE WHEN l.reasons & v.reasons & reason_bits('sync_days_late') <> 0 THEN l.sync_days_late END AS sync_days_late
FROM lost AS l
JOIN valued AS v ON v.year = l.year AND v.period = l.period AND v.agency_code = l.agency_code
WHERE l.reasons & v.reasons <> 0;
