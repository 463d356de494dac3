"""How `egov` talks: its exit codes (0 success, 1 the pipeline failed, 2 wrong usage or no input) and its lines."""

from __future__ import annotations

EXIT_OK, EXIT_FAILED, EXIT_USAGE = 0, 1, 2


def _say(message: str) -> None:
    print(message, flush=True)
