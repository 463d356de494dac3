-- Dossiers breaking a row rule of their contract (`rules:` of config/sources.yaml): dates out of order, e.g. due
-- (NgayHenTra), processing finished (NgayKetThucXuLy) or result returned (NgayTra) earlier than received
-- (NgayTiepNhan), a supplement outside the processing window. They would distort the on-time ratio.
-- The rules are the view egov_dossier_rules (expectations/sql_checks.py row_rules_view, generated from the contract),
-- shared with the per-file screen (dossier_file_checks.sql).
-- One row per dossier; `problem` names every broken rule.
SELECT year, DonViXuLy AS agency_code, MaHoSo, NgayTiepNhan, NgayHenTra, NgayKetThucXuLy, NgayTra,
       source_file, source_line, dates_problem AS problem, 1 AS n
FROM egov_dossier_rules
WHERE list_contains($years, year) AND dates_out_of_order
ORDER BY year, agency_code, MaHoSo
