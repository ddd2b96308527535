"""The API's JSON renderer: orjson, with the same JSON out as django-ninja's renderer.

Whatever orjson would write differently from ``NinjaJSONEncoder`` (datetimes, dates and times,
which Django trims to milliseconds and writes with "Z"; Decimal, pydantic models, URLs, IP
addresses) is handed to that encoder's ``default``, so every value is written as before; both
write TextChoices and IntegerChoices as their values. (A plain Enum with no str or int base, which
no schema here produces, would be written by value where ninja writes ``str(member)``.)
Anything orjson still refuses (an integer wider than 64 bits, say) goes to ninja's renderer."""

from __future__ import annotations

import orjson
from ninja.renderers import JSONRenderer

OPTIONS = orjson.OPT_PASSTHROUGH_DATETIME | orjson.OPT_NON_STR_KEYS


class OrjsonRenderer(JSONRenderer):
    def render(self, request, data, *, response_status: int) -> bytes | str:
        try:
            return orjson.dumps(data, default=self.encoder_class().default, option=OPTIONS)
        except orjson.JSONEncodeError:
            return super().render(request, data, response_status=response_status)
