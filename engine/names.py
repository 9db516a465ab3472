# TEMPORARY placeholder until the real module lands (not committed)
from __future__ import annotations

import unicodedata

NAME_FIELDS = ("first", "last", "alias")
def clean_name(text: str) -> str:
    return " ".join(unicodedata.normalize("NFC", text).split())
def tokens(text: str) -> list[str]:
    out = []
    for t in text.casefold().replace("-", " ").split():
        t = "".join(c for c in unicodedata.normalize("NFKD", t) if c.isalnum())
        for art in ("el", "al", "ال"):
            if t.startswith(art) and len(t) > len(art) + 2:
                t = t[len(art):]
        if t in ("el", "al", "ben", "bent", "بن"):
            continue
        if t:
            out.append(t)
    return out
def token_keys(token: str) -> frozenset[str]:
    return frozenset({"n:" + token, "s:" + "".join(c for c in token if c not in "aeiouy")})
def name_keys(text: str) -> frozenset[str]:
    return frozenset().union(*(token_keys(t) for t in tokens(text)))
def keys_per_token(text: str) -> list[frozenset[str]]:
    return [token_keys(t) for t in tokens(text)]
def query_keys(text: str) -> list[frozenset[str]]:
    return [token_keys(t) for t in tokens(text) if len(t) >= 2]
def field_match(a: list[frozenset[str]], b: frozenset[str]) -> float:
    if not a:
        return 0.0
    return sum(1.0 if any(k.startswith("n:") for k in ks & b) else 0.7 if ks & b else 0.0 for ks in a) / len(a)
def names_match(a: str, b: str) -> bool:
    return field_match(keys_per_token(a), name_keys(b)) >= 0.99
