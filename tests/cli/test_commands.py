"""Commands generated from the spec, run against the real server: create, list (and every
page), get, update, launch, the Playground lifecycle, delete with and without confirmation,
webhooks, and `fibe api` for anything else. Each checks the database, not just the output."""

import json
from datetime import timedelta

from django.utils import timezone

from fibe_access.resources.models import Playground, Playroom, Playspec
from tests.support.factories import resource_make
from webhooks.models import Delivery, WebhookEndpoint

from .conftest import assert_clean_failure

WORK = ("playspecs:manage", "playgrounds:manage", "launch:write")


def _json(result):
    assert result.code == 0, result
    return json.loads(result.out)


def test_create_list_launch_start_stop_extend_and_delete(fibe, make_token, owner):
    fibe.login(make_token(*WORK))

    spec = _json(
        fibe("playspecs", "create", "--name", "web", "--config", '{"image": "nginx"}', "--json")
    )
    assert Playspec.objects.get(pk=spec["id"], owner=owner).config == {"image": "nginx"}
    listed = _json(fibe("playspecs", "list", "--json"))
    assert [item["id"] for item in listed["items"]] == [spec["id"]]

    launched = _json(fibe("playspecs", "launch", str(spec["id"]), "--name", "demo", "--json"))
    playground = Playground.objects.get(pk=launched["id"], owner=owner)
    assert playground.playspec_id == spec["id"] and playground.name == "demo"

    assert launched["status"] == "running"
    stopped = _json(fibe("playgrounds", "stop", str(playground.pk), "--json"))
    assert stopped["status"] == Playground.objects.get(pk=playground.pk).status == "stopped"
    started = _json(fibe("playgrounds", "start", str(playground.pk), "--json"))
    assert started["status"] == Playground.objects.get(pk=playground.pk).status == "running"
    later = (timezone.now() + timedelta(days=10)).replace(microsecond=0)
    extended = _json(
        fibe(
            "playgrounds",
            "extend",
            str(playground.pk),
            "--expires-at",
            later.isoformat(),
            "--json",
        )
    )
    assert Playground.objects.get(pk=playground.pk).expires_at == later
    assert extended["expires_at"].startswith(later.strftime("%Y-%m-%dT%H:%M:%S"))

    renamed = _json(fibe("playspecs", "update", str(spec["id"]), "--name", "web2", "--json"))
    assert renamed["name"] == Playspec.objects.get(pk=spec["id"]).name == "web2"

    deleted = fibe("playspecs", "delete", str(spec["id"]), "--yes")
    assert deleted.code == 0, deleted
    assert deleted.out == ""
    assert not Playspec.objects.filter(pk=spec["id"]).exists()


def test_delete_without_yes_asks_and_a_pipe_cannot_answer(fibe, make_token, owner):
    room = resource_make(Playroom, owner)
    fibe.login(make_token("playrooms:manage"))

    piped = fibe("playrooms", "delete", str(room.pk), input="y\n")
    assert_clean_failure(piped, 2)
    assert "--yes" in piped.err
    declined = fibe.terminal("playrooms", "delete", str(room.pk), answer=("[y/N]", "n"))
    assert declined.code == 2 and "Cancelled" in declined.out
    assert Playroom.objects.filter(pk=room.pk).exists()

    confirmed = fibe.terminal("playrooms", "delete", str(room.pk), answer=("[y/N]", "y"))
    assert confirmed.code == 0, confirmed
    assert not Playroom.objects.filter(pk=room.pk).exists()


def test_list_all_follows_every_page(fibe, make_token, owner):
    made = {resource_make(Playroom, owner).pk for _ in range(7)}
    fibe.login(make_token("playrooms:read"))

    page = _json(fibe("playrooms", "list", "--limit", "3", "--json"))
    every = _json(fibe("playrooms", "list", "--limit", "3", "--all", "--json"))

    assert len(page["items"]) == 3 and page["count"] == 7
    assert isinstance(every, list)
    assert {item["id"] for item in every} == made and len(every) == 7


def test_a_family_the_key_lacks_names_the_scope(fibe, make_token, owner):
    resource_make(Playroom, owner)
    token = make_token("playspecs:read")
    fibe.login(token)

    listed = fibe("playrooms", "list")
    created = fibe("playrooms", "create", "--name", "x", "--json")

    assert_clean_failure(listed, 5, token)
    assert "playrooms:read" in listed.err
    assert_clean_failure(created, 5, token)
    assert "playrooms:write" in created.err
    assert not Playroom.objects.filter(name="x").exists()


def test_outside_a_restriction_is_not_found(fibe, make_token, owner):
    mine, other = resource_make(Playspec, owner), resource_make(Playspec, owner)
    fibe.login(make_token("playspecs:read", restrictions={"playspecs": [mine.pk]}))

    assert _json(fibe("playspecs", "get", str(mine.pk), "--json"))["id"] == mine.pk
    result = fibe("playspecs", "get", str(other.pk))
    assert_clean_failure(result, 6)
    assert "Not found" in result.err


