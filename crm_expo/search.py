"""Name search keys: Chinese characters, full pinyin and initials, traditional folded to
simplified, so that ``zhangwei``, ``zw``, ``张伟`` and ``張偉`` all find 张伟.

A record keeps its keys in a ``search_keys`` text column (space-separated tokens, lower
case). :func:`search_keys` builds them; :func:`fold_query` turns what the user typed into
the form the keys are stored in. Plugins match with a prefix/substring test on the tokens.
"""
from __future__ import annotations

import functools
import re
import unicodedata

from opencc import OpenCC
from pypinyin import Style, lazy_pinyin

_t2s = OpenCC("t2s")
_HAN = re.compile(r"[\u3400-\u9fff\uf900-\ufaff]")
_WORD = re.compile(r"[\w@.+\-]+", re.UNICODE)


@functools.lru_cache(maxsize=65536)
def to_simplified(text: str) -> str:
    return _t2s.convert(text) if _HAN.search(text) else text


def fold(text: str | None) -> str:
    """Simplified, NFKC-normalised, lower case, inner whitespace collapsed."""
    if not text:
        return ""
    text = unicodedata.normalize("NFKC", text).strip().lower()
    return re.sub(r"\s+", " ", to_simplified(text))


@functools.lru_cache(maxsize=65536)
def pinyin_keys(text: str) -> tuple[str, str]:
    """(full pinyin, initials) of the Han characters in ``text``, e.g. ('zhangwei', 'zw')."""
    han = "".join(_HAN.findall(text))
    if not han:
        return "", ""
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
