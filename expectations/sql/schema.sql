-- The quality layer's tables besides data_quality (data_quality.sql), created by sql_checks.py before use.

-- The row-level dossier checks counted per raw file (expectations/sql/dossier_file_checks.sql): the staging checks
-- add them up instead of scanning the whole log every night.
CREATE TABLE IF NOT EXISTS dossier_file_checks (
    year               INTEGER NOT NULL,
    source_file        VARCHAR NOT NULL,
    received           BIGINT NOT NULL,  -- rows of the file
    repeated_keys      BIGINT NOT NULL,
    codes_out_of_range BIGINT NOT NULL,
    dates_out_of_order BIGINT NOT NULL,
    year_mismatch      BIGINT NOT NULL
);
