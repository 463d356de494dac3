-- Its condition is the macro of dossier_rules.sql, shared with the per-file screen (dossier_file_checks.sql).
-- Coded dossier fields outside their code lists (docs/domain.md §3): KenhThucHien 1..3, TrangThaiHoSo 1..10,
-- MucDo 1..4 or NULL, DuocThanhToanTrucTuyen 0..2, HoSoCoThanhPhanSoHoa 0/1, LoaiDoiTuong 1/2, LePhi >= 0.
-- One row per dossier; `problem` names every offending field.
SELECT year, DonViXuLy AS agency_code, MaHoSo, source_file, source_line,
       concat_ws(', ',
           CASE WHEN KenhThucHien IS NULL OR KenhThucHien NOT BETWEEN 1 AND 3 THEN 'KenhThucHien=' || coalesce(CAST(KenhThucHien AS VARCHAR), 'NULL') END,
           CASE WHEN TrangThaiHoSo IS NULL OR TrangThaiHoSo NOT BETWEEN 1 AND 10 THEN 'TrangThaiHoSo=' || coalesce(CAST(TrangThaiHoSo AS VARCHAR), 'NULL') END,
           CASE WHEN MucDo NOT BETWEEN 1 AND 4 THEN 'MucDo=' || MucDo END,
           CASE WHEN DuocThanhToanTrucTuyen NOT BETWEEN 0 AND 2 THEN 'DuocThanhToanTrucTuyen=' || DuocThanhToanTrucTuyen END,
           CASE WHEN HoSoCoThanhPhanSoHoa NOT IN (0, 1) THEN 'HoSoCoThanhPhanSoHoa=' || HoSoCoThanhPhanSoHoa END,
           CASE WHEN LoaiDoiTuong NOT IN (1, 2) THEN 'LoaiDoiTuong=' || LoaiDoiTuong END,
           CASE WHEN LePhi < 0 THEN 'LePhi=' || LePhi END
       ) AS problem,
       1 AS n
FROM stg_dossiers
WHERE list_contains($years, year)
  AND dossier_codes_out_of_range(KenhThucHien, TrangThaiHoSo, MucDo, DuocThanhToanTrucTuyen,
                                 HoSoCoThanhPhanSoHoa, LoaiDoiTuong, LePhi)
ORDER BY year, agency_code, MaHoSo
