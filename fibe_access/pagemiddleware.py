"""The page middleware, scoped to pages: each class here is a Django middleware that behaves
exactly like the one it wraps, except that requests to the token-authenticated API (paths under
``API_PREFIXES``) pass straight through it, hooks included.

An API request is authenticated by its Bearer key alone: it has no use for a session, a CSRF
token, ``request.user``, a second factor, messages, a step-up redirect or a sign-in lockout
page, and never reading the session cookie there keeps it so (a request with a session cookie
and no key is refused with 401). What protects a JSON answer still applies to the API: the
SecurityMiddleware (HSTS, nosniff, referrer policy, the HTTPS redirect), X-Frame-Options, and a
fixed, strict Content-Security-Policy (``ApiHeaders``) in place of the pages' policy."""

from __future__ import annotations

from functools import partial

from django.utils.module_loading import import_string

# The API's URL prefixes (path_info). "/api/" covers /api/v1/ and its JSON 404 for unknown paths;
# the API's documentation is an HTML page (Swagger UI) and stays a page, under the pages' policy.
# The MCP server (/mcp, /mcp/readonly) is authenticated by the same Bearer keys alone.
API_PREFIXES = ("/api/", "/mcp/")
API_PATHS = ("/mcp",)
PAGES_UNDER_API = ("/api/v1/docs",)
API_CSP = "default-src 'none'; frame-ancestors 'none'; base-uri 'none'; form-action 'none'"
HOOKS = ("process_view", "process_exception", "process_template_response")


def is_api(request) -> bool:
    path = request.path_info
    if path in API_PATHS:
        return True
    return path.startswith(API_PREFIXES) and not path.startswith(PAGES_UNDER_API)


class _PagesOnly:
    """Base of the wrappers below; ``wrapped`` is the dotted path of the page middleware."""

    wrapped = ""
    sync_capable = True
    async_capable = False

    def __init__(self, get_response):
        self.get_response = get_response
        self.inner = import_string(self.wrapped)(get_response)  # MiddlewareNotUsed propagates
        for hook in HOOKS:
            if hasattr(self.inner, hook):
                setattr(self, hook, partial(self._hook, getattr(self.inner, hook)))

    def __call__(self, request):
        if is_api(request):
            return self.get_response(request)
        return self.inner(request)

    @staticmethod
    def _hook(hook, request, *args):
        return None if is_api(request) else hook(request, *args)


def _pages_only(dotted: str) -> type[_PagesOnly]:
    """A subclass of the wrapped class too, so checks that look for it (the admin's, axes')
    find it; ``_PagesOnly`` comes first and the wrapped instance does the work."""
    wrapped = import_string(dotted)
    return type(
        wrapped.__name__,
        (_PagesOnly, wrapped),
        {"wrapped": dotted, "__doc__": f"{dotted}, for pages."},
    )


CSPMiddleware = _pages_only("csp.middleware.CSPMiddleware")
SessionMiddleware = _pages_only("fibe_access.accounts.sessions.SessionMiddleware")
CsrfViewMiddleware = _pages_only("django.middleware.csrf.CsrfViewMiddleware")
AuthenticationMiddleware = _pages_only("django.contrib.auth.middleware.AuthenticationMiddleware")
OTPMiddleware = _pages_only("django_otp.middleware.OTPMiddleware")
MessageMiddleware = _pages_only("django.contrib.messages.middleware.MessageMiddleware")
StepUpMiddleware = _pages_only("fibe_access.accounts.middleware.StepUpMiddleware")
AxesMiddleware = _pages_only("axes.middleware.AxesMiddleware")


class ApiHeaders:
    """The API's fixed Content-Security-Policy (a JSON answer loads nothing and is framed
    nowhere), set once instead of the pages' policy being built for every answer."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        response = self.get_response(request)
        if is_api(request):
            response.headers.setdefault("Content-Security-Policy", API_CSP)
        return response
