"""bench/pool/ runs the pool's own decision code over simulated days (the month is `make bench`)."""

from bench.pool.report import main_arguments, simulate


def test_two_simulated_days_place_every_session_without_flapping():
    text, missed, _ = simulate("renewal", main_arguments(["--days", "2"]))
    assert "sessions refused under the cap        0" in text
    assert not [goal for goal in missed if "refused" in goal or "flapping" in goal or "p95" in goal], text
