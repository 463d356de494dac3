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
