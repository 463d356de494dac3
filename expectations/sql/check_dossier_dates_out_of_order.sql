-- Its condition is the macro of dossier_rules.sql, shared with the per-file screen (dossier_file_checks.sql).
-- Dossier dates before the reception date: due (NgayHenTra), processing finished (NgayKetThucXuLy) or
-- result returned (NgayTra) earlier than received (NgayTiepNhan). They would distort the on-time ratio.
-- One row per dossier; `problem` names every offending date.
SELECT year, DonViXuLy AS agency_code, MaHoSo, NgayTiepNhan, NgayHenTra, NgayKetThucXuLy, NgayTra,
       source_file, source_line,
       concat_ws(', ',
           CASE WHEN NgayHenTra < NgayTiepNhan THEN 'NgayHenTra < NgayTiepNhan' END,
           CASE WHEN NgayKetThucXuLy < NgayTiepNhan THEN 'NgayKetThucXuLy < NgayTiepNhan' END,
           CASE WHEN NgayTra < NgayTiepNhan THEN 'NgayTra < NgayTiepNhan' END) AS problem,
       1 AS n
FROM stg_dossiers
WHERE list_contains($years, year)
  AND dossier_dates_out_of_order(NgayTiepNhan, NgayHenTra, NgayKetThucXuLy, NgayTra)
ORDER BY year, agency_code, MaHoSo
