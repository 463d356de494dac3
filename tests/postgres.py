"""A real PostgreSQL server for the extraction tests: Debian's `postgresql` binaries (initdb, pg_ctl), a cluster in a
temporary directory on a free port, stopped and removed afterwards. initdb refuses to run as root, so as root the
cluster belongs to the unprivileged `nobody` (runuser). `./egov test` installs the package when it is missing."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

PASSWORD = "s3cr3t-Pw_for-tests"  # the test user's password: must never appear in a message


def postgres_bin() -> Path | None:
    """The newest installed server's bin directory (/usr/lib/postgresql/<version>/bin), if any."""
    found = sorted(Path("/usr/lib/postgresql").glob("*/bin/initdb"), key=lambda p: int(p.parent.parent.name))
    return found[-1].parent if found else None


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@dataclass
class PostgresServer:
    host: str
    port: int
    user: str
    password: str

    def uri(self, database: str = "postgres") -> str:
        return f"postgresql://{self.user}:{self.password}@{self.host}:{self.port}/{database}"

    def execute(self, sql: str, database: str = "postgres") -> list[tuple]:
        """Run statements (separated by ';' at line ends) and return the last one's rows."""
        import adbc_driver_postgresql.dbapi as pg

        with pg.connect(self.uri(database), autocommit=True) as conn, conn.cursor() as cur:
            rows: list[tuple] = []
            for statement in [s for s in sql.split(";\n") if s.strip()]:
                cur.execute(statement)
                rows = cur.fetchall() if cur.description else []
            return rows


@contextmanager
def postgres_server() -> Iterator[PostgresServer]:
    bindir = postgres_bin()
    if bindir is None:
        raise RuntimeError(
            "PostgreSQL is not installed (/usr/lib/postgresql/*/bin/initdb): `./egov test` installs "
            "Debian's postgresql package, or install it by hand"
        )
    as_user = ["runuser", "-u", "nobody", "--"] if os.geteuid() == 0 else []
    tmp = Path(tempfile.mkdtemp(prefix="egov-pg-"))
    if as_user:
        shutil.chown(tmp, "nobody")
    (tmp / "pw").write_text(PASSWORD)
    if as_user:
        shutil.chown(tmp / "pw", "nobody")
    port = _free_port()
    data = tmp / "data"
    env = {**os.environ, "LC_ALL": "C.UTF-8"}
    subprocess.run(
        [
            *as_user,
            str(bindir / "initdb"),
            "-D",
            str(data),
            "-U",
            "egov",
            "-E",
            "UTF8",
            "--auth-local=trust",
            "--auth-host=scram-sha-256",
            f"--pwfile={tmp / 'pw'}",
        ],
        check=True,
        capture_output=True,
        env=env,
    )
    subprocess.run(
        [
            *as_user,
            str(bindir / "pg_ctl"),
            "-D",
            str(data),
            "-w",
            "-l",
            str(tmp / "log"),
            "-o",
            f"-p {port} -k {tmp} -c listen_addresses=127.0.0.1 -c fsync=off",
            "start",
        ],
        check=True,
        capture_output=True,
        env=env,
    )
    try:
        yield PostgresServer("127.0.0.1", port, "egov", PASSWORD)
    finally:
        subprocess.run(
            [*as_user, str(bindir / "pg_ctl"), "-D", str(data), "-m", "immediate", "stop"], capture_output=True, env=env
        )
        shutil.rmtree(tmp, ignore_errors=True)
