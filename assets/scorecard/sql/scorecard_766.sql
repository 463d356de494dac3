-- Score the periods of `sc_periods` (year, period, period_type, first_month, last_month, ref) from the facts of
-- scorecard_766_facts, for the units of `sc_units` (year, agency_code, agency_group) and the province as a unit
-- ('PROVINCE': numerators and denominators summed over all its agencies), with the rubric items of `sc_items`
-- (scorecard_766_items rows of the years scored). Run by build.py in one transaction, after the periods' old rows
-- were deleted. A period is its own ratio: a quarter sums its months' numerators and denominators, and judges its
-- unfinished dossiers at its own reference instant `ref` (the start of the next period, or the log's latest
-- NgayTiepNhan when that is earlier), never averages months: their due date moves by their supplement's pause only
-- when the supplement was provided by `ref` (facts_766.sql).
-- Points: the item's scoring method (pipelines/core/methods.py: method_share), rounded to the rubric's decimals
-- like the portal's published item points; NULL when the value is NULL (no dossiers, or the data is unknown).

CREATE OR REPLACE TEMP TABLE sc_sums AS
SELECT p.year, p.period, coalesce(f.agency_code, 'PROVINCE') AS agency_code,
       sum(f.counted)                                                              AS counted,
       sum(f.on_time_closed) + coalesce(sum(f.open_judged) FILTER (
           WHERE f.open_due + CASE WHEN f.open_provided <= p.ref THEN f.open_provided - f.open_requested
                                   ELSE INTERVAL 0 SECOND END >= p.ref), 0)              AS on_time,
       sum(f.accepted) FILTER (WHERE f.online_service)                             AS os_accepted,
       sum(f.accepted_online) FILTER (WHERE f.online_service)                      AS os_online,
       sum(f.accepted_fee) AS accepted_fee, sum(f.paid_online) AS paid_online, sum(f.accepted) AS accepted,
       sum(f.e_result) AS e_result, sum(f.e_result_known) AS e_result_known,
       sum(f.digitised_result) AS digitised_result, sum(f.digitised_result_known) AS digitised_result_known,
       sum(f.digitised) AS digitised, sum(f.digitised_known) AS digitised_known,
       sum(f.data_store) AS data_store, sum(f.data_store_known) AS data_store_known
FROM sc_periods AS p
JOIN scorecard_766_facts AS f ON f.year = p.year AND f.month BETWEEN p.first_month AND p.last_month
GROUP BY GROUPING SETS ((p.year, p.period, f.agency_code), (p.year, p.period));

-- The transparency and satisfaction items (docs/rubrics.md §8) read the staged inputs directly: the sync instant is
-- compared with each period's reference instant, and a rating or a feedback belongs to the period of its own date,
-- not its dossier's. A period runs from its first month's start to `period_end` (the start of the next period).
CREATE OR REPLACE TEMP TABLE sc_bounds AS
SELECT *, make_timestamp(year, first_month, 1, 0, 0, 0) AS period_start,
       make_timestamp(year, first_month, 1, 0, 0, 0) + to_months(last_month - first_month + 1) AS period_end
FROM sc_periods;

