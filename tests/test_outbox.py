"""The mail outbox on a real job queue: a real SMTP server (aiosmtpd) and real consumers
(threads of this process, or `crm-expo worker` processes), on SQLite storage and on Redis."""
from __future__ import annotations

import email
import email.policy
import os
import shutil
import signal
import subprocess
import sys
import threading
import time
from collections import Counter
from urllib.parse import urlsplit

import pytest
from sqlalchemy import func, select, update

from crm_expo.database import transaction, utcnow
from crm_expo.extensions import db
from crm_expo.jobs import queue_for, start_consumer
from crm_expo.mail import deliver, queue_mail, sweep, unsubscribe_url
from crm_expo.models import AuditEntry, Consent, OutboxMail, Person
from tests.factories import make_user
from tests.fixtures import free_port


class Server:
    """aiosmtpd on a fixed loopback port that can be stopped and started again; counts the
    mails by Message-ID; refuses recipients listed in ``refuse`` with their code."""

    def __init__(self):
        self.port = free_port()
        self.ids: list[str] = []
        self.messages: list = []
        self.refuse: dict[str, str] = {}
        self.lock = threading.Lock()
        self.controller = None

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        if address in self.refuse:
            return self.refuse[address]
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):
        msg = email.message_from_bytes(envelope.content, policy=email.policy.default)
        with self.lock:
            self.ids.append(msg["Message-ID"])
            self.messages.append(msg)
        return "250 OK"

    def start(self):
        from aiosmtpd.controller import Controller
        self.controller = Controller(self, hostname="127.0.0.1", port=self.port)
        self.controller.start()

    def stop(self):
        if self.controller is not None:
            self.controller.stop()
            self.controller = None

    def wait(self, n: int, timeout: float = 20.0) -> list[str]:
        deadline = time.monotonic() + timeout
        while len(set(self.ids)) < n and time.monotonic() < deadline:
            time.sleep(0.05)
        return list(self.ids)


@pytest.fixture
def smtp():
    server = Server()
    server.start()
    yield server
    server.stop()


def _config(smtp, jobs_dir, **extra):
    cfg = {"JOBS_IMMEDIATE": False, "JOBS_SQLITE_PATH": os.path.join(jobs_dir, "crm-expo-jobs.sqlite3"),
           "MAIL_SERVER": "127.0.0.1", "MAIL_PORT": smtp.port, "MAIL_RETRY_SECONDS": 1,
           "MAIL_SENDING_TIMEOUT_SECONDS": 2, "MAIL_TIMEOUT_SECONDS": 5}
    cfg.update(extra)
    return cfg


@pytest.fixture
def qapp(app, make_app, smtp, tmp_path):
    """An app whose jobs go to a real queue (a SQLite file of its own), with no consumer yet."""
    queue_app = make_app(**_config(smtp, str(tmp_path)))
    with queue_app.app_context():
        yield queue_app
        db.session.remove()


@pytest.fixture
def consumer(qapp):
    """Two consumer threads of qapp's queue in this process."""
    started = start_consumer(qapp, workers=2, initial_delay=0.02, max_delay=0.2)
    yield started
    started.stop(graceful=True)


def _person(name="王芳", email_="wang.fang@example.com", marketing=None) -> Person:
    with transaction() as session:
        person = Person(name_zh=name, email=email_)
        session.add(person)
        session.flush()
        if marketing is not None:
            session.add(Consent(person_id=person.id, purpose="marketing", granted=marketing, source="test"))
    return person


def _queue(n: int, prefix="guest") -> list[str]:
    with transaction():
        mails = [queue_mail(f"{prefix}{i}@example.com", f"欢迎 {i}", f"您好 {i}", f"<p>您好 {i}</p>")
                 for i in range(n)]
    return [m.message_id for m in mails]


def _statuses() -> Counter:
    db.session.commit()
    return Counter(dict(db.session.execute(select(OutboxMail.status, func.count()).group_by(OutboxMail.status)).all()))


