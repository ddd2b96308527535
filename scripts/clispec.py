"""Regenerate fibe_cli/spec.json from the operation registry; --check exits 1 if it is stale.

The spec depends on code only, so this loads the test settings, which need no environment."""

import os
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "fibe_access.settings_test")

import django  # noqa: E402

django.setup()

from fibe_access.api import clispec  # noqa: E402

sys.exit(clispec.main(sys.argv[1:]))
