"""The former name of ``manage.py reencrypt``, kept for scripts: it moves every sealed value
(agent keys and everything else fibe_access.sealed declares), not only agent keys."""

from .reencrypt import Command as Reencrypt


class Command(Reencrypt):
    help = "Alias of `manage.py reencrypt`: " + Reencrypt.help
