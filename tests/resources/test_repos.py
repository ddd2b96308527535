"""The repos family through REST and MCP: push files as one commit, read them back, bounds,
restrictions, other accounts, and the older repos:write scope accepted as is."""

import json
import re

import pytest
from django.test import Client
from hypothesis import example, given
from hypothesis import strategies as st

from fibe_access.api.operations import REGISTRY
from fibe_access.mcp import tools
from fibe_access.resources import repos
from fibe_access.resources.models import RepoCommit, RepoFile, Repository, ResourceChange
from tests.support.factories import UserFactory, api_key_make, resource_make


@pytest.fixture
def repo(user):
    return resource_make(Repository, user, name="site")


def _push(client, repo, files, message="update"):
    return client.post(
        f"/api/v1/repos/{repo.pk}/push",
        {"message": message, "files": files},
        content_type="application/json",
    )


def test_push_is_one_commit_and_files_read_back(user, repo, api_client):
    _, token = api_key_make(user, "repos:manage")
    client = api_client(token)
    answer = _push(client, repo, {"README.md": "# site", "src/app.py": "print(1)"}, "first")
    assert answer.status_code == 201, answer.content
    assert answer.json()["paths"] == ["README.md", "src/app.py"]
    assert _push(client, repo, {"README.md": "# site v2", "src/app.py": None}).status_code == 201

    files = client.get(f"/api/v1/repos/{repo.pk}/files").json()
    assert [(f["path"], f["size"]) for f in files["items"]] == [("README.md", 9)]
    one = client.get(f"/api/v1/repos/{repo.pk}/file", {"path": "README.md"}).json()
    assert one["content"] == "# site v2"
    gone = client.get(f"/api/v1/repos/{repo.pk}/file", {"path": "src/app.py"})
    assert gone.status_code == 404
    for path in ("a\x00b", "../README.md"):  # no push could store these: the schema says so
        bad = client.get(f"/api/v1/repos/{repo.pk}/file", {"path": path})
        assert bad.status_code == 422 and bad.json()["errors"][0]["field"] == "path", path
    commits = client.get(f"/api/v1/repos/{repo.pk}/commits").json()
    assert [c["message"] for c in commits["items"]] == ["update", "first"]
    assert ResourceChange.objects.filter(object_id=repo.pk, action="push").count() == 2


@pytest.mark.parametrize(
    "files",
    [
        {"../etc/passwd": "x"},
        {"/abs": "x"},
        {"a//b": "x"},
        {"a\\b": "x"},
        {"a\x01b": "x"},
        {"big": "x" * (repos.MAX_FILE_CHARS + 1)},
        {"nul": "a\x00b"},
        {f"f{i}": "x" for i in range(repos.MAX_FILES_PER_PUSH + 1)},
        {},
    ],
)
def test_bad_pushes_are_422_and_change_nothing(files, user, repo, api_client):
    _, token = api_key_make(user, "repos:write")
    answer = _push(api_client(token), repo, files)
    assert answer.status_code == 422, answer.content
    assert answer.json()["errors"][0]["field"].split(".")[0] == "files"  # or files.<path>
    assert not RepoCommit.objects.exists() and not RepoFile.objects.exists()


def test_restricted_key_and_other_accounts(user, repo, api_client):
    other_repo = resource_make(Repository, user, name="other")
    theirs = resource_make(Repository, UserFactory(), name="theirs")
    _, token = api_key_make(user, "repos:manage", restrictions={"repos": [repo.pk]})
    client = api_client(token)
    assert _push(client, repo, {"a.txt": "a"}).status_code == 201
    assert _push(client, other_repo, {"a.txt": "a"}).status_code == 404
    assert _push(client, theirs, {"a.txt": "a"}).status_code == 404
    listed = client.get("/api/v1/repos").json()["items"]
    assert [r["id"] for r in listed] == [repo.pk]
    assert client.post("/api/v1/repos", {"name": "new"}, "application/json").status_code == 403


def test_the_older_repos_write_scope_pushes_but_does_not_read(user, repo, api_client):
    _, token = api_key_make(user, "repos:write")
    client = api_client(token)
    assert _push(client, repo, {"a.txt": "a"}).status_code == 201
    assert client.get(f"/api/v1/repos/{repo.pk}/files").status_code == 403


def _tool(token, name, arguments):
    body = {"jsonrpc": "2.0", "id": 1, "method": "tools/call"}
    body["params"] = {"name": name, "arguments": arguments}
    answer = Client().post(
        "/mcp",
        json.dumps(body),
        content_type="application/json",
        HTTP_AUTHORIZATION=f"Bearer {token}",
        HTTP_ACCEPT="application/json, text/event-stream",
    )
    return answer.json()["result"]


def test_repos_through_mcp_with_restrictions_and_audit(user, repo):
    other_repo = resource_make(Repository, user, name="other")
    key, token = api_key_make(
        user, "mcp:access", "repos:read", "repos:write", restrictions={"repos": [repo.pk]}
    )
    pushed = _tool(token, "repos_push", {"id": repo.pk, "message": "m", "files": {"x.md": "x"}})
    assert not pushed["isError"], pushed
    read = _tool(token, "repos_file", {"id": repo.pk, "path": "x.md"})
    assert read["structuredContent"]["content"] == "x"
    refused = _tool(token, "repos_push", {"id": other_repo.pk, "message": "m", "files": {"y": ""}})
    assert refused["isError"] and refused["structuredContent"]["status"] == 404
    change = ResourceChange.objects.get(object_id=repo.pk, action="push")
    assert (change.source, change.api_key_id) == ("mcp", key.pk)


PATH_CHARS = st.sampled_from(
    ["a", "é", ".", "/", "\\", "\x00", "\x1f", "\x7f", " ", "\n", "\u2028"]
)


@given(st.text(PATH_CHARS, max_size=12) | st.text(max_size=300))
@example("a" * repos.MAX_PATH)
@example("a" * (repos.MAX_PATH + 1))
@example("a/../b")
@example("...")
@example("a\n")
def test_the_path_pattern_says_exactly_what_a_push_accepts(path):
    # the schema's rule (pattern and length, read as JSON Schema reads them: $ is the end)
    said = re.fullmatch(repos.PATH_PATTERN, path) is not None and 1 <= len(path) <= 255
    # is the server's
    assert said == (repos.check_path(path) is None), repr(path)


def test_the_schema_and_the_mcp_tool_say_the_path_rule(client, db):
    schema = client.get("/api/v1/openapi.json").json()["components"]["schemas"]["PushIn"]
    names = schema["properties"]["files"]["propertyNames"]
    assert names == {"minLength": 1, "maxLength": 255, "pattern": repos.PATH_PATTERN}
    tool = tools.input_schema(REGISTRY["repos.push"])["properties"]["files"]
    assert tool["propertyNames"] == names
    assert tools.input_schema(REGISTRY["repos.file"])["properties"]["path"]["pattern"] == (
        repos.PATH_PATTERN
    )
