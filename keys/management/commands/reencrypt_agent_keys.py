"""Re-encrypt every agent key's stored token under the current API_KEY_ENCRYPTION_KEY.

Rotate the encryption key by setting the new one as API_KEY_ENCRYPTION_KEY, moving the old one to
API_KEY_ENCRYPTION_OLD_KEYS, running this command, then dropping the old key."""

from django.core.management.base import BaseCommand, CommandError

from fibe_access import keyring
from fibe_access.accounts.actor import Actor, Source
from keys.services import keys_reencrypt


class Command(BaseCommand):
    help = "Re-encrypt every agent key's stored token under the current encryption key."

    def handle(self, *args, **opts):
        result = keys_reencrypt(actor=Actor(user=None, source=Source.CLI))
        self.stdout.write(
            f"Current key id {keyring.current_key_id()}: re-encrypted {result['reencrypted']}, "
            f"already current {result['already_current']}, "
            f"undecryptable {len(result['undecryptable'])}."
        )
        if result["undecryptable"]:
            raise CommandError(
                "No configured key opens the agent keys with id "
                f"{', '.join(map(str, result['undecryptable']))}: add the key they were "
                "encrypted with to API_KEY_ENCRYPTION_OLD_KEYS and run again, or rotate them."
            )
