"""Assets, layer by layer: ingestion (raw → staging), indicators, scoring (scores, rankings), marts."""
