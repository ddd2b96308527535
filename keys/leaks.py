"""Leaked keys (issue 24): a token reported as exposed — by anyone through the public
revocation endpoint, or by GitHub's secret scanning — is revoked at once, from its commit on in
every process (``keys.cache``), its owner is told once per report and the security log says
"revoked: reported as leaked".

``keys_revoke_reported`` never says which tokens it revoked to the reporter (the endpoints
answer the same whatever they were) and never reaches the database for a token whose shape or
checksum is wrong (``tokens.is_well_formed``)."""

from __future__ import annotations

import ipaddress
from collections import defaultdict
from dataclasses import dataclass, field

from django.conf import settings
from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from fibe_access.accounts import ratelimit
from fibe_access.accounts.actor import Actor
from fibe_access.accounts.models import SecurityEvent
from fibe_access.accounts.notices import notice_send
from fibe_access.accounts.securitylog import security_log

from . import cache, tokens
from .models import ApiKey

REASON = "reported as leaked"
PUBLIC_ENDPOINT = "the public revocation endpoint"
# Actor sources of the two doors (a security-log row's detail names it).
FROM_PUBLIC, FROM_GITHUB = "leak-report", "github-secret-scanning"


@dataclass(frozen=True)
class Report:
    """One reported token and where it was found (a URL) or reported from."""

    token: str
    where: str


@dataclass
class Outcome:
    revoked: list[ApiKey] = field(default_factory=list)  # revoked by this report
    known: set[str] = field(default_factory=set)  # digests of reported tokens that are ours


def well_formed(reports: list[Report]) -> dict[str, Report]:
    """The reports whose token has our shape and checksum, by digest (the first of repeats).
    Pure: no database, no network."""
    out: dict[str, Report] = {}
    for report in reports:
        if tokens.is_well_formed(report.token):
            out.setdefault(tokens.digest(report.token), report)
    return out


def keys_revoke_reported(*, actor: Actor, reports: list[Report]) -> Outcome:
    """Revoke every active key whose token is reported; tell each owner once (on commit).

    Tokens that fail the checksum are dropped before any query; the rest cost one query to
    find, one to lock and revoke what is active, and a security-log row per revoked key."""
    candidates = well_formed(reports)
    outcome = Outcome()
    if not candidates:
        return outcome
    with transaction.atomic():
        # a token replaced by an overlapping rotation still works, so it is found too
        found = ApiKey.objects.filter(
            Q(digest__in=list(candidates)) | Q(previous_digest__in=list(candidates))
        )
        outcome.known = {
            digest for pair in found.values_list("digest", "previous_digest") for digest in pair
        } & set(candidates)
        active = list(
            found.select_for_update(of=("self",))
            .select_related("owner")
            .filter(status=ApiKey.Status.ACTIVE)
            .order_by("pk")
        )
        if not active:
            return outcome
        digests = [d for k in active for d in (k.digest, k.previous_digest) if d]
        for digest in digests:
            cache.change_begin(digest)
        ApiKey.objects.filter(pk__in=[k.pk for k in active]).update(
            status=ApiKey.Status.REVOKED,
            encrypted_token="",
            previous_digest="",
            previous_last4="",
            previous_expires_at=None,
        )
        reported = {
            k.pk: candidates.get(k.digest, candidates.get(k.previous_digest)).where for k in active
        }
        for key in active:
            key.status, key.encrypted_token = ApiKey.Status.REVOKED, ""
            where = reported[key.pk]
            security_log(
                actor=actor,
                user=key.owner,
                kind=SecurityEvent.Kind.KEY_REVOKED,
                label=key.label,
                key_id=key.pk,
                reason=REASON,
                reported_from=where,
            )
        transaction.on_commit(lambda: _after_commit(digests, active, reported))
    outcome.revoked = active
    return outcome


def _after_commit(digests: list[str], keys: list[ApiKey], where: dict[int, str]) -> None:
    for digest in digests:
        cache.change_done(digest)
    by_owner: dict[int, list[ApiKey]] = defaultdict(list)
    for key in keys:
        by_owner[key.owner_id].append(key)
    for owned in by_owner.values():
        _tell_owner(owned, where)


def _tell_owner(keys: list[ApiKey], where: dict[int, str]) -> None:
    owner = keys[0].owner
    lines = "\n".join(
        f"  - “{k.label}” (fibe_…{k.last4}), reported from {where[k.pk]}" for k in keys
    )
    many = len(keys) > 1
    body = (
        f"{'These API keys were' if many else 'This API key was'} reported as exposed and "
        f"{'have' if many else 'has'} been revoked ({timezone.now():%Y-%m-%d %H:%M} UTC):\n\n"
        f"{lines}\n\n"
        f"Every request made with {'them' if many else 'it'} now fails with 401. If a script, "
        "CI job or agent still needs access, create a new key in Profile → API Keys, give it "
        "only the scopes it needs, and keep the token out of code and logs: remove the old one "
        "from where it was found.\n\nThe revocation is in your security log (Profile → Security)."
    )
    notice_send(
        user=owner,
        subject=f"Fibe: {'API keys' if many else 'an API key'} reported as leaked and revoked",
        body=body,
        about=f"key-leak:{keys[0].pk}",  # a key is revoked once: one notice per report
    )


def client_bucket(ip: str | None) -> str:
    """What the per-client limit counts: the address, or its /64 for IPv6."""
    try:
        address = ipaddress.ip_address(ip or "")
    except ValueError:
        return "unknown"
    if address.version == 6:
        return str(ipaddress.ip_network(f"{address}/64", strict=False))
    return str(address)


def report_allowed(ip: str | None) -> bool:
    """Count one report from this client; False once it is past its limit this minute."""
    return ratelimit.hit(
        f"leak-report:{client_bucket(ip)}",
        limit=settings.LEAK_REPORTS_PER_IP_MINUTE,
        window=60,
    )
