-- The only scan of the dossier log: a compact fact table by year, month of reception, agency, procedure and
-- the dossier's service level. Every dossier indicator and the year-to-date scorecard are computed from it.
--   level: MucDo when the dossier carries it, else the catalogue's level of that year for the agency's procedure
--   accepted: TrangThaiHoSo not in (1 registered, 3 refused)
--   on time: processed (status 9 or 10) and NgayKetThucXuLy <= NgayHenTra; a processed dossier without either
--            date counts as processed but not on time
CREATE OR REPLACE TEMP TABLE egov_dossier_facts AS
SELECT
    d.year,
    month(d.NgayTiepNhan)                                                        AS month,
    d.DonViXuLy                                                                  AS agency_code,
    d.MaTTHC                                                                     AS procedure_code,
    coalesce(d.MucDo, s.level)                                                   AS level,
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
LEFT JOIN stg_services AS s
       ON s.year = d.year AND s.agency_code = d.DonViXuLy AND s.procedure_code = d.MaTTHC
WHERE d.year IN (SELECT year FROM egov_years)
GROUP BY ALL;
