"""The production server behind ``crm-expo serve``: gunicorn, set up for the registration desks.

Each worker serves one request at a time (gunicorn's sync worker) unless threads are asked
for; waiting requests queue in the kernel, which hands each to the first free worker.
"""
from __future__ import annotations

import contextvars
import os
import socket
import sys

from flask import Flask
from gunicorn.app.base import BaseApplication
from gunicorn.http.body import LengthReader
from gunicorn.workers.sync import SyncWorker


class DeskSyncWorker(SyncWorker):
    """gunicorn's sync worker, letting go of a connection as soon as its answer is sent.

    gunicorn's own worker half-closes the connection after the answer and then waits for the
    client to close its side (up to 2 s), in case unread request bytes would make the kernel
    reset the connection and cut the answer short. Meanwhile the worker serves nobody: one
    network round trip per request for a tablet on the venue's Wi-Fi, and about a fifth of a
    worker's time on loopback (bench/checkin). When the app has read the whole request body
    and the client has sent nothing more, there is nothing to drain and a plain close is
    safe. Otherwise (an answer given before an upload ended, such as "file too large"; a
    pipelined request) gunicorn's drain runs as before.
    """

    def handle_request(self, listener, req, client, addr):
        if hasattr(socket, "TCP_CORK"):
            # gunicorn sends the headers and the body in two writes; corked, they leave with
            # the close in one packet (every response here ends with the connection).
            client.setsockopt(socket.IPPROTO_TCP, socket.TCP_CORK, 1)
        super().handle_request(listener, req, client, addr)
        body = req.body.reader
        if not isinstance(body, LengthReader) or body.length:   # chunked, or not read to its end
            return
        try:
            unread = client.recv(1, socket.MSG_PEEK | socket.MSG_DONTWAIT)
        except BlockingIOError:
            unread = b""
        except OSError:
            return   # the client is gone; gunicorn closes the socket
        if not unread:
            client.close()   # gunicorn's close afterwards finds it closed and does nothing


def run(app: Flask, *, host: str, port: int, workers: int, threads: int, timeout: int) -> None:
    """Serve ``app`` until stopped. The caller has checked the database and warmed the app up
    (cli.warm_up) in this process, so the forked workers share that work."""

    def post_fork(_server, _worker):
        # A thread back from the database or the socket waits for the GIL up to the switch
        # interval (5 ms by default) while another thread computes: 1 ms cut the check-in's
        # p99 by about a third at the same throughput with threaded workers.
        sys.setswitchinterval(0.001)
        from .database import start_background_checkpoints
        from .extensions import db
        with app.app_context():
            start_background_checkpoints(db.engine)

    class Server(BaseApplication):
        def load_config(self):
            self.cfg.set("bind", f"{host}:{port}")
            self.cfg.set("workers", workers)
            self.cfg.set("threads", threads)
            self.cfg.set("worker_class", "gthread" if threads > 1 else DeskSyncWorker)
            self.cfg.set("timeout", timeout)
            self.cfg.set("accesslog", None)
            self.cfg.set("keepalive", 5)
            self.cfg.set("post_fork", post_fork)
            # gunicorn's control socket defaults to one path per user (~/.gunicorn/gunicorn.ctl),
            # shared by every instance on the machine: each instance gets its own, owner-only.
            ctl = os.path.join(app.instance_path, "gunicorn.ctl")
            if len(ctl) < 100:      # the limit of a Unix socket's path
                self.cfg.set("control_socket", ctl)
                self.cfg.set("control_socket_mode", 0o600)
            else:
                self.cfg.set("control_socket_disable", True)

        def load(self):
            return app

    # Gunicorn runs outside the command's app context: a sync worker handles requests on
    # its main thread, where an inherited app context would be reused by every request —
    # and its ``g`` (a CSRF token, the API caller) shared between users.
    contextvars.Context().run(Server().run)
