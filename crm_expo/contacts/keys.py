"""Search and duplicate keys of names: Chinese characters, full pinyin and initials, traditional folded to
simplified, so that ``zhangwei``, ``zw``, ``张伟`` and ``張偉`` all find 张伟.

A record keeps its keys in a ``search_keys`` text column (space-separated tokens, lower
case). :func:`search_keys` builds them; :func:`fold_query` turns what the user typed into
the form the keys are stored in. Plugins match with a prefix/substring test on the tokens.
"""
from __future__ import annotations

import functools
import os
import re
import unicodedata

import opencc
from pypinyin import Style, lazy_pinyin

_t2s = opencc.OpenCC("t2s")
_HAN = re.compile(r"[\u3400-\u9fff\uf900-\ufaff]")
_WORD = re.compile(r"[\w@.+\-]+", re.UNICODE)


@functools.lru_cache(maxsize=65536)
def to_simplified(text: str) -> str:
    # Most text is simplified already: OpenCC's phrase matching (some 40 µs a name, most
    # of a bulk import's key-making) runs only when a character is traditional.
    if not _HAN.search(text) or all(_already_simplified(c) for c in text):
        return text
    return _t2s.convert(text)


@functools.cache
def _already_simplified(char: str) -> bool:
    phrase_chars = _phrase_chars()
    return phrase_chars is not None and char not in phrase_chars and _t2s.convert(char) == char


@functools.cache
def _phrase_chars() -> frozenset[str] | None:
    """Characters that OpenCC changes only inside a phrase (覆 of 反覆 → 反复, 瞭 of 一目瞭然),
    read from its phrase dictionary: a text with one of them takes the phrase matching.
    None (always match phrases) if the dictionary is not where this version keeps it."""
    path = os.path.join(os.path.dirname(opencc.__file__), "dictionary", "TSPhrases.txt")
    try:
        with open(path, encoding="utf-8") as fh:
            lines = fh.read().splitlines()
    except OSError:
        return None
    chars: set[str] = set()
    for line in lines:
        phrase, _, targets = line.partition("\t")
        for target in targets.split():
            chars.update(a for a, b in zip(phrase, target, strict=False) if a != b)
    return frozenset(chars)


def fold(text: str | None) -> str:
    """Simplified, NFKC-normalised, lower case, inner whitespace collapsed."""
    if not text:
        return ""
    return _fold(text)


@functools.lru_cache(maxsize=262144)   # names and companies repeat across a big import
def _fold(text: str) -> str:
    text = unicodedata.normalize("NFKC", text).strip().lower()
    return re.sub(r"\s+", " ", to_simplified(text))


@functools.cache
def _char_pinyin(char: str) -> tuple[str, str]:
    full = lazy_pinyin(char, errors="ignore")
    initial = lazy_pinyin(char, style=Style.FIRST_LETTER, errors="ignore")
    return "".join(full).lower(), "".join(initial).lower()


@functools.lru_cache(maxsize=65536)
def pinyin_keys(text: str) -> tuple[str, str]:
    """(full pinyin, initials) of the Han characters in ``text``, e.g. ('zhangwei', 'zw').

    Personal names (up to 4 characters) are converted character by character from a cache:
    a bulk import of 100,000 people cannot afford pypinyin's phrase analysis per name.
    Longer texts (company names) keep it, so that 重庆 reads chongqing, not zhongqing."""
    han = "".join(_HAN.findall(text))
    if not han:
        return "", ""
    if len(han) <= 4:
        pairs = [_char_pinyin(c) for c in han]
        return "".join(f for f, _i in pairs), "".join(i for _f, i in pairs)
    full = lazy_pinyin(han, errors="ignore")
    initials = lazy_pinyin(han, style=Style.FIRST_LETTER, errors="ignore")
    return "".join(full).lower(), "".join(initials).lower()


def search_keys(*texts: str | None) -> str:
    """Space-separated lower-case tokens for every text given (names, company, email …)."""
    tokens: list[str] = []
    for text in texts:
        folded = fold(text)
        if not folded:
            continue
        compact = folded.replace(" ", "")
        tokens.append(compact)
        tokens.extend(w for w in _WORD.findall(folded) if w != compact)
        full, initials = pinyin_keys(compact)
        if full:
            tokens.extend((full, initials))
    seen: dict[str, None] = {}
    for t in tokens:
        seen.setdefault(t, None)
    return " ".join(seen)


def fold_query(query: str | None) -> str:
    """The user's query in the stored form: folded, spaces removed (``Zhang Wei`` → ``zhangwei``)."""
    return fold(query).replace(" ", "")


def sort_key(text: str | None) -> str:
    """A collation key that sorts Chinese names by pinyin among Latin names."""
    folded = fold(text)
    full, _ = pinyin_keys(folded)
    return full or folded


