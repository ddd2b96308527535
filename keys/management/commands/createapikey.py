"""Bootstrap a key from a server shell (e.g. for CI), through the same service as the pages."""

from datetime import UTC, datetime, time

from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError

from fibe_access.accounts.actor import Actor, Source
from keys import scopes
from keys.services import key_create


def _restriction(value: str) -> tuple[str, int]:
    family, sep, raw_id = value.partition(":")
    if not sep or not raw_id.isdigit():
        raise CommandError(f"--restrict takes FAMILY:ID, e.g. playspecs:42 (got {value!r}).")
    return family, int(raw_id)


class Command(BaseCommand):
    help = "Create an API key for an account and print its token once."

    def add_arguments(self, parser):
        parser.add_argument("email")
        parser.add_argument("--label", required=True)
        parser.add_argument(
            "--scope",
            action="append",
            required=True,
            dest="scopes",
            help=f"Repeatable. One of: {', '.join(scopes.OFFERED)}",
        )
        parser.add_argument(
            "--restrict",
            action="append",
            default=[],
            metavar="FAMILY:ID",
            help="Repeatable. Narrow a scope's family to resource IDs.",
        )
        parser.add_argument(
            "--expires", metavar="YYYY-MM-DD", help="Expire at the end of this day (UTC)."
        )
        parser.add_argument(
            "--agent",
            action="store_true",
            help="An agent key: also stored encrypted so it can be revealed.",
        )

    def handle(self, *args, **opts):
        User = get_user_model()  # noqa: N806
        try:
            owner = User.objects.get_by_natural_key(opts["email"].strip())
        except User.DoesNotExist:
            raise CommandError(f"No account with e-mail {opts['email']!r}.") from None
        if not owner.is_active:
            raise CommandError(f"The account {owner.email} is deactivated.")
        expires_at = None
        if opts["expires"]:
            try:
                day = datetime.strptime(opts["expires"], "%Y-%m-%d").date()  # noqa: DTZ007
            except ValueError:
                raise CommandError("--expires takes a date as YYYY-MM-DD.") from None
            expires_at = datetime.combine(day, time.max, tzinfo=UTC)
        restrictions: dict[str, list[int]] = {}
        for family, pk in map(_restriction, opts["restrict"]):
            restrictions.setdefault(family, []).append(pk)
        try:
            key, token = key_create(
                actor=Actor(user=None, source=Source.CLI),
                owner=owner,
                label=opts["label"],
                scope_names=opts["scopes"],
                expires_at=expires_at,
                restrictions=restrictions,
                is_agent=opts["agent"],
            )
        except ValidationError as exc:
            raise CommandError(
                "; ".join(f"{field}: {' '.join(msgs)}" for field, msgs in exc.message_dict.items())
            ) from None
        self.stderr.write(
            f"Created key {key.label!r} (id {key.pk}) for {owner.email}. The token is shown once:"
        )
        self.stdout.write(token)
