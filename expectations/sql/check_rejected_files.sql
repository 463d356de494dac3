-- Raw files rejected whole (unreadable, undetectable encoding, missing columns): none of their rows counts,
-- so a month or an agency's return may be missing. One row per file.
SELECT source, year, file, message, 1 AS n
FROM ingested_files
WHERE status = 'rejected' AND (year IS NULL OR list_contains($years, year))
ORDER BY source, year, file
