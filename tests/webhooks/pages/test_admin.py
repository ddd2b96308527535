import pytest

from fibe_access.accounts.actor import Actor, Source
from webhooks import services
from webhooks.models import Attempt, Delivery, Event


@pytest.fixture
def failed_delivery(user):
    endpoint = services.endpoint_create(
        actor=Actor(user=user, source=Source.API),
        url="http://127.0.0.1:9/hook",
        events=["playroom.created"],
        secret="never-show-this-secret",
    )
    event = Event.objects.create(type="playroom.created", owner=user, body=b'{"event":"x"}')
    delivery = Delivery.objects.create(
        event=event, endpoint=endpoint, status="failed", attempt_count=1
    )
    Attempt.objects.create(
        delivery=delivery,
        number=1,
        trigger="scheduled",
        request_url=endpoint.url,
        request_body=b'{"event":"x"}',
        response_status=503,
        response_body="down for maintenance",
    )
    return delivery


def test_admin_shows_endpoints_and_deliveries_never_the_secret(staff_client, failed_delivery):
    endpoint = failed_delivery.endpoint
    for url in [
        "/admin/webhooks/webhookendpoint/",
        f"/admin/webhooks/webhookendpoint/{endpoint.pk}/change/",
        "/admin/webhooks/delivery/?status__exact=failed",
        f"/admin/webhooks/delivery/?endpoint__id__exact={endpoint.pk}",
        f"/admin/webhooks/delivery/{failed_delivery.pk}/change/",
    ]:
        page = staff_client.get(url)
        assert page.status_code == 200, url
        assert b"never-show-this-secret" not in page.content
    detail = staff_client.get(f"/admin/webhooks/delivery/{failed_delivery.pk}/change/")
    assert b"down for maintenance" in detail.content


def test_admin_redeliver_action_goes_through_the_service(staff_client, failed_delivery):
    response = staff_client.post(
        "/admin/webhooks/delivery/",
        {"action": "redeliver", "_selected_action": [failed_delivery.pk]},
    )
    assert response.status_code == 302
    failed_delivery.refresh_from_db()
    assert failed_delivery.status == "pending"
    assert failed_delivery.next_trigger == "manual"
