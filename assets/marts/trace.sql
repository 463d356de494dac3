-- The QĐ 766 trace's rows in the marts (the table is created by marts.sql): the warehouse's view scorecard_766_lost,
-- judged and copied, one row per record and month. Writing them is most of a publish (15.6M rows at 10M dossiers:
-- docs/benchmarks.md), so a publish that starts from the published file (assets/marts/publish.py: the file unchanged
-- since, the same trace SQL, the scoring up to date) replaces only the periods rescored or removed since, which
-- publish.py writes in for {periods} as constants (the view's filters reach the dossier log only with constants).
-- A publish built whole writes every period: {periods} is then the condition TRUE.
DELETE FROM m.scorecard_766_lost WHERE {periods};

INSERT INTO m.scorecard_766_lost
SELECT period, agency_code, record_code, reasons, days_late, sync_days_late FROM scorecard_766_lost
WHERE {periods};
