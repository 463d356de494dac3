-- Scoring tables of the warehouse (docs/domain.md §5). Each is replaced per year (delete, then insert, in one
-- transaction) by assets/scoring/score.py, so reruns and backfills of a year never duplicate or mix rubrics.

-- The rubric in force for each scored year, expanded per agency group (district: 0.9 × points + communes).
CREATE TABLE IF NOT EXISTS rubric_items (
    year              INTEGER NOT NULL,  -- scored year
    agency_group      VARCHAR NOT NULL,
    criterion_code    VARCHAR NOT NULL,
    criterion_name    VARCHAR NOT NULL,  -- Vietnamese
    indicator_code    VARCHAR NOT NULL,
    points            DOUBLE NOT NULL,   -- points available for the indicator in this group
    target            DOUBLE,            -- value that earns full points; NULL when it depends on the group
    rubric_year       INTEGER NOT NULL,  -- year of the rubric file used (the year's own or the latest earlier)
    criterion_name_en VARCHAR,
    criterion_order   INTEGER,           -- position in the rubric, for presentation
    item_order        INTEGER,
    method            VARCHAR DEFAULT 'target',  -- scoring method (pipelines/core/methods.py)
    params            JSON,              -- its parameters, e.g. {"target": 0.9}, {"best": 5, "worst": 30}
    transform         VARCHAR            -- log: the method reads ln(value); NULL: the value as it is
);

-- Every criterion of the rubric per scored year and group, at every level (a criterion holds indicators, in
-- rubric_items, or sub-criteria, which name it as their parent_code), and how it combines its children.
CREATE TABLE IF NOT EXISTS rubric_criteria (
    year              INTEGER NOT NULL,
    agency_group      VARCHAR NOT NULL,
    criterion_code    VARCHAR NOT NULL,
    criterion_name    VARCHAR NOT NULL,
    criterion_name_en VARCHAR,
    parent_code       VARCHAR,           -- the criterion it belongs to; NULL at the top level
    level             INTEGER NOT NULL,  -- 1 = top
    criterion_order   INTEGER NOT NULL,  -- position in the rubric, parents before their sub-criteria
    max_points        DOUBLE NOT NULL,
    aggregate         VARCHAR NOT NULL,  -- arithmetic | geometric
    missing           VARCHAR NOT NULL,  -- zero | skip
    min_coverage      DOUBLE NOT NULL,   -- share of the weight that must have a value, else the node has none
    rubric_year       INTEGER NOT NULL
);

-- Classification thresholds (xếp loại) per scored year and group, on the total rounded to `decimals`.
CREATE TABLE IF NOT EXISTS rubric_classes (
    year         INTEGER NOT NULL,
    agency_group VARCHAR NOT NULL,
    label        VARCHAR NOT NULL,  -- Tốt | Khá | Trung bình | Yếu, or the rubric's own labels
    min_total    DOUBLE NOT NULL,   -- the class applies from this total up to the next class's minimum
    rubric_year  INTEGER NOT NULL,
    colour       VARCHAR,           -- badge and chart colour in the HTML report
    fill         VARCHAR,           -- row background in the workbook
    decimals     INTEGER DEFAULT 2, -- the rubric's rounding of totals (and criterion points) for class and rank
    rounding     VARCHAR DEFAULT 'total',       -- what `decimals` rounds: the total, or the index (total / maximum)
    aggregate    VARCHAR DEFAULT 'arithmetic',  -- how the total combines the top-level criteria
    missing      VARCHAR DEFAULT 'zero',        -- ... and a criterion without a value
    min_coverage DOUBLE DEFAULT 0               -- share of the maximum that must have a value, else unranked
);
-- Warehouses made before the classes had colours.
ALTER TABLE rubric_classes ADD COLUMN IF NOT EXISTS colour VARCHAR;
ALTER TABLE rubric_classes ADD COLUMN IF NOT EXISTS fill VARCHAR;

-- Warehouses made before scoring methods and rounding were data: add their columns (no-ops afterwards).
ALTER TABLE rubric_items ADD COLUMN IF NOT EXISTS method VARCHAR DEFAULT 'target';
ALTER TABLE rubric_items ADD COLUMN IF NOT EXISTS params JSON;
ALTER TABLE rubric_items ALTER COLUMN target DROP NOT NULL;
ALTER TABLE rubric_classes ADD COLUMN IF NOT EXISTS decimals INTEGER DEFAULT 2;
-- ... and before nested criteria, aggregation and missing values (issue 26)
ALTER TABLE rubric_items ADD COLUMN IF NOT EXISTS transform VARCHAR;
ALTER TABLE rubric_classes ADD COLUMN IF NOT EXISTS rounding VARCHAR DEFAULT 'total';
ALTER TABLE rubric_classes ADD COLUMN IF NOT EXISTS aggregate VARCHAR DEFAULT 'arithmetic';
ALTER TABLE rubric_classes ADD COLUMN IF NOT EXISTS missing VARCHAR DEFAULT 'zero';
ALTER TABLE rubric_classes ADD COLUMN IF NOT EXISTS min_coverage DOUBLE DEFAULT 0;

-- Points per agency and rubric item: why an agency gained or lost points.
CREATE TABLE IF NOT EXISTS indicator_scores (
    year           INTEGER NOT NULL,
    agency_code    VARCHAR NOT NULL,
    agency_group   VARCHAR NOT NULL,
    criterion_code VARCHAR NOT NULL,
    indicator_code VARCHAR NOT NULL,
    value          DOUBLE,            -- the indicator value (NULL: unknown, earns 0)
    target         DOUBLE,            -- the value from which the item earns full points in this group and year
                                      -- (fraction_of_max, minmax: the group's best; NULL when no unit has a value)
    points         DOUBLE,            -- earned: max_points × the method's share (target: clamp(value / target, 0, 1));
                                      -- NULL: no value, left out of its criterion (missing: skip)
    max_points     DOUBLE NOT NULL
);
ALTER TABLE indicator_scores ALTER COLUMN target DROP NOT NULL;
ALTER TABLE indicator_scores ALTER COLUMN points DROP NOT NULL;

CREATE TABLE IF NOT EXISTS criterion_scores (
    year           INTEGER NOT NULL,
    agency_code    VARCHAR NOT NULL,
    agency_group   VARCHAR NOT NULL,
    criterion_code VARCHAR NOT NULL,
    criterion_name VARCHAR NOT NULL,
    points         DOUBLE,            -- its children's points aggregated (arithmetic: their sum; not rounded);
                                      -- NULL: not enough data (missing: skip, min_coverage)
    max_points     DOUBLE NOT NULL,
    rank           INTEGER,           -- within year, group and criterion, by points rounded to the decimals
    parent_code    VARCHAR,           -- the criterion it belongs to (NULL: a top-level criterion)
    level          INTEGER            -- 1 = top
);
ALTER TABLE criterion_scores ALTER COLUMN points DROP NOT NULL;
ALTER TABLE criterion_scores ALTER COLUMN rank DROP NOT NULL;
ALTER TABLE criterion_scores ADD COLUMN IF NOT EXISTS parent_code VARCHAR;
ALTER TABLE criterion_scores ADD COLUMN IF NOT EXISTS level INTEGER;

CREATE TABLE IF NOT EXISTS rankings (
    year           INTEGER NOT NULL,
    agency_group   VARCHAR NOT NULL,
    agency_code    VARCHAR NOT NULL,
    agency_name    VARCHAR,
    total_points   DOUBLE,            -- sum of item points, rounded to the rubric's decimals (2 unless it says);
                                      -- NULL: not ranked (unranked_reason)
    max_points     DOUBLE NOT NULL,   -- the group's maximum (100)
    index_value    DOUBLE,            -- total_points / max_points, 0..1 (rounding: index: rounded to the decimals)
    rank           INTEGER,           -- within year and group, by total_points descending, competition style
    classification VARCHAR,           -- by the rubric's thresholds on total_points
    rubric_year    INTEGER NOT NULL,
    unranked_reason VARCHAR           -- why a unit has no total: 'không đủ dữ liệu: …'; NULL when ranked
);
ALTER TABLE rankings ALTER COLUMN total_points DROP NOT NULL;
ALTER TABLE rankings ALTER COLUMN index_value DROP NOT NULL;
ALTER TABLE rankings ALTER COLUMN rank DROP NOT NULL;
ALTER TABLE rankings ALTER COLUMN classification DROP NOT NULL;
ALTER TABLE rankings ADD COLUMN IF NOT EXISTS unranked_reason VARCHAR;

-- Rank change against the previous year, computed over every year present, so recomputing one year never
-- leaves the next year's change stale. prev_rank: the agency's own rank in year - 1 in the same group; else,
-- for an agency that others merged into (their successor_code), the best rank among those predecessors in
-- year - 1 in the same group; else NULL.
CREATE OR REPLACE VIEW rankings_history AS
WITH predecessors AS (
    SELECT DISTINCT agency_code, successor_code
    FROM stg_agencies
    WHERE successor_code IS NOT NULL AND successor_code <> agency_code
),
predecessor_ranks AS (
    SELECT p.successor_code AS agency_code, r.year + 1 AS year, r.agency_group, min(r.rank) AS rank
    FROM rankings AS r
    JOIN predecessors AS p ON p.agency_code = r.agency_code
    GROUP BY ALL
),
with_prev AS (
    SELECT r.*, coalesce(own.rank, pred.rank) AS prev_rank
    FROM rankings AS r
    LEFT JOIN rankings AS own
           ON own.agency_code = r.agency_code AND own.year = r.year - 1 AND own.agency_group = r.agency_group
    LEFT JOIN predecessor_ranks AS pred
           ON pred.agency_code = r.agency_code AND pred.year = r.year AND pred.agency_group = r.agency_group
)
SELECT *,
       prev_rank - rank AS rank_change,
       CASE WHEN prev_rank IS NULL THEN NULL
            WHEN prev_rank > rank THEN 'tăng ' || (prev_rank - rank) || ' bậc'
            WHEN prev_rank < rank THEN 'giảm ' || (rank - prev_rank) || ' bậc'
            ELSE 'giữ nguyên' END AS rank_change_label
FROM with_prev;

-- The uncertainty analysis (assets/scoring/uncertainty.py, docs/analysts.md): how far each rank and class moves
-- when the rubric's weights, targets and methods move within the rubric's `uncertainty:` settings. Replaced per
-- year like the tables above.
CREATE TABLE IF NOT EXISTS rank_uncertainty (
    year         INTEGER NOT NULL,
    agency_group VARCHAR NOT NULL,
    agency_code  VARCHAR NOT NULL,
    nominal_rank INTEGER NOT NULL,  -- rankings.rank: the published rank
    mean_rank    DOUBLE NOT NULL,   -- over the runs
    median_rank  INTEGER NOT NULL,  -- discrete quantiles: ranks some run gave
    q05_rank     INTEGER NOT NULL,
    q95_rank     INTEGER NOT NULL,
    runs         INTEGER NOT NULL   -- model runs
);

CREATE TABLE IF NOT EXISTS class_probability (
    year           INTEGER NOT NULL,
    agency_group   VARCHAR NOT NULL,
    agency_code    VARCHAR NOT NULL,
    classification VARCHAR NOT NULL,  -- every class of the group's rubric
    probability    DOUBLE NOT NULL    -- share of the runs in this class; a unit's add up to 1
);

CREATE TABLE IF NOT EXISTS rank_sensitivity (
    year           INTEGER NOT NULL,
    agency_group   VARCHAR NOT NULL,
    criterion_code VARCHAR NOT NULL,
    first_order    DOUBLE,            -- Sobol first-order index of the criterion's weights (Saltelli 2010)
    total_order    DOUBLE,            -- Sobol total index (Jansen); NULL when the weights do not move or no rank does
    runs           INTEGER NOT NULL   -- model runs of the sensitivity design: base samples × (criteria + 2)
);

CREATE TABLE IF NOT EXISTS uncertainty_settings (
    year        INTEGER NOT NULL,
    rubric_year INTEGER NOT NULL,
    runs        INTEGER NOT NULL,
    seed        BIGINT NOT NULL,
    weights     DOUBLE NOT NULL,  -- points × a factor in [1 − weights, 1 + weights], rescaled to the maximum
    targets     DOUBLE NOT NULL,  -- method parameters × a factor in [1 − targets, 1 + targets]
    methods     JSON,             -- indicator → the other methods drawn with its own ({} when none)
    alternatives JSON             -- the aggregate / missing rules every node may take instead ({} when none)
);
ALTER TABLE uncertainty_settings ADD COLUMN IF NOT EXISTS alternatives JSON;
