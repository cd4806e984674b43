"""Surveys benchmark (not a test): queue N survey invitations (one recipient row, one
personal link and one outbox mail each, consent checked), then the results page of a survey
with N answers, p95 over repeated requests.

    PYTHONPATH=. python3 bench/survey_bench.py [--people 20000] [--requests 40] [--database URL]

Targets (issue 17): queue 20,000 invitations ≤ 10 s; results page with 20,000 answers p95 ≤ 200 ms."""
from __future__ import annotations

import argparse
import datetime as dt
import os
import random
import statistics
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from bench.booths_common import fresh_app, machine  # noqa: E402


def load() -> str:
    one, five, _fifteen = os.getloadavg()
    return f"load average {one:.2f} (1 min), {five:.2f} (5 min) on {os.cpu_count()} cores"


def seed(show, n: int) -> None:
    from sqlalchemy import insert, select

    from crm_expo.database import chunks, transaction, utcnow
    from crm_expo.models import Consent, Person
    from plugins.visitors.models import Registration
    from plugins.visitors.operations import new_badge_codes
    now = utcnow()
    with transaction() as session:
        for part in chunks(list(range(n)), 2000):
            session.execute(insert(Person), [{"name_zh": f"来宾{i}", "email": f"guest{i}@example.com",
                                              "country": "CN" if i % 4 else "DE", "created_at": now,
                                              "updated_at": now} for i in part])
        ids = list(session.scalars(select(Person.id).order_by(Person.id)))
        codes = new_badge_codes(len(ids))
        for part in chunks(list(zip(ids, codes, strict=True)), 2000):
            session.execute(insert(Consent), [{"person_id": pid, "purpose": "marketing", "granted": True,
                                               "source": "bench", "at": now} for pid, _c in part])
            session.execute(insert(Registration), [
                {"show_id": show.id, "person_id": pid, "category": ("trade", "public", "vip")[pid % 3],
                 "badge_code": code, "answers": {}, "source": "import", "created_at": now, "updated_at": now}
                for pid, code in part])


def answer_all(survey) -> None:
    from sqlalchemy import insert, select, update

    from crm_expo.database import chunks, transaction, utcnow
    from plugins.surveys.models import Recipient, SurveyAnswer
    rng = random.Random(17)
    qs = {q.key: q for q in survey.questions}
    with transaction() as session:
        ids = list(session.scalars(select(Recipient.id).where(Recipient.survey_id == survey.id)))
        session.execute(update(Recipient).where(Recipient.survey_id == survey.id).values(answered_at=utcnow()))
        for part in chunks(ids, 1000):
            rows = []
            for rid in part:
                rows += [{"recipient_id": rid, "question_id": qs["nps"].id, "value_int": rng.randint(0, 10),
                          "value_text": ""},
                         {"recipient_id": rid, "question_id": qs["csat"].id, "value_int": rng.randint(1, 5),
                          "value_text": ""},
                         {"recipient_id": rid, "question_id": qs["exhibitor_quality"].id,
                          "value_int": rng.randint(1, 5), "value_text": ""},
                         {"recipient_id": rid, "question_id": qs["purpose"].id, "value_int": None,
                          "value_text": rng.choice(["buy", "suppliers", "trends", "networking"])},
                         {"recipient_id": rid, "question_id": qs["other_shows"].id, "value_int": None,
                          "value_text": rng.choice(["SIAL China", "广交会", "FHC", "糖酒会"])}]
                if rid % 5 == 0:
                    rows.append({"recipient_id": rid, "question_id": qs["comments"].id, "value_int": None,
                                 "value_text": f"意见 {rid}: 停车不方便"})
            session.execute(insert(SurveyAnswer), rows)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--people", type=int, default=20000)
    parser.add_argument("--requests", type=int, default=40)
    parser.add_argument("--database", default="")
    args = parser.parse_args()
    instance = tempfile.mkdtemp(prefix="survey-bench-")
    url = args.database or f"sqlite:///{instance}/bench.sqlite3"
    app = fresh_app(url, instance)
    from crm_expo.database import utcnow
    from crm_expo.extensions import db
    from crm_expo.operations import create_show, create_user
    from plugins.surveys import operations as ops
    print(machine(), "·", "SQLite" if url.startswith("sqlite") else "PostgreSQL")
    print("before:", load())
    with app.test_request_context():
        show = create_show("bench-2027", "基准展会", dt.date(2027, 5, 10), 3, name_en="Bench Show")
        seed(show, args.people)
        survey = ops.open_survey(ops.create_survey(show, "visitor", {}), utcnow() + dt.timedelta(days=14))
        started = time.perf_counter()
        result = ops.send_invitations(survey)
        queued = time.perf_counter() - started
        print(f"queued {result['queued']} invitations in {queued:.2f} s "
              f"({result['queued'] / queued:,.0f}/s; target ≤ 10 s for 20,000)")
        answer_all(survey)
        survey_id, slug = survey.id, show.slug
        create_user("bench@example.com", "bench-password-1", "organizer", name="bench")
        db.session.remove()
    client = app.test_client()
    with app.test_request_context():
        pass
    login = client.get("/auth/login")
    import re
    csrf = re.search(rb'name="csrf_token" value="([^"]+)"', login.data).group(1).decode()
    client.post("/auth/login", data={"email": "bench@example.com", "password": "bench-password-1", "csrf_token": csrf})
    path = f"/shows/{slug}/surveys/{survey_id}/results"
    assert client.get(path).status_code == 200     # warm up
    times = []
    for _ in range(args.requests):
        started = time.perf_counter()
        response = client.get(path)
        times.append((time.perf_counter() - started) * 1000)
        assert response.status_code == 200
    times.sort()
    p95 = times[max(0, int(round(0.95 * len(times))) - 1)]
    print(f"results page, {args.people} answers: median {statistics.median(times):.0f} ms, p95 {p95:.0f} ms "
          f"over {len(times)} requests (target p95 ≤ 200 ms)")
    print("after:", load())


if __name__ == "__main__":
    main()
