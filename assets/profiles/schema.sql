-- Agency profiles: why each agency ranks where it does, and the least it must improve to move up.
-- Rebuilt whole after every scoring run by assets/profiles/profiles.py, in one transaction: a profile reads other
-- years too (rank history, last year's rank), and the tables are small (one row per agency, year and item).

-- Indicator names as people read them: the catalogue's labels and the rubrics' assessed indicators.
CREATE OR REPLACE TABLE indicator_labels (
    indicator_code VARCHAR PRIMARY KEY,
    label_vi       VARCHAR NOT NULL,
    label_en       VARCHAR,
    family         VARCHAR,           -- catalogue family (dossiers, services, ...); 'assessment' for inspectors' scores
    is_flag        BOOLEAN NOT NULL,  -- a 0/1 indicator: met whole or not at all
    value_levels   INTEGER            -- the value is a multiple of 1 / value_levels (flags 1, 3 measures 3);
                                      -- NULL: continuous (the what-if rounds it up to 4 decimals)
);

-- One row per agency, year and rubric item: points earned and lost against the rubric maximum.
CREATE OR REPLACE TABLE agency_profile_items (
    year            INTEGER NOT NULL,
    agency_code     VARCHAR NOT NULL,
    agency_group    VARCHAR NOT NULL,
    criterion_code  VARCHAR NOT NULL,
    indicator_code  VARCHAR NOT NULL,
    value           DOUBLE,           -- NULL: unknown (no return, no dossier), earns 0
    target          DOUBLE,           -- the value from which the item earns full points (NULL: none in the group)
    points          DOUBLE NOT NULL,  -- earned
    max_points      DOUBLE NOT NULL,
    points_lost     DOUBLE NOT NULL,  -- max_points - points
    earned_share    DOUBLE NOT NULL,  -- points / max_points
    group_avg_points DOUBLE NOT NULL, -- mean points of the agency's group on this item, same year
    strength_order  INTEGER NOT NULL, -- 1 = the agency's strongest item (highest earned share, then most points)
    weakness_order  INTEGER NOT NULL  -- 1 = the item where it lost most points
);

-- One row per ranked agency and year: standing, strongest and weakest items, the two goals above it.
CREATE OR REPLACE TABLE agency_profiles (
    year                  INTEGER NOT NULL,
    agency_code           VARCHAR NOT NULL,
    agency_name           VARCHAR,
    agency_group          VARCHAR NOT NULL,
    total_points          DOUBLE NOT NULL,
    max_points            DOUBLE NOT NULL,
    points_lost           DOUBLE NOT NULL,
    rank                  INTEGER NOT NULL,
    group_size            INTEGER NOT NULL,
    prev_rank             INTEGER,
    rank_change           INTEGER,
    classification        VARCHAR NOT NULL,
    strongest_indicators  VARCHAR[] NOT NULL,  -- up to 3 codes, strongest first
    weakest_indicators    VARCHAR[] NOT NULL,  -- up to 3 codes, most points lost first
    next_class            VARCHAR,             -- NULL when already in the top class
    next_class_min        DOUBLE,
    points_to_next_class  DOUBLE,              -- next_class_min - total_points
    agency_above_code     VARCHAR,             -- the nearest agency with a higher total (NULL for rank 1)
    agency_above_name     VARCHAR,
    agency_above_total    DOUBLE,
    points_to_pass_above  DOUBLE,              -- agency_above_total + 0.01 - total_points
    rank_history          STRUCT(year INTEGER, rank INTEGER, total_points DOUBLE, classification VARCHAR)[] NOT NULL
);

-- The what-if: the fewest rubric items to improve, and by how much, to reach each goal.
CREATE OR REPLACE TABLE what_if (
    year            INTEGER NOT NULL,
    agency_code     VARCHAR NOT NULL,
    goal            VARCHAR NOT NULL,  -- next_class | pass_agency_above
    goal_label      VARCHAR NOT NULL,  -- in Vietnamese: "đạt loại Tốt", "vượt <agency name>"
    points_needed   DOUBLE NOT NULL,
    reachable       BOOLEAN NOT NULL,  -- false: even every item at its target would not be enough
    step            INTEGER NOT NULL,  -- 1 = the item with the most points to gain
    criterion_code  VARCHAR NOT NULL,
    indicator_code  VARCHAR NOT NULL,
    current_value   DOUBLE,
    required_value  DOUBLE NOT NULL,   -- the value to reach (the target, or less for the last step)
    target          DOUBLE,            -- the value from which the item earns full points, the other units' values
                                       -- unchanged (NULL: any positive value, nobody else has one)
    current_points  DOUBLE NOT NULL,
    new_points      DOUBLE NOT NULL,
    points_gained   DOUBLE NOT NULL,
    lower_is_better BOOLEAN NOT NULL DEFAULT FALSE  -- true: reach at most required_value (processing days)
);