def _wait_for(predicate, timeout=20.0):
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            return False
        time.sleep(0.05)
    return True


def test_a_rolled_back_transaction_sends_nothing(qapp, consumer, smtp):
    with pytest.raises(RuntimeError):
        with transaction():
            queue_mail("ghost@example.com", "不该发出", "text")
            raise RuntimeError("the change failed")
    [sent] = _queue(1)          # a committed one goes: the consumer is running
    assert smtp.wait(1) == [sent]
    time.sleep(0.3)
    assert smtp.ids == [sent]
    assert db.session.scalar(select(func.count()).select_from(OutboxMail)) == 1


def test_every_mail_is_sent_exactly_once_even_when_its_job_is_queued_twice(qapp, consumer, smtp):
    ids = _queue(60)
    deliver.delay(ids)          # a duplicate job (a sweep racing the first one): claimed once
    assert set(smtp.wait(60)) == set(ids)
    assert _wait_for(lambda: _statuses() == Counter(sent=60))
    time.sleep(0.3)
    assert sorted(smtp.ids) == sorted(ids)
    msg = next(m for m in smtp.messages if m["To"] == "guest7@example.com")
    assert msg["Subject"] == "欢迎 7" and "您好 7" in msg.get_body(("plain",)).get_content()


def test_smtp_server_down_then_up_every_mail_retries_and_arrives(qapp, consumer, smtp):
    smtp.stop()
    ids = _queue(30)
    assert _wait_for(lambda: _statuses().get("retrying") == 30)
    row = db.session.scalar(select(OutboxMail).where(OutboxMail.message_id == ids[0]))
    assert row.attempts >= 1 and "Connection refused" in row.last_error
    smtp.start()
    assert set(smtp.wait(30)) == set(ids)
    assert _wait_for(lambda: _statuses() == Counter(sent=30))
    assert Counter(smtp.ids).most_common(1)[0][1] == 1


def test_a_temporary_error_gives_up_after_the_last_attempt(qapp, consumer, smtp):
    qapp.config["MAIL_MAX_ATTEMPTS"] = 2
    smtp.refuse["busy@example.com"] = "451 4.3.0 try again later"
    with transaction():
        queue_mail("busy@example.com", "s", "t")
    assert _wait_for(lambda: _statuses() == Counter(failed=1))
    row = db.session.scalar(select(OutboxMail))
    assert row.attempts == 2 and "451" in row.last_error
    assert smtp.ids == []


def test_a_permanent_error_fails_the_mail_and_records_the_bounce(qapp, consumer, smtp):
    person = _person(email_="gone@example.com")
    smtp.refuse["gone@example.com"] = "550 5.1.1 no such user"
    with transaction():
        queue_mail("gone@example.com", "s", "t", person=person)
        queue_mail("fine@example.com", "s", "t")
    assert smtp.wait(1) and smtp.messages[0]["To"] == "fine@example.com"
    assert _wait_for(lambda: _statuses() == Counter(sent=1, failed=1))
    failed = db.session.scalar(select(OutboxMail).where(OutboxMail.status == "failed"))
    assert failed.attempts == 1 and "550" in failed.last_error
    assert db.session.get(Person, person.id).mail_bounced_at is not None
    entry = db.session.scalar(select(AuditEntry).where(AuditEntry.action == "mail.bounce"))
    assert entry.object_id == str(person.id) and "no such user" in entry.after["error"]


def test_a_mail_stuck_in_sending_is_picked_up_again_with_its_message_id(qapp, smtp):
    [mid] = _queue(1)
    # A worker took its job, claimed it and was killed before it could send it: the job is
    # gone, the mail stays "sending" and its lease is over.
    queue_for(qapp).huey.flush()
    db.session.execute(update(OutboxMail).values(status="sending", attempts=1, next_attempt_at=utcnow()))
    db.session.commit()
    # No periodic jobs in this consumer: its sweep could run at any minute's start.
    started = start_consumer(qapp, workers=1, initial_delay=0.02, max_delay=0.2, periodic=False)
    try:
        time.sleep(0.5)
        assert smtp.ids == []           # nothing sends it again but the sweep
        assert sweep() == 1
        assert smtp.wait(1) == [mid]
        assert _wait_for(lambda: _statuses() == Counter(sent=1))
        assert db.session.scalar(select(OutboxMail.attempts)) == 2
        assert sweep() == 0
    finally:
        started.stop(graceful=True)


