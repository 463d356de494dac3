"""Periodic scorecards computed from the dossier log: the QĐ 766 scorecard by month, quarter and year."""
