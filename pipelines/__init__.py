"""Dagster code location of the e-government KPI pipeline."""
