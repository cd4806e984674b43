"""The exhibitor pages, the portal, uploads/downloads, import/export, the API and generate."""
import io
import random

from sqlalchemy import select

from crm_expo.extensions import db
from crm_expo.models import Organization
from crm_expo.operations import create_token
from plugins.exhibitors import operations as ops
from plugins.exhibitors.generate import generate
from plugins.exhibitors.importing import importer
from plugins.exhibitors.models import Exhibitor, ExhibitorDocument
from tests.factories import make_org, make_show, make_user

PDF = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"


def test_list_filters_and_html_in_names_is_shown_escaped(client, app):
    show = make_show()
    ops.create_exhibitor(show, name_zh="张裕葡萄酒", name_en="Changyu")
    ops.create_exhibitor(show, name_en="<script>alert(1)</script> Evil Ltd")
    client.login(make_user("organizer"))
    page = client.get(f"/shows/{show.slug}/exhibitors/").get_data(as_text=True)
    assert "Changyu" in page                      # English UI: the English name
    assert "<script>alert(1)</script>" not in page and "&lt;script&gt;alert(1)&lt;/script&gt;" in page
    page = client.get(f"/shows/{show.slug}/exhibitors/?q=zy").get_data(as_text=True)
    assert "Changyu" in page and "Evil" not in page
    assert "Changyu" in client.get(f"/shows/{show.slug}/exhibitors/").get_data(as_text=True)      # the current show


def test_create_page_shows_duplicates_and_uses_the_chosen_company(client, app):
    show = make_show()
    org = make_org("青岛啤酒股份有限公司")
    client.login(make_user("organizer"))
    resp = client.form_post(f"/shows/{show.slug}/exhibitors/new", {"name_zh": "青岛啤酒股份有限公司", "kind": "main"})
    page = resp.get_data(as_text=True)
    assert resp.status_code == 200 and "Possible duplicates" in page and f'value="{org.id}"' in page
    assert db.session.scalar(select(db.func.count()).select_from(Exhibitor)) == 0
    resp = client.form_post(f"/shows/{show.slug}/exhibitors/new", {"name_zh": "青岛啤酒股份有限公司", "kind": "main",
                                                            "use_organization": org.id})
    assert resp.status_code == 302
    ex = db.session.scalar(select(Exhibitor))
    assert ex.organization_id == org.id
    # a look-alike the user confirms is another company gets its own record
    other_show = make_show()
    resp = client.form_post(f"/shows/{other_show.slug}/exhibitors/new", {"name_zh": "青岛啤酒股份有限公司", "kind": "main",
                                                                  "create_anyway": "y"})
    assert resp.status_code == 302
    assert db.session.scalar(select(db.func.count()).select_from(Organization)) == 2


def test_bad_licence_on_the_form_is_named(client, app):
    show = make_show()
    client.login(make_user("organizer"))
    page = client.form_post(f"/shows/{show.slug}/exhibitors/new", {"name_zh": "新公司", "kind": "main",
                                                            "licence_no": "123456789012345679"},
                            follow_redirects=True).get_data(as_text=True)
    assert "check digit" in page or "not allowed" in page
    assert db.session.scalar(select(db.func.count()).select_from(Exhibitor)) == 0


def test_approval_page_names_the_missing_document_and_upload_download_are_safe(client, app):
    show = make_show()
    ex = ops.create_exhibitor(show, name_zh="某酒庄")
    ops.change_status(ex, "under_review")
    client.login(make_user("organizer"))
    url = f"/shows/{show.slug}/exhibitors/{ex.id}"
    page = client.form_post(url + "/status", {"status": "approved"}, follow_redirects=True).get_data(as_text=True)
    assert "Business licence is missing" in page
    assert db.session.get(Exhibitor, ex.id).status == "under_review"
    exe = (io.BytesIO(b"MZ\x90\x00" + b"\0" * 64), "licence.pdf")
    page = client.form_post(url + "/documents", {"kind": "licence", "file": exe},
                            content_type="multipart/form-data", follow_redirects=True).get_data(as_text=True)
    assert "not a PDF, PNG or JPEG" in page
    client.form_post(url + "/documents", {"kind": "licence", "file": (io.BytesIO(PDF), "营业执照.pdf")},
                     content_type="multipart/form-data")
    doc = db.session.get(Exhibitor, ex.id).documents[0]
    resp = client.get(f"{url}/documents/{doc.id}")
    assert resp.status_code == 200 and resp.data == PDF
    assert resp.headers["Content-Disposition"].startswith("attachment")
    assert resp.headers["X-Content-Type-Options"] == "nosniff"
    assert resp.headers["Content-Type"] == "application/pdf"
    client.form_post(f"{url}/documents/{doc.id}/review", {"decision": "accepted"})
    client.form_post(url + "/status", {"status": "approved"})
    assert db.session.get(Exhibitor, ex.id).status == "approved"
    # a PDF uploaded under a page's name goes back with the extension of what it is
    client.form_post(url + "/documents", {"kind": "product_certificate", "file": (io.BytesIO(PDF), "x.html")},
                     content_type="multipart/form-data")
    disguised = db.session.scalars(select(ExhibitorDocument).where(ExhibitorDocument.filename == "x.html")).one()
    disposition = client.get(f"{url}/documents/{disguised.id}").headers["Content-Disposition"]
    assert "x.html.pdf" in disposition and not disposition.rstrip('"').endswith(".html")


