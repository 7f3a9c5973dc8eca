"""Racing session opens for one user: the route claim alone keeps them apart."""

import threading
from concurrent.futures import ThreadPoolExecutor

import pytest

import app as app_module
from chalicelib.core.errors import BridgeError
from chalicelib.usecases import sessions


def _pool_numbers(count):
    return [f"+1415555{1000 + i:04d}" for i in range(count)]


def _race(bridge, partners):
    start = threading.Barrier(len(partners))

    def open_one(partner):
        start.wait()
        try:
            session, _ = sessions.open_session(app_module.context, {"user_id": "alice", "partner_id": partner})
            return session["pool_number"]
        except BridgeError as error:
            return error.code

    with ThreadPoolExecutor(len(partners)) as workers:
        return list(workers.map(open_one, partners))


@pytest.mark.parametrize("pool_size", [20, 19])
def test_twenty_racing_opens_get_twenty_numbers_or_a_clear_refusal(bridge, atomic_moto, pool_size, monkeypatch):
    monkeypatch.setenv("POOL_MAX_SIZE", str(pool_size))  # the pool may not grow past what it has
    bridge.seed_pool(*_pool_numbers(pool_size))
    bridge.verified_user("alice", "+14155550100")

    results = _race(bridge, [f"partner-{i}" for i in range(20)])

    numbers = [r for r in results if r.startswith("+")]
    assert len(set(numbers)) == len(numbers) == min(20, pool_size)
    assert results.count("pool_exhausted") == 20 - pool_size
    listed = bridge.api.get("/users/alice/sessions").json["sessions"]
    assert sorted(s["pool_number"] for s in listed) == sorted(numbers)


def test_racing_opens_for_one_pair_share_one_session(bridge, atomic_moto):
    bridge.seed_pool(*_pool_numbers(5))
    bridge.verified_user("alice", "+14155550100")

    results = _race(bridge, ["bob"] * 8)

    assert len(set(results)) == 1 and results[0].startswith("+")
    assert len(bridge.api.get("/users/alice/sessions").json["sessions"]) == 1
