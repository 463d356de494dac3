-- Ranks and classes of every model run of the uncertainty analysis, and their statistics per unit, for the year and
-- agency group of `ua_scope` (assets/scoring/uncertainty.py). `ua_totals` holds the unrounded total of each unit
-- (numbered as in `ua_units`) in each run: kind 'runs' (weights, targets and methods drawn together) or 'sobol' (the
-- sensitivity design, weights only). A run is ranked exactly like the published ranking (score.sql): the total rounded to the rubric's decimals
-- half away from zero, competition ranks (1, 2, 2, 4), the class with the highest minimum the rounded total reaches.

CREATE OR REPLACE TEMP TABLE ua_ranked AS
WITH rounded AS (
    SELECT t.kind, t.run, n.agency_code, round_decimals(t.total, u.decimals) AS total
    FROM ua_totals AS t JOIN ua_units AS n USING (unit) CROSS JOIN ua_scope AS u
)
SELECT kind, run, agency_code, total, rank() OVER (PARTITION BY kind, run ORDER BY total DESC) AS rank
FROM rounded;

CREATE OR REPLACE TEMP TABLE ua_nominal AS
SELECT r.agency_code, r.rank
FROM rankings AS r JOIN ua_scope AS u ON u.year = r.year AND u.agency_group = r.agency_group;

INSERT INTO rank_uncertainty
SELECT u.year, u.agency_group, r.agency_code, n.rank AS nominal_rank,
       avg(r.rank) AS mean_rank,
       quantile_disc(r.rank, 0.5) AS median_rank,
       quantile_disc(r.rank, 0.05) AS q05_rank,
       quantile_disc(r.rank, 0.95) AS q95_rank,
       count(*) AS runs
FROM ua_ranked AS r
JOIN ua_nominal AS n USING (agency_code)
CROSS JOIN ua_scope AS u
WHERE r.kind = 'runs'
GROUP BY ALL
ORDER BY nominal_rank, agency_code;

-- Every class of the group for every unit, 0 where no run reached it, so the probabilities of a unit add up to 1.
INSERT INTO class_probability
WITH classes AS (
    SELECT c.label, c.min_total
    FROM rubric_classes AS c JOIN ua_scope AS u ON u.year = c.year AND u.agency_group = c.agency_group
),
run_classes AS (
    SELECT r.run, r.agency_code, arg_max(c.label, c.min_total) AS classification
    FROM ua_ranked AS r JOIN classes AS c ON c.min_total <= r.total
    WHERE r.kind = 'runs'
    GROUP BY ALL
),
counts AS (
    SELECT agency_code, classification, count(*) AS n
    FROM run_classes
    GROUP BY agency_code, classification
),
runs AS (
    SELECT count(DISTINCT run) AS runs FROM ua_ranked WHERE kind = 'runs'
)
SELECT u.year, u.agency_group, n.agency_code, c.label AS classification,
       coalesce(k.n, 0) / r.runs AS probability
FROM ua_nominal AS n
CROSS JOIN classes AS c
CROSS JOIN ua_scope AS u
CROSS JOIN runs AS r
LEFT JOIN counts AS k ON k.agency_code = n.agency_code AND k.classification = c.label
ORDER BY n.agency_code, c.min_total DESC;

-- The output of the sensitivity design: the mean absolute shift of the group's ranks from the published ones.
CREATE OR REPLACE TEMP TABLE ua_shifts AS
SELECT r.run, avg(abs(r.rank - n.rank)) AS shift
FROM ua_ranked AS r JOIN ua_nominal AS n USING (agency_code)
WHERE r.kind = 'sobol'
GROUP BY r.run
ORDER BY r.run;
