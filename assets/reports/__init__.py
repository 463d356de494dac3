"""Published reports built from the analysts' marts (data/marts/egov.duckdb): the annual ranking workbook, …

Reports read only the marts, never the warehouse, so anyone holding the published file can rebuild them.
"""
