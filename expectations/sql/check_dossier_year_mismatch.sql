-- Its condition is repeated in dossier_file_checks.sql (the per-file screen): keep both equal.
-- Dossiers stored under a year other than the year of their reception date: every dossier indicator of a
-- year counts the dossiers received in that year (docs/domain.md §4), so such a row is counted in the wrong year.
SELECT year, DonViXuLy AS agency_code, MaHoSo, NgayTiepNhan, source_file, source_line, 1 AS n
FROM stg_dossiers
WHERE list_contains($years, year) AND year(NgayTiepNhan) <> year
ORDER BY year, agency_code, MaHoSo
