"""`crm-expo serve`: how its workers treat connections."""
import os
import socket
from urllib.parse import urlsplit

import pytest


def _server_socket_inode(server_port: int, client_port: int) -> int | None:
    """The inode of the server's end of a loopback TCP connection, from the kernel's table:
    0 once no process holds the socket (the kernel finishes the close alone)."""
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        with open(table) as fh:
            next(fh)
            for line in fh:
                fields = line.split()
                local_port = int(fields[1].rsplit(":", 1)[1], 16)
                remote_port = int(fields[2].rsplit(":", 1)[1], 16)
                if (local_port, remote_port) == (server_port, client_port):
                    return int(fields[9])
    return None


needs_tcp_table = pytest.mark.skipif(not os.path.exists("/proc/net/tcp"), reason="reads Linux's TCP table")


def _answer(client) -> bytes:
    answer = b""
    while chunk := client.recv(65536):   # until the server's end of the connection
        answer += chunk
    return answer


@needs_tcp_table
def test_a_worker_lets_go_of_a_connection_as_soon_as_its_answer_is_sent(served):
    """A desk tablet on the venue's Wi-Fi closes its side a network round trip after the
    answer, or later: the worker must not wait for it before serving the next scan."""
    port = urlsplit(served).port
    with socket.create_connection(("127.0.0.1", port), timeout=30) as client:
        client.sendall(b"GET /healthz HTTP/1.1\r\nHost: desk\r\n\r\n")
        assert _answer(client).startswith(b"HTTP/1.1 200")
        # This client has not closed its side: the worker holds the connection no longer.
        assert _server_socket_inode(port, client.getsockname()[1]) == 0


@needs_tcp_table
def test_an_answer_given_before_the_request_body_ended_is_not_cut_short(served):
    """Refused before its upload has arrived (here: a POST where none is allowed), a client
    still sending its body must get the answer whole: the worker keeps reading what the
    client sends instead of closing on it, which would reset the connection."""
    port = urlsplit(served).port
    with socket.create_connection(("127.0.0.1", port), timeout=30) as client:
        client.sendall(b"POST /healthz HTTP/1.1\r\nHost: desk\r\nContent-Type: text/csv\r\n"
                       b"Content-Length: 1000000\r\n\r\n" + b"name,phone\n" * 100)
        assert _answer(client).startswith(b"HTTP/1.1 405")
        assert _server_socket_inode(port, client.getsockname()[1]) != 0   # still draining


def test_each_instance_has_its_own_owner_only_control_socket(served, test_root):
    import stat
    import time
    ctl = os.path.join(test_root, "gunicorn.ctl")
    deadline = time.monotonic() + 10
    while not os.path.exists(ctl) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert stat.S_ISSOCK(os.stat(ctl).st_mode)
    assert stat.S_IMODE(os.stat(ctl).st_mode) == 0o600
