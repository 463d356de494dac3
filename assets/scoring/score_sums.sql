-- The points of every criterion and of the total (level 0) of a rubric of one level of criteria that all sum their
-- items' points (aggregate: arithmetic, missing: zero, no min_coverage; the provincial rubric), into the temp table
-- node_points: the sums of indicator_scores' points and maximum points per criterion and per unit, in exact
-- DECIMAL(38, 9), what score_nodes.sql computes level by level for any other rubric (score.py `score_tree` chooses).
-- Every node has a value, so no reason.
INSERT INTO node_points
SELECT year, agency_code, agency_group, coalesce(criterion_code, '') AS node,
       CASE WHEN grouping(criterion_code) = 0 THEN 1 ELSE 0 END AS level,
       sum(CAST(points AS DECIMAL(38, 9))) AS points, sum(CAST(max_points AS DECIMAL(38, 9))) AS max_points,
       NULL AS reason
FROM indicator_scores
WHERE year IN (SELECT year FROM scoring_years)
GROUP BY GROUPING SETS ((year, agency_code, agency_group, criterion_code), (year, agency_code, agency_group));
