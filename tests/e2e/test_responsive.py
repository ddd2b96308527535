"""Every page on a phone (390×844, touch, device width) and on a desktop (1280×900), as a new
user goes through them: nothing scrolls sideways, on the phone the content spans the screen and
tap targets are at least 44 px tall, the header keeps Sign out in view, and axe-core finds no
serious or critical WCAG 2 A/AA violation. Screenshots land in test-artefacts/responsive/."""

import json
import re
import uuid
from datetime import timedelta
from pathlib import Path

import pytest
from axe_playwright_python import base as axe_package
from django.utils import timezone

from fibe_access.accounts.actor import Actor, Source
from fibe_access.accounts.models import User
from fibe_access.resources.models import Playground
from keys import services as key_services
from keys.models import ApiKey
from tests.oauth import flow
from webhooks.models import Attempt, Delivery, Event, ListenDelivery, WebhookEndpoint

from .conftest import DESKTOP, PASSWORD, PHONE, Person, mail_link, screenshot

pytestmark = pytest.mark.e2e

# axe-core's own build, shipped inside the axe-playwright-python wheel (a dev dependency): it is
# run with page.evaluate, which the page's Content-Security-Policy does not govern.
AXE = (Path(axe_package.__file__).parent / "axe.min.js").read_text(encoding="utf-8")
AXE_TAGS = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "wcag22aa"]
TAP = 44  # px: the smallest tap target on the phone (WCAG 2.5.5, Apple's and Android's guides)
# What a finger taps outside running text: buttons, fields, the Profile bar, disclosure toggles,
# the labels that carry a checkbox or a radio button.
TAPPABLE = (
    "button, .btn, select, textarea, summary, .sidenav a, .topbar a, "
    "input:not([type=hidden]):not([type=checkbox]):not([type=radio]), "
    "label:has(> input[type=checkbox]), label:has(> input[type=radio])"
)

SIGNED_OUT = {
    "sign-up",
    "sign-up-done",
    "sign-in",
    "password-reset",
    "password-reset-sent",
    "password-reset-new",
    "password-reset-done",
    "verify-email",
}


# A tablet held upright: the widest screen with the phone layout's neighbour, the sidebar.
TABLET = {"viewport": {"width": 834, "height": 1112}, "is_mobile": True, "has_touch": True}
DEVICES = {"phone": PHONE, "tablet": TABLET, "desktop": DESKTOP}


@pytest.fixture(params=list(DEVICES))
def device(request):
    return DEVICES[request.param]


class Looker:
    """Checks the page the browser is on and keeps a screenshot of it."""

    def __init__(self, page, device: dict):
        self.page = page
        self.phone = device is PHONE
        self.prefix = "responsive/" + next(k for k, v in DEVICES.items() if v is device)
        self.seen: list[str] = []
        self.problems: list[str] = []  # every page is looked at; the test fails at the end

    def problem(self, ok: bool, text: str) -> None:
        if not ok:
            self.problems.append(text)

    def __call__(self, name: str, *, open_details: bool = False) -> None:
        page = self.page
        signed_in = name not in SIGNED_OUT
        page.wait_for_load_state("load")
        if open_details:
            page.evaluate("document.querySelectorAll('details').forEach(d => d.open = true)")
        page.evaluate("window.scrollTo(0, 0)")
        screenshot(page, f"{self.prefix}-{name}")
        self.seen.append(name)
        size = page.evaluate(
            "({scroll: document.scrollingElement.scrollWidth, inner: window.innerWidth,"
            "  height: window.innerHeight})"
        )
        # innerWidth too: a mobile browser zooms out to show a page wider than the screen
        width = page.viewport_size["width"]
        self.problem(
            size["scroll"] <= size["inner"] == width,
            f"{name}: the page scrolls sideways ({size}, screen {width})",
        )
        main = page.locator("main").bounding_box()
        if self.phone:
            self.problem(
                main["x"] <= 16 and main["x"] + main["width"] >= size["inner"] - 16,
                f"{name}: the content does not span the phone's width: {main}",
            )
            self._tap_targets(name)
        if signed_in:
            self._in_view(name, page.get_by_role("button", name="Sign out"), size)
            self._in_view(name, page.locator(".topbar .account"), size)
            if page.locator(".topbar .pill").count():  # "Verified" after a step-up
                self._in_view(name, page.locator(".topbar .pill"), size)
        else:
            self._in_view(name, page.locator(".topbar").get_by_role("link").last, size)
        self._axe(name)

    def _in_view(self, name, locator, size) -> None:
        box = locator.bounding_box() if locator.count() == 1 else None
        self.problem(
            box is not None
            and box["x"] >= 0
            and box["x"] + box["width"] <= size["inner"]
            and box["y"] >= 0
            and box["y"] + box["height"] <= size["height"],
            f"{name}: {locator} is not in view: {box}",
        )

    def _tap_targets(self, name) -> None:
        small = self.page.evaluate(
            """([selector, least]) => [...document.querySelectorAll(selector)]
                .filter(el => el.offsetParent !== null)
                .map(el => [el, el.getBoundingClientRect()])
                .filter(([el, r]) => r.height < least)
                .map(([el, r]) => `${el.tagName.toLowerCase()}.${el.className} "${
                    (el.textContent || el.name || '').trim().slice(0, 30)
                }" ${Math.round(r.height)} px`)
            """,
            [TAPPABLE, TAP],
        )
        self.problem(small == [], f"{name}: tap targets under {TAP} px: {small}")

    def _axe(self, name) -> None:
        page = self.page
        if not page.evaluate("typeof window.axe === 'object'"):
            page.evaluate(AXE)
        result = page.evaluate(
            "(tags) => axe.run(document, {runOnly: {type: 'tag', values: tags},"
            " resultTypes: ['violations']})",
            AXE_TAGS,
        )
        bad = [
            {
                "rule": v["id"],
                "impact": v["impact"],
                "help": v["help"],
                "nodes": [n["target"] for n in v["nodes"]][:5],
            }
            for v in result["violations"]
            if v["impact"] in ("serious", "critical")
        ]
        self.problem(bad == [], f"{name}: axe-core: {json.dumps(bad)}")


