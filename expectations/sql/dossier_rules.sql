-- The row rules of the dossier log, defined once for the per-file screen (dossier_file_checks.sql) and the checks
-- that list the failing rows (check_dossier_codes_out_of_range.sql, check_dossier_dates_out_of_order.sql).
-- Created as temporary macros of the checking connection before any check runs.

-- Coded fields outside their code lists (docs/domain.md §3): KenhThucHien 1..3, TrangThaiHoSo 1..10, MucDo 1..4 or
-- NULL, DuocThanhToanTrucTuyen 0..2, HoSoCoThanhPhanSoHoa 0/1, LoaiDoiTuong 1/2, LePhi >= 0.
CREATE OR REPLACE TEMP MACRO dossier_codes_out_of_range(
    KenhThucHien, TrangThaiHoSo, MucDo, DuocThanhToanTrucTuyen, HoSoCoThanhPhanSoHoa, LoaiDoiTuong, LePhi) AS
    coalesce(KenhThucHien IS NULL OR KenhThucHien NOT BETWEEN 1 AND 3
             OR TrangThaiHoSo IS NULL OR TrangThaiHoSo NOT BETWEEN 1 AND 10
             OR MucDo NOT BETWEEN 1 AND 4
             OR DuocThanhToanTrucTuyen NOT BETWEEN 0 AND 2
             OR HoSoCoThanhPhanSoHoa NOT IN (0, 1)
             OR LoaiDoiTuong NOT IN (1, 2)
             OR LePhi < 0, false);

-- Dates before the reception date: due (NgayHenTra), processing finished (NgayKetThucXuLy) or result returned
-- (NgayTra) earlier than received (NgayTiepNhan). A missing date breaks no order.
CREATE OR REPLACE TEMP MACRO dossier_dates_out_of_order(NgayTiepNhan, NgayHenTra, NgayKetThucXuLy, NgayTra) AS
    coalesce(NgayHenTra < NgayTiepNhan OR NgayKetThucXuLy < NgayTiepNhan OR NgayTra < NgayTiepNhan, false);
