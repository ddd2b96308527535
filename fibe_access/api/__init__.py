"""The API layer, /api/v1/.

- ``operations``: ``operation(...)``, the one way to declare an operation, its registry, and
  ``run`` / ``invoke``, the one way to run one (REST and MCP alike).
- ``caller``: who calls (the key, the Actor for services, the key's restrictions).
- ``errors``: the ApiError family and the one mapping of exceptions to answers.
- ``site``: the NinjaAPI instance mounting every operation (imported only by ``urls.py``).
"""
