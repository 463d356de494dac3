-- Tables of the QĐ 766 scorecard (docs/rubrics.md §8). Facts are kept per raw file so a night recomputes only the
-- months its changed files touch; the scorecard rows are replaced per period.

-- The dossier log reduced to what the 766 items count, per raw file, month of reception (NgayTiepNhan, local
-- time), agency and kind (facts_766.sql defines every count).
CREATE TABLE IF NOT EXISTS scorecard_766_facts (
    year            INTEGER NOT NULL,
    month           INTEGER NOT NULL,
    source_file     VARCHAR NOT NULL,
    agency_code     VARCHAR NOT NULL,
    online_service  BOOLEAN NOT NULL,  -- level 3/4 at submission (MucDo, else the catalogue's level)
    open_due        TIMESTAMP,         -- unfinished dossiers still judged by date: NgayHenTra; else NULL
    open_requested  TIMESTAMP,         -- ... and their supplement in the window (requested after reception,
    open_provided   TIMESTAMP,         -- provided after the request): it pauses them at an instant it precedes
    received        BIGINT NOT NULL,
    counted         BIGINT NOT NULL,   -- on-time denominator: TrangThaiHoSo not 1, 3, 7, 8
    on_time_closed  BIGINT NOT NULL,   -- finished (9, 10) by NgayHenTra + pause, asked for a supplement < 2 times
    open_judged     BIGINT NOT NULL,   -- unfinished, asked < 2 times, with a due date: on time when open_due >= ref
    accepted        BIGINT NOT NULL,   -- TrangThaiHoSo not 1, 3
    accepted_online BIGINT NOT NULL,   -- accepted, KenhThucHien = 2
    accepted_fee    BIGINT NOT NULL,   -- accepted, LePhi > 0
    paid_online     BIGINT NOT NULL,   -- accepted, LePhi > 0, DuocThanhToanTrucTuyen 1 or 2
    e_result        BIGINT NOT NULL,   -- accepted with the flag = 1 ... and with the flag known (not NULL)
    e_result_known  BIGINT NOT NULL,
    digitised_result        BIGINT NOT NULL,
    digitised_result_known  BIGINT NOT NULL,
    digitised       BIGINT NOT NULL,
    digitised_known BIGINT NOT NULL,
    data_store      BIGINT NOT NULL,
    data_store_known BIGINT NOT NULL
);

-- A warehouse from before the supplement columns gets them here; the facts SQL changed with them, so its files are
-- counted again (the scope in file_facts_built) before the scoring reads them.
ALTER TABLE scorecard_766_facts ADD COLUMN IF NOT EXISTS open_requested TIMESTAMP;
ALTER TABLE scorecard_766_facts ADD COLUMN IF NOT EXISTS open_provided TIMESTAMP;

-- Per raw file: the months its dossiers count in besides their month of reception, in their own year or a later
-- one (the scoring reads dossiers of a year in the periods of that year and the later ones): rated_766 counts a
-- finished dossier in the month it finished, satisfied_766 a rated one in the months of its ratings. A digest of the
-- dossiers counted there (MaHoSo, agency) lets refresh_facts mark the months, of any year, whose dossiers changed,
-- and name the other years to run again (a record that moved between years, an older year's file arriving late).
CREATE TABLE IF NOT EXISTS scorecard_766_elsewhere (
    year        INTEGER NOT NULL,  -- the dossiers' year (their staging partition)
    source_file VARCHAR NOT NULL,
    other_year  INTEGER NOT NULL,  -- the period's year: the dossiers' own year or a later one
    month       INTEGER NOT NULL,
    dossiers    BIGINT NOT NULL,
    digest      HUGEINT NOT NULL   -- sum of hash(kind, MaHoSo, DonViXuLy) of the dossiers counted there
);

-- Per rating and feedback file, the months (of any year) its rows count in: satisfied_766 counts a rating in the
-- month of its date (NgayDanhGia), feedback_on_time_766 a feedback in the month it is due (HanXuLy); `received` counts
-- each row once, by that month. A rating file also lists, with `received` 0, the months its rated dossiers finished
-- in (rated_766), of its own year or a later one scored when the file was counted. A file that comes marks these months for rescoring,
-- a feedback file that changes or goes marks its recorded months, a rating file that changes or goes every month of
-- the scored years from its own (its dossiers may have finished elsewhere since): build.refresh_inputs.
CREATE TABLE IF NOT EXISTS scorecard_766_rating_months (
    year        INTEGER NOT NULL,  -- the file's year (its staging partition)
    source_file VARCHAR NOT NULL,
    other_year  INTEGER,           -- the period's year
    month       INTEGER,
    received    BIGINT NOT NULL
);
CREATE TABLE IF NOT EXISTS scorecard_766_feedback_months (
    year        INTEGER NOT NULL,
    source_file VARCHAR NOT NULL,
    other_year  INTEGER,
    month       INTEGER,
    received    BIGINT NOT NULL
);

-- Which dossier files the facts hold: file_facts_built (pipelines/core/file_facts.py); the table that did it
-- before is dropped.
DROP TABLE IF EXISTS scorecard_766_sources;

-- Per year: what the scores were built with. A change of `score_scope` (the rubric, the scoring SQL) rescores
-- every period; a change of `latest` (the log's last NgayTiepNhan: the reference instant of the running periods)
-- rescores the periods that end after it. (`facts_scope` is unused: the facts' scope is kept in file_facts_built.)
CREATE TABLE IF NOT EXISTS scorecard_766_state (
    year        INTEGER NOT NULL,
    facts_scope VARCHAR,
    score_scope VARCHAR,
    latest      TIMESTAMP
);

-- Months whose facts changed and are not rescored yet: written in the transaction that records the files' facts as
-- built, emptied only in the one that writes the year's scores (a night without a rubric in force keeps them).
CREATE TABLE IF NOT EXISTS scorecard_766_dirty (
    year  INTEGER NOT NULL,
    month INTEGER NOT NULL
);

-- Periods rescored (or removed) since the marts were last published: written with the scores, emptied by the publish
-- that carries them (assets/marts/publish.py). The marts replace only these periods' trace rows when they start from
-- the published file.
CREATE TABLE IF NOT EXISTS scorecard_766_unpublished (
    year   INTEGER NOT NULL,
    period VARCHAR NOT NULL
);

-- The rubric's items as scored (one row per year scored and item): labels and points for the marts and reports.
CREATE TABLE IF NOT EXISTS scorecard_766_items (
    year           INTEGER NOT NULL,
    rubric_year    INTEGER NOT NULL,  -- the file in force (config/rubrics/periodic/766/<year>.yaml)
    criterion_code VARCHAR NOT NULL,
    criterion_name VARCHAR NOT NULL,
    criterion_order INTEGER NOT NULL,
    item_order     INTEGER NOT NULL,
    indicator_code VARCHAR NOT NULL,
    ref            VARCHAR,
    name_vi        VARCHAR NOT NULL,
    max_points     DOUBLE NOT NULL,
    method         VARCHAR NOT NULL,
    params         JSON,
    computable     BOOLEAN NOT NULL,
    decimals       INTEGER NOT NULL
);

-- The rubric's levels (classification) of a period's share of the computable points, with their colours.
CREATE TABLE IF NOT EXISTS scorecard_766_levels (
    year      INTEGER NOT NULL,
    label     VARCHAR NOT NULL,
    min_share DOUBLE NOT NULL,   -- 100 × total_points / computable_max at least this
    colour    VARCHAR,
    fill      VARCHAR
);

CREATE TABLE IF NOT EXISTS scorecard_766 (
    year           INTEGER NOT NULL,
    period         VARCHAR NOT NULL,  -- 2026-08, 2026-Q3, 2026
    period_type    VARCHAR NOT NULL,  -- month | quarter | year
    agency_code    VARCHAR NOT NULL,  -- 'PROVINCE': the province as a unit (sums over its agencies)
    indicator_code VARCHAR NOT NULL,
    numerator      DOUBLE,
    denominator    DOUBLE,
    value          DOUBLE,            -- numerator / denominator; NULL: no dossiers, or the data is unknown
    points         DOUBLE,            -- NULL when value is NULL or the item is not computable
    max_points     DOUBLE NOT NULL
);

CREATE TABLE IF NOT EXISTS scorecard_766_totals (
    year           INTEGER NOT NULL,
    period         VARCHAR NOT NULL,
    period_type    VARCHAR NOT NULL,
    agency_code    VARCHAR NOT NULL,
    agency_group   VARCHAR,           -- NULL for 'PROVINCE'
    total_points   DOUBLE,
    computable_max DOUBLE NOT NULL,
    rank           INTEGER            -- within the agency group and period, by total_points; NULL: no total, PROVINCE
);

-- Every lost point traced to its records (monthly periods), stored compactly: one row per record and month that lost
-- something, its reasons as bits of scorecard_766_reasons, only those of items with a value for the unit and month.
-- Read through the view scorecard_766_lost (trace_view.sql): these rows, judged when the months were scored
-- (procedures, ratings, feedback: scorecard_766_dossiers.sql), and the dossiers' own reasons and the finished
-- dossiers not rated, which the view judges from the log at each month's reference instant and mask
-- (scorecard_766_masks).
CREATE TABLE IF NOT EXISTS scorecard_766_lost_scored (
    year           INTEGER NOT NULL,
    period         VARCHAR NOT NULL,  -- 2026-08
    agency_code    VARCHAR NOT NULL,
    record_code    VARCHAR NOT NULL,  -- the procedure code (published_766); MaHoSo; MaPhanAnh (feedback)
    reasons        UINTEGER NOT NULL, -- bit_or of the lost reasons' scorecard_766_reasons.bit, never 0
    days_late      INTEGER,           -- days past the due date (on time, feedback: reasons with days = days_late)
    sync_days_late INTEGER            -- days synced after the reference instant (synced_late)
);

-- Per scored month and unit: the month's reference instant and the reasons of the items with a value (points not
-- NULL), which alone a record can have lost, and of those the ones carrying each day count. Written with the scores
-- (a month not scored, or no longer, has none: the view shows none of its dossiers).
CREATE TABLE IF NOT EXISTS scorecard_766_masks (
    year           INTEGER NOT NULL,
    period         VARCHAR NOT NULL,
    month          INTEGER NOT NULL,
    agency_code    VARCHAR NOT NULL,
    ref            TIMESTAMP NOT NULL,
    reasons        UINTEGER NOT NULL,
    days_reasons   UINTEGER NOT NULL,  -- of `reasons`, those with days = days_late
    sync_reasons   UINTEGER NOT NULL   -- ... with days = sync_days_late
);

-- The reasons (assets/scorecard/reasons_766.yaml, rewritten by build.ensure_schema): which item each one is lost
-- for, its bit in scorecard_766_lost.reasons, its Vietnamese label ({days}: the day count it carries).
CREATE TABLE IF NOT EXISTS scorecard_766_reasons (
    reason_code    VARCHAR NOT NULL,
    indicator_code VARCHAR NOT NULL,
    bit            UINTEGER NOT NULL,  -- 2^(place in the file)
    days           VARCHAR,            -- days_late, sync_days_late, NULL
    label          VARCHAR NOT NULL
);