def test_bad_input_is_refused_with_the_apis_message_and_changes_nothing(fibe, make_token):
    fibe.login(make_token("playspecs:manage"))

    too_long = fibe("playspecs", "create", "--name", "x" * 300)
    not_json = fibe("playspecs", "create", "--name", "ok", "--config", "{nope")
    missing = fibe("playspecs", "create")
    bad_id = fibe("playspecs", "get", "abc")

    assert_clean_failure(too_long, 1)
    assert too_long.err.startswith("error: name:")
    for usage in (not_json, missing, bad_id):
        assert_clean_failure(usage, 2)
    assert "not valid JSON" in not_json.err and "--name" in missing.err
    assert not Playspec.objects.exists()


def test_webhooks_create_list_test_deliveries_redeliver(fibe, make_token, owner, receiver):
    fibe.login(make_token("webhooks:manage"))

    made = _json(
        fibe(
            "webhooks",
            "create",
            "--url",
            receiver.url,
            "--events",
            "playground.created,playroom.created",
            "--events",
            "playspec.created",
            "--secret",
            "shh",
            "--json",
        )
    )
    endpoint = WebhookEndpoint.objects.get(pk=made["id"], owner=owner)
    assert sorted(endpoint.events) == ["playground.created", "playroom.created", "playspec.created"]
    assert made["has_secret"] is True and "shh" not in json.dumps(made)

    listed = fibe("webhooks", "list")
    assert listed.code == 0 and receiver.url in listed.out
    sent = _json(fibe("webhooks", "test", str(endpoint.pk), "--json"))
    assert sent["is_test"] is True
    # a boolean query option goes as OpenAPI writes it (is_test=true)
    deliveries = _json(fibe("webhooks", "deliveries", str(endpoint.pk), "--is-test", "--json"))
    assert [d["id"] for d in deliveries["items"]] == [sent["id"]]
    again = _json(fibe("webhooks", "redeliver", str(sent["id"]), "--json"))
    assert again["id"] == sent["id"]
    assert Delivery.objects.filter(endpoint=endpoint).count() == 1

    unknown_event = fibe("webhooks", "create", "--url", receiver.url, "--events", "nope.happened")
    assert_clean_failure(unknown_event, 2)
    assert WebhookEndpoint.objects.count() == 1


def test_a_webhook_secret_read_from_stdin_is_set_and_never_shown(fibe, make_token, owner, receiver):
    fibe.login(make_token("webhooks:manage"))
    create = ("webhooks", "create", "--url", receiver.url, "--events", "playground.created")
    # given a secret piped in, so it is in no argument list (`ps`) and no shell history
    made = _json(fibe(*create, "--secret", "-", "--json", input="piped-s3cret-value\n"))
    endpoint = WebhookEndpoint.objects.get(pk=made["id"], owner=owner)
    assert endpoint.secret == "piped-s3cret-value" and made["has_secret"] is True
    # when an update the API refuses carries another one, it is not echoed anywhere
    refused = fibe(
        "webhooks", "update", str(endpoint.pk), "--url", "ftp://x", "--secret", "-",
        input="another-s3cret-value\n",
    )  # fmt: skip
    assert_clean_failure(refused, 1, "another-s3cret-value")
    endpoint.refresh_from_db()
    assert endpoint.secret == "piped-s3cret-value"
    # and nothing piped in is a usage error, not an empty secret
    assert_clean_failure(fibe(*create, "--secret", "-", input=""), 2)
    assert WebhookEndpoint.objects.count() == 1
    assert "standard input" in fibe("webhooks", "create", "--help").out


def test_no_wait_is_offered_only_where_a_person_may_have_to_approve(fibe):
    assert "--no-wait" in fibe("playspecs", "delete", "--help").out
    # ending one's own listen session never waits for a person (approval=False)
    assert "--no-wait" not in fibe("webhooks", "listen-end", "--help").out


def test_api_sends_anything_else(fibe, make_token, owner):
    spec = resource_make(Playspec, owner, name="raw")
    fibe.login(make_token(*WORK))

    got = _json(fibe("api", "GET", "/api/v1/playspecs", "-p", "limit=1"))
    launched = _json(fibe("api", "post", f"playspecs/{spec.pk}/launch", "--data", '{"name": "r"}'))
    from_stdin = _json(
        fibe("api", "PATCH", f"playspecs/{spec.pk}", "-d", "@-", input='{"name": "n"}')
    )

    assert got["items"][0]["name"] == "raw" and got["limit"] == 1
    assert Playground.objects.get(pk=launched["id"]).name == "r"
    assert from_stdin["name"] == Playspec.objects.get(pk=spec.pk).name == "n"
    bad = fibe("api", "POST", "playspecs", "--data", "{oops")
    assert_clean_failure(bad, 2)
    elsewhere = fibe("api", "GET", "http://example.com/api/v1/me")
    assert_clean_failure(elsewhere, 2)
    missing = fibe("api", "GET", "playspecs/999999")
    assert_clean_failure(missing, 6)
