"""The Dagster code location's definitions: assets and checks per layer, resources, partitions, jobs, schedules,
sensors. Each asset calls a plain function of its layer (`assets/`, `expectations/`)."""
