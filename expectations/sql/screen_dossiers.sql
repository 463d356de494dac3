-- One scan of the dossier log for the row-level checks that normally find nothing. Per check, a count that is
-- 0 only when the check's own query (check_<name>.sql) returns no row: such a check passes without running
-- its query; a check with a count above 0 runs its query for the exact failures, by-agency counts and samples.
-- Keep the conditions equal to those of the check files. Parameter: $years INTEGER[].
--   dossier_duplicate_mahoso: all years, as the check. Grouped on the 64-bit hash of MaHoSo, which spills to disk
--   under the memory limit (a DISTINCT over 100M text codes does not fit in 1 GB); a hash collision only makes
--   the exact check run, and find nothing.
WITH duplicate_hashes AS (
    SELECT hash(MaHoSo) AS h FROM stg_dossiers GROUP BY h HAVING count(*) > 1
)
SELECT
    (SELECT count(*) FROM duplicate_hashes) + count(*) FILTER (WHERE MaHoSo IS NULL) AS dossier_duplicate_mahoso,
    count(*) FILTER (WHERE list_contains($years, year)
        AND (KenhThucHien IS NULL OR KenhThucHien NOT BETWEEN 1 AND 3
             OR TrangThaiHoSo IS NULL OR TrangThaiHoSo NOT BETWEEN 1 AND 10
             OR MucDo NOT BETWEEN 1 AND 4
             OR DuocThanhToanTrucTuyen NOT BETWEEN 0 AND 2
             OR HoSoCoThanhPhanSoHoa NOT IN (0, 1)
             OR LoaiDoiTuong NOT IN (1, 2)
             OR LePhi < 0)) AS dossier_codes_out_of_range,
    count(*) FILTER (WHERE list_contains($years, year)
        AND (NgayHenTra < NgayTiepNhan OR NgayKetThucXuLy < NgayTiepNhan OR NgayTra < NgayTiepNhan))
        AS dossier_dates_out_of_order,
    count(*) FILTER (WHERE list_contains($years, year) AND year(NgayTiepNhan) <> year) AS dossier_year_mismatch
FROM stg_dossiers
