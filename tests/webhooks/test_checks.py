"""The settings check: the beat scan must not call a delivery lost while its batch may still
send it."""

from datetime import timedelta

from webhooks.engine.checks import stuck_after_outlasts_a_batch


def test_the_defaults_pass(settings):
    assert settings.WEBHOOKS_STUCK_AFTER == timedelta(seconds=120)
    assert stuck_after_outlasts_a_batch() == []


def test_a_stuck_threshold_shorter_than_a_batch_is_a_warning(settings):
    settings.WEBHOOKS_STUCK_AFTER = timedelta(seconds=30)
    settings.WEBHOOKS_SEND_WINDOW = 10.0
    settings.WEBHOOKS_ATTEMPT_BUDGET = 20.0
    settings.WEBHOOKS_CONNECT_TIMEOUT = 5.0
    [warning] = stuck_after_outlasts_a_batch()
    assert warning.id == "webhooks.W001"
    assert "35 s" in warning.msg and "30 s" in warning.msg
