-- The analysts' marts, built into the attached database `m` (a new file, published atomically afterwards).
-- Every table is a plain copy or a light join of warehouse tables. Each table and each of its columns is described in
-- its data dictionary, assets/marts/dictionary/<table>.yaml, which publishing writes into the file as comments
-- (assets/marts/dictionary.py): a table or column without a description stops the publish.

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
SELECT source, year, file, file_format, encoding, status, message, rows_read, rows_loaded, rows_quarantined,
       rows_superseded
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

-- Every lost point traced to its records, month by month (no personal column: records are named by their code):
-- stored compactly, one row per record and month with its reasons as bits (a plain copy, unsorted: 3-4 times fewer
-- rows than the trace), and read through the view scorecard_766_dossiers, one row per lost item, which unnests them
-- and joins the reasons' labels like the warehouse's view (assets/scorecard/sql/trace_view.sql, with `year`).
CREATE TABLE m.scorecard_766_reasons AS
SELECT reason_code, indicator_code, bit, days, label FROM scorecard_766_reasons ORDER BY bit;

-- Its rows are written by trace.sql after this file (only the periods rescored since, when the publish starts from
-- the published file, which then holds the table already).
CREATE TABLE IF NOT EXISTS m.scorecard_766_lost AS
SELECT period, agency_code, record_code, reasons, days_late, sync_days_late FROM scorecard_766_lost WHERE FALSE;

CREATE VIEW m.scorecard_766_dossiers AS
SELECT period, agency_code, indicator_code, record_code, reason_code,
       CASE WHEN contains(label, '{days}') THEN replace(label, '{days}', CAST(days_late AS VARCHAR)) ELSE label END
           AS reason,
       days_late
FROM (
    SELECT l.period, l.agency_code, r.indicator_code, l.record_code, r.reason_code, r.label,
           CASE r.days WHEN 'days_late' THEN l.days_late WHEN 'sync_days_late' THEN l.sync_days_late END AS days_late
    FROM m.scorecard_766_lost AS l JOIN m.scorecard_766_reasons AS r ON l.reasons & r.bit <> 0
) AS unnested;

CREATE TABLE m.scorecard_766_levels AS
SELECT year, label, min_share, colour, fill FROM scorecard_766_levels ORDER BY year ASC, min_share DESC;

-- The nightly scorecard: each agency's dossier indicators, year to date, by month, with names attached.
CREATE VIEW m.dossier_scorecard AS
SELECT d.year, d.month, d.agency_code, coalesce(a.agency_name, 'Toàn tỉnh') AS agency_name, a.agency_group,
       d.indicator_code, d.numerator, d.denominator, d.value
FROM m.dossier_indicators_ytd AS d
LEFT JOIN m.agencies AS a USING (agency_code);

CREATE TABLE m.data_quality AS
SELECT year, source, agency_code, rows_read, rows_loaded, rows_quarantined, quarantined_by_rule, missing_return,
       failed_checks
FROM data_quality
ORDER BY year, source, agency_code NULLS FIRST;

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
ORDER BY year ASC, agency_group ASC, min_total DESC;

CREATE TABLE m.rubric_criteria AS
SELECT year, agency_group, criterion_order, criterion_code, criterion_name, criterion_name_en, parent_code, level,
       max_points, aggregate, missing, min_coverage, rubric_year
FROM rubric_criteria
ORDER BY year, agency_group, criterion_order;

CREATE TABLE m.scoring_methods AS
SELECT method, parameters, description_vi
FROM scoring_methods
ORDER BY method;

-- Agency profiles: why each agency ranks where it does, and the least it must improve to move up.
CREATE TABLE m.agency_profiles AS
SELECT * FROM agency_profiles ORDER BY year, agency_group, rank, agency_code;

CREATE TABLE m.agency_profile_items AS
SELECT * FROM agency_profile_items ORDER BY year, agency_code, weakness_order;

CREATE TABLE m.what_if AS
SELECT * FROM what_if ORDER BY year, agency_code, goal, step;

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
ORDER BY p.year ASC, p.agency_group ASC, p.agency_code ASC, c.min_total DESC;

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
