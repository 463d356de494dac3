-- The dossier facts every dossier indicator and the year-to-date scorecard are computed from: the per-file counts
-- of dossier_file_facts (dossier_file_facts.sql defines them) added up by year, month of reception, agency,
-- procedure and the dossier's service level:
--   level: MucDo when the dossier carries it, else the catalogue's level of that year for the agency's procedure
CREATE OR REPLACE TEMP TABLE egov_dossier_facts AS
SELECT
    f.year,
    f.month,
    f.agency_code,
    f.procedure_code,
    coalesce(f.mucdo, s.level)            AS level,
    sum(f.received)::BIGINT               AS received,
    sum(f.accepted)::BIGINT               AS accepted,
    sum(f.accepted_online)::BIGINT        AS accepted_online,
    sum(f.processed)::BIGINT              AS processed,
    sum(f.processed_on_time)::BIGINT      AS processed_on_time,
    sum(f.accepted_with_fee)::BIGINT      AS accepted_with_fee,
    sum(f.paid_online)::BIGINT            AS paid_online,
    sum(f.digitised)::BIGINT              AS digitised
FROM dossier_file_facts AS f
LEFT JOIN stg_services AS s
       ON s.year = f.year AND s.agency_code = f.agency_code AND s.procedure_code = f.procedure_code
WHERE f.year IN (SELECT year FROM egov_years)
GROUP BY ALL;
