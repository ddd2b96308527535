"""Where the API URL and key come from. ``FIBE_API_URL`` and ``FIBE_API_KEY`` in the
environment win over the file ``fibe auth login`` writes: one JSON file,
``$XDG_CONFIG_HOME/fibe/config.json`` (default ``~/.config/fibe/``), mode 0600 in a 0700
directory. A stored key is sent only to the URL it was stored for."""

from __future__ import annotations

import ipaddress
import json
import os
import stat
import sys
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

from .errors import AUTH, ERROR, UNREACHABLE, CliError, keep_secret

DEFAULT_URL = "http://127.0.0.1:8000"
FILE_NAME = "config.json"
ENV_URL, ENV_KEY = "FIBE_API_URL", "FIBE_API_KEY"
LOGIN_HINT = "Run `fibe auth login` (or set FIBE_API_KEY, e.g. from a CI secret)."


@dataclass(frozen=True)
class Credentials:
    url: str
    url_source: str  # "FIBE_API_URL", the config file's path, or "default"
    key: str
    key_source: str  # "FIBE_API_KEY", the config file's path, or "standard input"
    kind: str = "API key"  # or "OAuth" (a token from `fibe auth login --web`)

    @property
    def key_hint(self) -> str:
        """What may be shown of the key: its last four characters."""
        return f"…{self.key[-4:]}"


def config_dir() -> Path:
    base = os.environ.get("XDG_CONFIG_HOME", "")
    # The XDG spec: a relative path is invalid and must be ignored.
    root = Path(base) if os.path.isabs(base) else Path.home() / ".config"
    return root / "fibe"


def config_path() -> Path:
    return config_dir() / FILE_NAME


def resolve_url(url: str | None = None, stored: dict | None = None) -> tuple[str, str]:
    """The server and where it came from: ``url`` (given on the command line), then
    FIBE_API_URL, then the stored URL, then the default."""
    stored = read_stored() if stored is None else stored
    if url:
        chosen, source = url, "--url"
    elif os.environ.get(ENV_URL):
        chosen, source = os.environ[ENV_URL], ENV_URL
    elif stored.get("url"):
        chosen, source = stored["url"], str(config_path())
    else:
        chosen, source = DEFAULT_URL, "default"
    return normalise_url(chosen, source), source


def resolve() -> Credentials:
    """The URL and key a command uses. A stored key goes only to the URL it was stored for."""
    from_env = os.environ.get(ENV_URL) and os.environ.get(ENV_KEY)
    stored = {} if from_env else read_stored()  # CI: the file is not even read
    url, url_source = resolve_url(stored=stored)
    key, key_source = os.environ.get(ENV_KEY) or None, ENV_KEY
    if key is None and stored.get("key"):
        stored_url = normalise_url(stored.get("url") or DEFAULT_URL, str(config_path()))
        if stored_url != url:
            raise CliError(
                f"No API key for {url}: the stored key is for {stored_url}.",
                AUTH,
                hint=f"Run `fibe auth login` for {url}, or unset {ENV_URL}.",
            )
        key, key_source = stored["key"], str(config_path())
        if isinstance(stored.get("oauth"), dict):
            return _oauth_credentials(stored, url, url_source)
    if key is None:
        raise CliError(f"No API key for {url}.", AUTH, hint=LOGIN_HINT)
    check_key(key, key_source)
    return Credentials(url, url_source, key, key_source)


REFRESH_BEFORE = 60  # seconds: a token this close to its expiry is refreshed first


def _oauth_credentials(stored: dict, url: str, url_source: str) -> Credentials:
    """A stored OAuth login: its access token, refreshed (and stored again) when it is about
    to expire. The refresh token rotates, so the new pair replaces the old at once."""
    import time

    from . import weblogin

    oauth = stored["oauth"]
    if float(oauth.get("expires_at") or 0) - REFRESH_BEFORE < time.time():
        try:
            fresh = weblogin.refresh(oauth)
        except CliError as exc:
            exc.hint = "Run `fibe auth login --web` again."
            raise
        store(url, fresh["key"], oauth=fresh["oauth"])
        stored = {**stored, **fresh}
    check_key(stored["key"], str(config_path()))
    return Credentials(url, url_source, stored["key"], str(config_path()), kind="OAuth")