# --- token index (crm_expo.contacts.search keeps the person/organization token tables) -----
_NOISE = re.compile(r"[\W_]+", re.UNICODE)
MAX_TOKEN = 200


def name_key(text: str | None) -> str:
    """Duplicate-detection form of a name: folded, without spaces or punctuation, so that
    ``張 偉``, ``张伟`` and ``Huawei Co., Ltd.`` / ``huawei co ltd`` compare equal."""
    return _NOISE.sub("", fold(text))[:MAX_TOKEN]


def national_digits(digits: str) -> str:
    """The national number of E.164 digits (8613800138000 → 13800138000)."""
    from phonenumbers import COUNTRY_CODE_TO_REGION_CODE
    for n in (1, 2, 3):     # E.164 = country code (1–3 digits) + national number
        if int(digits[:n] or 0) in COUNTRY_CODE_TO_REGION_CODE:
            return digits[n:]
    return digits


def _phone_tokens(phone: str | None) -> list[str]:
    digits = re.sub(r"\D", "", phone or "")
    if not digits:
        return []
    return [national_digits(digits) if (phone or "").startswith("+") else digits]


def _email_tokens(email: str | None) -> list[str]:
    email = (email or "").strip().lower()
    return [email] if email else []


def _given_name(compact: str) -> list[str]:
    """For a 2–4 character Chinese personal name, the given name (伟 of 张伟) and its pinyin,
    so that searching the given name alone also finds the person."""
    if not (2 <= len(compact) <= 4) or not all(_HAN.match(c) for c in compact):
        return []
    given = compact[1:]
    return [given, pinyin_keys(given)[0]]


def person_tokens(name_zh: str | None, name_en: str | None) -> set[str]:
    """The tokens a person is found by besides the indexed columns of ``persons`` itself
    (name_key: the folded name; sort_name: its full pinyin; email; phone), which search
    scans directly: the initials (zw), the given name and its pinyin, the English name when
    there is a Chinese one too, and the words of the English name after the first (smith).
    Few tokens per person keep a bulk import of 100,000 people fast."""
    tokens: set[str] = set()
    zh = name_key(name_zh)
    if zh:
        initials = pinyin_keys(zh)[1]
        if initials:
            tokens.add(initials)
        tokens.update(_given_name(zh))
    words = fold(name_en).split()
    if words:
        if zh:
            tokens.add("".join(words))
        tokens.update(w for w in words[1:] if len(w) > 1)
    return {t[:MAX_TOKEN] for t in tokens if t}


def organization_tokens(name_zh: str | None, name_en: str | None, email: str | None = "",
                        phone: str | None = "", licence_no: str | None = "", website: str | None = "") -> set[str]:
    """Tokens of a company: also every suffix of its Chinese name (技术 finds 华为技术有限公司),
    which is affordable because companies are few next to people."""
    tokens = set(search_keys(name_zh, name_en, licence_no, website).split())
    compact = name_key(name_zh)
    for i in range(1, len(compact) - 1):
        suffix = compact[i:]
        tokens.add(suffix)
        full, _initials = pinyin_keys(suffix)
        if full:
            tokens.add(full)
    tokens.update(_email_tokens(email))
    tokens.update(_phone_tokens(phone))
    return {t[:MAX_TOKEN] for t in tokens if t}


def prefix_upper_bound(prefix: str) -> str:
    """The smallest string greater than every string starting with ``prefix`` (code point
    order, which is also UTF-8 byte order): ``token >= p AND token < bound`` is a prefix test
    an ordinary B-tree index answers."""
    return prefix[:-1] + chr(ord(prefix[-1]) + 1)


def has_han(text: str | None) -> bool:
    """Whether ``text`` has a Chinese character (then it is a Chinese name)."""
    return bool(text) and _HAN.search(text) is not None


def split_name(name: str, name_en: str = "") -> tuple[str, str]:
    """(name_zh, name_en) from a single name column: Chinese characters make it the zh name."""
    name, name_en = (name or "").strip(), (name_en or "").strip()
    if has_han(name):
        return name, name_en
    return "", name_en or name


@functools.lru_cache(maxsize=65536)    # names repeat across a big import; pinyin is slow
def person_keys(name_zh: str, name_en: str) -> tuple[str, str, tuple[str, ...]]:
    """(name_key, sort_name, sorted search tokens) of a person's names. Importers compute
    them where the cells are checked (``Column(derive=…)``, on the other core) and pass them
    to bulk_get_or_create_persons / insert_persons as a record's ``keys``."""
    name = name_zh or name_en
    return name_key(name), sort_key(name), tuple(sorted(person_tokens(name_zh, name_en)))
