"""Each customer's reasons, in the reader's words, with the numbers (from the ``reasons`` a
recompute stored). Used by the pages, the export and the API."""
from __future__ import annotations

from crm_expo.i18n import gettext_anywhere as _
from crm_expo.i18n import money as _money
from crm_expo.i18n import number
from crm_expo.titles import titles


def money(minor, currency: str = "CNY") -> str:
    return _money(int(round(minor or 0)), currency)


def num(value) -> str:
    return number(value)


def _title(model: str, code: str) -> str:
    return str(titles(f"loyalty.{model}").get(code, code))


SIGNS = {
    "smaller_booth": lambda s: _("smaller booth: %(before)s m² → %(now)s m²", before=num(s["before"]), now=num(s["now"])),
    "lower_spend": None,   # needs the currency: see sign_text
    "unsatisfied": lambda s: _("satisfaction %(n)s of 5 at the latest edition", n=s["satisfaction"]),
    "detractor": lambda s: _("would recommend the show %(n)s of 10 at the latest edition", n=s["would_recommend"]),
    "paid_late": lambda s: _("paid late at the latest edition"),
    "missed_edition": lambda s: _("missed %(n)s edition(s) of the window since its first", n=s["missed"]),
}


def sign_text(sign: dict, currency: str) -> str:
    if sign["sign"] == "lower_spend":
        return _("lower spend: %(before)s → %(now)s", before=money(sign["before"], currency),
                 now=money(sign["now"], currency))
    return SIGNS[sign["sign"]](sign)


def reason_lines(segment, currency: str = "CNY") -> dict[str, str]:
    """Model → one sentence saying which segment and why, with the numbers."""
    r = segment.reasons or {}
    out = {}
    a = r.get("abc", {})
    if a:
        if not a["amount_minor"]:
            out["abc"] = _("%(segment)s: nothing paid in the window.", segment=_title("abc", segment.abc))
        else:
            out["abc"] = _("%(segment)s: paid %(amount)s in the window; the customers ranked before it paid "
                           "%(share)s%% of the total %(total)s (A below %(a)s%%, B below %(b)s%%).",
                           segment=_title("abc", segment.abc), amount=money(a["amount_minor"], currency),
                           share=num(a["share_before_pct"]), total=money(a["total_minor"], currency),
                           a=num(a["a_pct"]), b=num(a["b_pct"]))
    v = r.get("value_matrix", {})
    if v:
        out["value_matrix"] = _("%(segment)s: current value %(current)s at the latest edition (median %(median)s); "
                                "potential %(potential)s of 100 (median %(pmedian)s).",
                                segment=_title("value_matrix", segment.value_matrix),
                                current=money(v["current_minor"], currency),
                                median=money(v["current_median_minor"], currency), potential=num(v["potential"]),
                                pmedian=num(v["potential_median"]))
    d = r.get("dick_basu", {})
    if d:
        if d["attitude"] is None:
            attitude = _("no attitude recorded (no would-recommend or satisfaction)")
        elif d["attitude_from"] == "would_recommend":
            attitude = _("would recommend %(n)s of 10 (high from %(high)s)", n=num(d["attitude"]),
                         high=num(d["attitude_high"]))
        else:
            attitude = _("satisfaction as %(n)s of 10 (high from %(high)s)", n=num(d["attitude"]),
                         high=num(d["attitude_high"]))
        out["dick_basu"] = _("%(segment)s: took part in %(attended)s of %(window)s editions (%(rate)s%%, high from "
                             "%(high)s%%); %(attitude)s.", segment=_title("dick_basu", segment.dick_basu),
                             attended=d["attended"], window=d["window"], rate=num(d["repeat_rate_pct"]),
                             high=num(d["repeat_high_pct"]), attitude=attitude)
    k = r.get("reinartz_kumar", {})
    if k:
        out["reinartz_kumar"] = _("%(segment)s: paid %(amount)s in the window (median %(median)s); %(n)s editions "
                                  "in the series (long from %(long)s).",
                                  segment=_title("reinartz_kumar", segment.reinartz_kumar),
                                  amount=money(k["amount_minor"], currency), median=money(k["median_minor"], currency),
                                  n=k["editions_total"], long=k["long_from"])
    s = r.get("status", {})
    if s:
        if segment.status == "lost":
            why = _("took part in %(n)s edition(s), not in the latest closed one, and has not booked this one",
                    n=s["editions_total"])
        elif segment.status == "new":
            why = _("its only edition is the latest closed one")
        elif segment.status == "loyal":
            why = _("took part in each of the last %(n)s closed editions", n=s["window"])
        elif not s["in_latest"]:
            why = _("missed the latest closed edition but is back in this one")
        else:
            why = _("%(n)s editions, the latest closed one included", n=s["editions_total"])
        out["status"] = f"{_title('status', segment.status)}: {why}."
    st = r.get("stage", {})
    if st is not None and "stage" in r:
        signs = [sign_text(x, currency) for x in st.get("signs", [])]
        out["stage"] = (f"{_title('stage', segment.stage)}: " + "; ".join(signs) + "." if signs else
                        _("%(stage)s: %(n)s edition(s), no churn signal.", stage=_title("stage", segment.stage),
                          n=st.get("editions_total", 0)))
    return out


def reasons_json(segment, currency: str = "CNY") -> dict:
    """The API's ``reasons``: per model the numbers and the sentence."""
    lines = reason_lines(segment, currency)
    return {model: {**(segment.reasons or {}).get(model, {}), "text": lines.get(model, "")}
            for model in ("abc", "value_matrix", "dick_basu", "reinartz_kumar", "status", "stage")}
