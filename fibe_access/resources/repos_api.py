"""/api/v1/repos/{id}/…: push files as one commit, list and read files, list commits (the
repos family's list, create, get, update and delete come from ``resources.api`` like every
family's)."""

from __future__ import annotations

from typing import Annotated

from ninja import Schema
from pydantic import AwareDatetime, Field, StringConstraints

from fibe_access.api.bodies import NO_NUL, NON_BLANK, In
from fibe_access.api.errors import found
from fibe_access.api.operations import Restriction, operation
from fibe_access.api.pagination import OffsetPageIn, PageIn, page_of, paginate

from . import repos, selectors
from .models import Repository

Content = Annotated[str, StringConstraints(max_length=repos.MAX_FILE_BYTES, pattern=NO_NUL)]


class PushIn(In):
    message: str = Field(..., min_length=1, max_length=1000, pattern=NON_BLANK)
    files: dict[str, Content | None] = Field(
        ...,
        min_length=1,
        max_length=repos.MAX_FILES_PER_PUSH,
        description="path → content; null removes the path. A file holds at most "
        f"{repos.MAX_FILE_BYTES // 1024} KiB of UTF-8; a repository at most "
        f"{repos.MAX_REPO_FILES} files and {repos.MAX_REPO_BYTES // (1024 * 1024)} MiB. A path "
        f"has 1 to {repos.MAX_PATH} characters.",
    )


class CommitOut(Schema):
    id: int
    message: str
    paths: list[str]
    created_at: AwareDatetime


class FileEntry(Schema):
    path: str
    size: int
    commit_id: int


class FileOut(FileEntry):
    content: str


class FileQuery(Schema):
    path: str = Field(..., min_length=1, max_length=repos.MAX_PATH)


def _repo(caller, pk: int) -> Repository:
    return found(selectors.resource_get(model=Repository, owner_id=caller.key.owner_id, pk=pk))


@operation(
    "repos.push",
    "POST",
    "/repos/{id}/push",
    scope="repos:write",
    body=PushIn,
    status=201,
    response=CommitOut,
    restriction=Restriction.ITEM,
    summary="Push files to a repository as one commit",
)
def repo_push(caller, *, id, body):
    return repos.repo_push(
        actor=caller.actor, repository=_repo(caller, id), message=body.message, files=body.files
    )


@operation(
    "repos.files",
    "GET",
    "/repos/{id}/files",
    scope="repos:read",
    query=OffsetPageIn,  # at most MAX_REPO_FILES: offsets stay shallow
    response=page_of(FileEntry, "RepoFilePage", cursor=False),
    restriction=Restriction.ITEM,
    summary="List a repository's files",
)
def repo_files(caller, *, id, query):
    return paginate(repos.repo_files(repository=_repo(caller, id)), query)


@operation(
    "repos.file",
    "GET",
    "/repos/{id}/file",
    scope="repos:read",
    query=FileQuery,
    response=FileOut,
    restriction=Restriction.ITEM,
    summary="Read one file of a repository",
)
def repo_file(caller, *, id, query):
    return found(repos.repo_file_get(repository=_repo(caller, id), path=query.path))


@operation(
    "repos.commits",
    "GET",
    "/repos/{id}/commits",
    scope="repos:read",
    query=PageIn,
    response=page_of(CommitOut, "RepoCommitPage"),
    restriction=Restriction.ITEM,
    summary="List a repository's commits, newest first",
)
def repo_commits(caller, *, id, query):
    return paginate(repos.repo_commits(repository=_repo(caller, id)), query)