def _keys(user) -> ApiKey:
    actor = Actor(user=user, source=Source.CLI)
    box = Playground.objects.create(owner=user, name="Staging playground with a long name")
    key_services.key_create(
        actor=actor,
        owner=user,
        label="Genie runtime for the nightly build",
        is_agent=True,
        scope_names=["agents:manage", "playgrounds:read", "playspecs:read", "launch:write"],
        restrictions={"playgrounds": [box.pk]},
    )
    old, _ = key_services.key_create(
        actor=actor, owner=user, label="Old laptop", scope_names=["playrooms:manage"]
    )
    key_services.key_expire_now(actor=actor, key=old)
    return old


def _deliveries(endpoint: WebhookEndpoint) -> Delivery:
    """A delivery log as a real endpoint has one: one success, one retrying twice."""
    body = json.dumps({"type": "playground.created", "data": {"id": 7, "name": "Demo"}}).encode()
    headers = {
        "Content-Type": "application/json",
        "X-Playground-Event": "playground.created",
        "X-Playground-Signature": "sha256=" + "ab12" * 16,
        "webhook-signature": "v1,9qB1zTz6c4rQp0bFh2n4wQdG5LwD8xXo2w8kWJcQm2o=",
    }
    last = None
    for status, results in (("succeeded", [200]), ("retrying", [500, None])):
        event = Event.objects.create(type="playground.created", owner=endpoint.owner, body=body)
        last = Delivery.objects.create(
            event=event,
            endpoint=endpoint,
            status=status,
            attempt_count=len(results),
            next_attempt_at=timezone.now() + timedelta(minutes=5),
        )
        for number, code in enumerate(results, start=1):
            Attempt.objects.create(
                delivery=last,
                number=number,
                trigger=Delivery.Trigger.SCHEDULED,
                request_url=endpoint.url,
                request_headers=headers,
                request_body=body,
                response_status=code,
                response_headers={"Content-Type": "text/plain"} if code else {},
                response_body="receiver is down" if code == 500 else "",
                duration_ms=120 if code else 10_000,
                failure_reason="" if code == 200 else "Receiver answered HTTP 500",
            )
    return last


def _cli_deliveries(user) -> None:
    """What `fibe listen` on a laptop left in the CLI delivery log: one forwarded, one the
    local receiver refused, one not reported yet."""
    for status, code, reason in (
        ("succeeded", 200, ""),
        ("failed", 500, "The local receiver answered HTTP 500"),
        ("pending", None, ""),
    ):
        ListenDelivery.objects.create(
            owner=user,
            session_ref=1,
            host="ada-laptop.local",
            uid=uuid.uuid4(),
            event_type="playground.created",
            status=status,
            response_status=code,
            duration_ms=35 if code else None,
            attempt_count=1 if code else 0,
            failure_reason=reason,
        )