-- The log read once for the rating items (scorecard_766_dossiers.sql drops it): each rating of the scored year or
-- before with its dossier (of that year or before; `dossier` tells two dossiers of one code apart), the dossier's
-- agency and, when it finished (9, 10), its finish instant (`finished_at`), and the instant of the dossier's next
-- rating (`next_at`: a rating is the dossier's latest of a period that holds it when the next one is after the
-- period's end, or none). A rating of a later year, by its date, is after every period of the scored year, like none.
CREATE OR REPLACE TEMP TABLE sc_ratings AS
SELECT y.year, r.MaHoSo, r.NgayDanhGia, r.MucDo, d.DonViXuLy AS agency_code, d.rowid AS dossier, r.rowid AS rating,
       CASE WHEN d.TrangThaiHoSo IN (9, 10) THEN d.NgayKetThucXuLy END AS finished_at
FROM (SELECT DISTINCT year FROM sc_periods) AS y
JOIN stg_ratings AS r ON r.year <= y.year
JOIN stg_dossiers AS d ON d.MaHoSo = r.MaHoSo AND d.year <= y.year;

-- A dossier rated once has no next rating: the window orders only the ratings of the dossiers rated more than once
-- (a few percent), not every rating with its columns (at 100M dossiers the window over all 41.8M ratings ran out of
-- memory at 400 MiB and took 45-60 s at 681 MiB; this one 6 s: docs/benchmarks.md "Issue 29: the 766 scoring in
-- less memory").
CREATE OR REPLACE TEMP TABLE sc_rerated AS
SELECT r.year, r.dossier, r.rating,
       lead(r.NgayDanhGia) OVER (PARTITION BY r.year, r.dossier ORDER BY r.NgayDanhGia) AS next_at
FROM sc_ratings AS r
SEMI JOIN (SELECT a.year, a.dossier FROM sc_ratings AS a GROUP BY a.year, a.dossier HAVING count(*) > 1) AS rerated
       ON rerated.year = r.year AND rerated.dossier = r.dossier
QUALIFY next_at IS NOT NULL;

CREATE OR REPLACE TEMP VIEW sc_rated AS
SELECT r.* EXCLUDE (rating), n.next_at
FROM sc_ratings AS r LEFT JOIN sc_rerated AS n USING (year, dossier, rating);

CREATE OR REPLACE TEMP TABLE sc_extra AS
WITH period_months AS (  -- each period once per month it spans: a dossier joins its 3 periods by (year, month)
    SELECT *, unnest(range(first_month, last_month + 1)) AS month FROM sc_bounds
),
latest_rating AS (  -- per month, agency and kind of rating (MucDo 1 or 2 or not), the ratings given in it that are
    -- their dossier's latest of a period holding them when the next one falls in the month `next_month` or later (a
    -- period's end is a month's start), or never
    SELECT year, year(NgayDanhGia) AS rated_year, month(NgayDanhGia) AS month, agency_code,
           MucDo IN (1, 2) AS satisfied, date_trunc('month', next_at) AS next_month, count(*) AS n
    FROM sc_rated
    GROUP BY ALL
),
sync_months AS (  -- the counted dossiers per month and agency by when they synced: the first month's start at or
    -- after the instant (a period's end: synced by it when that is not later) and whether by the log's latest record
    -- (the reference instant of the periods ending after it); so each dossier is read once, not once per period
    SELECT d.year, month(d.NgayTiepNhan) AS month, d.DonViXuLy AS agency_code,
           CASE WHEN d.NgayDongBo = date_trunc('month', d.NgayDongBo) THEN d.NgayDongBo
                ELSE date_trunc('month', d.NgayDongBo) + INTERVAL 1 MONTH END AS synced_by,
           d.NgayDongBo <= (SELECT max(ref) FROM sc_bounds WHERE ref < period_end) AS by_latest,
           count(*) AS n, count(d.NgayDongBo) AS known
    FROM stg_dossiers AS d
    SEMI JOIN (SELECT DISTINCT year, month FROM period_months) AS m
           ON d.year = m.year AND month(d.NgayTiepNhan) = m.month
    WHERE d.TrangThaiHoSo NOT IN (1, 3, 7, 8)
    GROUP BY ALL
),
finished_months AS (  -- the dossiers (of the scored year or before) finished (9, 10) in the scored year, per month
    SELECT y.year, month(d.NgayKetThucXuLy) AS month, d.DonViXuLy AS agency_code, count(*) AS finished
    FROM (SELECT DISTINCT year FROM sc_periods) AS y
    JOIN stg_dossiers AS d ON year(d.NgayKetThucXuLy) = y.year AND d.year <= y.year
    WHERE d.TrangThaiHoSo IN (9, 10)
    GROUP BY ALL
),
rated_months AS (  -- of them, the rated ones by the month of their first rating (of sc_rated's)
    SELECT year, month(finished_at) AS month, agency_code, date_trunc('month', rated_at) AS rated_month,
           count(*) AS rated
    FROM (SELECT year, dossier, any_value(finished_at) AS finished_at, any_value(agency_code) AS agency_code,
                 min(NgayDanhGia) AS rated_at
          FROM sc_rated WHERE year(finished_at) = year GROUP BY year, dossier) AS first_rating
    GROUP BY ALL
),
rows AS (  -- each item's counts per period and agency, summed per branch before the province's sums
    -- published_766: the procedures of the period's year's catalogue; synced_national = 1 (known: not NULL)
    SELECT b.year, b.period, s.agency_code, count(*) AS procedures,
           count(*) FILTER (s.synced_national = 1) AS published,
           count(s.synced_national) AS published_known
    FROM sc_bounds AS b JOIN stg_services AS s ON s.year = b.year
    GROUP BY ALL
    UNION ALL BY NAME
    -- synced_766: received in the period, TrangThaiHoSo not 1, 3, 7, 8 (the on-time item's); synced by the instant
    SELECT b.year, b.period, s.agency_code, sum(s.n) AS sync_counted,
           coalesce(sum(s.n) FILTER (CASE WHEN b.ref < b.period_end THEN s.by_latest ELSE s.synced_by <= b.ref END), 0)
               AS synced,
           sum(s.known) AS sync_known
    FROM period_months AS b JOIN sync_months AS s ON s.year = b.year AND s.month = b.month
    GROUP BY ALL
    UNION ALL BY NAME
    -- satisfied_766: the ratings given in the period (a dossier's latest), by the dossier's agency; MucDo 1 or 2
    SELECT b.year, b.period, r.agency_code, sum(r.n) AS ratings, coalesce(sum(r.n) FILTER (r.satisfied), 0) AS satisfied
    FROM period_months AS b
    JOIN latest_rating AS r ON r.year = b.year AND r.rated_year = b.year AND r.month = b.month
    WHERE r.next_month IS NULL OR r.next_month >= b.period_end
    GROUP BY ALL
    UNION ALL BY NAME
    -- rated_766: finished (9, 10) in the period (NgayKetThucXuLy), with a rating given by the period's end (a month's
    -- start: a first rating before it is one of a month before it); counted, not listed: the dossiers finished per
    -- month and agency, and of them the rated ones by the month of their first rating (the trace's own, finished
    -- and not rated by a month's end, are judged by the view scorecard_766_lost: trace_view.sql)
    SELECT b.year, b.period, f.agency_code, sum(f.finished) AS finished,
           coalesce(sum(f.rated) FILTER (f.rated_month < b.period_end), 0) AS rated
    FROM period_months AS b
    JOIN (
        SELECT * FROM finished_months
        UNION ALL BY NAME
        SELECT * FROM rated_months
    ) AS f ON f.year = b.year AND f.month = b.month
    GROUP BY ALL
    UNION ALL BY NAME
    -- feedback_on_time_766: due in the period (HanXuLy), not withdrawn (4); on time: answered (3) by HanXuLy, or
    -- not answered yet (1, 2) and not yet due at the reference instant
    SELECT b.year, b.period, f.DonViXuLy AS agency_code, count(*) AS feedback_due,
           count(*) FILTER ((f.TrangThai = 3 AND f.NgayXuLy <= f.HanXuLy)
                            OR (f.TrangThai IN (1, 2) AND f.HanXuLy >= b.ref))
               AS feedback_on_time
    FROM sc_bounds AS b JOIN stg_feedback AS f ON f.HanXuLy >= b.period_start AND f.HanXuLy < b.period_end
    WHERE f.TrangThai <> 4
    GROUP BY ALL
)
SELECT year, period, coalesce(agency_code, 'PROVINCE') AS agency_code,
       sum(procedures) AS procedures, sum(published) AS published, sum(published_known) AS published_known,
       sum(sync_counted) AS sync_counted, sum(synced) AS synced, sum(sync_known) AS sync_known,
       sum(ratings) AS ratings, sum(satisfied) AS satisfied, sum(finished) AS finished, sum(rated) AS rated,
       sum(feedback_due) AS feedback_due, sum(feedback_on_time) AS feedback_on_time
FROM rows
GROUP BY GROUPING SETS ((year, period, agency_code), (year, period));

-- One row per unit, period and computed indicator. A flag item's numerator is NULL (so its value is) when no
-- accepted dossier of the period carries the flag: the column was absent or empty, which is unknown, not 0. Likewise
-- published_766, synced_766 and rated_766 when no procedure of the year's catalogue carries synced_national, no
-- dossier of the province's period NgayDongBo, no rating was given in the province's period: the input is absent
-- (an empty NgayDongBo among others is "never synced", an agency without a rating among others is 0).
CREATE OR REPLACE TEMP TABLE sc_values AS
WITH units AS (
    SELECT year, agency_code, agency_group FROM sc_units
    UNION ALL
    SELECT DISTINCT year, 'PROVINCE', NULL FROM sc_periods
)
SELECT u.year, p.period, p.period_type, u.agency_code, u.agency_group, k.indicator_code,
       k.numerator, k.denominator,
       CASE WHEN k.denominator > 0 THEN k.numerator / k.denominator END AS value
FROM units AS u
JOIN sc_periods AS p USING (year)
LEFT JOIN sc_sums AS s ON s.year = u.year AND s.period = p.period AND s.agency_code = u.agency_code
LEFT JOIN sc_extra AS x ON x.year = u.year AND x.period = p.period AND x.agency_code = u.agency_code
LEFT JOIN sc_extra AS pv ON pv.year = u.year AND pv.period = p.period AND pv.agency_code = 'PROVINCE',
LATERAL (SELECT unnest([
    {'indicator_code': 'on_time_766',           'numerator': coalesce(s.on_time, 0)::DOUBLE,     'denominator': coalesce(s.counted, 0)::DOUBLE},
    {'indicator_code': 'online_submission_766', 'numerator': coalesce(s.os_online, 0)::DOUBLE,   'denominator': coalesce(s.os_accepted, 0)::DOUBLE},
    {'indicator_code': 'paid_online_766',       'numerator': coalesce(s.paid_online, 0)::DOUBLE, 'denominator': coalesce(s.accepted_fee, 0)::DOUBLE},
    {'indicator_code': 'e_result_766',          'numerator': CASE WHEN s.e_result_known > 0 THEN s.e_result END::DOUBLE,                 'denominator': coalesce(s.accepted, 0)::DOUBLE},
    {'indicator_code': 'digitised_result_766',  'numerator': CASE WHEN s.digitised_result_known > 0 THEN s.digitised_result END::DOUBLE, 'denominator': coalesce(s.accepted, 0)::DOUBLE},
    {'indicator_code': 'digitised_766',         'numerator': CASE WHEN s.digitised_known > 0 THEN s.digitised END::DOUBLE,               'denominator': coalesce(s.accepted, 0)::DOUBLE},
    {'indicator_code': 'data_store_766',        'numerator': CASE WHEN s.data_store_known > 0 THEN s.data_store END::DOUBLE,             'denominator': coalesce(s.accepted, 0)::DOUBLE},
    {'indicator_code': 'published_766',         'numerator': CASE WHEN pv.published_known > 0 THEN coalesce(x.published, 0) END::DOUBLE, 'denominator': coalesce(x.procedures, 0)::DOUBLE},
    {'indicator_code': 'synced_766',            'numerator': CASE WHEN pv.sync_known > 0 THEN coalesce(x.synced, 0) END::DOUBLE,         'denominator': coalesce(x.sync_counted, 0)::DOUBLE},
    {'indicator_code': 'satisfied_766',         'numerator': coalesce(x.satisfied, 0)::DOUBLE,                                          'denominator': coalesce(x.ratings, 0)::DOUBLE},
    {'indicator_code': 'rated_766',             'numerator': CASE WHEN pv.ratings > 0 THEN coalesce(x.rated, 0) END::DOUBLE,             'denominator': coalesce(x.finished, 0)::DOUBLE},
    {'indicator_code': 'feedback_on_time_766',  'numerator': coalesce(x.feedback_on_time, 0)::DOUBLE,                                    'denominator': coalesce(x.feedback_due, 0)::DOUBLE}
], recursive := TRUE)) AS k;

-- Every item of the rubric for every unit and period; a not computable item has no value and keeps its maximum.
CREATE OR REPLACE TEMP TABLE sc_scored AS
WITH units AS (SELECT DISTINCT year, period, period_type, agency_code, agency_group FROM sc_values),
joined AS (
    SELECT u.year, u.period, u.period_type, u.agency_code, u.agency_group, i.indicator_code, i.method,
           method_params(i.params) AS p, i.max_points, i.decimals, v.numerator, v.denominator, v.value
    FROM units AS u
    JOIN sc_items AS i ON i.year = u.year
    LEFT JOIN sc_values AS v ON v.year = u.year AND v.period = u.period AND v.agency_code = u.agency_code
                            AND v.indicator_code = i.indicator_code AND i.computable
)
SELECT *,
       CASE WHEN value IS NOT NULL AND isfinite(value) THEN CAST(round_decimals(
           max_points * method_share(method, value, p,
                                     min(value) OVER unit_group, max(value) OVER unit_group), decimals) AS DOUBLE)
       END AS points
FROM joined
WINDOW unit_group AS (PARTITION BY period, agency_group IS NULL, agency_group, indicator_code);

INSERT INTO scorecard_766
SELECT year, period, period_type, agency_code, indicator_code, numerator, denominator, value, points, max_points
FROM sc_scored;

-- Totals: the points earned of the computable maximum (the items with a value this period); the rank is within the
-- agency group and period by total points (ties share a rank); the province is not ranked.
INSERT INTO scorecard_766_totals
WITH totals AS (
    SELECT year, period, period_type, agency_code, agency_group,
           CAST(round_decimals(sum(points), max(decimals)) AS DOUBLE) AS total_points,
           coalesce(sum(max_points) FILTER (WHERE points IS NOT NULL), 0) AS computable_max
    FROM sc_scored
    GROUP BY ALL
)
SELECT year, period, period_type, agency_code, agency_group, total_points, computable_max,
       CASE WHEN agency_group IS NOT NULL AND total_points IS NOT NULL THEN
           rank() OVER (PARTITION BY period, agency_group, agency_group IS NOT NULL AND total_points IS NOT NULL
                        ORDER BY total_points DESC) END AS rank
FROM totals;

DROP TABLE sc_sums;
DROP TABLE sc_bounds;
DROP TABLE sc_extra;
DROP TABLE sc_values;
DROP TABLE sc_scored;
