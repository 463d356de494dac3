-- The dossier log of the files in `egov_scan_files` (year, source_file; '' for rows staged without a file) reduced to the counts of the QĐ 766 items,
-- per file, month of reception, agency and kind. The rules (config/rubrics/periodic/766/<year>.yaml cites them):
--   counted    TrangThaiHoSo not 1 (registered), 3 (refused), 7 (withdrawn), 8 (stopped): the on-time denominator
--   pause      NgayCongDanBoSung − NgayYeuCauBoSung when the supplement lies in the processing window:
--              NgayTiepNhan <= NgayYeuCauBoSung <= NgayCongDanBoSung, and the reply by NgayKetThucXuLy (finished
--              dossiers) or by the period's reference instant (unfinished ones: a supplement not provided yet at that
--              instant pauses nothing, like a request without a reply); else 0. The loader quarantines other
--              supplement dates (config/sources.yaml, rules); this keeps the definition for rows staged otherwise.
--   due        NgayHenTra + pause
--   on time    finished (9, 10) with NgayKetThucXuLy <= due; unfinished with due >= the period's reference instant
--              (known only when the period is scored: such dossiers keep NgayHenTra in open_due and the supplement
--              in open_requested, open_provided); a dossier asked for a supplement twice or more (SoLanBoSung >= 2)
--              is late whatever its dates; no due date = late
--   accepted   TrangThaiHoSo not 1, 3
--   online service  level 3 or 4 at submission: MucDo, else the catalogue's level of the agency's procedure
--   flags      CoKetQuaDienTu, DaSoHoaKetQua, HoSoCoThanhPhanSoHoa, DuocLayTuKhoDMQG: = 1 among accepted dossiers,
--              and how many of them carry the flag at all (*_known; 0 = absent or empty: unknown)
INSERT INTO scorecard_766_facts BY NAME
WITH d AS (
    SELECT d.year, month(d.NgayTiepNhan) AS month, coalesce(d.source_file, '') AS source_file,
           d.DonViXuLy AS agency_code,
           coalesce(coalesce(d.MucDo, s.level) IN (3, 4), FALSE) AS online_service,
           d.TrangThaiHoSo NOT IN (1, 3, 7, 8) AS counted,
           d.TrangThaiHoSo NOT IN (1, 3) AS accepted,
           d.TrangThaiHoSo IN (9, 10) AS finished,
           coalesce(d.SoLanBoSung, 0) >= 2 AS asked_twice,
           d.NgayHenTra,
           -- a supplement that can pause the due date: requested after reception, provided after the request
           CASE WHEN d.NgayTiepNhan <= d.NgayYeuCauBoSung AND d.NgayYeuCauBoSung <= d.NgayCongDanBoSung
                THEN d.NgayYeuCauBoSung END AS requested,
           CASE WHEN d.NgayTiepNhan <= d.NgayYeuCauBoSung AND d.NgayYeuCauBoSung <= d.NgayCongDanBoSung
                THEN d.NgayCongDanBoSung END AS provided,
           d.NgayKetThucXuLy, d.KenhThucHien, d.LePhi, d.DuocThanhToanTrucTuyen, d.CoKetQuaDienTu,
           d.DaSoHoaKetQua, d.HoSoCoThanhPhanSoHoa, d.DuocLayTuKhoDMQG
    FROM stg_dossiers AS d
    SEMI JOIN egov_scan_files AS f ON f.year = d.year AND f.source_file = coalesce(d.source_file, '')
    LEFT JOIN stg_services AS s
           ON s.year = d.year AND s.agency_code = d.DonViXuLy AND s.procedure_code = d.MaTTHC
)
SELECT year, month, source_file, agency_code, online_service,
       CASE WHEN counted AND NOT finished AND NOT asked_twice THEN NgayHenTra END        AS open_due,
       CASE WHEN counted AND NOT finished AND NOT asked_twice THEN requested END         AS open_requested,
       CASE WHEN counted AND NOT finished AND NOT asked_twice THEN provided END          AS open_provided,
       count(*)                                                                          AS received,
       count(*) FILTER (WHERE counted)                                                   AS counted,
       count(*) FILTER (WHERE counted AND finished AND NOT asked_twice AND NgayKetThucXuLy <= NgayHenTra
                              + CASE WHEN provided <= NgayKetThucXuLy THEN provided - requested
                                     ELSE INTERVAL 0 SECOND END)                         AS on_time_closed,
       count(*) FILTER (WHERE counted AND NOT finished AND NOT asked_twice AND NgayHenTra IS NOT NULL)
                                                                                         AS open_judged,
       count(*) FILTER (WHERE accepted)                                                  AS accepted,
       count(*) FILTER (WHERE accepted AND KenhThucHien = 2)                             AS accepted_online,
       count(*) FILTER (WHERE accepted AND LePhi > 0)                                    AS accepted_fee,
       count(*) FILTER (WHERE accepted AND LePhi > 0 AND DuocThanhToanTrucTuyen IN (1, 2)) AS paid_online,
       count(*) FILTER (WHERE accepted AND CoKetQuaDienTu = 1)                           AS e_result,
       count(*) FILTER (WHERE accepted AND CoKetQuaDienTu IS NOT NULL)                   AS e_result_known,
       count(*) FILTER (WHERE accepted AND DaSoHoaKetQua = 1)                            AS digitised_result,
       count(*) FILTER (WHERE accepted AND DaSoHoaKetQua IS NOT NULL)                    AS digitised_result_known,
       count(*) FILTER (WHERE accepted AND HoSoCoThanhPhanSoHoa = 1)                     AS digitised,
       count(*) FILTER (WHERE accepted AND HoSoCoThanhPhanSoHoa IS NOT NULL)             AS digitised_known,
       count(*) FILTER (WHERE accepted AND DuocLayTuKhoDMQG = 1)                         AS data_store,
       count(*) FILTER (WHERE accepted AND DuocLayTuKhoDMQG IS NOT NULL)                 AS data_store_known