def normalise_url(url: str, source: str) -> str:
    url = url.strip().rstrip("/")
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise CliError(
            f"The API URL from {source} is not an http(s) URL: {url[:200]!r}.",
            UNREACHABLE,
            hint=f"Set FIBE_API_URL to the server's address, e.g. {DEFAULT_URL}.",
        )
    if url.endswith("/api/v1"):
        url = url[: -len("/api/v1")]
    return url


def is_loopback(host: str) -> bool:
    """Whether ``host`` is this machine: localhost (and *.localhost, RFC 6761), 127.0.0.0/8,
    ::1, and IPv4 loopback written as an IPv6 address."""
    host = host.strip("[]").rstrip(".").lower()
    if host == "localhost" or host.endswith(".localhost"):
        return True
    try:
        address = ipaddress.ip_address(host.split("%", 1)[0])
    except ValueError:
        return False
    mapped = getattr(address, "ipv4_mapped", None)
    return address.is_loopback or bool(mapped and mapped.is_loopback)


def plain_http_warning(url: str) -> str:
    """A warning when ``url`` would carry the key in the clear off this machine, else ""."""
    parts = urlsplit(url)
    if parts.scheme != "http" or is_loopback(parts.hostname or ""):
        return ""
    return (
        f"warning: sending the API key over plain http:// to {parts.hostname}, which is not "
        "this machine: anyone on the network in between can read and reuse it. Use https://."
    )


def check_key(key: str, source: str) -> None:
    """Refuse a key that could not be sent as a header, without echoing it."""
    keep_secret(key)
    if not key or any(not ("!" <= ch <= "~") for ch in key):
        raise CliError(
            f"The API key from {source} is malformed (empty, or with spaces or control "
            "characters).",
            AUTH,
            hint=LOGIN_HINT,
        )


def read_stored() -> dict:
    path = config_path()
    if not path.exists():
        return {}
    warn_if_widened(path)
    try:
        data = json.loads(path.read_text())
    except (OSError, ValueError) as exc:
        raise CliError(
            f"Cannot read {path} ({type(exc).__name__}).",
            ERROR,
            hint="Run `fibe auth logout`, then `fibe auth login`.",
        ) from None
    return data if isinstance(data, dict) else {}


def warn_if_widened(path: Path) -> None:
    for item, wanted in ((path.parent, 0o700), (path, 0o600)):
        mode = stat.S_IMODE(item.stat().st_mode)
        if mode & 0o077:
            print(
                f"warning: {item} is open to other users (mode {mode:04o}); "
                f"run: chmod {wanted:o} {item}",
                file=sys.stderr,
            )


def store(url: str, key: str, *, oauth: dict | None = None) -> Path:
    """Write the file atomically, created 0600 whatever the umask, in a 0700 directory."""
    folder, path = config_dir(), config_path()
    folder.mkdir(mode=0o700, parents=True, exist_ok=True)
    os.chmod(folder, 0o700)
    tmp = folder / f".{FILE_NAME}.{os.getpid()}.tmp"
    tmp.unlink(missing_ok=True)  # left by an earlier run that was killed
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, 0o600)
    try:
        os.fchmod(fd, 0o600)
        data = {"url": url, "key": key, **({"oauth": oauth} if oauth else {})}
        os.write(fd, (json.dumps(data, indent=1) + "\n").encode())
        os.fsync(fd)
    finally:
        os.close(fd)
    os.replace(tmp, path)
    return path


def remove() -> bool:
    try:
        config_path().unlink()
    except FileNotFoundError:
        return False
    return True
