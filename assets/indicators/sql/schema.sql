-- Indicator tables of the warehouse (docs/domain.md §4). Every row keeps numerator and denominator.
CREATE TABLE IF NOT EXISTS indicator_values (
    year           INTEGER NOT NULL,
    agency_code    VARCHAR NOT NULL,
    indicator_code VARCHAR NOT NULL,
    numerator      DOUBLE,   -- NULL: the return behind it is missing
    denominator    DOUBLE,
    value          DOUBLE,   -- numerator / denominator; NULL when the denominator is 0 or unknown
    source         VARCHAR NOT NULL  -- computed | assessment
);

CREATE TABLE IF NOT EXISTS dossier_indicators_ytd (
    year           INTEGER NOT NULL,
    month          INTEGER NOT NULL,  -- dossiers received 1 January .. end of this month
    agency_code    VARCHAR NOT NULL,  -- '*' = the whole province
    indicator_code VARCHAR NOT NULL,
    numerator      DOUBLE,
    denominator    DOUBLE,
    value          DOUBLE
);

-- The dossier log counted per raw file (dossier_file_facts.sql), so a night with one new file counts that file only
-- (pipelines/core/file_facts.py); egov_dossier_facts adds the files up and applies the catalogue's level.
CREATE TABLE IF NOT EXISTS dossier_file_facts (
    year              INTEGER NOT NULL,
    source_file       VARCHAR NOT NULL,
    month             INTEGER,
    agency_code       VARCHAR,
    procedure_code    VARCHAR,
    mucdo             INTEGER,  -- the dossier's own MucDo; NULL: the catalogue's level applies
    received          BIGINT NOT NULL,
    accepted          BIGINT NOT NULL,
    accepted_online   BIGINT NOT NULL,
    processed         BIGINT NOT NULL,
    processed_on_time BIGINT NOT NULL,
    accepted_with_fee BIGINT NOT NULL,
    paid_online       BIGINT NOT NULL,
    digitised         BIGINT NOT NULL
);
-- The per-run copy of the dossier facts that dossier_file_facts replaced.
DROP TABLE IF EXISTS egov_run_dossier_facts;
DROP TABLE IF EXISTS egov_run_dossier_facts_key;
