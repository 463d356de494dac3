-- The dossier log aggregated per year, month of reception and receiving agency: what the GX suite
-- `dossier_agency_month` validates instead of millions of rows (row-level checks are SQL, check_dossier_*.sql).
-- Definitions follow docs/domain.md §4: accepted = TrangThaiHoSo not in (1, 3); finished = status 9 or 10.
-- Parameter: $years INTEGER[].
SELECT
    year,
    CAST(month(NgayTiepNhan) AS INTEGER)                                             AS month,
    DonViXuLy                                                                        AS agency_code,
    count(*)                                                                         AS dossiers,
    count(*) FILTER (WHERE TrangThaiHoSo NOT IN (1, 3))                              AS accepted,
    count(*) FILTER (WHERE TrangThaiHoSo NOT IN (1, 3) AND KenhThucHien = 2)         AS online,
    count(*) FILTER (WHERE TrangThaiHoSo IN (9, 10))                                 AS finished,
    count(*) FILTER (WHERE TrangThaiHoSo IN (9, 10) AND NgayKetThucXuLy <= NgayHenTra) AS on_time,
    count(*) FILTER (WHERE TrangThaiHoSo NOT IN (1, 3) AND LePhi > 0)                AS with_fee,
    count(*) FILTER (WHERE TrangThaiHoSo NOT IN (1, 3) AND LePhi > 0
                       AND DuocThanhToanTrucTuyen IN (1, 2))                         AS paid_online,
    count(*) FILTER (WHERE TrangThaiHoSo NOT IN (1, 3) AND HoSoCoThanhPhanSoHoa = 1) AS digitised
FROM stg_dossiers
WHERE list_contains($years, year)
GROUP BY ALL
ORDER BY year, month, agency_code
