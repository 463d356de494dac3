-- The dossier log aggregated per year, month of reception and receiving agency: what the GX suite
-- `dossier_agency_month` validates instead of millions of rows (row-level checks are SQL, check_dossier_*.sql).
-- Added up from the log's counts per raw file (dossier_file_facts, defined in
-- assets/indicators/sql/dossier_file_facts.sql after docs/domain.md §4: accepted = TrangThaiHoSo not in (1, 3);
-- finished = status 9 or 10), which the caller brings up to date first. Parameter: $years INTEGER[].
SELECT
    year,
    CAST(month AS INTEGER)            AS month,
    agency_code,
    sum(received)::BIGINT             AS dossiers,
    sum(accepted)::BIGINT             AS accepted,
    sum(accepted_online)::BIGINT      AS online,
    sum(processed)::BIGINT            AS finished,
    sum(processed_on_time)::BIGINT    AS on_time,
    sum(accepted_with_fee)::BIGINT    AS with_fee,
    sum(paid_online)::BIGINT          AS paid_online,
    sum(digitised)::BIGINT            AS digitised
FROM dossier_file_facts
WHERE list_contains($years, year)
GROUP BY ALL
ORDER BY year, month, agency_code
