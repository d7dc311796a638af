"""Races the fake must settle the way Intuit does, whichever worker gets there first."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

from connectors.sandbox.qbo.models import Record
from tests.sandbox.qbo.conftest import LIVE_DB, Connected, token_call

pytestmark = LIVE_DB
RACERS = 4


def test_racing_refreshes_of_one_token_have_one_winner(sandbox: str, qbo: Connected) -> None:
    def refresh(_: int) -> int:
        data = {"grant_type": "refresh_token", "refresh_token": qbo.refresh_token}
        return token_call(sandbox, data).status_code

    with ThreadPoolExecutor(RACERS) as pool:
        statuses = sorted(pool.map(refresh, range(RACERS)))

    assert statuses == [200] + [400] * (RACERS - 1)


def test_racing_creates_of_one_name_make_one_record(qbo: Connected) -> None:
    def create(n: int) -> int:
        entity = "customer" if n % 2 else "vendor"
        return qbo.post(entity, {"DisplayName": "Raced Name"}).status_code

    with ThreadPoolExecutor(RACERS) as pool:
        statuses = sorted(pool.map(create, range(RACERS)))

    assert statuses == [200] + [400] * (RACERS - 1)
    assert Record.objects.filter(name_key="raced name").count() == 1


def test_names_are_unique_without_regard_to_case(qbo: Connected) -> None:
    """Intuit documents only "equals"; the fake folds case, as QBO's name lookups do."""
    qbo.create("Customer", {"DisplayName": "Acme Supplies"})

    response = qbo.post("vendor", {"DisplayName": "ACME SUPPLIES"})

    assert response.status_code == 400
    assert response.json()["Fault"]["Error"][0]["code"] == "6240"
