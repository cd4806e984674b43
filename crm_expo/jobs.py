"""Background jobs on a real queue (Huey): embedded by default, distributed when needed.

- Default: Huey's SQLite storage in a file of its own in the instance folder
  (``crm-expo-jobs.sqlite3``, never the app's database), so a fresh machine needs no broker.
- ``CRM_EXPO_REDIS_URL`` set: Huey's Redis storage on that server; any number of
  ``crm-expo worker`` processes, on any machine, consume the same jobs.
- ``JOBS_IMMEDIATE`` (tests that are not about the queue): a job runs at once, in the caller.

Declare a job with :func:`job` (core or plugin module, imported when the app is built)::

    from crm_expo.jobs import job, crontab

    @job()
    def recompute_segments(show_id): ...

    @job(periodic=crontab(minute="*/10"))
    def sweep(): ...

``recompute_segments.delay(show_id)`` queues it on the current app's queue;
``recompute_segments(show_id)`` runs it now. Every job runs inside an app context of the app
that built the queue (with a session of its own). Arguments must be picklable: pass ids, not
ORM objects, and re-read the rows in the job.

Why Huey rather than Celery: one small pure-Python dependency, a SQLite storage (so the
embedded install stays a single folder, like the app's own SQLite default) and a Redis
storage behind the same API, periodic tasks built in; Celery needs a broker (RabbitMQ or
Redis) even on one machine and its SQLAlchemy transport is experimental."""
from __future__ import annotations

import functools
import os
import threading
from dataclasses import dataclass, field

from flask import Flask, current_app
from huey import MemoryHuey, RedisHuey, SqliteHuey, crontab
from huey.consumer import Consumer

from .config import private_file

__all__ = ["job", "crontab", "queue_for", "JobQueue", "start_consumer"]

JOBS_FILE = "crm-expo-jobs.sqlite3"
EXTENSION = "crm_expo_jobs"


@dataclass
class _Declared:
    func: object
    periodic: object | None
    options: dict


_declared: list[_Declared] = []


class Job:
    """What :func:`job` returns: call it to run now, ``.delay(...)`` to queue it on the
    current app's queue, ``.schedule(args, delay=seconds)`` to queue it for later."""

    def __init__(self, declared: _Declared):
        self._declared = declared
        functools.update_wrapper(self, declared.func)

    def __call__(self, *args, **kwargs):
        return self._declared.func(*args, **kwargs)

    def _task(self, app: Flask | None = None):
        return queue_for(app or current_app._get_current_object()).task_of(self._declared)

    def delay(self, *args, **kwargs):
        return self._task()(*args, **kwargs)

    def schedule(self, args=(), kwargs=None, *, delay=None, eta=None):
        return self._task().schedule(args=args, kwargs=kwargs or {}, delay=delay, eta=eta)


def job(*, periodic=None, retries: int = 0, retry_delay: int = 0, name: str | None = None):
    """Declare a background job (see the module's docstring). ``periodic``: a
    :func:`crontab` on which the consumer runs it (no arguments)."""
    def decorator(func):
        declared = _Declared(func, periodic, {"retries": retries, "retry_delay": retry_delay,
                                              "name": name or f"{func.__module__}.{func.__qualname__}"})
        _declared.append(declared)
        return Job(declared)
    return decorator


@dataclass
class JobQueue:
    """One app's Huey instance and its registered tasks."""
    app: Flask
    huey: object
    tasks: dict = field(default_factory=dict)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def task_of(self, declared: _Declared):
        task = self.tasks.get(id(declared))
        if task is None:
            self.register_all()
            task = self.tasks[id(declared)]
        return task

    def register_all(self) -> None:
        """Register every declared job not registered yet (plugins may declare more after
        the app was built)."""
        with self.lock:
            for declared in list(_declared):
                if id(declared) in self.tasks:
                    continue
                body = _in_app_context(self.app, declared.func)
                if declared.periodic is not None:
                    task = self.huey.periodic_task(declared.periodic, name=declared.options["name"])(body)
                else:
                    task = self.huey.task(**declared.options)(body)
                self.tasks[id(declared)] = task

    def consumer(self, workers: int = 1, **options) -> Consumer:
        self.register_all()
        return self.huey.create_consumer(workers=workers, worker_type="thread", **options)


def _in_app_context(app: Flask, func):
    @functools.wraps(func)
    def run(*args, **kwargs):
        # A fresh app context: its own database session, never the caller's (immediate mode).
        with app.app_context():
            return func(*args, **kwargs)
    return run


def init_app(app: Flask) -> JobQueue:
    cfg = app.config
    name = "crm-expo"
    if cfg.get("JOBS_IMMEDIATE"):
        huey = MemoryHuey(name, immediate=True, results=False)
    elif cfg.get("REDIS_URL"):
        huey = RedisHuey(name, url=cfg["REDIS_URL"], results=False)
    else:
        path = cfg.get("JOBS_SQLITE_PATH") or os.path.join(app.instance_path, JOBS_FILE)
        private_file(path)      # queued jobs carry mail to people: owner only, as the database
        huey = SqliteHuey(name, filename=path, results=False, timeout=30)
    queue = JobQueue(app, huey)
    app.extensions[EXTENSION] = queue
    return queue


def queue_for(app: Flask) -> JobQueue:
    return app.extensions[EXTENSION]


class ThreadConsumer(Consumer):
    """A consumer that runs in a thread of a process that is not only a worker (tests):
    no signal handlers (only the main thread may set them); stop it with ``stop()``."""

    def _set_signal_handlers(self):
        pass


def start_consumer(app: Flask, workers: int = 1, **options) -> ThreadConsumer:
    """Start a real consumer of ``app``'s queue in this process's threads (tests, bench)."""
    queue = queue_for(app)
    queue.register_all()
    consumer = ThreadConsumer(queue.huey, workers=workers, worker_type="thread", **options)
    consumer.start()
    return consumer
