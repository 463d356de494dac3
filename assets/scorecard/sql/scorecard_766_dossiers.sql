-- Every lost point traced to its records: for the monthly periods of `sc_periods`, one row per record that is in an
-- item's denominator but not its numerator, by the same rules as facts_766.sql and scorecard_766.sql (docs/rubrics.md
-- §8), and only where the item has a value for the unit and month (an unknown item lost nothing). Run by build.py
-- after scorecard_766.sql, in its transaction, after the months' old rows were deleted. No personal column: the
-- dossier log's were dropped at ingestion; a record is named by its code.
INSERT INTO scorecard_766_dossiers
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
lost AS (  -- the dossier items in one pass: each dossier's lost items as a list, unnested (no dossier × item rows
    -- for the items it did not lose, and the month's dossiers read once); l: the unnested struct
    SELECT year, period, agency_code, l.indicator_code, MaHoSo AS record_code, l.reason_code, l.days_late  -- noqa: RF03
    FROM (
        SELECT year, period, agency_code, MaHoSo, unnest(list_filter([
            CASE WHEN counted AND NOT coalesce(NOT asked_twice AND CASE WHEN finished THEN NgayKetThucXuLy <= due
                                                                      ELSE due >= ref END, FALSE)
                 THEN {'indicator_code': 'on_time_766',
                       'reason_code': CASE WHEN asked_twice THEN 'asked_twice'
                                           WHEN due IS NULL THEN 'no_due_date'
                                           WHEN finished AND NgayKetThucXuLy IS NULL THEN 'no_finish_date'
                                           WHEN finished THEN 'late'
                                           ELSE 'open_late' END,
                       'days_late': CASE WHEN NOT asked_twice AND due IS NOT NULL AND finished
                                         THEN CAST(ceil(epoch(NgayKetThucXuLy - due) / 86400) AS INTEGER)
                                         WHEN NOT asked_twice AND due IS NOT NULL
                                         THEN CAST(ceil(epoch(ref - due) / 86400) AS INTEGER) END} END,
            CASE WHEN accepted AND online_service AND KenhThucHien IS DISTINCT FROM 2
                 THEN {'indicator_code': 'online_submission_766', 'reason_code': 'not_online',
                       'days_late': NULL::INTEGER} END,
            CASE WHEN accepted AND LePhi > 0 AND coalesce(DuocThanhToanTrucTuyen NOT IN (1, 2), TRUE)
                 THEN {'indicator_code': 'paid_online_766', 'reason_code': 'not_paid_online',
                       'days_late': NULL::INTEGER} END,
            CASE WHEN accepted AND CoKetQuaDienTu IS DISTINCT FROM 1
                 THEN {'indicator_code': 'e_result_766', 'reason_code': 'no_e_result', 'days_late': NULL::INTEGER} END,
            CASE WHEN accepted AND DaSoHoaKetQua IS DISTINCT FROM 1
                 THEN {'indicator_code': 'digitised_result_766', 'reason_code': 'result_not_digitised',
                       'days_late': NULL::INTEGER} END,
            CASE WHEN accepted AND HoSoCoThanhPhanSoHoa IS DISTINCT FROM 1
                 THEN {'indicator_code': 'digitised_766', 'reason_code': 'not_digitised',
                       'days_late': NULL::INTEGER} END,
            CASE WHEN accepted AND DuocLayTuKhoDMQG IS DISTINCT FROM 1
                 THEN {'indicator_code': 'data_store_766', 'reason_code': 'no_data_store',
                       'days_late': NULL::INTEGER} END,
            CASE WHEN counted AND coalesce(NgayDongBo > ref, TRUE)
                 THEN {'indicator_code': 'synced_766',
                       'reason_code': CASE WHEN NgayDongBo IS NULL THEN 'not_synced' ELSE 'synced_late' END,
                       'days_late': CASE WHEN NgayDongBo IS NOT NULL
                                         THEN CAST(ceil(epoch(NgayDongBo - ref) / 86400) AS INTEGER) END} END
        ], LAMBDA x: x IS NOT NULL)) AS l
        FROM timed
    ) AS lost_items
    UNION ALL
    SELECT m.year, m.period, s.agency_code, 'published_766', s.procedure_code,
           CASE WHEN s.published_on IS NULL THEN 'not_published' ELSE 'not_matching' END, NULL
    FROM months AS m JOIN stg_services AS s ON s.year = m.year
    WHERE s.synced_national IS DISTINCT FROM 1
    UNION ALL
    SELECT year, period, agency_code, 'satisfied_766', MaHoSo,
           CASE MucDo WHEN 3 THEN 'rated_neutral' ELSE 'rated_unsatisfied' END, NULL
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
    SELECT m.year, m.period, d.DonViXuLy, 'rated_766', d.MaHoSo, 'not_rated', NULL
    FROM months AS m JOIN stg_dossiers AS d ON d.year <= m.year AND year(d.NgayKetThucXuLy) = m.year
     AND month(d.NgayKetThucXuLy) = m.month
    WHERE d.TrangThaiHoSo IN (9, 10)
      AND NOT EXISTS (SELECT 1 FROM stg_ratings AS r WHERE r.MaHoSo = d.MaHoSo AND r.NgayDanhGia < m.period_end)
    UNION ALL
    SELECT m.year, m.period, f.DonViXuLy, 'feedback_on_time_766', f.MaPhanAnh,
           CASE WHEN f.TrangThai = 3 THEN 'answered_late' ELSE 'unanswered_late' END,
           CAST(ceil(epoch(CASE WHEN f.TrangThai = 3 THEN f.NgayXuLy ELSE m.ref END - f.HanXuLy) / 86400) AS INTEGER)
    FROM months AS m JOIN stg_feedback AS f ON f.HanXuLy >= m.period_start AND f.HanXuLy < m.period_end
    WHERE f.TrangThai <> 4
      AND NOT coalesce((f.TrangThai = 3 AND f.NgayXuLy <= f.HanXuLy) OR (f.TrangThai IN (1, 2) AND f.HanXuLy >= m.ref),
                       FALSE)
)
SELECT l.year, l.period, l.agency_code, l.indicator_code, l.record_code, l.reason_code,
       CASE l.reason_code
           WHEN 'asked_twice' THEN 'Yêu cầu bổ sung hồ sơ từ 2 lần trở lên'
           WHEN 'no_due_date' THEN 'Không có ngày hẹn trả'
           WHEN 'no_finish_date' THEN 'Đã giải quyết nhưng không có ngày kết thúc xử lý'
           WHEN 'late' THEN 'Giải quyết trễ hạn ' || l.days_late || ' ngày'
           WHEN 'open_late' THEN 'Chưa giải quyết, quá hạn ' || l.days_late || ' ngày'
           WHEN 'not_online' THEN 'Dịch vụ trực tuyến nhưng hồ sơ không nộp trực tuyến'
           WHEN 'not_paid_online' THEN 'Phí, lệ phí không thanh toán trực tuyến'
           WHEN 'no_e_result' THEN 'Không cấp kết quả điện tử'
           WHEN 'result_not_digitised' THEN 'Kết quả chưa được số hóa'
           WHEN 'not_digitised' THEN 'Thành phần hồ sơ chưa được số hóa'
           WHEN 'no_data_store' THEN 'Không dùng dữ liệu từ Kho dữ liệu điện tử của công dân'
           WHEN 'not_synced' THEN 'Chưa đồng bộ lên Cổng Dịch vụ công quốc gia'
           WHEN 'synced_late' THEN 'Đồng bộ lên Cổng Dịch vụ công quốc gia sau thời điểm tính điểm ('
                                   || l.days_late || ' ngày)'
           WHEN 'not_published' THEN 'Thủ tục chưa được công bố trên CSDLQG về TTHC'
           WHEN 'not_matching' THEN 'Thủ tục công bố trên CSDLQG về TTHC không khớp danh mục của tỉnh'
           WHEN 'rated_neutral' THEN 'Đánh giá: bình thường'
           WHEN 'rated_unsatisfied' THEN 'Đánh giá: không hài lòng'
           WHEN 'not_rated' THEN 'Đã giải quyết nhưng chưa được đánh giá'
           WHEN 'answered_late' THEN 'Phản ánh, kiến nghị trả lời trễ hạn ' || l.days_late || ' ngày'
           WHEN 'unanswered_late' THEN 'Phản ánh, kiến nghị chưa trả lời, quá hạn ' || l.days_late || ' ngày'
       END AS reason,
       l.days_late
FROM lost AS l
-- only where the item has a value: an item unknown for the unit and month (a flag absent, an input not sent) lost
-- nothing, and a not computable one neither
SEMI JOIN scorecard_766 AS s ON s.year = l.year AND s.period = l.period AND s.agency_code = l.agency_code
                            AND s.indicator_code = l.indicator_code AND s.points IS NOT NULL;
