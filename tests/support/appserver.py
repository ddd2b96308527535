"""The project as a real server process for tests that talk to it over HTTP (the reliability
suite, the CLI, the MCP client): gunicorn on a free loopback port in its own process group,
stopped by its PID by the fixture that started it."""

from __future__ import annotations

import os
from pathlib import Path

from tests.support.servers import VENV_BIN, ProcessGroup, database_url, free_port


def server_env(redis_url: str, **extra) -> dict:
    return {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "fibe_access.settings_test",
        "DATABASE_URL": database_url(),
        "REDIS_URL": redis_url,
        "WEBHOOKS_ALLOW_PRIVATE_TARGETS": "1",
        "LOG_LEVEL": "WARNING",
        **{k: str(v) for k, v in extra.items()},
    }


class AppServer(ProcessGroup):
    """The project under gunicorn (gthread) on a free loopback port, in its own process group."""

    def __init__(self, *, env: dict, log: Path, workers: int = 2, threads: int = 8):
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        super().__init__(
            [
                str(VENV_BIN / "gunicorn"),
                "fibe_access.wsgi:application",
                "--bind",
                f"127.0.0.1:{self.port}",
                "--workers",
                str(workers),
                "--worker-class",
                "gthread",
                "--threads",
                str(threads),
                "--backlog",
                "256",
                "--timeout",
                "60",
                "--graceful-timeout",
                "5",
                "--log-level",
                "warning",
            ],
            env=env,
            log=log,
        )
        self.await_ready(self._answers, "gunicorn", interval=0.2)

    def _answers(self) -> bool:
        import requests

        try:
            return requests.get(self.url + "/api/v1/openapi.json", timeout=2).status_code == 200
        except requests.RequestException:
            return False
