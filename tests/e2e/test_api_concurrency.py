"""The local API takes many clients at once, as API Gateway does: 64 clients connect
at the same moment, each on its own new connection, and every one gets its answer
(none is reset or refused). devstack.stack.API_LISTEN_BACKLOG is why.

A full listen backlog shows differently by system: macOS and BSD reset the
connection; Linux drops the SYN and the client's kernel retries it a second later,
so the clients all answer, late. On Linux the test therefore also reads the kernel's
own count of connections a full backlog turned away (TcpExt ListenOverflows in
/proc/net/netstat), which must not grow while the clients connect."""

from __future__ import annotations

import http.client
import itertools
import json
import threading
from pathlib import Path
from urllib.parse import urlsplit

CLIENTS = 64
SECONDS = 30  # the whole test; one GET /numbers takes milliseconds


def listen_overflows() -> int | None:
    """Linux's count of connections turned away by a full listen backlog (this network
    namespace, every socket), or None where there is no /proc/net/netstat."""
    try:
        lines = [line.split() for line in Path("/proc/net/netstat").read_text().splitlines()]
    except OSError:
        return None
    for names, values in itertools.pairwise(lines):
        if names[0] == "TcpExt:" and values[0] == "TcpExt:" and "ListenOverflows" in names:
            return int(values[names.index("ListenOverflows")])
    return None


def test_64_clients_at_once_all_get_their_answer(stack):
    url = urlsplit(stack.api_url)
    token = stack.summary["api_token"]
    start = threading.Barrier(CLIENTS, timeout=SECONDS)
    answers: dict[int, tuple[int, list]] = {}
    errors: dict[int, str] = {}

    def client(index: int) -> None:
        try:
            start.wait()  # every client connects at the same moment
            connection = http.client.HTTPConnection(url.hostname, url.port, timeout=SECONDS)
            try:
                connection.request("GET", "/numbers", headers={"Authorization": f"Bearer {token}"})
                response = connection.getresponse()
                answers[index] = (response.status, json.loads(response.read()))
            finally:
                connection.close()
        except Exception as error:
            errors[index] = f"{type(error).__name__}: {error}"

    threads = [threading.Thread(target=client, args=(i,), daemon=True) for i in range(CLIENTS)]
    overflows_before = listen_overflows()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=SECONDS)
    assert not any(thread.is_alive() for thread in threads), f"clients still waiting after {SECONDS}s"
    overflows_after = listen_overflows()
    assert errors == {}, f"{len(errors)} of {CLIENTS} clients failed: {sorted(set(errors.values()))}"
    assert sorted(answers) == list(range(CLIENTS))
    statuses = {status for status, _ in answers.values()}
    assert statuses == {200}, statuses
    pool = set(stack.pool)
    assert all(pool <= {n["phone_number"] for n in body["numbers"]} for _, body in answers.values())
    if overflows_before is not None and overflows_after is not None:
        assert overflows_after == overflows_before, (
            f"the kernel turned away {overflows_after - overflows_before} connections: the listen backlog was full"
        )
