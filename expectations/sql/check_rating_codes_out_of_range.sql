-- Coded rating fields outside their code lists, as the contract gives them (config/sources.yaml ratings: MucDo,
-- KenhDanhGia `allowed`). The rules are the view egov_rating_rules (expectations/sql_checks.py row_rules_view,
-- generated from the contract). One row per rating, with the rated dossier's agency; `problem` names every
-- offending field.
WITH broken AS (
    SELECT year, MaHoSo, NgayDanhGia, source_file, source_line, codes_problem AS problem
    FROM egov_rating_rules
    WHERE list_contains($years, year) AND codes_out_of_range
), agencies AS (  -- the rated dossiers' agencies (a rating's agency is its dossier's)
    SELECT MaHoSo, min(DonViXuLy) AS agency_code FROM stg_dossiers SEMI JOIN broken USING (MaHoSo) GROUP BY MaHoSo
)
SELECT b.year, a.agency_code, b.MaHoSo, b.NgayDanhGia, b.source_file, b.source_line, b.problem, 1 AS n
FROM broken AS b LEFT JOIN agencies AS a USING (MaHoSo)
ORDER BY b.year, b.MaHoSo, b.NgayDanhGia, b.source_file, b.source_line
