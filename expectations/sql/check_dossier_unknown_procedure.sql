-- Dossiers whose procedure (MaTTHC) is not in the receiving agency's catalogue of that year (stg_services):
-- they count in the dossier totals but not among "dossiers of online services". One row per agency and year;
-- dossiers (= n), catalogue_size = procedures in the agency's catalogue (0: no catalogue sent).
WITH unknown AS (
    SELECT d.year, d.DonViXuLy AS agency_code, d.MaTTHC
    FROM stg_dossiers AS d
    ANTI JOIN stg_services AS s
        ON s.year = d.year AND s.agency_code = d.DonViXuLy AND s.procedure_code = d.MaTTHC
    WHERE list_contains($years, d.year)
), catalogue AS (
    SELECT year, agency_code, count(*) AS catalogue_size
    FROM stg_services WHERE list_contains($years, year) GROUP BY ALL
)
SELECT u.year, u.agency_code, any_value(a.agency_name) AS agency_name, count(*) AS dossiers,
       count(DISTINCT u.MaTTHC) AS procedures,
       list_sort(list(DISTINCT u.MaTTHC))[1:5] AS example_procedures,
       coalesce(any_value(c.catalogue_size), 0) AS catalogue_size, count(*) AS n
FROM unknown AS u
LEFT JOIN catalogue AS c USING (year, agency_code)
LEFT JOIN stg_agencies AS a USING (agency_code)
GROUP BY u.year, u.agency_code
ORDER BY dossiers DESC, u.year ASC, u.agency_code ASC
