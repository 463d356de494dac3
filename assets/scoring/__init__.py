"""Scoring: indicator values × the year's rubric → item points, criterion scores, rankings."""
