"""adapters/alongside.py: work alongside a handler finishes before the handler returns
(Lambda freezes the container after that), and its answer or fault reaches the
handler that reads it."""
import threading

import pytest

from chalicelib.adapters.alongside import running_alongside


def test_the_work_runs_while_the_body_runs_and_is_finished_when_the_block_ends():
    body_started, effects = threading.Event(), []

    def work():
        assert body_started.wait(5), "the work waits for the body: they run at the same time"
        effects.append("counted")

    with running_alongside(work):
        body_started.set()
    assert effects == ["counted"]


def test_the_answer_and_the_fault_of_the_work_reach_the_body():
    with running_alongside(lambda a, b: a + b, 2, 3) as answer:
        assert answer.result() == 5
    with running_alongside(lambda: 1 / 0) as answer:
        with pytest.raises(ZeroDivisionError):
            answer.result()