FROM d
GROUP BY ALL;

-- The months of the same files' dossiers in other periods than their reception month's (scorecard_766_elsewhere):
-- finished (9, 10) in a month of their year or a later one (rated_766), rated in one (satisfied_766 and the trace
-- count a rating for its dossier's agency). So a change of the dossier files marks exactly the months whose
-- finished or rated dossiers it changes, and a night rescores those months, not the whole year (the rating files
-- mark theirs: scorecard_766_rating_months). Only the ratings of the files' own dossiers are read.
INSERT INTO scorecard_766_elsewhere BY NAME
WITH d AS (
    SELECT d.year, coalesce(d.source_file, '') AS source_file, d.MaHoSo, d.DonViXuLy, d.TrangThaiHoSo,
           d.NgayKetThucXuLy
    FROM stg_dossiers AS d
    SEMI JOIN egov_scan_files AS f ON f.year = d.year AND f.source_file = coalesce(d.source_file, '')
),
counted AS (
    SELECT year, source_file, year(NgayKetThucXuLy) AS other_year, month(NgayKetThucXuLy) AS month,
           hash('finished', MaHoSo, DonViXuLy) AS h
    FROM d WHERE TrangThaiHoSo IN (9, 10) AND year(NgayKetThucXuLy) >= year
    UNION ALL
    SELECT d.year, d.source_file, year(r.NgayDanhGia), month(r.NgayDanhGia), hash('rated', d.MaHoSo, d.DonViXuLy)
    FROM d JOIN (SELECT DISTINCT MaHoSo, NgayDanhGia FROM stg_ratings
                 WHERE MaHoSo IN (SELECT MaHoSo FROM d)) AS r ON r.MaHoSo = d.MaHoSo
    WHERE year(r.NgayDanhGia) >= d.year
)
SELECT year, source_file, other_year, month, count(*) AS dossiers, sum(h)::HUGEINT AS digest
FROM counted
GROUP BY ALL;