def test_portal_user_sees_and_edits_only_its_own_organization(client, app):
    show = make_show()
    mine = ops.create_exhibitor(show, name_zh="我的公司")
    other = ops.create_exhibitor(show, name_zh="别人的公司")
    ops.add_document(other, "licence", "x.pdf", PDF)
    other_doc = other.documents[0]
    user = make_user("exhibitor", org=mine.organization)
    client.login(user)
    assert "我的公司" in client.get("/exhibitors/portal/").get_data(as_text=True)
    assert client.get(f"/shows/{show.slug}/exhibitors/{mine.id}").status_code == 200
    assert client.get(f"/shows/{show.slug}/exhibitors/{other.id}").status_code == 404
    assert client.get(f"/shows/{show.slug}/exhibitors/{other.id}/edit").status_code == 404
    assert client.get(f"/shows/{show.slug}/exhibitors/{other.id}/documents/{other_doc.id}").status_code == 404
    assert client.get(f"/shows/{show.slug}/exhibitors/").status_code == 403            # no staff list
    assert client.form_post(f"/shows/{show.slug}/exhibitors/{mine.id}/status", {"status": "under_review"}).status_code == 403
    resp = client.form_post(f"/shows/{show.slug}/exhibitors/{mine.id}/edit", {"name_zh": "我的公司", "email": "info@mine.cn",
                                                                        "country": "CN"})
    assert resp.status_code == 302
    assert db.session.get(Organization, mine.organization_id).email == "info@mine.cn"
    resp = client.form_post(f"/shows/{show.slug}/exhibitors/{other.id}/documents",
                            {"kind": "licence", "file": (io.BytesIO(PDF), "a.pdf")}, content_type="multipart/form-data")
    assert resp.status_code == 404


def test_organization_page_remembers_the_customer(client, app):
    show1, show2 = make_show(), make_show()
    ex1 = ops.create_exhibitor(show1, name_zh="回头客公司")
    ops.change_status(ex1, "withdrawn", reason="预算不足")
    ops.create_exhibitor(show2, organization=ex1.organization)
    client.login(make_user("account_manager"))
    page = client.get(f"/organizations/{ex1.organization_id}").get_data(as_text=True)
    assert show1.name_en in page and show2.name_en in page and "预算不足" in page


def test_export_is_formula_safe(client, app):
    show = make_show()
    ops.create_exhibitor(show, name_en="=HYPERLINK(\"http://evil\")")
    client.login(make_user("organizer"))
    resp = client.get(f"/shows/{show.slug}/exhibitors/export.csv")
    assert resp.status_code == 200 and "attachment" in resp.headers["Content-Disposition"]
    text = resp.get_data().decode("utf-8-sig")
    assert "'=HYPERLINK" in text
    assert client.get(f"/shows/{show.slug}/exhibitors/export.xlsx").status_code == 200


def test_import_file_preview_then_confirm_and_cli_reimport_adds_nothing(client, app, tmp_path):
    show = make_show()
    ops.add_category(show, "wine", "葡萄酒", "Wine")
    csv = ("公司名称,英文名称,统一社会信用代码,国家,产品类别\n"
           "张裕葡萄酒,Changyu,91350100M000100Y43,CN,wine\n"
           "坏公司,,91350100M000100Y44,CN,\n"
           ",Château Test,,FR,wine\n").encode()
    client.login(make_user("organizer"))
    page = client.form_post(f"/shows/{show.slug}/exhibitors/import", {"file": (io.BytesIO(csv), "x.csv")},
                            content_type="multipart/form-data").get_data(as_text=True)
    assert "2 imported" in page and "1 rejected" in page and "check digit" in page
    assert db.session.scalar(select(db.func.count()).select_from(Exhibitor)) == 0      # preview changes nothing
    import re
    token = re.search(r'name="token" value="([0-9a-f]+)"', page).group(1)
    client.form_post(f"/shows/{show.slug}/exhibitors/import", {"token": token, "filename": "x.csv"})
    assert db.session.scalar(select(db.func.count()).select_from(Exhibitor)) == 2
    path = tmp_path / "again.csv"
    path.write_bytes(csv)
    lines = []
    code = importer(show, str(path), False, lambda *a, **k: lines.append(a[0]))
    assert code == 1                                       # the bad row is still rejected
    assert "0 imported, 2 already there" in lines[0]
    assert db.session.scalar(select(db.func.count()).select_from(Exhibitor)) == 2


