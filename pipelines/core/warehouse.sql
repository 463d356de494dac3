-- The core's own tables of the warehouse (pipelines/core/warehouse.py runs this file on every open, after the
-- staging tables, which pipelines/core/staging.py generates from config/sources.yaml): the agency groups, what the
-- loader quarantined and read, which raw files the per-file facts hold, and the agency_years view over the registry.

-- The agency groups (dimension): the standard ones of config/methodology.yaml and those the rubrics declare,
-- refilled from the registry (pipelines/core/warehouse.py write_agency_groups) by every scoring step. SQL joins it
-- for a group's label and order instead of spelling the groups out.
CREATE TABLE IF NOT EXISTS agency_groups (
    agency_group VARCHAR NOT NULL,  -- the code, as in stg_agencies.agency_group
    group_order  INTEGER NOT NULL,  -- position in reports and summaries
    label_vi     VARCHAR NOT NULL,  -- as published rankings name the group
    label_en     VARCHAR NOT NULL,
    sheet_name   VARCHAR NOT NULL,  -- the workbook sheet of its ranking
    colour       VARCHAR NOT NULL   -- its colour in the HTML report
);

-- Rows that broke their contract: never dropped silently.
CREATE TABLE IF NOT EXISTS quarantine (
    source VARCHAR NOT NULL,
    year   INTEGER,           -- partition year; NULL for the agency registry
    file   VARCHAR NOT NULL,  -- path relative to the raw directory
    line   BIGINT,            -- physical line in the file (header = 1); 0 when the whole file was rejected
    reason VARCHAR NOT NULL,
    agency_code VARCHAR,      -- the record's agency as written, when it could be read
    rule   VARCHAR NOT NULL,  -- the kind of violation: empty, invalid, not_allowed, negative, out_of_range,
                              -- wrong_year, unknown_agency, unknown_key, rule, bad_link, duplicate, conflicting,
                              -- unreadable_record,
                              -- file_rejected (also a file refused unread: a link out of raw/, a stray file)
    raw    VARCHAR            -- the record as read, personal-data fields masked ('[withheld: ...]' when they
                              -- cannot be located); control characters shown as U+FFFD
);

-- One row per raw file and load: how it was read and how its rows reconcile.
CREATE TABLE IF NOT EXISTS ingested_files (
    source           VARCHAR NOT NULL,
    year             INTEGER,
    file             VARCHAR NOT NULL,
    file_format      VARCHAR,
    encoding         VARCHAR,
    status           VARCHAR NOT NULL,  -- loaded | rejected
    message          VARCHAR,
    rows_read        BIGINT NOT NULL,
    rows_loaded      BIGINT NOT NULL,
    rows_quarantined BIGINT NOT NULL,
    file_size        BIGINT,
    file_mtime_ns    BIGINT,
    context_hash     VARCHAR,           -- contract + registry fingerprint: a change reloads the file
    rows_superseded  BIGINT NOT NULL DEFAULT 0  -- older versions of a record (contract key + version)
);
-- Warehouses from before records that change (config/sources.yaml key + version) get the column.
ALTER TABLE ingested_files ADD COLUMN IF NOT EXISTS rows_superseded BIGINT DEFAULT 0;

-- The keys a source's `key_of` columns were last checked against (a rating names a dossier of the log), per source
-- and year: `state` is the key tables' fingerprint at that load, per source file of the key table (load.py
-- `key_state`). Adding dossiers does not reload a year's rating files; when the fingerprint moved, the loader reads
-- again only the files a key that came or went can change, and looks for staged rows whose key went only when a file
-- of the key table changed or went (assets/ingestion/load.py `_files_whose_keys_moved`).
CREATE TABLE IF NOT EXISTS key_states (
    source VARCHAR NOT NULL,
    year   INTEGER,
    state  VARCHAR NOT NULL
);

-- The key each quarantined row names in a `key_of` column, and whether the key table held it when the row's file was
-- loaded (NULL when the row names none): when the keys moved, a file is read again only if one of its quarantined
-- rows' keys came or went (its reason would change, or it would load). Written with the quarantine rows parsed from
-- the file; a quarantined row without one here (an older warehouse) reads its file again whenever the keys move.
CREATE TABLE IF NOT EXISTS quarantined_keys (
    source     VARCHAR NOT NULL,
    year       INTEGER,
    file       VARCHAR NOT NULL,
    line       BIGINT NOT NULL,
    key_column VARCHAR NOT NULL,
    key_value  VARCHAR,
    known      BOOLEAN
);

-- Which raw files each per-file facts table (pipelines/core/file_facts.py) holds the counts of, and under which
-- scope. The loader deletes a file's rows here when it replaces the file's staged rows (all of a partition on a
-- full refresh), in the same transaction: a facts table then counts the file again from its new rows.
CREATE TABLE IF NOT EXISTS file_facts_built (
    facts       VARCHAR NOT NULL,  -- the facts table, e.g. dossier_file_facts
    source      VARCHAR NOT NULL,  -- the raw source (config/sources.yaml)
    year        INTEGER,
    source_file VARCHAR NOT NULL,
    scope       VARCHAR NOT NULL   -- what the counts depend on besides the file (the SQL, the catalogue, ...)
);

-- Which agencies exist in which year. An agency exists in a year when its validity overlaps it;
-- it is evaluated (scored and ranked) in a year when it still exists on 31 December of that year.
CREATE OR REPLACE VIEW agency_years AS
SELECT
    y.year,
    a.agency_code,
    a.agency_name,
    a.agency_group,
    a.parent_code,
    a.successor_code,
    (a.valid_to IS NULL OR a.valid_to >= make_date(y.year, 12, 31)) AS evaluated
FROM stg_agencies AS a
CROSS JOIN (SELECT DISTINCT year FROM range(2000, 2101) AS r(year)) AS y
WHERE coalesce(a.valid_from, DATE '1900-01-01') <= make_date(y.year, 12, 31)
  AND (a.valid_to IS NULL OR a.valid_to >= make_date(y.year, 1, 1));
