"""The API layer, /api/v1/, by job:

- ``operations``: ``operation(...)``, the one way to declare an operation, and its registry.
- ``run``: ``run``, the one way to run one (REST and MCP alike), ``refusal`` and ``conceal``.
- ``invoke``: running one from raw JSON inputs without an HttpRequest (the MCP face).
- ``rest``: the django-ninja adapter (a view per operation).
- ``pagination``: ``PageIn``, ``page_of``, ``paginate``.
- ``caller``: who calls (the key, the Actor for services, the key's restrictions).
- ``bodies``: bounds on what a request may send; a body is a JSON object.
- ``errors``: the ApiError family and the one mapping of exceptions to answers.
- ``site``: the NinjaAPI instance mounting every operation (imported only by ``urls.py``).
- ``clispec``: the `fibe` CLI's spec, generated from the registry.
"""
