"""Mounting the API site: ``mounted("api/v1/", api)`` in place of ``path("api/v1/", api.urls)``.

Django resolves a path by trying an include's patterns in order, and lists every one it passed
over in the match's ``tried`` (two small lists each, kept alive with the request until the
garbage collector frees them). The API has a pattern per path, so ``GET /api/v1/webhooks/…``
walked some fifty patterns first. ``SegmentResolver`` tries only the patterns that could match a
path's first segment (``playgrounds`` for ``playgrounds/7``), in their declared order, so an
operation costs the same to reach wherever the registry lists it. Reversing a name is Django's,
over every pattern."""

from __future__ import annotations

from django.urls import URLResolver
from django.urls.resolvers import RoutePattern


class SegmentResolver(URLResolver):
    """A URLResolver that resolves through the patterns of the path's first segment only: those
    whose route starts with that literal segment, and those whose first segment is not literal
    (a converter or a regular expression), which every segment keeps, in declared order."""

    def resolve(self, path):
        path = str(path)
        match = self.pattern.match(path)
        if not match:
            return super().resolve(path)  # Resolver404, as Django words it
        segment = match[0].partition("/")[0]
        groups = self._segment_groups()
        return groups.get(segment, groups[None]).resolve(path)

    def _segment_groups(self) -> dict[str | None, URLResolver]:
        groups = self.__dict__.get("_groups")
        if groups is None:
            patterns = list(self.url_patterns)
            firsts = list(zip(patterns, map(_literal_first_segment, patterns), strict=True))
            names = {f for _, f in firsts if f is not None}
            groups = {
                name: self._narrowed([p for p, f in firsts if f in (name, None)])
                for name in [*names, None]
            }
            self.__dict__["_groups"] = groups
        return groups

    def _narrowed(self, patterns: list) -> URLResolver:
        return URLResolver(
            self.pattern,
            patterns,
            self.default_kwargs,
            app_name=self.app_name,
            namespace=self.namespace,
        )


def _literal_first_segment(pattern) -> str | None:
    """The first segment of a ``path()`` route when it is literal text, else None."""
    if not isinstance(pattern.pattern, RoutePattern):
        return None
    first = str(pattern.pattern).partition("/")[0]
    return None if "<" in first else first


def mounted(prefix: str, api) -> SegmentResolver:
    """The django-ninja ``api`` at ``prefix`` ("api/v1/"), as ``path(prefix, api.urls)``
    would mount it."""
    patterns, app_name, namespace = api.urls
    return SegmentResolver(
        RoutePattern(prefix, is_endpoint=False), patterns, app_name=app_name, namespace=namespace
    )
