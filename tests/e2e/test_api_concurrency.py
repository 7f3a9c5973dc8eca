"""The local API takes many clients at once, as API Gateway does: 64 clients connect
at the same moment, each on its own new connection, and every one gets its answer
(none is reset or refused). devstack.stack.API_LISTEN_BACKLOG is why.

A full listen backlog shows differently by system: macOS and BSD reset the
connection; Linux drops the SYN and the client's kernel retries it a second later,
so the clients all answer, late. So on Linux a second test measures the API socket's
own backlog: with the stack paused (SIGSTOP) nothing is accepted, and the kernel queues
on that listening socket (its rx_queue in /proc/net/tcp) as many connections as its
backlog holds; all 64 must be queued there, and answered once the stack goes on."""

from __future__ import annotations

import contextlib
import http.client
import json
import signal
import socket
import threading
from pathlib import Path
from urllib.parse import urlsplit

import pytest

CLIENTS = 64
SECONDS = 30  # the whole test; one GET /numbers takes milliseconds
LISTEN = "0A"  # TCP_LISTEN in /proc/net/tcp's st column
PROC_NET_TCP = Path("/proc/net/tcp")


def accept_queue(port: int) -> int | None:
    """Connections the kernel completed on the listening socket of 127.0.0.1:port that
    the server has not accepted yet (Linux: rx_queue of its LISTEN row in /proc/net/tcp)."""
    for line in PROC_NET_TCP.read_text().splitlines()[1:]:
        _, local, _, state, queues, *_ = line.split()
        if state == LISTEN and int(local.rpartition(":")[2], 16) == port:
            return int(queues.partition(":")[2], 16)
    return None


@contextlib.contextmanager
def paused(process):
    """The stack's process stopped (it accepts nothing) until the block ends."""
    process.send_signal(signal.SIGSTOP)
    try:
        yield
    finally:
        process.send_signal(signal.SIGCONT)


def _get_numbers(connection: http.client.HTTPConnection, token: str) -> tuple[int, dict]:
    connection.request("GET", "/numbers", headers={"Authorization": f"Bearer {token}"})
    response = connection.getresponse()
    return response.status, json.loads(response.read())


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
                answers[index] = _get_numbers(connection, token)
            finally:
                connection.close()
        except Exception as error:
            errors[index] = f"{type(error).__name__}: {error}"

    threads = [threading.Thread(target=client, args=(i,), daemon=True) for i in range(CLIENTS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=SECONDS)
    assert not any(thread.is_alive() for thread in threads), f"clients still waiting after {SECONDS}s"
    assert errors == {}, f"{len(errors)} of {CLIENTS} clients failed: {sorted(set(errors.values()))}"
    assert sorted(answers) == list(range(CLIENTS))
    statuses = {status for status, _ in answers.values()}
    assert statuses == {200}, statuses
    pool = set(stack.pool)
    assert all(pool <= {n["phone_number"] for n in body["numbers"]} for _, body in answers.values())


@pytest.mark.skipif(not PROC_NET_TCP.exists(), reason="reads the socket's accept queue from Linux's /proc/net/tcp")
def test_the_api_socket_queues_64_connections_while_nothing_accepts(stack):
    url = urlsplit(stack.api_url)
    assert accept_queue(url.port) == 0, "the API's listening socket, idle"
    sockets = [socket.socket(socket.AF_INET, socket.SOCK_STREAM) for _ in range(CLIENTS)]
    try:
        with paused(stack.process):
            for sock in sockets:  # all at once: none waits for the one before
                sock.setblocking(False)
                sock.connect_ex((url.hostname, url.port))
            stack.wait_for(
                lambda: (accept_queue(url.port) or 0) >= CLIENTS or None,
                f"{CLIENTS} connections in the API socket's accept queue (a full backlog drops the rest)",
                timeout=5,
            )
        answers = []
        for sock in sockets:
            sock.setblocking(True)
            sock.settimeout(SECONDS)
            connection = http.client.HTTPConnection(url.hostname, url.port, timeout=SECONDS)
            connection.sock = sock  # the connection queued while the stack was paused
            answers.append(_get_numbers(connection, stack.summary["api_token"])[0])
        assert answers == [200] * CLIENTS
    finally:
        for sock in sockets:
            sock.close()