def test_every_page_fits_and_passes_axe(page, device, transactional_db):
    look = Looker(page, device)
    try:
        _walk(page, look)
    except Exception:
        if look.problems:  # say what was wrong before the page became unusable
            pytest.fail("\n".join([*look.problems, "…and then the walk broke off (below)"]))
        raise
    assert len(look.seen) == 26
    assert look.problems == [], "\n".join(look.problems)


def _walk(page, look: Looker) -> None:
    """A new user's way through every page, ``look`` at each."""
    person = Person(page, "ada.lovelace.analytical-engine@example.com")
    person.sign_up_and_enrol(look)
    user = User.objects.get(email=person.email)

    page.goto("/profile/security/")
    look("security")
    page.goto("/profile/password/")
    look("password-change")

    old_key = _keys(user)
    page.goto("/profile/api-keys/")
    look("api-keys")
    page.get_by_role("link", name="New API key").click()
    page.wait_for_url(re.compile(r"/profile/api-keys/new/$"))
    look("api-key-new")
    page.get_by_label("Label").fill("CI/CD Pipeline")
    page.get_by_label(re.compile(r"^Playgrounds: read")).check()
    page.get_by_role("button", name="Create key").click()
    page.wait_for_url(re.compile(r"/token/$"))
    look("api-key-token")
    key = ApiKey.objects.get(owner=user, label="CI/CD Pipeline")
    assert key.pk != old_key.pk
    page.goto(f"/profile/api-keys/{key.pk}/rotate/")
    look("api-key-rotate")
    page.goto(f"/profile/api-keys/{key.pk}/")
    look("api-key-activity")
    # the consent page an AI host opens (OAuth for MCP), as a registered client asks for it
    _, challenge = flow.pkce()
    mcp = page.evaluate("location.origin") + "/mcp"
    page.goto(flow.authorize_url(flow.register(), challenge, resource=mcp))
    look("oauth-consent")

    page.goto("/profile/webhooks/new/")
    look("webhook-new")
    url = "http://127.0.0.1:9/hooks/fibe/staging-notifier/receive-all-the-events-please"
    page.get_by_label("Target URL").fill(url)
    page.get_by_label("Select all events").check()
    page.get_by_role("button", name="Generate").click()
    page.get_by_label("Description").fill("Staging notifier")
    page.get_by_role("button", name="Add endpoint").click()
    page.wait_for_url(re.compile(r"/profile/webhooks/\d+/$"))
    look("webhook-created")
    endpoint = WebhookEndpoint.objects.get(owner=user)
    delivery = _deliveries(endpoint)
    page.goto("/profile/webhooks/")
    look("webhooks")
    page.goto(f"/profile/webhooks/{endpoint.pk}/")
    look("webhook-endpoint", open_details=True)
    page.goto(f"/profile/webhooks/deliveries/{delivery.pk}/")
    look("webhook-delivery", open_details=True)
    _cli_deliveries(user)
    page.goto("/profile/webhooks/cli/")
    look("webhook-cli-deliveries")
    page.goto("/profile/delete/")
    look("account-delete")

    # a new session: the step-up page before API Keys
    person.sign_in_again()
    page.goto("/profile/api-keys/")
    page.wait_for_url(re.compile(r"/profile/verify/"))
    look("step-up")
    person.step_up()
    page.wait_for_url(re.compile(r"/profile/api-keys/$"))

    # signed out: the password reset pages
    page.get_by_role("button", name="Sign out").click()
    page.wait_for_url(re.compile(r"/accounts/login/"))
    page.goto("/accounts/password-reset/")
    look("password-reset")
    page.get_by_label("E-mail address").fill(person.email)
    page.get_by_role("button", name="E-mail me a link").click()
    page.wait_for_url(re.compile(r"/accounts/password-reset/sent/"))
    look("password-reset-sent")
    page.goto(mail_link(person.email, r"https?://[^/]+(/accounts/password-reset/\S+/)"))
    look("password-reset-new")
    page.get_by_label("New password", exact=True).fill(PASSWORD)
    page.get_by_label("New password confirmation").fill(PASSWORD)
    page.get_by_role("button", name="Save the new password").click()
    page.wait_for_url(re.compile(r"/accounts/password-reset/done/"))
    look("password-reset-done")
    page.goto("/accounts/verify-email/")
    look("verify-email")


