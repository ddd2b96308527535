"""The local env file (``.env`` at the repository root unless ``FIBE_ENV_FILE`` names another).

``make run`` writes it on first run with the embedded default (debug on, a generated secret
key, the SQLite file and the embedded Redis socket), and the settings read it, so every
``manage.py`` and ``celery`` command typed in another terminal shares the running app's
database and broker. Variables exported in a shell win over the file. ``FIBE_ENV_FILE=""``
reads no file: the test settings set it, so a developer's ``.env`` never reaches the suite.
A production deployment has no such file, and keeps its strict defaults.
"""

from __future__ import annotations

import os
from pathlib import Path

import environ

BASE_DIR = Path(__file__).resolve().parent.parent


def env_file() -> Path | None:
    value = os.environ.get("FIBE_ENV_FILE", str(BASE_DIR / ".env"))
    return Path(value) if value else None


def read(path: Path) -> dict[str, str]:
    """The file's variables (none for an absent file), parsed as the settings parse them,
    without touching the environment."""
    if not path.is_file():
        return {}

    class Parsed(environ.Env):
        ENVIRON: dict[str, str] = {}  # read_env writes here, not into os.environ

    Parsed.read_env(path)
    return dict(Parsed.ENVIRON)


def load() -> Path | None:
    """Read the env file into ``os.environ``; exported variables keep their values."""
    path = env_file()
    if path is None or not path.is_file():
        return None
    environ.Env.read_env(path)
    return path


def add_missing(path: Path, values: dict[str, str], header: str) -> list[str]:
    """Append the variables ``path`` does not set yet (all of them, with ``header``, to a new
    file, created readable by its owner only). Returns the names written."""
    present = read(path)
    missing = {name: value for name, value in values.items() if name not in present}
    if not missing:
        return []
    path.parent.mkdir(parents=True, exist_ok=True)
    new = not path.exists()
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
    with os.fdopen(fd, "a", encoding="utf-8") as file:
        if new:
            file.write(header)
        elif (text := path.read_text(encoding="utf-8")) and not text.endswith("\n"):
            file.write("\n")  # a hand-edited file may end mid-line
        file.writelines(f"{name}={value}\n" for name, value in missing.items())
    return list(missing)
