"""The core: settings, the registry of every configuration file, the warehouse, scoring methods, per-file
facts, Vietnamese formatting. No Dagster: every layer above may import it, it imports none of them."""
