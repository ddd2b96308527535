"""Install GitHub's secret-scanning public keys, the ones its partner messages are signed with.

    manage.py github_scanning_keys --fetch        # download them from GitHub now
    manage.py github_scanning_keys keys.json      # or from a file you downloaded (- for stdin)

Writes GITHUB_SECRET_SCANNING_KEYS_FILE, which POST /api/v1/secret-scanning/github reads; run it
again (e.g. daily from cron) when GitHub rotates its keys. Messages are never checked against
the network."""

import sys

import requests
from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from keys import github_scanning


class Command(BaseCommand):
    help = "Install GitHub's secret-scanning public keys (from a file, stdin or --fetch)."

    def add_arguments(self, parser):
        parser.add_argument("source", nargs="?", help="GitHub's keys JSON; - reads stdin")
        parser.add_argument(
            "--fetch", action="store_true", help=f"download them from {github_scanning.KEYS_URL}"
        )

    def handle(self, *args, source=None, fetch=False, **opts):
        if fetch == bool(source):
            raise CommandError("Give a file (or - for stdin), or --fetch.")
        if fetch:
            try:
                response = requests.get(github_scanning.KEYS_URL, timeout=15)
                response.raise_for_status()
            except requests.RequestException as exc:
                raise CommandError(f"Could not download GitHub's keys: {exc}") from None
            document = response.content
        elif source == "-":
            document = sys.stdin.buffer.read()
        else:
            try:
                with open(source, "rb") as handle:
                    document = handle.read()
            except OSError as exc:
                raise CommandError(f"Cannot read {source}: {exc.strerror}") from None
        try:
            ids = github_scanning.install(document)
        except github_scanning.KeysInvalid as exc:
            raise CommandError(f"Not installed: {exc}") from None
        self.stdout.write(
            f"Installed {len(ids)} GitHub secret-scanning key{'s' if len(ids) != 1 else ''} in "
            f"{settings.GITHUB_SECRET_SCANNING_KEYS_FILE}: {', '.join(ids)}"
        )
