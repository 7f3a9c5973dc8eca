"""infra/progress.py: long commands tell how far along they are."""

from __future__ import annotations

import io

from infra import progress


class NotATerminal(io.StringIO):
    def isatty(self) -> bool:
        return False


def test_a_counted_job_reports_its_share_at_the_end_and_every_interval():
    out = NotATerminal()
    ticks = iter([0.0, 4.0, 11.0, 25.0, 30.0])
    with progress.counted("fault run", 100, out, clock=lambda: next(ticks)) as tally:
        tally.advance(10)  # 4 s: too soon to say
        tally.advance(40)  # 11 s: a line
        tally.advance(50)  # 25 s: a line
    lines = out.getvalue().splitlines()
    assert lines[0].startswith("  fault run: 50 of 100 (50%), 11 s, about 11 s left")
    assert lines[1].startswith("  fault run: 100 of 100 (100%), 25 s")
    assert lines[-1].startswith("  fault run: 100 of 100 (100%), 30 s")
