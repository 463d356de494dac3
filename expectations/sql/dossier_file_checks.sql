-- The row-level dossier checks counted per raw file (the files in egov_scan_files; '' for rows staged without a
-- file), kept in dossier_file_checks so a night counts only the files loaded since (pipelines/core/file_facts.py).
-- Per check, the file's rows that break it; a check whose counts add up to 0 passes without running its own query
-- (check_<name>.sql), one with a count above 0 runs it for the exact failures, by-agency counts and samples.
-- The code and date rules are columns of the view egov_dossier_rules (expectations/sql_checks.py row_rules_view,
-- generated from config/sources.yaml), shared with the check files.
--   repeated_keys: rows whose MaHoSo is empty or whose MaHoSo's MD5 (md5_number, 128 bits) is found more than once
--   in the whole log (every year), at the time the file was counted. Hashes, not text: grouping 100M text codes
--   does not fit in 1 GB. Not DuckDB's hash(): its 64 bits collide for codes that differ in a few digits (1,250 of
--   9.8M generated codes shared one), which made the exact check run every night. A copy removed since only makes
--   the exact check run and find nothing.
--   egov_code_hashes (a temp view, expectations/sql_checks.py): md5_number(MaHoSo) of the staged rows that may
--   share a code with a counted file's row, found first by the cheap 64-bit hash(): the rows whose hash() repeats
--   in the whole log when most of the log is counted, else the rows whose hash() is one of the counted files'
--   (a night's file is probed against the log instead of grouping the whole log).
INSERT INTO dossier_file_checks
WITH repeated AS (SELECT key_hash FROM egov_code_hashes GROUP BY ALL HAVING count(*) > 1)
SELECT
    d.year,
    coalesce(d.source_file, '') AS source_file,
    count(*) AS received,
    count(*) FILTER (WHERE d.MaHoSo IS NULL OR md5_number(d.MaHoSo) IN (SELECT key_hash FROM repeated)) AS repeated_keys,
    count(*) FILTER (WHERE d.codes_out_of_range) AS codes_out_of_range,
    count(*) FILTER (WHERE d.dates_out_of_order) AS dates_out_of_order,
    count(*) FILTER (WHERE year(d.NgayTiepNhan) <> d.year) AS year_mismatch
FROM egov_dossier_rules AS d
SEMI JOIN egov_scan_files AS f ON f.year = d.year AND f.source_file = coalesce(d.source_file, '')
GROUP BY ALL;