FOCUSED = """() => {
  const el = document.activeElement, style = getComputedStyle(el), box = el.getBoundingClientRect();
  return {
    tag: el.tagName.toLowerCase(), type: el.type || "",
    text: (el.labels && el.labels[0] ? el.labels[0].innerText : el.innerText || "").trim(),
    outline: style.outlineStyle === "none" ? 0 : parseFloat(style.outlineWidth),
    ring: style.outlineColor, border: style.borderTopColor, dark: !!el.closest(".topbar"),
    focus: el.matches(":focus"),
    inView: box.top >= 0 && box.left >= 0 && box.bottom <= innerHeight && box.right <= innerWidth,
  };
}"""


def _luminance(css_colour: str) -> float:
    r, g, b = (int(v) / 255 for v in re.findall(r"\d+", css_colour)[:3])
    r, g, b = ((c / 12.92) if c <= 0.03928 else ((c + 0.055) / 1.055) ** 2.4 for c in (r, g, b))
    return 0.2126 * r + 0.7152 * g + 0.0722 * b


def _contrast(one: str, two: str) -> float:
    light, dark = sorted((_luminance(one), _luminance(two)), reverse=True)
    return (light + 0.05) / (dark + 0.05)


def _ring_shows(focused) -> bool:
    """A focus indicator of 3:1 against what is around it (WCAG 1.4.11): the ring, or for a
    text field its border in the accent colour."""
    around = "rgb(17, 24, 39)" if focused["dark"] else "rgb(255, 255, 255)"
    if focused["outline"] >= 2 and _contrast(focused["ring"], around) >= 3:
        return True
    text_field = focused["tag"] in ("select", "textarea") or (
        focused["tag"] == "input" and focused["type"] not in ("checkbox", "radio")
    )
    return text_field and _contrast(focused["border"], around) >= 3


def _tab_to(page, text: str, limit: int = 150) -> None:
    """Press Tab until the control named ``text`` has the focus; every control on the way
    shows a focus ring and is scrolled into view."""
    passed = []
    if page.evaluate(FOCUSED)["text"].startswith(text):  # the page's autofocus is on it
        return
    for _ in range(limit):
        page.keyboard.press("Tab")
        focused = page.evaluate(FOCUSED)
        passed.append(focused["text"][:30] or focused["tag"])
        if focused["tag"] == "body":  # past the last control: the next Tab starts over
            continue
        if focused["type"] == "date" and not focused["focus"]:
            continue  # on the date field's own calendar button, which Chromium rings itself
        assert _ring_shows(focused), f"no visible focus on {focused}"
        assert focused["inView"], f"the focused control is off screen: {focused}"
        if focused["text"].startswith(text):
            return
    raise AssertionError(f"Tab never reached {text!r}: {passed}")


@pytest.mark.parametrize("device", [PHONE, DESKTOP], ids=["phone", "desktop"])
def test_keyboard_alone_with_focus_always_visible(page, device, person):
    # given a signed-in person on the Security page; when they use nothing but the keyboard
    page.goto("/profile/security/")
    _tab_to(page, "Sign out")
    page.keyboard.press("Enter")
    page.wait_for_url(re.compile(r"/accounts/login/"))
    # then they sign in again
    _tab_to(page, "E-mail address")
    page.keyboard.type(person.email)
    _tab_to(page, "Password")
    page.keyboard.type(PASSWORD)
    page.keyboard.press("Enter")
    page.wait_for_url(re.compile(r"/profile/"))
    # reach API Keys from the Profile bar, pass the step-up
    _tab_to(page, "API Keys")
    page.keyboard.press("Enter")
    page.wait_for_url(re.compile(r"/profile/verify/"))
    _tab_to(page, "Code from your authenticator")
    page.keyboard.type(person.next_code())
    page.keyboard.press("Enter")
    page.wait_for_url(re.compile(r"/profile/api-keys/$"))
    # and create a key, ticking its scope with the space bar
    _tab_to(page, "New API key")
    page.keyboard.press("Enter")
    page.wait_for_url(re.compile(r"/profile/api-keys/new/$"))
    _tab_to(page, "Label")
    page.keyboard.type("Typed on a phone")
    _tab_to(page, "read")  # the first option of the first family
    page.keyboard.press("Space")
    _tab_to(page, "Create key")
    page.keyboard.press("Enter")
    page.wait_for_url(re.compile(r"/profile/api-keys/\d+/token/$"))
    assert page.locator("#new-token").inner_text().startswith("fibe_")
    screenshot(page, "responsive/phone-keyboard-token")
