"""What `egov` prints while a run works: each step as it starts and ends, with its time; warnings and errors.

Dagster's console logger prints every event with a timestamp and the run id (hundreds of lines for the demo) or,
filtered, nothing for a minute. People running `egov` want to see the run move and where it stopped.
"""

from __future__ import annotations

import logging
import sys
import time

import dagster as dg

LOGGER_NAME = "egov_progress"
# Dagster's own warnings that only repeat what the failed step's line says.
SKIPPED = ("Dependencies for step",)


class ProgressHandler(logging.Handler):
    """Step starts, successes (with seconds) and failures; user messages at `level` or above."""

    def __init__(self, level: int, stream=None, prefix: str = "") -> None:
        super().__init__(logging.DEBUG)
        self.user_level = level
        self.prefix = prefix
        self.stream = stream
        self.started = time.monotonic()

    def emit(self, record: logging.LogRecord) -> None:
        meta = getattr(record, "dagster_meta", None) or {}
        event = meta.get("dagster_event")
        step = meta.get("step_key") or ""
        line = None
        if event is not None:
            kind = event.event_type_value
            if kind == "STEP_START":
                line = f"  … {step}"
            elif kind == "STEP_SUCCESS":
                seconds = (event.event_specific_data.duration_ms or 0) / 1000
                line = f"  ✓ {step} ({seconds:.1f} s; {time.monotonic() - self.started:.0f} s in all)"
            elif kind == "STEP_FAILURE":
                line = f"  ✗ {step} failed"
        elif record.levelno >= self.user_level and not str(meta.get("orig_message", "")).startswith(SKIPPED):
            prefix = {logging.WARNING: "!", logging.ERROR: "!!", logging.CRITICAL: "!!"}.get(record.levelno, " ")
            line = f"    {prefix} {step}: {meta.get('orig_message', record.getMessage())}"
        if line is not None:
            stream = self.stream or sys.stdout
            stream.write(f"{line[:2]}{self.prefix}{line[2:]}\n")  # "  [HNI] ✓ step": provinces run at once
            stream.flush()


@dg.logger(
    config_schema={
        "log_level": dg.Field(
            str, default_value="WARNING", description="user messages at this level or above are printed"
        ),
        "prefix": dg.Field(
            str,
            default_value="",
            description="put before every line: a national "
            "run's province code, so the lines of provinces run at once can be told "
            "apart",
        ),
    },
    description="egov's progress lines: a line per step started and finished, warnings and errors.",
)
def progress_logger(init_context: dg.InitLoggerContext) -> logging.Logger:
    # A logger of its own per run, outside logging's registry: a national run's province sub-runs (in the same
    # process) must not replace the national run's handler, nor its prefix.
    logger = logging.Logger(LOGGER_NAME)
    logger.propagate = False
    logger.setLevel(logging.DEBUG)
    config = init_context.logger_config
    logger.handlers = [ProgressHandler(logging.getLevelName(config["log_level"].upper()), prefix=config["prefix"])]
    return logger