def test_marketing_mail_is_withheld_when_consent_is_withdrawn(qapp, smtp):
    willing, unwilling = _person(marketing=True), _person("李雷", "li.lei@example.com", marketing=False)
    with transaction():
        kept = queue_mail(willing.email, "新品", "新品发布", person=willing, purpose="marketing", language="zh")
        refused = queue_mail(unwilling.email, "新品", "新品发布", person=unwilling, purpose="marketing")
        receipt = queue_mail(unwilling.email, "回执", "回执", person=unwilling)   # transactional: goes
    assert db.session.get(OutboxMail, refused.id).status == "withheld"
    started = start_consumer(qapp, workers=1, initial_delay=0.02, max_delay=0.2)
    try:
        assert len(set(smtp.wait(2))) == 2
        assert _wait_for(lambda: _statuses() == Counter(sent=2, withheld=1))
        # Queued while consent was given, withdrawn before a worker took it: not sent.
        started.stop(graceful=True)
        with transaction() as session:
            later = queue_mail(willing.email, "又一封", "x", person=willing, purpose="marketing")
            session.add(Consent(person_id=willing.id, purpose="marketing", granted=False, source="test"))
        started = start_consumer(qapp, workers=1, initial_delay=0.02, max_delay=0.2)
        assert _wait_for(lambda: _statuses() == Counter(sent=2, withheld=2))
    finally:
        started.stop(graceful=True)
    got = {m["Message-ID"]: m for m in smtp.messages}
    assert set(got) == {kept.message_id, receipt.message_id} and later.message_id not in got
    marketing = got[kept.message_id]
    link = unsubscribe_url(willing.id, "marketing")
    assert marketing["List-Unsubscribe"] == f"<{link}>"
    assert marketing["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    assert "退订" in marketing.get_body(("plain",)).get_content()
    assert "List-Unsubscribe" not in got[receipt.message_id]


def test_the_unsubscribe_link_withdraws_the_consent_and_withholds_queued_mail(app, client):
    person = _person(marketing=True)
    with transaction():
        waiting = queue_mail(person.email, "s", "t", person=person, purpose="marketing")
    # JOBS_IMMEDIATE with no SMTP server: the mail waits as "retrying".
    assert db.session.get(OutboxMail, waiting.id).status == "retrying"
    path = urlsplit(unsubscribe_url(person.id, "marketing")).path
    page = client.get(path)
    assert page.status_code == 200 and "wang.fang@example.com" in page.get_data(as_text=True)
    done = client.post(path, data={"List-Unsubscribe": "One-Click"})    # a mail client's one-click
    assert done.status_code == 200 and "no more news" in done.get_data(as_text=True)
    db.session.expire_all()
    assert not db.session.get(Person, person.id).consent("marketing")
    assert db.session.get(OutboxMail, waiting.id).status == "withheld"
    assert db.session.scalar(select(AuditEntry.action).where(AuditEntry.action == "consent.withdraw"))
    for bad in (path[:-3] + "xyz", "/mail/unsubscribe/nonsense"):
        resp = client.get(bad)
        assert resp.status_code == 404 and "not valid" in resp.get_data(as_text=True)


def test_outbox_api_counts_by_status_for_organizers_only(app, client):
    with transaction():
        queue_mail("a@example.com", "s", "t")      # no server: retrying
    organizer, desk = make_user(role="organizer"), make_user(role="desk", email="desk@example.com")
    client.login(desk)
    assert client.get("/api/v1/outbox").status_code == 403
    client.form_post("/auth/logout")
    client.login(organizer)
    body = client.get("/api/v1/outbox").get_json()
    assert body["total"] == 1 and body["counts"]["retrying"] == 1 and body["counts"]["sent"] == 0


# --- worker processes ------------------------------------------------------------------------
def _worker_env(database, smtp, instance, **extra):
    url, _ = database
    env = dict(os.environ, CRM_EXPO_DATABASE_URL=url, CRM_EXPO_SECRET_KEY="test-secret",
               CRM_EXPO_INSTANCE_PATH=instance, CRM_EXPO_MAIL_SERVER="127.0.0.1",
               CRM_EXPO_MAIL_PORT=str(smtp.port), CRM_EXPO_MAIL_SENDING_TIMEOUT_SECONDS="2",
               CRM_EXPO_MAIL_RETRY_SECONDS="1", PYTHONPATH=os.getcwd())
    env.update(extra)
    return env


def _worker(env, workers=2):
    return subprocess.Popen([sys.executable, "-m", "crm_expo", "worker", "--workers", str(workers)],
                            env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)


def _stop(proc):
    if proc.poll() is None:
        proc.terminate()
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()


def test_sigkill_the_worker_mid_send_and_restart_every_mail_arrives(app, make_app, database, smtp, tmp_path):
    instance = str(tmp_path)
    queue_app = make_app(**_config(smtp, instance))
    with queue_app.app_context():
        ids = _queue(1000)
        env = _worker_env(database, smtp, instance)
        first = _worker(env)
        try:
            assert _wait_for(lambda: len(smtp.ids) >= 250, timeout=20), first.stderr.read1().decode()[-2000:]
            first.send_signal(signal.SIGKILL)
            first.wait(5)
        finally:
            _stop(first)
        cut = len(set(smtp.ids))
        assert cut < 1000, "the worker had sent everything before it was killed: nothing tested"
        second = _worker(env)
        try:
            time.sleep(2.2)         # the killed worker's leases run out
            sweep()                 # what the periodic sweep does every minute
            assert set(smtp.wait(1000, timeout=20)) == set(ids)
            assert _wait_for(lambda: _statuses() == Counter(sent=1000))
        finally:
            _stop(second)
    counts = Counter(smtp.ids)
    # Only a mail the server had accepted in the instant before the kill, not yet marked
    # sent, can go twice (recognisable by its Message-ID): at most one per worker thread.
    assert sum(n - 1 for n in counts.values()) <= 2


@pytest.fixture
def redis_url(tmp_path):
    exe = shutil.which("redis-server")
    if exe is None:
        pytest.skip("redis-server is not installed (apt-get install redis-server)")
    port = free_port()
    proc = subprocess.Popen([exe, "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no",
                             "--dir", str(tmp_path)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    import redis
    client = redis.Redis(host="127.0.0.1", port=port)
    assert _wait_for(lambda: _ping(client), timeout=10), "redis-server did not start"
    yield f"redis://127.0.0.1:{port}/0"
    proc.terminate()
    proc.wait(10)


def _ping(client) -> bool:
    import redis
    try:
        return client.ping()
    except redis.RedisError:
        return False


def test_two_worker_processes_on_redis_never_send_a_mail_twice(app, make_app, database, smtp, tmp_path,
                                                               redis_url):
    instance = str(tmp_path)
    queue_app = make_app(**_config(smtp, instance, REDIS_URL=redis_url))
    with queue_app.app_context():
        env = _worker_env(database, smtp, instance, CRM_EXPO_REDIS_URL=redis_url)
        workers = [_worker(env), _worker(env)]
        try:
            ids = _queue(500)
            deliver.delay(ids[:250])        # duplicates of half the jobs: still once each
            assert set(smtp.wait(500, timeout=25)) == set(ids)
            assert _wait_for(lambda: _statuses() == Counter(sent=500))
            time.sleep(0.3)
        finally:
            for proc in workers:
                _stop(proc)
    assert len(smtp.ids) == 500 and len(set(smtp.ids)) == 500
