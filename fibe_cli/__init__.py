"""`fibe`: the command line client of the Fibe API.

It talks to ``/api/v1/`` over HTTP only and imports no Django: its commands are built from
``spec.json``, which ``scripts/clispec.py`` generates from the operation registry. Shared with
the server are only pure modules (``webhooks.signing``), so signer and verifier cannot drift."""
