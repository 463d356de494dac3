-- The dossier log of the files in egov_scan_files (year, source_file) reduced to counts per file, month of
-- reception, agency, procedure and the dossier's own MucDo (NULL when it carries none). The catalogue's level is
-- applied after the files are added up (dossier_facts.sql), so a catalogue change needs no rescan.
--   accepted: TrangThaiHoSo not in (1 registered, 3 refused)
--   on time: processed (status 9 or 10) and NgayKetThucXuLy <= NgayHenTra; a processed dossier without either
--            date counts as processed but not on time
INSERT INTO dossier_file_facts
SELECT
    d.year,
    coalesce(d.source_file, '')                                                  AS source_file,
    month(d.NgayTiepNhan)                                                        AS month,
    d.DonViXuLy                                                                  AS agency_code,
    d.MaTTHC                                                                     AS procedure_code,
    d.MucDo                                                                      AS mucdo,  -- noqa: AL09
    count(*)                                                                     AS received,
    count(*) FILTER (WHERE d.TrangThaiHoSo NOT IN (1, 3))                        AS accepted,
    count(*) FILTER (WHERE d.TrangThaiHoSo NOT IN (1, 3) AND d.KenhThucHien = 2) AS accepted_online,
    count(*) FILTER (WHERE d.TrangThaiHoSo IN (9, 10))                           AS processed,
    count(*) FILTER (WHERE d.TrangThaiHoSo IN (9, 10)
                       AND d.NgayKetThucXuLy <= d.NgayHenTra)                    AS processed_on_time,
    count(*) FILTER (WHERE d.TrangThaiHoSo NOT IN (1, 3) AND d.LePhi > 0)        AS accepted_with_fee,
    count(*) FILTER (WHERE d.TrangThaiHoSo NOT IN (1, 3) AND d.LePhi > 0
                       AND d.DuocThanhToanTrucTuyen IN (1, 2))                   AS paid_online,
    count(*) FILTER (WHERE d.TrangThaiHoSo NOT IN (1, 3)
                       AND d.HoSoCoThanhPhanSoHoa = 1)                           AS digitised
FROM stg_dossiers AS d
SEMI JOIN egov_scan_files AS f ON f.year = d.year AND f.source_file = coalesce(d.source_file, '')
GROUP BY ALL;
