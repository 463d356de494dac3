-- one_stop_in_software_ratio: dossiers received in the one-stop-shop software over all dossiers received,
-- summed over the year's monthly returns. No return that year: NULL.
INSERT INTO egov_indicator_parts
SELECT a.year, a.agency_code, 'one_stop_in_software_ratio', o.in_software, o.total
FROM egov_agencies AS a
LEFT JOIN (
    SELECT year, agency_code, sum(dossiers_in_software) AS in_software, sum(dossiers_total) AS total
    FROM stg_one_stop
    WHERE year IN (SELECT year FROM egov_years)
    GROUP BY ALL
) AS o USING (year, agency_code);
