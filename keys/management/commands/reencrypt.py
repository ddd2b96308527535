"""Re-encrypt every sealed value (fibe_access.sealed.SEALED: agent keys' tokens, Secret values,
and whatever else is declared there) under the current API_KEY_ENCRYPTION_KEY.

Rotate the encryption key by setting the new one as API_KEY_ENCRYPTION_KEY, moving the old one to
API_KEY_ENCRYPTION_OLD_KEYS, running this command, then dropping the old key."""

from django.core.management.base import BaseCommand, CommandError

from fibe_access import keyring
from fibe_access.accounts.actor import Actor, Source
from fibe_access.sealed import sealed_reencrypt


class Command(BaseCommand):
    help = "Re-encrypt every sealed value (agent keys, Secret values, …) under the current key."

    def handle(self, *args, **opts):
        results = sealed_reencrypt(actor=Actor(user=None, source=Source.CLI))
        self.stdout.write(f"Current key id {keyring.current_key_id()}.")
        stuck = []
        for name, result in results.items():
            self.stdout.write(
                f"{name}: re-encrypted {result['reencrypted']}, "
                f"already current {result['already_current']}, "
                f"undecryptable {len(result['undecryptable'])}."
            )
            if result["undecryptable"]:
                stuck.append(f"{name} with id {', '.join(map(str, result['undecryptable']))}")
        if stuck:
            raise CommandError(
                f"No configured key opens {'; '.join(stuck)}: add the key they were encrypted "
                "with to API_KEY_ENCRYPTION_OLD_KEYS and run again, or replace them (rotate an "
                "agent key, set a Secret's value anew)."
            )
