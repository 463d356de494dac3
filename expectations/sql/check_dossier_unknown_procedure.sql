-- Dossiers whose procedure (MaTTHC) is not in the receiving agency's catalogue of that year (stg_services):
-- they count in the dossier totals but not among "dossiers of online services". One row per agency and year;
-- dossiers (= n), catalogue_size = procedures in the agency's catalogue (0: no catalogue sent).
-- Read from the log's counts per file, month, agency and procedure (dossier_file_facts, brought up to date by
-- sql_checks.py first): the same rows as the staged log's, without another scan of it.
WITH unknown AS (
    SELECT f.year, f.agency_code, f.procedure_code AS MaTTHC, f.received
    FROM dossier_file_facts AS f
    ANTI JOIN stg_services AS s
        ON s.year = f.year AND s.agency_code = f.agency_code AND s.procedure_code = f.procedure_code
    WHERE list_contains($years, f.year)
), catalogue AS (
    SELECT year, agency_code, count(*) AS catalogue_size
    FROM stg_services WHERE list_contains($years, year) GROUP BY ALL
)
SELECT u.year, u.agency_code, any_value(a.agency_name) AS agency_name, sum(u.received)::BIGINT AS dossiers,
       count(DISTINCT u.MaTTHC) AS procedures,
       list_sort(list(DISTINCT u.MaTTHC))[1:5] AS example_procedures,
       coalesce(any_value(c.catalogue_size), 0) AS catalogue_size, sum(u.received)::BIGINT AS n
FROM unknown AS u
LEFT JOIN catalogue AS c USING (year, agency_code)
LEFT JOIN stg_agencies AS a USING (agency_code)
GROUP BY u.year, u.agency_code
ORDER BY dossiers DESC, u.year ASC, u.agency_code ASC
