"""bench/kit/clocks.py: the played run's clocks. The run's timeline and each lane's never go
back; the clock the service reads is the played timeline's, and a lane's time is given back
when it ends, so the next invocation starts when this one did."""

import pytest

from bench.kit.clocks import PlayedClock, Timeline


def test_a_lanes_time_passes_inside_it_and_is_given_back_after():
    clock = PlayedClock()
    start = clock.now()
    with clock.lane():
        clock.sleep(3.0)  # a wait for a slot, skipped
        inside = clock.now()
    after = clock.now()
    assert inside - start >= 3.0
    assert after - start < 0.5, "the next invocation starts when this one did"
    clock.sleep(2.0)
    assert clock.now() - start >= 2.0, "outside lanes the run's time only moves on"
    assert clock.skipped == pytest.approx(5.0), "every wait skipped is counted, the lane's too"


def test_the_runs_timeline_never_goes_back_and_stands_still_while_a_lane_is_played():
    wall = [1_800_000_000.0]
    clock = PlayedClock(real=lambda: wall[0])
    seen = [clock.run.now()]
    for _ in range(3):
        with clock.lane() as lane:
            lane_seen = [lane.now()]
            wall[0] += 0.02  # the invocation's own work takes real time
            clock.sleep(1.0)
            lane_seen.append(lane.now())
            seen.append(clock.run.now())
            assert lane_seen == sorted(lane_seen) and lane_seen[1] - lane_seen[0] >= 1.01
        seen.append(clock.run.now())
    assert seen == sorted(seen), "the run's time never goes back"
    assert seen[-1] - seen[0] < 0.01, "it stood still while the lanes (1 s of waits each) were played"


def test_a_lane_starts_at_the_runs_time_and_lanes_do_not_nest():
    clock = PlayedClock()
    clock.sleep(10.0)
    run_time = clock.now()
    with clock.lane() as lane:
        assert lane.start == pytest.approx(run_time, abs=0.01)
        with pytest.raises(RuntimeError), clock.lane():
            pass
    timeline = Timeline()
    timeline.fork()
    with pytest.raises(RuntimeError):
        timeline.sleep(1.0)  # the run's time stands still while a lane is played
