"""Fixtures of the visitors tests: a real SMTP server (aiosmtpd) on loopback."""
from __future__ import annotations

import email
import email.policy
import time

import pytest

from tests.fixtures import free_port


class Inbox:
    def __init__(self):
        self.messages: list[email.message.EmailMessage] = []

    async def handle_DATA(self, server, session, envelope):
        self.messages.append(email.message_from_bytes(envelope.content, policy=email.policy.default))
        return "250 OK"

    def wait(self, n: int = 1, timeout: float = 10.0):
        deadline = time.monotonic() + timeout
        while len(self.messages) < n and time.monotonic() < deadline:
            time.sleep(0.05)
        return self.messages


@pytest.fixture
def smtp_server(app):
    """A real SMTP server on a free loopback port; app.config points at it. Yields the inbox."""
    from aiosmtpd.controller import Controller
    inbox = Inbox()
    port = free_port()
    controller = Controller(inbox, hostname="127.0.0.1", port=port)
    controller.start()
    old = app.config["MAIL_SERVER"], app.config["MAIL_PORT"]
    app.config["MAIL_SERVER"], app.config["MAIL_PORT"] = "127.0.0.1", port
    yield inbox
    app.config["MAIL_SERVER"], app.config["MAIL_PORT"] = old
    controller.stop()


@pytest.fixture(autouse=True)
def _fresh_rate_limits(app):
    # Every test client comes from 127.0.0.1: start each test with fresh counters.
    from crm_expo.extensions import limiter
    limiter.reset()
    yield
