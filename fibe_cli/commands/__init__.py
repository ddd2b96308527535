"""Hand-written commands, one module each, found by ``fibe_cli.main.build``: a module defines
``command`` (a Click command or group) and, to sit under a generated group, ``PARENT``."""