def test_api_create_list_get_patch_and_errors(client, app):
    show = make_show()
    _token, plain = create_token(show, "organizer")
    resp = client.api("POST", f"/api/v1/shows/{show.slug}/exhibitors", plain, json={"name": "茅台酒厂"})
    assert resp.status_code == 201
    ex_id = resp.get_json()["id"]
    assert client.api("POST", f"/api/v1/shows/{show.slug}/exhibitors", plain,
                      json={"name": "茅台酒厂"}).status_code == 409
    bad = client.api("POST", f"/api/v1/shows/{show.slug}/exhibitors", plain,
                     json={"name": "X", "licence_no": "91350100M000100Y44"})
    assert bad.status_code == 422 and "check digit" in bad.get_json()["error"]["message"]
    assert client.api("POST", f"/api/v1/shows/{show.slug}/exhibitors", plain, json={}).status_code == 422
    listing = client.api("GET", f"/api/v1/shows/{show.slug}/exhibitors?q=maotai", plain).get_json()
    assert listing["total"] == 1 and listing["items"][0]["name_zh"] == "茅台酒厂"
    assert client.api("GET", f"/api/v1/shows/{show.slug}/exhibitors/{ex_id}", plain).get_json()["status"] == "applied"
    resp = client.api("PATCH", f"/api/v1/shows/{show.slug}/exhibitors/{ex_id}", plain,
                      json={"notes": "VIP", "country": "CN"})
    assert resp.status_code == 200 and resp.get_json()["notes"] == "VIP"
    assert client.api("PATCH", f"/api/v1/shows/{show.slug}/exhibitors/{ex_id}", plain,
                      json={"status": "approved"}).status_code == 422
    assert client.api("GET", f"/api/v1/shows/{show.slug}/exhibitors/999999", plain).status_code == 404


def test_api_portal_token_sees_only_its_own_exhibitor(client, app):
    show = make_show()
    mine = ops.create_exhibitor(show, name_zh="我的公司")
    other = ops.create_exhibitor(show, name_zh="别人的公司")
    _t, plain = create_token(show, "exhibitor", organization_id=mine.organization_id)
    listing = client.api("GET", f"/api/v1/shows/{show.slug}/exhibitors", plain).get_json()
    assert [i["id"] for i in listing["items"]] == [mine.id] and listing["total"] == 1
    assert client.api("GET", f"/api/v1/shows/{show.slug}/exhibitors/{other.id}", plain).status_code == 404
    assert client.api("PATCH", f"/api/v1/shows/{show.slug}/exhibitors/{other.id}", plain,
                      json={"notes": "x"}).status_code == 404
    assert client.api("POST", f"/api/v1/shows/{show.slug}/exhibitors", plain, json={"name": "新"}).status_code == 403


def test_generate_is_deterministic_and_bulk(app):
    a, b = make_show(), make_show()
    generate(a, {"exhibitors": 300}, random.Random("7:exhibitors"))
    generate(b, {"exhibitors": 300}, random.Random("7:exhibitors"))

    def statuses(show):
        return [s for s in db.session.scalars(select(Exhibitor.status).where(Exhibitor.show_id == show.id)
                                              .order_by(Exhibitor.id))]
    assert len(statuses(a)) == 300 and statuses(a) == statuses(b)
    assert {"approved", "applied"} <= set(statuses(a))
    assert ops.categories_for_show(a)
    found = db.session.scalars(ops.exhibitor_query(a, q="Changcheng")).all() or \
        db.session.scalars(ops.exhibitor_query(a, q="长城")).all()
    assert found


def test_parallel_api_creations_of_one_company_make_one_exhibitor(app, live_server):
    """Eight clients register the same company at the same moment: one 201, the rest 409."""
    from concurrent.futures import ThreadPoolExecutor

    import requests
    show = make_show()
    _t, plain = create_token(show, "organizer")
    url = f"{live_server}/api/v1/shows/{show.slug}/exhibitors"

    def post(_i):
        return requests.post(url, json={"name": "并发测试酒业"},
                             headers={"Authorization": f"Bearer {plain}"}, timeout=60).status_code
    # One call first: the core records the token's use (a write) at most once a minute; that
    # read-then-write is not IMMEDIATE in crm_expo.api yet (reported to the lead).
    assert requests.get(url, headers={"Authorization": f"Bearer {plain}"}, timeout=60).status_code == 200
    with ThreadPoolExecutor(8) as pool:
        codes = sorted(pool.map(post, range(8)))
    assert codes == [201] + [409] * 7
    db.session.remove()
    assert db.session.scalar(select(db.func.count()).select_from(Exhibitor)) == 1
    assert db.session.scalar(select(db.func.count()).select_from(Organization)) == 1


