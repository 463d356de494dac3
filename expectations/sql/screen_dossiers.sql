-- One scan of the dossier log for the row-level checks that normally find nothing. Per check, a count that is
-- 0 only when the check's own query (check_<name>.sql) returns no row: such a check passes without running
-- its query; a check with a count above 0 runs its query for the exact failures, by-agency counts and samples.
-- The code and date rules are the macros of dossier_rules.sql, shared with the check files. Parameter: $years INTEGER[].
--   dossier_duplicate_mahoso: all years, as the check. Grouped on the 64-bit hash of MaHoSo, which spills to disk
--   under the memory limit (a DISTINCT over 100M text codes does not fit in 1 GB); a hash collision only makes
--   the exact check run, and find nothing.
WITH duplicate_hashes AS (
    SELECT hash(MaHoSo) AS h FROM stg_dossiers GROUP BY h HAVING count(*) > 1
)
SELECT
    (SELECT count(*) FROM duplicate_hashes) + count(*) FILTER (WHERE MaHoSo IS NULL) AS dossier_duplicate_mahoso,
    count(*) FILTER (WHERE list_contains($years, year)
        AND dossier_codes_out_of_range(KenhThucHien, TrangThaiHoSo, MucDo, DuocThanhToanTrucTuyen,
                                       HoSoCoThanhPhanSoHoa, LoaiDoiTuong, LePhi)) AS dossier_codes_out_of_range,
    count(*) FILTER (WHERE list_contains($years, year)
        AND dossier_dates_out_of_order(NgayTiepNhan, NgayHenTra, NgayKetThucXuLy, NgayTra))
        AS dossier_dates_out_of_order,
    count(*) FILTER (WHERE list_contains($years, year) AND year(NgayTiepNhan) <> year) AS dossier_year_mismatch
FROM stg_dossiers
