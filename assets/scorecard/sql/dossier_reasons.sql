-- A dossier's own lost reasons (docs/rubrics.md §8), by the rules of facts_766.sql and scorecard_766.sql: the body
-- of a subquery, spliced by build.py where trace_view.sql names this file in braces (the view scorecard_766_lost
-- judges each dossier of a scored month at the month's reference instant). Reads `reason_in`: a dossier's staged
-- columns with `level` (the catalogue's level of its procedure) and `ref` (the reference instant); gives them back
-- with `reasons` (the lost reasons as bits, `reason_bit(code)`, written in as constants), `days_late` and
-- `sync_days_late`.
SELECT *,
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
    FROM (  -- the due date as the on-time item moves it: by the pause of a supplement provided in time
        SELECT *, NgayHenTra + CASE WHEN finished AND provided <= NgayKetThucXuLy THEN pause
                                    WHEN NOT finished AND provided <= ref THEN pause
                                    ELSE INTERVAL 0 SECOND END AS due
        FROM (
            SELECT *, TrangThaiHoSo NOT IN (1, 3, 7, 8) AS counted,
                   TrangThaiHoSo NOT IN (1, 3) AS accepted,
                   TrangThaiHoSo IN (9, 10) AS finished,
                   coalesce(SoLanBoSung, 0) >= 2 AS asked_twice,
                   coalesce(coalesce(MucDo, level) IN (3, 4), FALSE) AS online_service,
                   -- a supplement that can pause the due date: requested after reception, provided after the request
                   CASE WHEN NgayTiepNhan <= NgayYeuCauBoSung AND NgayYeuCauBoSung <= NgayCongDanBoSung
                        THEN NgayCongDanBoSung - NgayYeuCauBoSung END AS pause,
                   CASE WHEN NgayTiepNhan <= NgayYeuCauBoSung AND NgayYeuCauBoSung <= NgayCongDanBoSung
                        THEN NgayCongDanBoSung END AS provided
            FROM reason_in
        ) AS flagged
    ) AS timed
) AS judged
