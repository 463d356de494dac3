-- The rating files of `egov_scan_files` (year, source_file; '' for rows staged without a file) reduced to the months
-- they count in (schema.sql, scorecard_766_rating_months): each rating by the month of its date (satisfied_766; a
-- later rating of a dossier ends an earlier one's hold only on the periods holding both, those of its own month), and
-- the months its rated dossiers finished in (rated_766: finished in the period, rated by its end), of the file's
-- year or a later one already scored (a year scored for the first time is scored whole).
INSERT INTO scorecard_766_rating_months BY NAME
SELECT r.year, coalesce(r.source_file, '') AS source_file, year(r.NgayDanhGia) AS other_year,
       month(r.NgayDanhGia) AS month, count(*) AS received
FROM stg_ratings AS r
SEMI JOIN egov_scan_files AS f ON f.year = r.year AND f.source_file = coalesce(r.source_file, '')
GROUP BY ALL
UNION ALL BY NAME
SELECT DISTINCT r.year, coalesce(r.source_file, '') AS source_file, year(d.NgayKetThucXuLy) AS other_year,
       month(d.NgayKetThucXuLy) AS month, 0 AS received
FROM stg_ratings AS r
SEMI JOIN egov_scan_files AS f ON f.year = r.year AND f.source_file = coalesce(r.source_file, '')
JOIN stg_dossiers AS d ON d.MaHoSo = r.MaHoSo
WHERE d.TrangThaiHoSo IN (9, 10) AND year(d.NgayKetThucXuLy) IN (SELECT year FROM scorecard_766_state)
  AND year(d.NgayKetThucXuLy) >= r.year;  -- a rating counts in the periods of its own year and later ones
