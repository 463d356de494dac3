-- Ratings present more than once in staging under the contract's key (config/sources.yaml ratings.unique: MaHoSo,
-- NgayDanhGia): the loader quarantines duplicates within a load, so a survivor means two loads overlap.
-- One row per surplus copy (every copy after the first by file, line), with the rated dossier's agency.
-- Keys are grouped by their 64-bit hash first (the key of millions of ratings in little memory), then exactly,
-- among the few rows whose hash repeats.
WITH repeated_hashes AS (
    SELECT hash(MaHoSo, NgayDanhGia) AS h FROM stg_ratings
    WHERE list_contains($years, year)
    GROUP BY h HAVING count(*) > 1
), repeated AS (
    SELECT MaHoSo, NgayDanhGia FROM stg_ratings
    WHERE list_contains($years, year) AND hash(MaHoSo, NgayDanhGia) IN (SELECT h FROM repeated_hashes)
    GROUP BY ALL HAVING count(*) > 1
), copies AS (
    SELECT r.year, r.MaHoSo, r.NgayDanhGia, r.source_file, r.source_line,
           row_number() OVER (PARTITION BY r.MaHoSo, r.NgayDanhGia ORDER BY r.source_file, r.source_line) AS copy
    FROM stg_ratings AS r SEMI JOIN repeated USING (MaHoSo, NgayDanhGia)
    WHERE list_contains($years, r.year)
), agencies AS (  -- the rated dossiers' agencies (a rating's agency is its dossier's)
    SELECT MaHoSo, min(DonViXuLy) AS agency_code FROM stg_dossiers SEMI JOIN repeated USING (MaHoSo) GROUP BY MaHoSo
)
SELECT c.year, a.agency_code, c.MaHoSo, c.NgayDanhGia, c.source_file, c.source_line, 1 AS n
FROM copies AS c LEFT JOIN agencies AS a USING (MaHoSo)
WHERE c.copy > 1
ORDER BY c.year, c.MaHoSo, c.NgayDanhGia, c.source_file, c.source_line
