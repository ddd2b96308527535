"""The one django-ninja instance: /api/v1/. Each app contributes its routers."""

from ninja import NinjaAPI

api = NinjaAPI(
    title="Fibe API",
    version="1",
    description="Token-authenticated JSON API. Send `Authorization: Bearer <token>` with a key "
    "from Profile → API Keys. Each operation names the scope it needs.",
    urls_namespace="api",
)
