-- Coded dossier fields outside their code lists and amounts below their minimum, as the contract gives them
-- (config/sources.yaml `allowed`, `min`; docs/domain.md §3).
-- The rules are the view egov_dossier_rules (expectations/sql_checks.py row_rules_view, generated from the contract),
-- shared with the per-file screen (dossier_file_checks.sql).
-- One row per dossier; `problem` names every offending field.
SELECT year, DonViXuLy AS agency_code, MaHoSo, source_file, source_line, codes_problem AS problem, 1 AS n
FROM egov_dossier_rules
WHERE list_contains($years, year) AND codes_out_of_range
ORDER BY year, agency_code, MaHoSo
