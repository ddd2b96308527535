"""What a key's page shows of its activity (issue 24): the filter form and the usage picture, a
server-drawn SVG of requests per hour over seven days with failures stacked on successes (no
script, no inline style: only SVG attributes and the site's stylesheet, within the CSP)."""

from __future__ import annotations

from dataclasses import dataclass

from django import forms

from fibe_access.api.operations import REGISTRY

from .activity_model import KeyActivity
from .activity_selectors import OUTCOMES, Hour

BAR, GAP = 4, 1  # width of an hour's bar and the gap after it
PLOT_HEIGHT, AXIS_HEIGHT, LEFT = 120, 22, 34


class ActivityFilterForm(forms.Form):
    door = forms.ChoiceField(
        label="Door", required=False, choices=[("", "Any door"), *KeyActivity.Door.choices]
    )
    outcome = forms.ChoiceField(
        label="Status", required=False, choices=[("", "Any status"), *OUTCOMES.items()]
    )
    operation = forms.ChoiceField(label="Operation", required=False)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        names = sorted(REGISTRY)
        self.fields["operation"].choices = [("", "Any operation"), *((n, n) for n in names)]

    def filters(self) -> dict[str, str]:
        """The chosen filters (none when the form is not valid)."""
        if not self.is_bound or not self.is_valid():
            return {}
        return {name: value for name, value in self.cleaned_data.items() if value}


@dataclass
class Bar:
    x: int
    ok_y: float
    ok_height: float
    failed_y: float
    failed_height: float
    title: str


@dataclass
class Tick:
    x: int
    label: str


@dataclass
class Picture:
    bars: list[Bar]
    days: list[Tick]
    width: int
    height: int
    plot_height: int
    left: int
    peak: int
    total: int
    failed: int
    busiest: Hour | None

    @property
    def summary(self) -> str:
        if not self.total:
            return "No requests in the last 7 days."
        share = round(100 * self.failed / self.total)
        return (
            f"{self.total} request{'s' if self.total != 1 else ''} in the last 7 days, "
            f"{self.failed} failed ({share}%); at most {self.peak} in one hour."
        )


def usage_picture(hours: list[Hour]) -> Picture:
    """Bars for ``hours`` (oldest first), scaled to the busiest hour."""
    peak = max((h.total for h in hours), default=0)
    scale = PLOT_HEIGHT / max(peak, 1)
    bars, days = [], []
    for i, hour in enumerate(hours):
        x = LEFT + i * (BAR + GAP)
        ok_height = hour.succeeded * scale
        failed_height = hour.failed * scale
        ok_y = PLOT_HEIGHT - ok_height
        bars.append(
            Bar(
                x=x,
                ok_y=round(ok_y, 2),
                ok_height=round(ok_height, 2),
                failed_y=round(ok_y - failed_height, 2),
                failed_height=round(failed_height, 2),
                title=f"{hour.start:%a %d %b %H:00} UTC: {hour.total} request"
                f"{'s' if hour.total != 1 else ''}, {hour.failed} failed",
            )
        )
        if hour.start.hour == 0:
            days.append(Tick(x=x, label=f"{hour.start:%a %d}"))
    busiest = max(hours, key=lambda h: h.total, default=None)
    return Picture(
        bars=bars,
        days=days,
        width=LEFT + len(hours) * (BAR + GAP),
        height=PLOT_HEIGHT + AXIS_HEIGHT,
        plot_height=PLOT_HEIGHT,
        left=LEFT,
        peak=peak,
        total=sum(h.total for h in hours),
        failed=sum(h.failed for h in hours),
        busiest=busiest if peak else None,
    )
