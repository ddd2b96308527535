"""Repositories: files pushed as one commit (path → content, with a message), read back by
path, listed, and the commits listed. Sizes are bounded so a key cannot fill the database.
Writes take the acting ``Actor`` and leave a ``ResourceChange`` row, as every resource write."""

from __future__ import annotations

from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import QuerySet, Sum

from fibe_access.accounts.actor import Actor

from .models import RepoCommit, RepoFile, Repository, ResourceChange
from .services import _audit

MAX_FILES_PER_PUSH = 100
MAX_FILE_CHARS = 256 * 1024  # characters, as the schema counts (maxLength), not bytes
MAX_REPO_BYTES = 10 * 1024 * 1024
MAX_REPO_FILES = 1000
MAX_PATH = 255
# ``check_path``'s rule as a pattern (JSON Schema and Python read it alike): '/'-separated
# segments, none empty, '.' or '..', no control character or backslash. With 1 to MAX_PATH
# characters it is exact; tests/api/test_repos.py checks both agree.
_CHAR = r"[^\x00-\x1f\x7f\\/]"
_FIRST = r"(?:[^.\x00-\x1f\x7f\\/]|\.[^.\x00-\x1f\x7f\\/]|\.\." + _CHAR + ")"
_SEGMENT = f"{_FIRST}{_CHAR}*"
PATH_PATTERN = f"^{_SEGMENT}(?:/{_SEGMENT})*$"


def check_path(path: str) -> str | None:
    """What is wrong with ``path`` as a file's path, or None: relative, '/'-separated, no
    empty, '.' or '..' segment, no backslash or control character."""
    if not path or len(path) > MAX_PATH:
        return f"a path has 1 to {MAX_PATH} characters"
    if any(ord(c) < 32 or ord(c) == 127 for c in path) or "\\" in path:
        return "a path holds no control characters or backslashes"
    if path.startswith("/") or any(part in ("", ".", "..") for part in path.split("/")):
        return "a path is relative, without empty, '.' or '..' parts"
    return None


def _check_files(files: dict[str, str | None]) -> None:
    if not files:
        raise ValidationError({"files": "Push at least one file."})
    if len(files) > MAX_FILES_PER_PUSH:
        raise ValidationError({"files": f"Push at most {MAX_FILES_PER_PUSH} files at once."})
    for path, content in files.items():
        problem = check_path(path)
        if problem:
            raise ValidationError({"files": f"{path[:80]!r}: {problem}."})
        if content is not None:
            if "\x00" in content:
                raise ValidationError({"files": f"{path!r}: null characters are not allowed."})
            if len(content) > MAX_FILE_CHARS:
                raise ValidationError(
                    {"files": f"{path!r}: a file holds at most {MAX_FILE_CHARS} characters."}
                )


@transaction.atomic
def repo_push(
    *, actor: Actor, repository: Repository, message: str, files: dict[str, str | None]
) -> RepoCommit:
    """One commit setting each path to its content (None removes the path), all or nothing."""
    message = message.strip()
    if not message or "\x00" in message:
        raise ValidationError({"message": "Give a commit message (no null characters)."})
    _check_files(files)
    repository = Repository.objects.select_for_update().get(pk=repository.pk)
    commit = RepoCommit.objects.create(
        repository=repository,
        message=message,
        author=actor.user,
        api_key_id=actor.api_key_id,
        paths=sorted(files),
    )
    for path, content in files.items():
        if content is None:
            RepoFile.objects.filter(repository=repository, path=path).delete()
        else:
            RepoFile.objects.update_or_create(
                repository=repository,
                path=path,
                defaults={"content": content, "size": len(content.encode()), "commit": commit},
            )
    totals = RepoFile.objects.filter(repository=repository).aggregate(size=Sum("size"))
    if (totals["size"] or 0) > MAX_REPO_BYTES:
        raise ValidationError(
            {"files": f"A repository holds at most {MAX_REPO_BYTES // (1024 * 1024)} MiB."}
        )
    if RepoFile.objects.filter(repository=repository).count() > MAX_REPO_FILES:
        raise ValidationError({"files": f"A repository holds at most {MAX_REPO_FILES} files."})
    _audit(actor, repository, ResourceChange.Action.PUSH, ["files", "message"])
    repository.save(update_fields=["updated_at"])
    return commit


def repo_files(*, repository: Repository) -> QuerySet:
    return RepoFile.objects.filter(repository=repository).defer("content").order_by("path")


def repo_file_get(*, repository: Repository, path: str) -> RepoFile | None:
    """The file at ``path``, or None (also for a path no push could have stored, e.g. one
    holding a NUL the database cannot even compare)."""
    if check_path(path) is not None:
        return None
    return RepoFile.objects.filter(repository=repository, path=path).first()


def repo_commits(*, repository: Repository) -> QuerySet:
    return RepoCommit.objects.filter(repository=repository).order_by("-created_at", "-id")
