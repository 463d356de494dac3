-- The row-level dossier checks counted per raw file (the files in egov_scan_files; '' for rows staged without a
-- file), kept in dossier_file_checks so a night counts only the files loaded since (assets/indicators/file_facts.py).
-- Per check, the file's rows that break it; a check whose counts add up to 0 passes without running its own query
-- (check_<name>.sql), one with a count above 0 runs it for the exact failures, by-agency counts and samples.
-- The code and date rules are the macros of dossier_rules.sql, shared with the check files.
--   repeated_keys: rows whose MaHoSo is empty or whose MaHoSo's 64-bit hash is found more than once in the whole
--   log (every year), at the time the file was counted. Hashes, not text: grouping 100M text codes does not fit in
--   1 GB. A hash collision, or a copy removed since, only makes the exact check run and find nothing.
INSERT INTO dossier_file_checks
WITH scanned AS (
    SELECT d.*, hash(d.MaHoSo) AS key_hash FROM stg_dossiers AS d
    SEMI JOIN egov_scan_files AS f ON f.year = d.year AND f.source_file = coalesce(d.source_file, '')
),
repeated AS (
    SELECT hash(MaHoSo) AS key_hash FROM stg_dossiers
    WHERE hash(MaHoSo) IN (SELECT key_hash FROM scanned)
    GROUP BY ALL HAVING count(*) > 1
)
SELECT
    year,
    coalesce(source_file, '') AS source_file,
    count(*) AS received,
    count(*) FILTER (WHERE MaHoSo IS NULL OR key_hash IN (SELECT key_hash FROM repeated)) AS repeated_keys,
    count(*) FILTER (WHERE dossier_codes_out_of_range(KenhThucHien, TrangThaiHoSo, MucDo, DuocThanhToanTrucTuyen,
                                                      HoSoCoThanhPhanSoHoa, LoaiDoiTuong, LePhi)) AS codes_out_of_range,
    count(*) FILTER (WHERE dossier_dates_out_of_order(NgayTiepNhan, NgayHenTra, NgayKetThucXuLy, NgayTra))
        AS dates_out_of_order,
    count(*) FILTER (WHERE year(NgayTiepNhan) <> year) AS year_mismatch
FROM scanned
GROUP BY ALL;
