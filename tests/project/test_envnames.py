"""Environment names carry their unit and match the setting they set; the names they had
before still work, with a warning (fibe_access/envnames.py)."""

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from fibe_access import envnames

ROOT = Path(__file__).resolve().parents[2]
TIMED = re.compile(r"TIMEOUT|TTL|WAIT|AFTER|WINDOW|BUDGET|RETENTION|EXPIRY_NOTICE|MAX_AGE|LOCKOUT")


def setting_in_fresh_process(name: str, **env: str) -> subprocess.CompletedProcess:
    clean = {k: v for k, v in os.environ.items() if k not in envnames.RENAMED}
    return subprocess.run(
        [sys.executable, "-c", f"from django.conf import settings; print(settings.{name})"],
        env={**clean, "DJANGO_SETTINGS_MODULE": "fibe_access.settings_test", **env},
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )


def test_every_timed_environment_name_says_its_unit():
    source = (ROOT / "fibe_access" / "settings.py").read_text()
    names = re.findall(r'(?:env\.int|env\.float|duration)\(\s*"([A-Z0-9_]+)"', source)
    timed = [n for n in names if TIMED.search(n)]
    assert timed, "the pattern no longer finds the settings' environment names"
    assert [n for n in timed if not n.endswith(("_SECONDS", "_HOURS", "_DAYS"))] == []


def test_the_new_name_sets_the_setting():
    answer = setting_in_fresh_process("WEBHOOKS_READ_TIMEOUT", WEBHOOKS_READ_TIMEOUT_SECONDS="7")

    assert answer.stdout.strip() == "7.0"
    assert "FutureWarning" not in answer.stderr


def test_the_old_name_still_works_and_warns_with_the_new_one():
    answer = setting_in_fresh_process("STEP_UP_WINDOW", STEP_UP_WINDOW="90")

    assert answer.stdout.strip() == "0:01:30"
    assert "STEP_UP_WINDOW is now STEP_UP_WINDOW_SECONDS" in answer.stderr


def test_the_new_name_wins_over_the_old_one():
    answer = setting_in_fresh_process(
        "WEBHOOKS_LISTEN_TTL", WEBHOOKS_LISTEN_TTL="5", WEBHOOKS_LISTEN_TTL_SECONDS="45"
    )

    assert answer.stdout.strip() == "45"


@pytest.mark.parametrize("old, new", sorted(envnames.RENAMED.items()))
def test_every_new_name_is_read_by_the_settings(old, new):
    assert f'"{new}"' in (ROOT / "fibe_access" / "settings.py").read_text()
