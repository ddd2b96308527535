"""Output: `--json` puts only JSON on stdout; a table is drawn with colour on a terminal,
without colour under NO_COLOR, and as plain tab-separated lines when stdout is not a
terminal."""

import json
import re

from fibe_access.resources.models import Playspec
from tests.support.factories import resource_make

from .conftest import ANSI

COLOUR = re.compile(r"\x1b\[[0-9;]*(3[0-7]|9[0-7]|38;[0-9;]+)m")  # a foreground colour
BOX = re.compile(r"[─━│┃]")


def test_json_is_all_there_is_on_stdout(fibe, make_token, owner):
    resource_make(Playspec, owner, name="one")
    fibe.login(make_token("playspecs:read"))

    for args in (("playspecs", "list"), ("whoami",), ("auth", "status")):
        result = fibe(*args, "--json")
        assert result.code == 0, result
        json.loads(result.out)  # nothing else on stdout
    page = json.loads(fibe("playspecs", "list", "--json").out)
    assert set(page) == {"items", "count", "count_exact", "limit", "offset", "next"}


def test_not_a_terminal_prints_plain_tab_separated_lines(fibe, make_token, owner):
    spec = resource_make(Playspec, owner, name="plain one")
    fibe.login(make_token("playspecs:read"))

    listed = fibe("playspecs", "list")
    one = fibe("playspecs", "get", str(spec.pk))

    assert listed.code == 0 and one.code == 0
    for text in (listed.out, one.out):
        assert not ANSI.search(text) and not BOX.search(text)
    header, row = listed.out.splitlines()
    assert header.split("\t")[:2] == ["id", "name"]
    assert row.split("\t")[:2] == [str(spec.pk), "plain one"]
    assert "name\tplain one" in one.out.splitlines()


def test_a_terminal_gets_a_coloured_table_and_no_color_turns_colour_off(fibe, make_token, owner):
    resource_make(Playspec, owner, name="on screen")
    fibe.login(make_token("playspecs:read"))

    coloured = fibe.terminal("playspecs", "list")
    plain = fibe.terminal("playspecs", "list", env={"NO_COLOR": "1"})

    assert coloured.code == 0 and plain.code == 0
    for shown in (coloured, plain):
        assert "on screen" in shown.out and BOX.search(shown.out)
    assert COLOUR.search(coloured.out)
    assert not COLOUR.search(plain.out)
