-- Staging tables of the warehouse: one per raw source of config/sources.yaml (docs/raw_contracts.md), typed,
-- personal data removed.
-- Every table is loaded delete-then-insert per year partition, so reruns and backfills never duplicate.
-- source_file / source_line trace each row back to its raw record.

CREATE TABLE IF NOT EXISTS stg_agencies (
    agency_code    VARCHAR NOT NULL,
    agency_name    VARCHAR NOT NULL,
    agency_group   VARCHAR NOT NULL,   -- a code of agency_groups (below)
    parent_code    VARCHAR,            -- a commune's district
    valid_from     DATE,
    valid_to       DATE,               -- NULL: still exists
    successor_code VARCHAR,            -- where it merged into another agency
    source_file    VARCHAR,
    source_line    BIGINT
);

-- The agency groups (dimension): the standard ones of config/methodology.yaml and those the rubrics declare,
-- refilled from the registry (pipelines/core/registry/ write_agency_groups) by every scoring step. SQL joins it for a
-- group's label and order instead of spelling the groups out.
CREATE TABLE IF NOT EXISTS agency_groups (
    agency_group VARCHAR NOT NULL,  -- the code, as in stg_agencies.agency_group
    group_order  INTEGER NOT NULL,  -- position in reports and summaries
    label_vi     VARCHAR NOT NULL,  -- as published rankings name the group
    label_en     VARCHAR NOT NULL,
    sheet_name   VARCHAR NOT NULL,  -- the workbook sheet of its ranking
    colour       VARCHAR NOT NULL   -- its colour in the HTML report
);

CREATE TABLE IF NOT EXISTS stg_services (
    year           INTEGER NOT NULL,
    agency_code    VARCHAR NOT NULL,
    procedure_code VARCHAR NOT NULL,
    procedure_name VARCHAR,
    level          INTEGER,            -- 1..4; "một phần" = 3, "toàn trình" = 4; NULL = not online
    level_label    VARCHAR,            -- the level as written in the catalogue
    has_fee        INTEGER,            -- 0/1
    source_file    VARCHAR,
    source_line    BIGINT
);

-- Column names are those of the national portal's dossier sync (docs/raw_contracts.md), so exports map 1:1.
-- ChuHoSo, SoGiayTo, SoDienThoai and Email never get here.
CREATE TABLE IF NOT EXISTS stg_dossiers (
    year                    INTEGER NOT NULL,  -- year of NgayTiepNhan (= the year folder it came from)
    MaHoSo                  VARCHAR NOT NULL,
    MaTTHC                  VARCHAR NOT NULL,
    DonViXuLy               VARCHAR NOT NULL,
    KenhThucHien            INTEGER NOT NULL,  -- 1 in person (also when empty), 2 online, 3 postal
    MucDo                   INTEGER,           -- 2/3/4 at submission; NULL: use the catalogue's level
    NgayTiepNhan            TIMESTAMP NOT NULL,-- local time, Asia/Ho_Chi_Minh
    NgayHenTra              TIMESTAMP,
    NgayKetThucXuLy         TIMESTAMP,
    NgayTra                 TIMESTAMP,
    TrangThaiHoSo           INTEGER NOT NULL,  -- 1..10
    LePhi                   BIGINT,            -- VND, 0 = free
    DuocThanhToanTrucTuyen  INTEGER,           -- 0 no, 1 national portal, 2 provincial portal
    HoSoCoThanhPhanSoHoa    INTEGER,           -- 1 digitised
    LoaiDoiTuong            INTEGER,           -- 1 citizen, 2 business
    source_file             VARCHAR,
    source_line             BIGINT,
    -- Optional columns of the national sync format (NULL: absent or empty = unknown)
    NgayYeuCauBoSung        TIMESTAMP,         -- the last supplement request
    NgayCongDanBoSung       TIMESTAMP,         -- the citizen's reply to it
    SoLanBoSung             BIGINT,            -- number of supplement requests
    CoKetQuaDienTu          INTEGER,           -- 1: an electronic result file was issued
    DaSoHoaKetQua           INTEGER,           -- 1: the result was digitised
    DuocLayTuKhoDMQG        INTEGER            -- 1: a component came from the citizen's digital data store
);
-- A warehouse made before the optional sync columns gets them (the contract change reloads the dossier files).
ALTER TABLE stg_dossiers ADD COLUMN IF NOT EXISTS NgayYeuCauBoSung TIMESTAMP;
ALTER TABLE stg_dossiers ADD COLUMN IF NOT EXISTS NgayCongDanBoSung TIMESTAMP;
ALTER TABLE stg_dossiers ADD COLUMN IF NOT EXISTS SoLanBoSung BIGINT;
ALTER TABLE stg_dossiers ADD COLUMN IF NOT EXISTS CoKetQuaDienTu INTEGER;
ALTER TABLE stg_dossiers ADD COLUMN IF NOT EXISTS DaSoHoaKetQua INTEGER;
ALTER TABLE stg_dossiers ADD COLUMN IF NOT EXISTS DuocLayTuKhoDMQG INTEGER;

CREATE TABLE IF NOT EXISTS stg_one_stop (
    year                 INTEGER NOT NULL,
    month                INTEGER NOT NULL,
    agency_code          VARCHAR NOT NULL,
    uses_software        INTEGER,
    dossiers_in_software BIGINT,
    dossiers_total       BIGINT,
    source_file          VARCHAR,
    source_line          BIGINT
);

CREATE TABLE IF NOT EXISTS stg_infrastructure (
    year                    INTEGER NOT NULL,
    agency_code             VARCHAR NOT NULL,
    staff_count             BIGINT,
    computers               BIGINT,
    computers_internet      BIGINT,
    has_lan                 INTEGER,
    bandwidth_mbps          DOUBLE,
    has_firewall            INTEGER,
    has_antivirus           INTEGER,
    has_backup              INTEGER,
    security_assessed       INTEGER,
    offline_computer_secret INTEGER,
    has_website             INTEGER,
    source_file             VARCHAR,
    source_line             BIGINT
);

CREATE TABLE IF NOT EXISTS stg_capacity (
    year                      INTEGER NOT NULL,
    agency_code               VARCHAR NOT NULL,
    docs_sent_total           BIGINT,
    docs_sent_electronic      BIGINT,
    docs_signed_digital       BIGINT,
    staff_with_email          BIGINT,
    it_staff                  BIGINT,
    it_staff_security_trained BIGINT,
    staff_it_trained          BIGINT,
    has_it_plan               INTEGER,
    has_it_regulation         INTEGER,
    it_budget_vnd             BIGINT,
    source_file               VARCHAR,
    source_line               BIGINT
);

CREATE TABLE IF NOT EXISTS stg_assessments (
    year           INTEGER NOT NULL,
    agency_code    VARCHAR NOT NULL,
    indicator_code VARCHAR NOT NULL,
    value          DOUBLE,
    source_file    VARCHAR,
    source_line    BIGINT
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
                              -- wrong_year, unknown_agency, rule, bad_link, duplicate, unreadable_record,
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
    context_hash     VARCHAR            -- contract + registry fingerprint: a change reloads the file
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
