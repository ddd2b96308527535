"""Rewrite the README's table of MCP tools and their scopes from the operation registry."""

import os
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "fibe_access.settings_test")

import django  # noqa: E402

django.setup()

from fibe_access.mcp import docs  # noqa: E402

print("README.md: " + ("table rewritten" if docs.write() else "table already current"))
