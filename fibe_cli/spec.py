"""The command spec, ``spec.json``: every API operation as ``scripts/clispec.py`` generated it
from the operation registry (group, action, method, path, scope, inputs and answer)."""

from __future__ import annotations

import functools
import json
from importlib import resources


@functools.cache
def load() -> dict:
    return json.loads(resources.files(__package__).joinpath("spec.json").read_text("utf-8"))


def operation(name: str) -> dict:
    return next(op for op in load()["operations"] if op["name"] == name)
