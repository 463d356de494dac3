-- The analysts' marts, built into the attached database `m` (a new file, published atomically afterwards).
-- Every table is a plain copy or a light join of warehouse tables; every column is described below.

-- The agency groups (config/methodology.yaml and the rubrics' groups:), as the warehouse dimension holds them.
CREATE TABLE m.agency_groups AS
SELECT agency_group, group_order, label_vi, label_en, sheet_name, colour
FROM agency_groups
ORDER BY group_order, agency_group;

CREATE TABLE m.agencies AS
SELECT a.agency_code, a.agency_name, a.agency_group, g.label_vi AS agency_group_label,
       a.parent_code, p.agency_name AS parent_name, a.valid_from, a.valid_to, a.successor_code,
       s.agency_name AS successor_name
FROM stg_agencies AS a
LEFT JOIN agency_groups AS g ON g.agency_group = a.agency_group
LEFT JOIN stg_agencies AS p ON p.agency_code = a.parent_code
LEFT JOIN stg_agencies AS s ON s.agency_code = a.successor_code
ORDER BY a.agency_group, a.agency_code;

CREATE TABLE m.agency_years AS
SELECT year, agency_code, agency_group, parent_code, evaluated
FROM agency_years
WHERE year IN (SELECT DISTINCT year FROM indicator_values)
ORDER BY year, agency_code;

CREATE TABLE m.indicators AS
SELECT year, agency_code, indicator_code, numerator, denominator, value, source
FROM indicator_values
ORDER BY year, agency_code, indicator_code;

CREATE TABLE m.dossier_indicators_ytd AS
SELECT year, month, agency_code, indicator_code, numerator, denominator, value
FROM dossier_indicators_ytd
ORDER BY year, month, agency_code, indicator_code;

CREATE TABLE m.indicator_scores AS
SELECT year, agency_code, agency_group, criterion_code, indicator_code, value, target, points, max_points
FROM indicator_scores
ORDER BY year, agency_code, criterion_code, indicator_code;

CREATE TABLE m.criterion_scores AS
SELECT year, agency_code, agency_group, criterion_code, criterion_name, points, max_points, rank, parent_code, level
FROM criterion_scores
ORDER BY year, agency_group, criterion_code, rank, agency_code;

CREATE TABLE m.rankings AS
SELECT year, agency_group, agency_code, agency_name, total_points, max_points, index_value, rank,
       prev_rank, rank_change, rank_change_label, classification, rubric_year, unranked_reason
FROM rankings_history
ORDER BY year, agency_group, rank, agency_code;

CREATE TABLE m.quarantine AS
SELECT source, year, file, line, reason, rule, agency_code, raw
FROM quarantine
ORDER BY source, year, file, line;

CREATE TABLE m.ingested_files AS
SELECT source, year, file, file_format, encoding, status, message, rows_read, rows_loaded, rows_quarantined
FROM ingested_files
ORDER BY source, year, file;

-- The QĐ 766 scorecard (docs/rubrics.md §8): items and totals per unit and month, quarter, year.
CREATE TABLE m.scorecard_766 AS
SELECT period, period_type, agency_code, indicator_code, numerator, denominator, value, points, max_points
FROM scorecard_766
ORDER BY period_type, period, agency_code, indicator_code;

CREATE TABLE m.scorecard_766_totals AS
SELECT period, period_type, agency_code, agency_group, total_points, computable_max, rank
FROM scorecard_766_totals
ORDER BY period_type, period, agency_group, rank, agency_code;

CREATE TABLE m.scorecard_766_items AS
SELECT year, rubric_year, criterion_code, criterion_name, criterion_order, item_order, indicator_code, ref, name_vi,
       max_points, method, params, computable
FROM scorecard_766_items
ORDER BY year, criterion_order, item_order;

CREATE TABLE m.scorecard_766_levels AS
SELECT year, label, min_share, colour, fill FROM scorecard_766_levels ORDER BY year, min_share DESC;

-- The nightly scorecard: each agency's dossier indicators, year to date, by month, with names attached.
CREATE VIEW m.dossier_scorecard AS
SELECT d.year, d.month, d.agency_code, coalesce(a.agency_name, 'Toàn tỉnh') AS agency_name, a.agency_group,
       d.indicator_code, d.numerator, d.denominator, d.value
FROM m.dossier_indicators_ytd AS d
LEFT JOIN m.agencies AS a USING (agency_code);

COMMENT ON TABLE m.agency_groups IS 'Agency groups (dimension): ranks are per group; the standard ones and those the year''s rubric declares';
COMMENT ON COLUMN m.agency_groups.agency_group IS 'Group code, as in agencies.agency_group and rankings.agency_group';
COMMENT ON COLUMN m.agency_groups.group_order IS 'Position of the group in reports';
COMMENT ON COLUMN m.agency_groups.label_vi IS 'The group as published rankings name it';
COMMENT ON COLUMN m.agency_groups.label_en IS 'The group in English';
COMMENT ON COLUMN m.agency_groups.sheet_name IS 'Sheet of the group''s ranking in the Excel workbook';
COMMENT ON COLUMN m.agency_groups.colour IS 'The group''s colour in the HTML report';

COMMENT ON TABLE m.agencies IS 'Agency registry (dimension): the ranked units (departments, district and commune people''s committees, central agencies, or units of any level a rubric declares)';
COMMENT ON COLUMN m.agencies.agency_code IS 'Agency code (key used by every other table)';
COMMENT ON COLUMN m.agencies.agency_name IS 'Agency name (Vietnamese)';
COMMENT ON COLUMN m.agencies.agency_group IS 'Agency group (see agency_groups): rankings are per group';
COMMENT ON COLUMN m.agencies.agency_group_label IS 'Agency group in Vietnamese, as in published rankings';
COMMENT ON COLUMN m.agencies.parent_code IS 'For a commune: its district';
COMMENT ON COLUMN m.agencies.parent_name IS 'Name of the parent (district) agency';
COMMENT ON COLUMN m.agencies.valid_from IS 'First day the agency exists (NULL: before the registry starts)';
COMMENT ON COLUMN m.agencies.valid_to IS 'Last day the agency exists (NULL: still exists)';
COMMENT ON COLUMN m.agencies.successor_code IS 'Agency it merged into, if any';
COMMENT ON COLUMN m.agencies.successor_name IS 'Name of the successor agency';

COMMENT ON TABLE m.agency_years IS 'Which agencies exist in which year; evaluated = still exists on 31 December, so scored and ranked';
COMMENT ON COLUMN m.agency_years.year IS 'Evaluation year';
COMMENT ON COLUMN m.agency_years.agency_code IS 'Agency code';
COMMENT ON COLUMN m.agency_years.agency_group IS 'Agency group';
COMMENT ON COLUMN m.agency_years.parent_code IS 'For a commune: its district';
COMMENT ON COLUMN m.agency_years.evaluated IS 'True when the agency is scored and ranked that year';

COMMENT ON TABLE m.indicators IS 'Indicator values per agency and year (docs/domain.md §4), with numerator and denominator for tracing';
COMMENT ON COLUMN m.indicators.year IS 'Evaluation year (dossiers: year of NgayTiepNhan)';
COMMENT ON COLUMN m.indicators.agency_code IS 'Agency code';
COMMENT ON COLUMN m.indicators.indicator_code IS 'Indicator code (see indicator_catalogue)';
COMMENT ON COLUMN m.indicators.numerator IS 'Numerator of the ratio (the flag or the count); NULL when the return is missing';
COMMENT ON COLUMN m.indicators.denominator IS 'Denominator of the ratio (1 for flags); NULL when the return is missing';
COMMENT ON COLUMN m.indicators.value IS 'numerator / denominator; NULL when the denominator is 0 or the return is missing';
COMMENT ON COLUMN m.indicators.source IS 'computed (from records) or assessment (set by inspectors)';

COMMENT ON TABLE m.dossier_indicators_ytd IS 'Dossier indicators year to date, by month (agency_code ''*'' = whole province): the nightly scorecard';
COMMENT ON COLUMN m.dossier_indicators_ytd.year IS 'Year of reception';
COMMENT ON COLUMN m.dossier_indicators_ytd.month IS 'Dossiers received from 1 January through the end of this month';
COMMENT ON COLUMN m.dossier_indicators_ytd.agency_code IS 'Agency code, or ''*'' for the whole province';
COMMENT ON COLUMN m.dossier_indicators_ytd.indicator_code IS 'Dossier indicator code';
COMMENT ON COLUMN m.dossier_indicators_ytd.numerator IS 'Numerator, year to date';
COMMENT ON COLUMN m.dossier_indicators_ytd.denominator IS 'Denominator, year to date';
COMMENT ON COLUMN m.dossier_indicators_ytd.value IS 'numerator / denominator (NULL when 0)';

COMMENT ON TABLE m.indicator_scores IS 'Points earned per agency, year and rubric item: why an agency gained or lost points';
COMMENT ON COLUMN m.indicator_scores.year IS 'Evaluation year';
COMMENT ON COLUMN m.indicator_scores.agency_code IS 'Agency code';
COMMENT ON COLUMN m.indicator_scores.agency_group IS 'Agency group (selects the rubric variant)';
COMMENT ON COLUMN m.indicator_scores.criterion_code IS 'Criterion the indicator belongs to';
COMMENT ON COLUMN m.indicator_scores.indicator_code IS 'Indicator code';
COMMENT ON COLUMN m.indicator_scores.value IS 'Indicator value (NULL earns 0)';
COMMENT ON COLUMN m.indicator_scores.target IS 'The value from which the item earns full points in its group that year (method target: the rubric target; fraction_of_max, minmax: the group''s best value; NULL when no unit of the group has a value)';
COMMENT ON COLUMN m.indicator_scores.points IS 'Points earned = max_points × the share of the item''s scoring method (rubric_items.method; target: min(value / target, 1)); NULL when the value is missing under a criterion with missing: skip (left out, the other indicators re-weighted)';
COMMENT ON COLUMN m.indicator_scores.max_points IS 'Points available for this indicator';

COMMENT ON TABLE m.criterion_scores IS 'Points per criterion (Hạ tầng, Nội bộ, Dịch vụ công, Nhân lực, Chính sách, Cấp xã) and the rank on it';
COMMENT ON COLUMN m.criterion_scores.year IS 'Evaluation year';
COMMENT ON COLUMN m.criterion_scores.agency_code IS 'Agency code';
COMMENT ON COLUMN m.criterion_scores.agency_group IS 'Agency group';
COMMENT ON COLUMN m.criterion_scores.criterion_code IS 'Criterion code of the rubric';
COMMENT ON COLUMN m.criterion_scores.criterion_name IS 'Criterion name in Vietnamese';
COMMENT ON COLUMN m.criterion_scores.points IS 'Points earned on the criterion: its children''s points (indicators or sub-criteria) by its aggregate rule (rubric_criteria: arithmetic = their sum, geometric); NULL when it has not enough data (missing: skip, min_coverage)';
COMMENT ON COLUMN m.criterion_scores.max_points IS 'Maximum points of the criterion for this group';
COMMENT ON COLUMN m.criterion_scores.rank IS 'Rank on this criterion within year and group (competition style: 1, 2, 2, 4), for criteria of every level; NULL when points is NULL';
COMMENT ON COLUMN m.criterion_scores.parent_code IS 'The criterion this one belongs to (a sub-criterion, nested criteria); NULL for a top-level criterion';
COMMENT ON COLUMN m.criterion_scores.level IS 'Level in the rubric''s tree: 1 = top-level criterion, 2 = its sub-criteria, ...';

COMMENT ON TABLE m.rankings IS 'The annual ranking: total, index, classification, rank and change per agency group (like a decision''s appendix)';
COMMENT ON COLUMN m.rankings.year IS 'Evaluation year';
COMMENT ON COLUMN m.rankings.agency_group IS 'Agency group: ranks are within the group';
COMMENT ON COLUMN m.rankings.agency_code IS 'Agency code';
COMMENT ON COLUMN m.rankings.agency_name IS 'Agency name';
COMMENT ON COLUMN m.rankings.total_points IS 'Total points (Tổng điểm), rounded to the rubric''s decimals (rubric_classes.decimals, 2 unless the rubric says; rounding: index: not rounded, the index is); NULL when the unit is not ranked (unranked_reason)';
COMMENT ON COLUMN m.rankings.max_points IS 'Maximum points of the rubric for the group (100)';
COMMENT ON COLUMN m.rankings.index_value IS 'Index = total / maximum, 0..1 (like the ministry''s published indices); rounding: index: rounded to the rubric''s decimals, and classes and ranks follow it';
COMMENT ON COLUMN m.rankings.rank IS 'Rank (Xếp hạng) within year and group by rounded total, competition style (1, 2, 2, 4)';
COMMENT ON COLUMN m.rankings.prev_rank IS 'Rank the year before (a merged agency: its predecessor''s rank)';
COMMENT ON COLUMN m.rankings.rank_change IS 'prev_rank − rank: positive = moved up';
COMMENT ON COLUMN m.rankings.rank_change_label IS 'The change in words: tăng / giảm N bậc, giữ nguyên';
COMMENT ON COLUMN m.rankings.classification IS 'Xếp loại (Tốt / Khá / Trung bình / Yếu, or the rubric''s own classes) by the rubric thresholds';
COMMENT ON COLUMN m.rankings.rubric_year IS 'Year of the rubric file used (the year''s own, or the latest earlier one)';
COMMENT ON COLUMN m.rankings.unranked_reason IS 'Why a unit is listed without total, index, rank and class: ''không đủ dữ liệu: …'' (not enough data under the rubric''s missing / min_coverage, with the criteria short of data); NULL for a ranked unit';

COMMENT ON TABLE m.quarantine IS 'Raw records that broke their contract: not loaded, kept with file, line and reason';
COMMENT ON COLUMN m.quarantine.source IS 'Raw source (agencies, services, dossiers, one_stop, infrastructure, capacity, assessments)';
COMMENT ON COLUMN m.quarantine.year IS 'Year folder of the file (NULL for the agency registry)';
COMMENT ON COLUMN m.quarantine.file IS 'File path relative to the raw directory';
COMMENT ON COLUMN m.quarantine.line IS 'Line in the file (header = 1; Parquet: row number); 0 = the whole file was rejected';
COMMENT ON COLUMN m.quarantine.reason IS 'Why, in plain words, naming the column and the value';
COMMENT ON COLUMN m.quarantine.rule IS 'Kind of violation: empty, invalid, not_allowed, negative, wrong_year, unknown_agency, rule, duplicate, unreadable_record, file_rejected';
COMMENT ON COLUMN m.quarantine.agency_code IS 'Agency code as written in the record, when it could be read';
COMMENT ON COLUMN m.quarantine.raw IS 'The record as read, personal-data fields masked (***)';

COMMENT ON TABLE m.ingested_files IS 'Every raw file loaded: format, encoding, and how its rows reconcile (read = loaded + quarantined)';
COMMENT ON COLUMN m.ingested_files.source IS 'Raw source';
COMMENT ON COLUMN m.ingested_files.year IS 'Year folder';
COMMENT ON COLUMN m.ingested_files.file IS 'File path relative to the raw directory';
COMMENT ON COLUMN m.ingested_files.file_format IS 'csv | xlsx | parquet';
COMMENT ON COLUMN m.ingested_files.encoding IS 'Detected text encoding of a CSV (utf-8, utf-8-sig, windows-1258, windows-1252)';
COMMENT ON COLUMN m.ingested_files.status IS 'loaded, or rejected (the whole file could not be read: see message)';
COMMENT ON COLUMN m.ingested_files.message IS 'Why a file was rejected, or notes (extra columns ignored, decoded from ...)';
COMMENT ON COLUMN m.ingested_files.rows_read IS 'Records read from the file';
COMMENT ON COLUMN m.ingested_files.rows_loaded IS 'Records loaded into staging';
COMMENT ON COLUMN m.ingested_files.rows_quarantined IS 'Records quarantined';

CREATE TABLE m.data_quality AS
SELECT year, source, agency_code, rows_read, rows_loaded, rows_quarantined, quarantined_by_rule, missing_return,
       failed_checks
FROM data_quality
ORDER BY year, source, agency_code NULLS FIRST;

COMMENT ON TABLE m.data_quality IS 'Data quality per year, source and agency: what was read, loaded, quarantined, missing, and which checks failed';
COMMENT ON COLUMN m.data_quality.year IS 'Year';
COMMENT ON COLUMN m.data_quality.source IS 'Raw source, or marts for checks on indicators, scores and rankings';
COMMENT ON COLUMN m.data_quality.agency_code IS 'Agency code; ''*'' = the whole source that year; NULL = records whose agency could not be read';
COMMENT ON COLUMN m.data_quality.rows_read IS 'Raw records read';
COMMENT ON COLUMN m.data_quality.rows_loaded IS 'Records loaded into staging';
COMMENT ON COLUMN m.data_quality.rows_quarantined IS 'Records quarantined';
COMMENT ON COLUMN m.data_quality.quarantined_by_rule IS 'Quarantined records by kind, e.g. "duplicate: 3; invalid: 1"';
COMMENT ON COLUMN m.data_quality.missing_return IS 'True when an evaluated agency did not send this annual return (infrastructure, capacity, one_stop)';
COMMENT ON COLUMN m.data_quality.failed_checks IS 'Failed SQL checks and Great Expectations expectations, with severity and count';

-- Methodology and names: the rubric each year was scored with, and what each indicator code means.
CREATE TABLE m.indicator_catalogue AS
SELECT indicator_code, label_vi, label_en, family, is_flag
FROM indicator_labels
ORDER BY indicator_code;

CREATE TABLE m.rubric_items AS
SELECT year, agency_group, criterion_order, criterion_code, criterion_name, criterion_name_en,
       sum(points) OVER (PARTITION BY year, agency_group, criterion_code) AS criterion_max_points,
       item_order, indicator_code, points, target, rubric_year, method, params, transform
FROM rubric_items
ORDER BY year, agency_group, criterion_order, item_order;

CREATE TABLE m.rubric_classes AS
SELECT year, agency_group, label, min_total, rubric_year, colour, fill, decimals, rounding, aggregate, missing,
       min_coverage
FROM rubric_classes
ORDER BY year, agency_group, min_total DESC;

CREATE TABLE m.rubric_criteria AS
SELECT year, agency_group, criterion_order, criterion_code, criterion_name, criterion_name_en, parent_code, level,
       max_points, aggregate, missing, min_coverage, rubric_year
FROM rubric_criteria
ORDER BY year, agency_group, criterion_order;

CREATE TABLE m.scoring_methods AS
SELECT method, parameters, description_vi
FROM scoring_methods
ORDER BY method;

COMMENT ON TABLE m.indicator_catalogue IS 'Indicator codes and their names in Vietnamese and English';
COMMENT ON COLUMN m.indicator_catalogue.indicator_code IS 'Indicator code (docs/domain.md §4), or a rubric''s assessed indicator';
COMMENT ON COLUMN m.indicator_catalogue.label_vi IS 'Name in Vietnamese, as printed in reports';
COMMENT ON COLUMN m.indicator_catalogue.label_en IS 'Name in English';
COMMENT ON COLUMN m.indicator_catalogue.family IS 'Source family: services, dossiers, one_stop, infrastructure, capacity, communes, assessment';
COMMENT ON COLUMN m.indicator_catalogue.is_flag IS 'True for a 0/1 indicator (met whole or not at all)';

COMMENT ON TABLE m.rubric_items IS 'The rubric (bộ chỉ số) each year was scored with, per agency group: criteria, indicators, points, targets';
COMMENT ON COLUMN m.rubric_items.year IS 'Scored year';
COMMENT ON COLUMN m.rubric_items.agency_group IS 'Agency group (districts: 0.9 × points plus the communes criterion)';
COMMENT ON COLUMN m.rubric_items.criterion_order IS 'Position of the criterion in the rubric';
COMMENT ON COLUMN m.rubric_items.criterion_code IS 'Criterion code';
COMMENT ON COLUMN m.rubric_items.criterion_name IS 'Criterion name in Vietnamese';
COMMENT ON COLUMN m.rubric_items.criterion_name_en IS 'Criterion name in English';
COMMENT ON COLUMN m.rubric_items.criterion_max_points IS 'Maximum points of the criterion for this group (sum of its indicators'' points)';
COMMENT ON COLUMN m.rubric_items.item_order IS 'Position of the indicator within the criterion';
COMMENT ON COLUMN m.rubric_items.indicator_code IS 'Indicator code';
COMMENT ON COLUMN m.rubric_items.points IS 'Points available';
COMMENT ON COLUMN m.rubric_items.target IS 'Value that earns the full points (flags: 1; goalposts: best); NULL when it depends on the group (fraction_of_max, minmax)';
COMMENT ON COLUMN m.rubric_items.rubric_year IS 'Year of the rubric file (the year''s own or the latest earlier one)';
COMMENT ON COLUMN m.rubric_items.method IS 'Scoring method (see scoring_methods): target, goalposts, fraction_of_max, minmax, steps';
COMMENT ON COLUMN m.rubric_items.params IS 'The method''s parameters (JSON), e.g. {"target": 0.9}, {"best": 5.0, "worst": 30.0}, {"direction": -1.0} (minmax, fraction_of_max: lower is better)';
COMMENT ON COLUMN m.rubric_items.transform IS 'log: the method reads the natural log of the value, and of its parameters in the value''s units (target, worst, best, step minima); NULL: the value as it is';

COMMENT ON TABLE m.rubric_classes IS 'Classification thresholds (xếp loại) per year and agency group';
COMMENT ON COLUMN m.rubric_classes.year IS 'Scored year';
COMMENT ON COLUMN m.rubric_classes.agency_group IS 'Agency group';
COMMENT ON COLUMN m.rubric_classes.label IS 'Tốt | Khá | Trung bình | Yếu, or the rubric''s own labels';
COMMENT ON COLUMN m.rubric_classes.min_total IS 'Lowest total (rounded to the decimals) of the class';
COMMENT ON COLUMN m.rubric_classes.rubric_year IS 'Year of the rubric file';
COMMENT ON COLUMN m.rubric_classes.colour IS 'Colour of the class in the HTML report (badges, charts)';
COMMENT ON COLUMN m.rubric_classes.fill IS 'Row background of the class in the Excel workbook';
COMMENT ON COLUMN m.rubric_classes.decimals IS 'Decimals the totals are rounded to before classification and rank';
COMMENT ON COLUMN m.rubric_classes.rounding IS 'What decimals rounds: total (the default) or index (total / maximum; classes on the rounded index × the maximum)';
COMMENT ON COLUMN m.rubric_classes.aggregate IS 'How the total combines the top-level criteria: arithmetic (their sum) or geometric';
COMMENT ON COLUMN m.rubric_classes.missing IS 'What a top-level criterion without a value counts for in the total: zero, or skip (left out, the others re-weighted)';
COMMENT ON COLUMN m.rubric_classes.min_coverage IS 'Share of the maximum that must have a value for the unit to have a total (else it is not ranked)';

COMMENT ON TABLE m.rubric_criteria IS 'Every criterion of the rubric per year and agency group, at every level (nested criteria), and how it combines its children';
COMMENT ON COLUMN m.rubric_criteria.year IS 'Scored year';
COMMENT ON COLUMN m.rubric_criteria.agency_group IS 'Agency group';
COMMENT ON COLUMN m.rubric_criteria.criterion_order IS 'Position in the rubric, a criterion before its sub-criteria (as rubric_items.criterion_order)';
COMMENT ON COLUMN m.rubric_criteria.criterion_code IS 'Criterion code';
COMMENT ON COLUMN m.rubric_criteria.criterion_name IS 'Criterion name in Vietnamese';
COMMENT ON COLUMN m.rubric_criteria.criterion_name_en IS 'Criterion name in English';
COMMENT ON COLUMN m.rubric_criteria.parent_code IS 'The criterion it belongs to; NULL at the top level';
COMMENT ON COLUMN m.rubric_criteria.level IS '1 = top-level criterion, 2 = its sub-criteria, ...';
COMMENT ON COLUMN m.rubric_criteria.max_points IS 'Maximum points: the sum of its children''s (indicators'' points or sub-criteria''s maximum)';
COMMENT ON COLUMN m.rubric_criteria.aggregate IS 'arithmetic: points = the sum of the children''s; geometric: max_points × Π (child points / child max) ^ (child max / Σ child max)';
COMMENT ON COLUMN m.rubric_criteria.missing IS 'zero: a child without a value counts 0; skip: it is left out and the others re-weighted to the full max_points';
COMMENT ON COLUMN m.rubric_criteria.min_coverage IS 'Share of max_points whose children must have a value, else the criterion has none (0: no minimum)';
COMMENT ON COLUMN m.rubric_criteria.rubric_year IS 'Year of the rubric file';

COMMENT ON TABLE m.scoring_methods IS 'How an indicator value earns a share of a rubric item''s points, per method name (pipelines/core/methods.py)';
COMMENT ON COLUMN m.scoring_methods.method IS 'Method name, as in rubric_items.method';
COMMENT ON COLUMN m.scoring_methods.parameters IS 'Its parameters in a rubric item';
COMMENT ON COLUMN m.scoring_methods.description_vi IS 'The formula in Vietnamese (methodology sheet of the workbook)';

-- Agency profiles: why each agency ranks where it does, and the least it must improve to move up.
CREATE TABLE m.agency_profiles AS
SELECT * FROM agency_profiles ORDER BY year, agency_group, rank, agency_code;

CREATE TABLE m.agency_profile_items AS
SELECT * FROM agency_profile_items ORDER BY year, agency_code, weakness_order;

CREATE TABLE m.what_if AS
SELECT * FROM what_if ORDER BY year, agency_code, goal, step;

COMMENT ON TABLE m.agency_profiles IS 'One row per ranked agency and year: standing, points lost, strongest and weakest indicators, rank history, distance to the next class and to the agency above';
COMMENT ON COLUMN m.agency_profiles.year IS 'Evaluation year';
COMMENT ON COLUMN m.agency_profiles.agency_code IS 'Agency code';
COMMENT ON COLUMN m.agency_profiles.agency_name IS 'Agency name';
COMMENT ON COLUMN m.agency_profiles.agency_group IS 'Agency group (ranks are within it)';
COMMENT ON COLUMN m.agency_profiles.total_points IS 'Total points, as in rankings';
COMMENT ON COLUMN m.agency_profiles.max_points IS 'Maximum of the rubric';
COMMENT ON COLUMN m.agency_profiles.points_lost IS 'max_points − total_points';
COMMENT ON COLUMN m.agency_profiles.rank IS 'Rank in the group';
COMMENT ON COLUMN m.agency_profiles.group_size IS 'Agencies ranked in the group that year';
COMMENT ON COLUMN m.agency_profiles.prev_rank IS 'Rank the year before';
COMMENT ON COLUMN m.agency_profiles.rank_change IS 'prev_rank − rank: positive = moved up';
COMMENT ON COLUMN m.agency_profiles.classification IS 'Xếp loại';
COMMENT ON COLUMN m.agency_profiles.strongest_indicators IS 'Up to 3 indicator codes with the highest share of their points earned (ties: the heavier item)';
COMMENT ON COLUMN m.agency_profiles.weakest_indicators IS 'Up to 3 indicator codes where the most points were lost';
COMMENT ON COLUMN m.agency_profiles.next_class IS 'The next classification up (NULL: already in the top class)';
COMMENT ON COLUMN m.agency_profiles.next_class_min IS 'Lowest total of the next class';
COMMENT ON COLUMN m.agency_profiles.points_to_next_class IS 'Points missing to reach the next class';
COMMENT ON COLUMN m.agency_profiles.agency_above_code IS 'The nearest agency of the group with a higher total (NULL for rank 1)';
COMMENT ON COLUMN m.agency_profiles.agency_above_name IS 'Its name';
COMMENT ON COLUMN m.agency_profiles.agency_above_total IS 'Its total points';
COMMENT ON COLUMN m.agency_profiles.points_to_pass_above IS 'Points missing to rank above it (its total + 0.01 − own total)';
COMMENT ON COLUMN m.agency_profiles.rank_history IS 'Every year up to this one: rank, total points and classification';

COMMENT ON TABLE m.agency_profile_items IS 'Per agency, year and rubric item: points earned and lost against the rubric maximum, and the group average';
COMMENT ON COLUMN m.agency_profile_items.year IS 'Evaluation year';
COMMENT ON COLUMN m.agency_profile_items.agency_code IS 'Agency code';
COMMENT ON COLUMN m.agency_profile_items.agency_group IS 'Agency group';
COMMENT ON COLUMN m.agency_profile_items.criterion_code IS 'Criterion of the item';
COMMENT ON COLUMN m.agency_profile_items.indicator_code IS 'Indicator code';
COMMENT ON COLUMN m.agency_profile_items.value IS 'Indicator value (NULL: unknown, earns 0)';
COMMENT ON COLUMN m.agency_profile_items.target IS 'Value that earns the full points';
COMMENT ON COLUMN m.agency_profile_items.points IS 'Points earned';
COMMENT ON COLUMN m.agency_profile_items.max_points IS 'Points available';
COMMENT ON COLUMN m.agency_profile_items.points_lost IS 'max_points − points';
COMMENT ON COLUMN m.agency_profile_items.earned_share IS 'points / max_points';
COMMENT ON COLUMN m.agency_profile_items.group_avg_points IS 'Mean points of the agency''s group on this item that year';
COMMENT ON COLUMN m.agency_profile_items.strength_order IS '1 = the agency''s strongest item';
COMMENT ON COLUMN m.agency_profile_items.weakness_order IS '1 = the item where it lost the most points';

COMMENT ON TABLE m.what_if IS 'The fewest indicator improvements that lift an agency to the next class (next_class) or past the agency above (pass_agency_above); exact rubric arithmetic, each indicator taken on its own (a change that moves several indicators at once is not modelled)';
COMMENT ON COLUMN m.what_if.year IS 'Evaluation year';
COMMENT ON COLUMN m.what_if.agency_code IS 'Agency code';
COMMENT ON COLUMN m.what_if.goal IS 'next_class | pass_agency_above';
COMMENT ON COLUMN m.what_if.goal_label IS 'The goal in Vietnamese (đạt loại Tốt, vượt <cơ quan>)';
COMMENT ON COLUMN m.what_if.points_needed IS 'Points the agency must gain';
COMMENT ON COLUMN m.what_if.reachable IS 'False when even every item at its target is not enough (the steps then list every gap)';
COMMENT ON COLUMN m.what_if.step IS 'Order of the improvement: 1 = the item with the most points to gain';
COMMENT ON COLUMN m.what_if.criterion_code IS 'Criterion of the item';
COMMENT ON COLUMN m.what_if.indicator_code IS 'Indicator to improve';
COMMENT ON COLUMN m.what_if.current_value IS 'Its value now (NULL: unknown, e.g. a return not sent)';
COMMENT ON COLUMN m.what_if.required_value IS 'The value to reach: the target, or for the last step the least value that suffices (rounded to 4 decimals towards the better side); the scoring method''s inverse, the other units'' values held fixed';
COMMENT ON COLUMN m.what_if.target IS 'The value from which the item earns full points (the rubric target; fraction_of_max, minmax: the best other unit''s value)';
COMMENT ON COLUMN m.what_if.current_points IS 'Points earned now';
COMMENT ON COLUMN m.what_if.new_points IS 'Points earned at the required value';
COMMENT ON COLUMN m.what_if.points_gained IS 'new_points − current_points';
COMMENT ON COLUMN m.what_if.lower_is_better IS 'True when a lower value earns more (goalposts with best < worst): reach at most required_value';

-- Rank uncertainty (assets/scoring/uncertainty.py, docs/analysts.md "How sure is a rank?"): how far each rank and
-- class moves when the rubric's weights, targets and methods move within its `uncertainty:` settings.
CREATE TABLE m.rank_uncertainty AS
SELECT year, agency_group, agency_code, nominal_rank, mean_rank, median_rank, q05_rank, q95_rank, runs
FROM rank_uncertainty
ORDER BY year, agency_group, nominal_rank, agency_code;

CREATE TABLE m.class_probability AS
SELECT p.year, p.agency_group, p.agency_code, p.classification, p.probability
FROM class_probability AS p
LEFT JOIN rubric_classes AS c
       ON c.year = p.year AND c.agency_group = p.agency_group AND c.label = p.classification
ORDER BY p.year, p.agency_group, p.agency_code, c.min_total DESC;

CREATE TABLE m.rank_sensitivity AS
SELECT s.year, s.agency_group, s.criterion_code, s.first_order, s.total_order, s.runs
FROM rank_sensitivity AS s
LEFT JOIN (SELECT DISTINCT year, agency_group, criterion_code, criterion_order FROM rubric_items) AS r
       USING (year, agency_group, criterion_code)
ORDER BY s.year, s.agency_group, r.criterion_order, s.criterion_code;

CREATE TABLE m.uncertainty_settings AS
SELECT year, rubric_year, runs, seed, weights, targets, methods, alternatives
FROM uncertainty_settings
ORDER BY year;

COMMENT ON TABLE m.rank_uncertainty IS 'How sure each rank is: the unit''s rank over model runs in which the rubric''s weights (and, if the rubric says so, targets and methods) move within its uncertainty: settings (uncertainty_settings); about methodological choices, not measurement error';
COMMENT ON COLUMN m.rank_uncertainty.year IS 'Evaluation year';
COMMENT ON COLUMN m.rank_uncertainty.agency_group IS 'Agency group: ranks are within the group';
COMMENT ON COLUMN m.rank_uncertainty.agency_code IS 'Agency code';
COMMENT ON COLUMN m.rank_uncertainty.nominal_rank IS 'The published rank (rankings.rank), with the rubric as written';
COMMENT ON COLUMN m.rank_uncertainty.mean_rank IS 'Mean rank over the runs';
COMMENT ON COLUMN m.rank_uncertainty.median_rank IS 'Median rank over the runs (a rank some run gave)';
COMMENT ON COLUMN m.rank_uncertainty.q05_rank IS 'Best end of the 90 % interval: 5 % of the runs rank the unit better (a smaller number) than this';
COMMENT ON COLUMN m.rank_uncertainty.q95_rank IS 'Worst end of the 90 % interval: 5 % of the runs rank the unit worse than this';
COMMENT ON COLUMN m.rank_uncertainty.runs IS 'Model runs: each rescored every unit of the year and group, ranked like the published ranking (total rounded to the rubric''s decimals, competition ranks)';

COMMENT ON TABLE m.class_probability IS 'Per unit and class (xếp loại) of its group: the share of the uncertainty runs in which the unit has that class; a unit''s shares add up to 1';
COMMENT ON COLUMN m.class_probability.year IS 'Evaluation year';
COMMENT ON COLUMN m.class_probability.agency_group IS 'Agency group';
COMMENT ON COLUMN m.class_probability.agency_code IS 'Agency code';
COMMENT ON COLUMN m.class_probability.classification IS 'A class of the group''s rubric (every class is listed, 0 when no run reached it)';
COMMENT ON COLUMN m.class_probability.probability IS 'Share of the runs (rank_uncertainty.runs) in this class, 0..1';

COMMENT ON TABLE m.rank_sensitivity IS 'Which criteria drive the ranking: Sobol indices of each criterion''s weights (its items'' points moving together) on the mean absolute shift of the group''s ranks from the published ones';
COMMENT ON COLUMN m.rank_sensitivity.year IS 'Evaluation year';
COMMENT ON COLUMN m.rank_sensitivity.agency_group IS 'Agency group';
COMMENT ON COLUMN m.rank_sensitivity.criterion_code IS 'Criterion of the rubric (see rubric_items)';
COMMENT ON COLUMN m.rank_sensitivity.first_order IS 'First-order index (Saltelli 2010 estimator): the share of the rank shifts'' variance due to this criterion''s weights alone (a small negative value is estimation noise around 0); NULL when the weights do not move (weights: 0) or no rank ever moves';
COMMENT ON COLUMN m.rank_sensitivity.total_order IS 'Total index (Jansen estimator): the share due to this criterion''s weights including their interactions with the others; near 0 = the weights of this criterion do not move ranks';
COMMENT ON COLUMN m.rank_sensitivity.runs IS 'Model runs of the sensitivity design: base samples (runs rounded up to a power of two: 1024 for 1000) × (criteria + 2); 0 when the weights do not move';

COMMENT ON TABLE m.uncertainty_settings IS 'The uncertainty: settings each year was analysed with (the rubric''s, else the defaults)';
COMMENT ON COLUMN m.uncertainty_settings.year IS 'Evaluation year';
COMMENT ON COLUMN m.uncertainty_settings.rubric_year IS 'Year of the rubric file the settings come from';
COMMENT ON COLUMN m.uncertainty_settings.runs IS 'Model runs per year and group';
COMMENT ON COLUMN m.uncertainty_settings.seed IS 'Random seed: the same seed gives the same runs';
COMMENT ON COLUMN m.uncertainty_settings.weights IS 'Each item''s points × a factor drawn in [1 − weights, 1 + weights], then rescaled so the maximum is unchanged (0.25: ±25 %)';
COMMENT ON COLUMN m.uncertainty_settings.targets IS 'Each item''s method parameters (target, goalposts, step thresholds) × a factor in [1 − targets, 1 + targets]';
COMMENT ON COLUMN m.uncertainty_settings.methods IS 'Per indicator, the other scoring methods drawn with equal chance beside its own (JSON; {} when none)';
COMMENT ON COLUMN m.uncertainty_settings.alternatives IS 'The aggregate and missing rules each criterion and the total may take instead of its own in a run, with equal chance (JSON; {} when none)';

COMMENT ON TABLE m.scorecard_766 IS 'QĐ 766/QĐ-TTg scorecard computed from the dossier log: each item''s numerator, denominator, value and points per unit and period (month, quarter, year; each period its own ratio)';
COMMENT ON COLUMN m.scorecard_766.period IS 'Period key: 2026-08 (month), 2026-Q3 (quarter), 2026 (year); dossiers count in the period of their NgayTiepNhan (local time)';
COMMENT ON COLUMN m.scorecard_766.period_type IS 'month | quarter | year';
COMMENT ON COLUMN m.scorecard_766.agency_code IS 'Agency code, or ''PROVINCE'' for the province as a unit (numerators and denominators summed over all its agencies)';
COMMENT ON COLUMN m.scorecard_766.indicator_code IS 'Item of the 766 rubric (scorecard_766_items; config/rubrics/periodic/766/)';
COMMENT ON COLUMN m.scorecard_766.numerator IS 'Dossiers meeting the item (docs/rubrics.md §8); NULL for an item not computable, or a flag absent or empty for the whole period';
COMMENT ON COLUMN m.scorecard_766.denominator IS 'Dossiers the item is a share of; NULL for an item not computable';
COMMENT ON COLUMN m.scorecard_766.value IS 'numerator / denominator; NULL when no dossier counts (0 denominator), the data is unknown or the item is not computable';
COMMENT ON COLUMN m.scorecard_766.points IS 'Points earned (the item''s method, rounded to 2 decimals like the portal); NULL when value is NULL';
COMMENT ON COLUMN m.scorecard_766.max_points IS 'The item''s points in the rubric';

COMMENT ON TABLE m.scorecard_766_totals IS 'QĐ 766 total per unit and period: points earned of the computable points (x of y), and the rank in the agency group';
COMMENT ON COLUMN m.scorecard_766_totals.period IS 'Period key: 2026-08, 2026-Q3, 2026';
COMMENT ON COLUMN m.scorecard_766_totals.period_type IS 'month | quarter | year';
COMMENT ON COLUMN m.scorecard_766_totals.agency_code IS 'Agency code, or ''PROVINCE'' for the province as a unit';
COMMENT ON COLUMN m.scorecard_766_totals.agency_group IS 'Agency group (agency_groups); NULL for PROVINCE';
COMMENT ON COLUMN m.scorecard_766_totals.total_points IS 'Sum of the points earned; NULL when no item has a value in the period';
COMMENT ON COLUMN m.scorecard_766_totals.computable_max IS 'Sum of the maximum points of the items with a value in the period (not computable items and items without dossiers left out)';
COMMENT ON COLUMN m.scorecard_766_totals.rank IS 'Rank by total_points among the agencies of the same group and period (ties share a rank); NULL for PROVINCE and units without a total';

COMMENT ON TABLE m.scorecard_766_items IS 'The QĐ 766 rubric each year was scored with: groups, items, points, and which items are not computable from our records';
COMMENT ON COLUMN m.scorecard_766_items.year IS 'Year scored';
COMMENT ON COLUMN m.scorecard_766_items.rubric_year IS 'The rubric file in force (config/rubrics/periodic/766/<rubric_year>.yaml)';
COMMENT ON COLUMN m.scorecard_766_items.criterion_code IS 'Group of the decision (công khai, tiến độ, dịch vụ trực tuyến, thanh toán, số hóa, hài lòng)';
COMMENT ON COLUMN m.scorecard_766_items.criterion_name IS 'The group''s name in Vietnamese';
COMMENT ON COLUMN m.scorecard_766_items.criterion_order IS 'Position of the group';
COMMENT ON COLUMN m.scorecard_766_items.item_order IS 'Position of the item in its group';
COMMENT ON COLUMN m.scorecard_766_items.indicator_code IS 'Item code, as in scorecard_766.indicator_code';
COMMENT ON COLUMN m.scorecard_766_items.ref IS 'The item''s number in the decision''s appendix, where known (2.1)';
COMMENT ON COLUMN m.scorecard_766_items.name_vi IS 'The item in Vietnamese';
COMMENT ON COLUMN m.scorecard_766_items.max_points IS 'The item''s points';
COMMENT ON COLUMN m.scorecard_766_items.method IS 'Scoring method (scoring_methods): target = points × min(value / target, 1)';
COMMENT ON COLUMN m.scorecard_766_items.params IS 'The method''s parameters (JSON), e.g. {"target": 0.5}: full points at 50%';
COMMENT ON COLUMN m.scorecard_766_items.computable IS 'False: needs data the dossier log does not hold; shown, and left out of the computable maximum';

COMMENT ON TABLE m.scorecard_766_levels IS 'Levels of a period''s QĐ 766 score (the rubric''s classification), on its share of the computable points, and their colours in the reports';
COMMENT ON COLUMN m.scorecard_766_levels.year IS 'Year scored';
COMMENT ON COLUMN m.scorecard_766_levels.label IS 'Level (Tốt, Đạt, Chưa đạt)';
COMMENT ON COLUMN m.scorecard_766_levels.min_share IS 'Lowest 100 × total_points / computable_max of the level';
COMMENT ON COLUMN m.scorecard_766_levels.colour IS 'Text and chart colour';
COMMENT ON COLUMN m.scorecard_766_levels.fill IS 'Cell background';

