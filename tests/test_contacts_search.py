"""Finding people and companies the way organizers type: characters, pinyin, initials,
traditional or simplified, English, email, phone, company."""
from __future__ import annotations

import pytest
from sqlalchemy import select

from crm_expo.contacts.keys import fold_query, prefix_upper_bound, search_keys
from crm_expo.contacts.search import (
    index_persons,
    insert_persons,
    search_organizations,
    search_persons,
)
from crm_expo.database import utcnow
from crm_expo.extensions import db
from crm_expo.models import Person
from crm_expo.models.contacts import PersonSearchToken
from tests.factories import make_org, make_person


@pytest.fixture
def people(app):
    huawei = make_org("华为技术有限公司", "Huawei Technologies")
    return {
        "zw": make_person("张伟", "Zhang Wei", organization=huawei, email="wei.zhang@huawei.com",
                          phone="+8613800138000"),
        "zwei": make_person("张巍"),
        "zwl": make_person("张维林"),
        "ln": make_person("李娜", email="lina@example.cn", phone="+8613912345678"),
        "js": make_person("", "John Smith", email="john@acme.co.uk"),
        "wf": make_person("王芳", organization=huawei),
    }


@pytest.mark.parametrize("query,key", [
    ("张伟", "zw"), ("張偉", "zw"), ("zhangwei", "zw"), ("ZhangWei", "zw"), ("Zhang Wei", "zw"),
    ("lina", "ln"), ("ln", "ln"), ("李娜", "ln"), ("John Smith", "js"), ("smith", "js"),
    ("john@acme.co.uk", "js"), ("lina@example.cn", "ln"), ("13912345678", "ln"), ("139123", "ln"), ("+8613912345678", "ln"),
    ("+86 139 1234 5678", "ln"), ("0086 139 1234 5678", "ln"), ("wei.zhang", "zw"), ("娜", "ln"),
])
def test_finds_the_person_first(people, query, key):
    found = search_persons(query, 10)
    assert found and found[0] == people[key].id, (query, found)


def test_initials_and_prefixes_find_every_match_exact_first(people):
    found = search_persons("zw", 10)
    # 张伟 and 张巍 are exactly "zw"; 张维林 (zwl) only starts with it
    assert set(found[:2]) == {people["zw"].id, people["zwei"].id}
    assert found[2] == people["zwl"].id
    assert search_persons("zhang", 10)[:3] and people["zwl"].id in search_persons("zhang", 10)


def test_company_finds_its_people(people):
    found = search_persons("华为", 10)
    assert set(found) == {people["zw"].id, people["wf"].id}
    assert set(search_persons("huawei", 10)) >= {people["zw"].id, people["wf"].id}
    assert search_persons("张伟 华为", 10) == [people["zw"].id]


def test_organizations_found_by_name_part_pinyin_and_traditional(people):
    org_id = people["zw"].organization_id
    for q in ("华为", "華為技術", "技术", "hwjs", "huaweijishu", "Huawei Tech"):
        assert search_organizations(q) == [org_id], q


def test_no_match_and_empty_query(people):
    assert search_persons("xyzzy") == []
    assert search_persons("   ") == []
    assert search_persons("%") == [] and search_persons("_") == []   # no LIKE wildcards


def test_changes_are_reindexed_and_deleted_people_vanish(people):
    p = people["ln"]
    p.name_zh = "李丽"
    db.session.commit()
    assert search_persons("李娜") == [] and search_persons("ln") == []
    assert search_persons("lili") == [p.id]
    db.session.delete(people["js"])
    db.session.commit()
    assert search_persons("smith") == []


def test_erased_people_are_not_found(people):
    people["ln"].erased_at = utcnow()
    db.session.commit()
    assert search_persons("李娜") == []


def test_bulk_inserted_people_are_searchable_and_reindexable(app):
    now = utcnow()
    [pid] = insert_persons([{"name_zh": "欧阳娜娜", "name_en": "", "email": "", "phone": "", "name_key": "欧阳娜娜",
                             "sort_name": "ouyangnana", "search_keys": "", "created_at": now, "updated_at": now}])
    db.session.commit()
    assert search_persons("oynn") == [pid]
    db.session.execute(Person.__table__.update().where(Person.id == pid).values(name_zh="欧阳菲菲"))
    index_persons([pid])
    db.session.commit()
    assert search_persons("oynn") == [] and search_persons("oyff") == [pid]
    assert "oyff" in set(db.session.scalars(select(PersonSearchToken.token).where(PersonSearchToken.person_id == pid)))
    assert search_persons("ouyangfeifei") == [pid] and search_persons("歐陽菲菲") == [pid]


def test_show_filter_keeps_people_linked_to_the_show(app):
    visitors = pytest.importorskip("plugins.visitors.operations")
    from tests.factories import make_show
    show, other = make_show(), make_show()
    make_person("张伟", email="zw2@example.com")
    with app.test_request_context():
        reg = visitors.register_visitor(show, {"name_zh": "张伟", "email": "zw1@example.com"}, "public",
                                        consents={"badge_data": True, "marketing": False,
                                                  "share_with_exhibitors": False}, source="test")
    assert len(search_persons("zw")) == 2
    assert search_persons("zw", show=show) == [reg.person_id]
    assert search_persons("zw", show=other) == []


def test_existing_key_functions_still_work():
    assert search_keys("張偉") == "张伟 zhangwei zw"
    assert fold_query(" Zhang  Wei ") == "zhangwei"
    assert prefix_upper_bound("zw") == "zx"


@pytest.mark.parametrize("text,simplified", [
    ("張偉", "张伟"), ("张伟", "张伟"), ("頭髮", "头发"), ("台灣", "台湾"),
    # Characters that are simplified on their own but traditional inside a phrase: the
    # shortcut for already-simplified text must not skip OpenCC's phrase matching.
    ("反覆", "反复"), ("一目瞭然", "一目了然"), ("以免藉口", "以免借口"),
    # … and phrases OpenCC keeps as they are.
    ("乾坤", "乾坤"), ("乾隆", "乾隆"), ("Zhang 張三", "Zhang 张三"), ("Huawei", "Huawei"),
])
def test_traditional_folds_to_simplified_as_opencc_does(text, simplified):
    from crm_expo.contacts.keys import _t2s, to_simplified
    assert to_simplified(text) == simplified == _t2s.convert(text)
