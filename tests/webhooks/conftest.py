import pytest

from fibe_access.accounts.actor import Actor, Source


@pytest.fixture
def api_actor(user):
    return Actor(user=user, source=Source.API, ip="127.0.0.1", user_agent="pytest")
