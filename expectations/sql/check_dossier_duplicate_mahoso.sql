-- Its condition is repeated in dossier_file_checks.sql (the per-file screen): keep both equal.
-- Dossier codes (MaHoSo) present more than once in staging, across all years: the loader quarantines
-- duplicates within a load, so a survivor means two partitions or two loads overlap.
-- One row per surplus copy (every copy after the first by year, file, line), in the checked years.
-- Codes are grouped by their 64-bit hash first (spills to disk; text keys of 100M dossiers do not fit in 1 GB),
-- then exactly, among the few rows whose hash repeats.
WITH duplicate_hashes AS (
    SELECT hash(MaHoSo) AS h FROM stg_dossiers GROUP BY h HAVING count(*) > 1
), dup AS (
    SELECT MaHoSo FROM stg_dossiers
    WHERE hash(MaHoSo) IN (SELECT h FROM duplicate_hashes)
    GROUP BY MaHoSo HAVING count(*) > 1
), copies AS (
    SELECT d.year, d.DonViXuLy AS agency_code, d.MaHoSo, d.source_file, d.source_line,
           row_number() OVER w AS copy,
           first_value(d.year) OVER w AS first_year,
           first_value(d.source_file) OVER w AS first_file,
           first_value(d.source_line) OVER w AS first_line
    FROM stg_dossiers AS d SEMI JOIN dup USING (MaHoSo)
    WINDOW w AS (PARTITION BY d.MaHoSo ORDER BY d.year, d.source_file, d.source_line)
)
SELECT year, agency_code, MaHoSo, source_file, source_line, first_year, first_file, first_line, 1 AS n
FROM copies
WHERE copy > 1 AND list_contains($years, year)
ORDER BY year, MaHoSo, source_file, source_line