def test_merge_duplicate_company_moves_its_exhibitor_records(client, app):
    show1, show2 = make_show(), make_show()
    keep = make_org("宁夏贺兰山酒庄")
    dup = make_org("寧夏賀蘭山酒莊有限公司")
    ops.create_exhibitor(show1, organization=keep)
    moved = ops.create_exhibitor(show2, organization=dup)
    client.login(make_user("organizer"))
    dup_id = dup.id
    resp = client.form_post(f"/organizations/{keep.id}/merge", {"other_id": str(dup_id)})
    assert resp.status_code == 302
    db.session.expire_all()
    assert db.session.get(Exhibitor, moved.id).organization_id == keep.id
    assert db.session.get(Organization, dup_id) is None
    page = client.get(f"/organizations/{keep.id}").get_data(as_text=True)
    assert show1.name_en in page and show2.name_en in page
    # account managers see the page but may not merge
    client.post("/auth/logout", data={"csrf_token": client.csrf_token()})
    client.login(make_user("account_manager"))
    assert client.form_post(f"/organizations/{keep.id}/merge", {"other_id": "1"}).status_code == 403


def test_required_documents_are_a_per_show_setting(client, app):
    show, other = make_show(), make_show()
    client.login(make_user("organizer"))
    client.form_post(f"/shows/{show.slug}/exhibitors/settings", {"docs-kinds": ["licence", "brand_authorisation"],
                                                           "docs-submit": "Save"})
    assert ops.required_documents(show) == ["licence", "brand_authorisation"]
    assert ops.required_documents(other) == ["licence"]            # the default
    client.form_post(f"/shows/{show.slug}/exhibitors/settings", {"cat-code": "wine", "cat-name_zh": "葡萄酒",
                                                           "cat-submit": "Add category"})
    assert [c.code for c in ops.categories_for_show(show)] == ["wine"]
    ex = ops.create_exhibitor(show, name_zh="某公司")
    ops.change_status(ex, "under_review")
    try:
        ops.change_status(ex, "approved")
    except ops.ExhibitorError as exc:
        assert "Brand authorisation / IP declaration is missing" in str(exc)
    else:
        raise AssertionError("approved without documents")


def test_import_matches_existing_companies_and_repeated_rows(app):
    show = make_show()
    known = make_org("青岛啤酒股份有限公司", licence_no="91440300708461136T")
    csv = ("公司名称,统一社会信用代码,电话\n"
           "青岛啤酒（新名称）,91440300708461136T,13800138000\n"      # same licence → the known company
           "燕京啤酒,,\n"
           "燕 京 啤 酒,,\n"                                           # same folded name, same file
           "燕京啤酒,,+86 139\n").encode()                      # bad phone: rejected, named
    from crm_expo.contacts.importing import run_import
    from plugins.exhibitors.importing import COLUMNS, apply_rows
    report = run_import(show, csv, "x.csv", "exhibitors", COLUMNS, apply_rows)
    assert (report.imported, report.unchanged, report.rejected) == (2, 1, 1)
    orgs = {e.organization_id for e in db.session.scalars(ops.exhibitor_query(show))}
    assert known.id in orgs and len(orgs) == 2
    assert db.session.scalar(select(db.func.count()).select_from(Organization)) == 2
    assert [e.id for e in db.session.scalars(ops.exhibitor_query(show, q="yanjing"))]   # new companies are searchable


def test_pages_render_in_chinese(client, app):
    show = make_show()
    ex = ops.create_exhibitor(show, name_zh="张裕葡萄酒")
    client.login(make_user("organizer", locale="zh"))
    assert "参展商" in client.get(f"/shows/{show.slug}/exhibitors/").get_data(as_text=True)
    page = client.get(f"/shows/{show.slug}/exhibitors/{ex.id}").get_data(as_text=True)
    assert "资质文件" in page and "已申请" in page
    page = client.form_post(f"/shows/{show.slug}/exhibitors/{ex.id}/status", {"status": "approved"},
                            follow_redirects=True).get_data(as_text=True)
    assert "申请不能从“已申请”变为“已批准”" in page
    assert "客户历史" in page
    assert "客户历史" in client.get(f"/organizations/{ex.organization_id}").get_data(as_text=True)
    assert client.get(f"/shows/{show.slug}/exhibitors/settings").status_code == 200
    assert client.get(f"/shows/{show.slug}/exhibitors/import").status_code == 200
    assert "服务商" in client.get(f"/shows/{show.slug}/suppliers/").get_data(as_text=True)
