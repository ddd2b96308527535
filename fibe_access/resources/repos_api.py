"""/api/v1/repos/{id}/…: push files as one commit, list and read files, list commits (the
repos family's list, create, get, update and delete come from ``resources.api`` like every
family's)."""

from __future__ import annotations

from typing import Annotated

from ninja import Schema
from pydantic import AfterValidator, AwareDatetime, Field, StringConstraints, WithJsonSchema
from pydantic_core import PydanticCustomError

from fibe_access.api.bodies import NO_NUL, NON_BLANK, In
from fibe_access.api.errors import found
from fibe_access.api.operations import Restriction, operation
from fibe_access.api.pagination import OffsetPageIn, PageIn, page_of, paginate

from . import repos, selectors
from .models import Repository

Content = Annotated[str, StringConstraints(max_length=repos.MAX_FILE_CHARS, pattern=NO_NUL)]
PATH_HELP = (
    f"A path has 1 to {repos.MAX_PATH} characters: relative, '/'-separated, without empty, '.' "
    "or '..' parts, control characters or backslashes."
)
PATH_SCHEMA = {
    "type": "string",
    "minLength": 1,
    "maxLength": repos.MAX_PATH,
    "pattern": repos.PATH_PATTERN,
}


def _valid_path(path: str) -> str:
    problem = repos.check_path(path)
    if problem:
        raise PydanticCustomError("path", f"{problem[0].upper()}{problem[1:]}.")
    return path


# checked by ``check_path`` (its message), said by PATH_PATTERN (the same rule)
Path = Annotated[str, AfterValidator(_valid_path), WithJsonSchema(PATH_SCHEMA)]


def _path_names(schema: dict) -> None:
    """The keys of ``files`` are paths: said with ``propertyNames`` (a pattern and a length;
    pydantic would give the pattern alone, as ``patternProperties``, which lets other keys
    through), each value a file's content or null."""
    patterned = schema.pop("patternProperties", None)
    if patterned:
        (schema["additionalProperties"],) = patterned.values()
    schema["propertyNames"] = {k: v for k, v in PATH_SCHEMA.items() if k != "type"}


class PushIn(In):
    message: str = Field(..., min_length=1, max_length=1000, pattern=NON_BLANK)
    files: dict[Path, Content | None] = Field(
        ...,
        min_length=1,
        max_length=repos.MAX_FILES_PER_PUSH,
        description="path → content; null removes the path. A file holds at most "
        f"{repos.MAX_FILE_CHARS} characters; a repository at most "
        f"{repos.MAX_REPO_FILES} files and {repos.MAX_REPO_BYTES // (1024 * 1024)} MiB. "
        + PATH_HELP,
        json_schema_extra=_path_names,
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
    path: Path = Field(..., description=PATH_HELP)


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
