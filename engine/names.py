"""Search keys of children's names, and the matching decided from them alone.

The same child is written ``Mohamed El Amrani``, ``Mohammed Elamrani``, ``M'hamed Lamrani`` or
``محمد العمراني`` depending on who wrote the report. A name is cut into normalised tokens
(:func:`tokens`); each token gives a small set of KEYS (:func:`token_keys`), each prefixed by its kind:

``n:``  the normalised spelling (an Arabic token transliterated letter by letter);
``v:``  consonant classes (semivowels w/y included), the class of the final vowel and the class of
        the vowel between the last two consonants (one key per possible class where the writing does
        not say it: a Latin ``e``, an Arabic short vowel);
``p:``  the same without that last vowel;
``s:``  the bare consonant skeleton (no semivowel, no vowel at all): search recall only.

Latin and Arabic spellings of one name meet on ``v:``/``p:``/``s:`` keys: both scripts are read into
the same consonant classes (Arabic letters by a table, Latin letters and digraphs by French-based
civil-status orthography), and where a spelling is ambiguous (an Arabic medial و/ي, a final ه or ي,
ث, ظ; a Latin ``th``, ``sh``, ``rh``, a final ``h``, ``ou`` before a vowel) every reading gives keys.

Every matching decision (:func:`field_match`, :func:`names_match`) is taken from key sets only, by
set intersection and the kind prefix of the keys that meet, so it survives replacing each key by a
keyed hash of it as long as the kind prefix stays in clear (``n:`` + HMAC(``n:amrani``)).
See docs/name-matching.md.
"""
from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable, Iterator
from functools import lru_cache
from itertools import product

NAME_FIELDS = ("first", "last", "alias")

# How much a token counts when its best meeting key is of this kind (see field_match).
KIND_WEIGHTS = {"n": 1.0, "v": 1.0, "p": 0.5, "s": 0.25}
# names_match: every token met, and the weighted share of met tokens at least this.
MATCH_THRESHOLD = 0.8
MIN_QUERY_TOKEN = 2
_MAX_READINGS = 16
_MAX_KEY = 79  # the stored column holds 80 characters, with the 'j' of a joined pair

# --- characters ---------------------------------------------------------------------------
_WHITESPACE = re.compile(r"\s+")
_APOSTROPHES = "'\u2019\u2018\u02bc\u02bb`\u00b4\u2032"
_ARABIC_DIACRITICS = re.compile("[\u0610-\u061a\u064b-\u065f\u0670\u06d6-\u06ed\u0640]")
_ARABIC_VARIANTS = str.maketrans({
    "\u0623": "\u0627", "\u0625": "\u0627", "\u0622": "\u0627", "\u0671": "\u0627",  # أ إ آ ٱ → ا
    "\u0629": "\u0647", "\u06c0": "\u0647", "\u06c1": "\u0647",  # ة ۀ ہ → ه
    "\u0649": "\u064a", "\u06cc": "\u064a", "\u06d2": "\u064a",  # ى ی ے → ي
    "\u0624": "\u0648",  # ؤ → و
    "\u0626": "\u064a",  # ئ → ي
    "\u06a9": "\u0643",  # ک → ك
})
# Letters that folding to ASCII would lose or misread (ç is s; the Amazigh and Arabist Latin letters).
_LATIN_EXTRA = str.maketrans({"ç": "s", "ø": "o", "ł": "l", "đ": "d", "ð": "d", "þ": "th", "æ": "ae", "œ": "oe",
                              "ɣ": "gh", "ɛ": "", "ʕ": "", "ʔ": "", "č": "ch", "š": "ch", "ǧ": "j", "ž": "j",
                              "ğ": "gh", "ḫ": "kh"})


def _is_arabic(ch: str) -> bool:
    return "\u0600" <= ch <= "\u06ff" or "\u0750" <= ch <= "\u077f" or "\u08a0" <= ch <= "\u08ff"


def clean_name(text: str) -> str:
    """NFC, collapse runs of whitespace, strip; keeps the script. (Display/storage form.)"""
    return _WHITESPACE.sub(" ", unicodedata.normalize("NFC", text)).strip()


# --- tokens -------------------------------------------------------------------------------
_L_ARTICLES = frozenset({"el", "al", "l", "ul"})
# An assimilated article (Es-Saidi, En Nasiri, Ech-Chaoui) is dropped before a word starting with its consonant.
_L_SUN_ARTICLES = {a + c: c for a in ("e", "a") for c in ("t", "d", "r", "z", "s", "n", "ch", "c", "sh")}
_L_PARTICLES = frozenset({"ben", "bent", "bint", "ibn", "bin", "ould", "ouled"})
_A_ARTICLE = "\u0627\u0644"  # ال
_A_PARTICLES = frozenset({"\u0628\u0646", "\u0628\u0646\u062a", "\u0627\u0628\u0646",
                          "\u0648\u0644\u062f"})  # بن بنت ابن ولد
_A_ABD = "\u0639\u0628\u062f"  # عبد
# Second parts of compounds, article included, that Arabic often writes joined: نورالدين, فتحالله.
_A_SUFFIXES = ("\u0627\u0644\u062f\u064a\u0646", "\u0627\u0644\u0644\u0647")  # الدين الله
_SUN = "tdrzsn"
_VOWELS = "aeiouy"


def _chunks(text: str) -> Iterator[tuple[bool, str]]:
    """Raw words of a name as (is_arabic, text): split on anything but letters and apostrophes, and
    where the script changes; format characters (bidi marks, joiners) are ignored."""
    text = unicodedata.normalize("NFKC", text).casefold()  # NFKC: Arabic presentation forms, full-width letters
    text = "".join(ch for ch in text if unicodedata.category(ch) != "Cf")
    word: list[str] = []
    arabic = False

    def flush() -> Iterator[tuple[bool, str]]:
        if word:
            yield arabic, "".join(word)
            word.clear()

    for ch in text:
        if ch in _APOSTROPHES:
            if word and not arabic:
                word.append("'")
            continue
        cat = unicodedata.category(ch)
        if cat.startswith("L") or (cat == "Mn" and word):
            is_ar = _is_arabic(ch) if cat.startswith("L") else arabic
            if word and is_ar != arabic:
                yield from flush()
            arabic = is_ar
            word.append(ch)
        else:
            yield from flush()
    yield from flush()


def _latin_form(word: str) -> str:
    """ASCII letters of a Latin word; an article before an apostrophe (L'Amrani) is dropped, any other
    apostrophe (M'hamed) joins."""
    parts = [p for p in word.split("'") if p]
    if len(parts) > 1 and _ascii(parts[0]) in _L_ARTICLES:
        parts = parts[1:]
    return "".join(_ascii(p) for p in parts)


def _ascii(word: str) -> str:
    folded = unicodedata.normalize("NFKD", word.translate(_LATIN_EXTRA))
    return "".join(ch for ch in folded if "a" <= ch <= "z")


def _arabic_strip(word: str) -> str:
    return _ARABIC_DIACRITICS.sub("", unicodedata.normalize("NFKC", word))


def _arabic_unify(word: str) -> str:
    word = unicodedata.normalize("NFKD", word.translate(_ARABIC_VARIANTS))
    word = "".join(ch for ch in word if not unicodedata.combining(ch)).translate(_ARABIC_VARIANTS)
    return "".join(ch for ch in word if _is_arabic(ch) and unicodedata.category(ch).startswith("L"))


def _arabic_words(word: str) -> list[str]:
    """An Arabic word: the article ال dropped (checked before hamza forms are unified, so إلهام keeps
    its first letters), عبد + article split off (عبدالرحيم → عبد رحيم)."""
    word = _arabic_strip(word)
    if word.startswith(_A_ABD + _A_ARTICLE) and len(word) >= len(_A_ABD) + 4:
        return [_arabic_unify(_A_ABD), _arabic_unify(word[len(_A_ABD) + 2:])]
    if word.startswith(_A_ARTICLE) and len(word) >= 4:
        word = word[2:]
    for suffix in _A_SUFFIXES:
        if word.endswith(suffix) and len(word) >= len(suffix) + 2:
            return [_arabic_unify(word[:-len(suffix)]), _arabic_unify(word[-len(suffix) + 2:])]
    return [_arabic_unify(word)]


def _abd_rest(rest: str) -> str | None:
    """What follows 'abd' in a joined compound (Abdelilah, Abderrahim, Abdessamad, Abdallah), the
    article taken off; None when 'abd' is not a compound prefix there (Abdou)."""
    for article in ("el", "al", "oul", "ul", "il"):
        if rest.startswith(article) and len(rest) - len(article) >= 2:
            return rest[len(article):]
    if len(rest) >= 4 and rest[0] in "eaou":
        if rest[1] == rest[2] and rest[1] in _SUN:  # Abderrahim, Abdennour
            return rest[2:]
        if rest[1] in _SUN or rest[1:3] == "ch":  # Abderahim, Abdeslam, Abdenbi
            return rest[1:]
    return None


def _latin_words(word: str) -> list[str]:
    """A Latin word: a joined article dropped (Elamrani, Lhoussine, Essaidi, Ezzahra), 'abd' split off."""
    if word.startswith("abd") and len(word) >= 6:
        rest = _abd_rest(word[3:])
        if rest is not None:
            return ["abd", *_latin_words(rest)]
    if word.startswith("el") and len(word) >= 6:
        return [word[2:]]
    if word.startswith("al") and len(word) >= 6 and word[2] not in _VOWELS + "l":
        return [word[2:]]
    if word[:1] == "e" and len(word) >= 6 and word[1] == word[2] and word[1] in _SUN:
        return [word[2:]]
    if word.startswith("echch") and len(word) >= 8:
        return [word[3:]]
    if word[:1] == "l" and len(word) >= 4 and word[1] not in _VOWELS + "l":
        return [word[1:]]
    return [word]


@lru_cache(maxsize=8192)
def _tokens(text: str) -> tuple[str, ...]:
    words: list[tuple[bool, str]] = []
    for arabic, raw in _chunks(text):
        if arabic:
            words.extend((True, w) for w in _arabic_words(raw) if w)
        else:
            form = _latin_form(raw)
            if form:
                words.append((False, form))
    found: list[str] = []
    for index, (arabic, word) in enumerate(words):
        following = words[index + 1][1] if index + 1 < len(words) else None
        if following is not None:
            if arabic and (word in _A_PARTICLES or word == _A_ARTICLE):
                continue
            if not arabic and (word in _L_PARTICLES or word in _L_ARTICLES):
                continue
            if not arabic and word in _L_SUN_ARTICLES and following.startswith(_L_SUN_ARTICLES[word]):
                continue
        if arabic:
            found.append(word)
        elif found and found[-1] == "abd" and word in _L_ARTICLES:
            continue  # Abd El Ilah
        else:
            found.extend(w for w in _latin_words(word) if w)
    return tuple(found)


def tokens(text: str) -> list[str]:
    """The normalised tokens of a name in either script: casefold, accents removed, Arabic
    diacritics/tatweel removed and letter variants unified (أ إ آ → ا, ة → ه, ى → ي, ؤ → و, ئ → ي),
    apostrophes and hyphens handled (M'hamed → mhamed, Ait-Ali → ait ali), the articles El/Al/L'/ال
    attached to the next word or written joined dropped (El Amrani, Elamrani, Al-Amrani, العمراني →
    amrani / عمراني), and Ben/Bent/Ibn/Bin/Ould/بن/بنت/ابن/ولد as a separate particle dropped. A name
    merely starting with 'ben' (Benjelloun, Bennani) or with L + vowel (Lamrani, Laila) stays whole here:
    token_keys gives the keys of both readings. A joined 'abd' compound is split: Abdelilah → abd ilah.
    Empty list when nothing is left."""
    return list(_tokens(text))


# --- readings: a token as a string of sound units -------------------------------------------
# Consonant classes are lower-case letters (b t d j h k x=kh c=ch/sh g=gh f s z r l m n w y), vowels
# are A I U (a, i, u) and E (a vowel whose class the writing does not say).
_SEMIVOWELS = "wy"


def _latin_readings(word: str) -> list[str]:
    flags = [f for f, present in (
        ("th", "th" in word), ("sh", "sh" in word), ("rh", "rh" in word),
        ("h$", len(word) > 2 and word.endswith("h") and word[-2] in "aeiou"),
        ("ou", re.search(r"[^aeiouy](ou|u)[aeio]", word) is not None)) if present]
    readings: list[str] = []
    for choice in product((False, True), repeat=len(flags)):
        reading = _latin_units(word, dict(zip(flags, choice)))
        if reading not in readings:
            readings.append(reading)
    return readings


def _latin_units(word: str, alt: dict[str, bool]) -> str:
    out: list[str] = []
    n = len(word)
    i = 0

    def at(k: int) -> str:
        return word[k] if 0 <= k < n else "#"

    while i < n:
        ch, two = word[i], word[i:i + 2]
        step = 1
        if two == "kh":
            out.append("x")
            step = 2
        elif two == "gh":
            out.append("g")
            step = 2
        elif word.startswith("sch", i):
            out.append("c")
            step = 3
        elif two == "ch":
            out.append("c")
            step = 2
        elif two == "sh":
            out.append("sh" if alt.get("sh") else "c")
            step = 2
        elif two == "ph":
            out.append("f")
            step = 2
        elif two == "th":
            out.append("th" if alt.get("th") else "t")
            step = 2
        elif two == "rh":
            out.append("g" if alt.get("rh") else "rh")
            step = 2
        elif two == "dh":
            out.append("d")
            step = 2
        elif two == "dj":
            out.append("j")
            step = 2
        elif two == "ck":
            out.append("k")
            step = 2
        elif ch == "q":
            out.append("k")
            step = 2 if at(i + 1) == "u" and at(i + 2) in "aeiy" else 1
        elif ch == "g" and at(i + 1) == "u" and at(i + 2) in "eiy":
            out.append("k")  # Guennoun, Guessous
            step = 2
        elif ch == "g":
            out.append("j" if at(i + 1) in "eiy" else "k")
        elif ch == "c":
            out.append("s" if at(i + 1) in "eiy" else "k")
        elif ch == "x":
            out.append("ks")
        elif ch == "v":
            out.append("f")
        elif ch == "p":
            out.append("b")
        elif ch == "w":
            out.append("w" if at(i + 1) in _VOWELS else "U")
        elif ch == "y":
            out.append("y" if at(i + 1) in "aeiou" else "I")
        elif two == "ou" or (ch == "u" and at(i - 1) not in _VOWELS):
            step = 2 if two == "ou" else 1
            nxt = at(i + step)
            if nxt in "aeio":
                after_vowel = i == 0 or at(i - 1) in _VOWELS
                out.append("w" if after_vowel or not alt.get("ou") else "U" * step)
            else:
                out.append("U" * step)  # "ou" is UU: French for u, short or long
        elif ch == "i":
            out.append("y" if i > 0 and at(i + 1) in "aeou" else "I")
        elif ch == "h":
            final = i == n - 1 and at(i - 1) in "aeiou" and n > 2
            if not (final and alt.get("h$")):
                out.append("h")
        elif ch in "aeou":
            out.append({"a": "A", "e": "E", "o": "U", "u": "U"}[ch])
        else:
            out.append(ch)
        i += step
    reading = "".join(out)
    if len(reading) > 2 and reading.endswith("E") and reading[-2].islower():
        reading = reading[:-1]  # a silent French final e: Amine, Hassane
    return reading


_A_CONSONANTS = {
    "\u0628": "b", "\u067e": "b", "\u062a": "t", "\u062c": "j", "\u062d": "h", "\u062e": "x", "\u062f": "d",
    "\u0630": "d", "\u0631": "r", "\u0632": "z", "\u0633": "s", "\u0634": "c", "\u0635": "s", "\u0636": "d",
    "\u0637": "t", "\u063a": "g", "\u0641": "f", "\u06a4": "f", "\u0642": "k", "\u0643": "k", "\u06af": "k",
    "\u0644": "l", "\u0645": "m", "\u0646": "n", "\u0647": "h",
    "\u062b": "t|s",  # ث: Touria, Othmane / Sanae
    "\u0638": "d|z",  # ظ: Hafid / Zahir
}
_A_SILENT = "\u0639\u0621"  # ع ء: written as a vowel or not at all in Latin
_ALEF, _WAW, _YEH, _HEH = "\u0627", "\u0648", "\u064a", "\u0647"


def _arabic_readings(word: str) -> list[str]:
    letters = list(word)
    options: list[tuple[str, ...]] = []
    ambiguous: list[int] = []
    last = len(letters) - 1
    while last > 0 and letters[last] in _A_SILENT:
        last -= 1  # a final ع or ء: the vowel before it is the last one (Rabia, Asmae)
    for k, ch in enumerate(letters):
        nxt = letters[k + 1] if k < last else ""
        if ch in _A_SILENT:
            options.append(("E",) if k == 0 else ("",))
        elif ch == _ALEF:
            options.append(("E",) if k == 0 else ("A",))
        elif ch in (_WAW, _YEH):
            vowel = "U" if ch == _WAW else "I"
            consonant = "w" if ch == _WAW else "y"
            if k == 0:
                options.append((consonant,))
            elif k == last:
                options.append(("I", "A") if ch == _YEH and last > 1 else (vowel,))
            elif nxt in (_ALEF, _WAW, _YEH) or (k + 1 == last and nxt == _HEH):
                options.append((consonant,))
            else:
                options.append((vowel, consonant))
                ambiguous.append(k)
        elif ch == _HEH and k == last and k > 0:
            options.append(("A", "h", "hA"))  # ة (unified to ه), or the consonant: Abdelilah, Taha
        elif ch in _A_CONSONANTS:
            options.append(tuple(_A_CONSONANTS[ch].split("|")))
        else:
            options.append(("",))
    # The medial semivowels are read all as vowels, all as consonants, or one of them as a consonant.
    patterns = [dict.fromkeys(ambiguous, 0), dict.fromkeys(ambiguous, 1)]
    patterns += [{**dict.fromkeys(ambiguous, 0), k: 1} for k in ambiguous]
    others = [k for k, o in enumerate(options) if len(o) > 1 and k not in ambiguous]
    readings: list[str] = []
    for pattern in patterns:
        for choice in product(*(range(len(options[k])) for k in others)):
            pick = {**pattern, **dict(zip(others, choice))}
            reading = "".join(o[pick.get(k, 0)] for k, o in enumerate(options))
            if reading not in readings:
                readings.append(reading)
            if len(readings) >= _MAX_READINGS:
                return readings
    return readings


_A_TRANSLIT = {
    **{k: v.split("|")[0] for k, v in _A_CONSONANTS.items()},
    "\u0634": "ch", "\u062e": "kh", "\u063a": "gh", _ALEF: "a", _WAW: "ou", _YEH: "i", "\u0639": "", "\u0621": "",
}


def _arabic_spelling(word: str) -> str:
    out = "".join(_A_TRANSLIT.get(ch, "") for ch in word[:-1])
    if word:
        out += "a" if word[-1] == _HEH and len(word) > 1 else _A_TRANSLIT.get(word[-1], "")
    return _collapse(out)


def _collapse(text: str) -> str:
    return re.sub(r"(.)\1+", r"\1", text)


# --- keys ---------------------------------------------------------------------------------
_UNITS = re.compile(r"([AIUE]*)([a-z])")
_SHORT = ("a", "i", "u")  # a short vowel or none: what an Arabic spelling leaves unwritten
_ANY_INITIAL = ("a", "i", "u")


def _slot_classes(group: str, arabic: bool) -> tuple[str, ...]:
    """The classes the vowel between the last two consonants may have: short or none (a i u) or long
    (A I U). Arabic writes long vowels only, so an empty Arabic slot is any short class, and so is a
    Latin empty slot (Mbark ~ Mbarek).
    A Latin single a/i/o/u may be short or long, an e any short vowel, a group (Said, Hussein,
    Chraibi) a long vowel, as Arabic writes it (سعيد, حسين, شرايبي)."""
    if arabic:
        group = group.replace("E", "")
        return (group[-1],) if group else _SHORT
    if len(group) > 1:
        group = group.rstrip("E") or "E"
    if not group or group == "E":
        return _SHORT
    if len(group) == 1 or group in ("UU", "AA"):
        return (group[-1].lower(), group[-1])
    return (group[-1],)


def _final_class(group: str) -> str:
    if len(group) > 1 or group == "E":
        group = group.rstrip("E") or "E"
    return group[-1].lower() if group else "-"


def _initial_classes(group: str, arabic: bool) -> tuple[str, ...]:
    """The class of an initial vowel (Omar / Amar, Anas / Inas ~ إيناس, Ait ~ آيت): the last vowel of a
    Latin initial group, the long vowel after an Arabic initial ا or ع; any class where the word starts
    with a consonant (Brahim ~ Ibrahim, Driss ~ Idriss) or the vowel is not said (e, a bare ا)."""
    group = group.rstrip("E") if not arabic else group.replace("E", "")
    return (group[-1].lower(),) if group else _ANY_INITIAL


def _reading_keys(reading: str, arabic: bool) -> Iterator[str]:
    consonants: list[str] = []
    groups: list[str] = []
    end = 0
    for match in _UNITS.finditer(reading):
        group, consonant = match.groups()
        end = match.end()
        if consonants and consonants[-1] == consonant and not group:
            continue  # doubled consonant: Mohammed, Bennani
        consonants.append(consonant)
        groups.append(group)
    if not consonants:
        return
    final = _final_class(reading[end:])
    full = "".join(consonants)
    yield f"p:{full}.{final}"
    slot = _slot_classes(groups[-1], arabic) if len(consonants) > 1 else ("-",)
    for initial, vowel in product(_initial_classes(groups[0], arabic), slot):
        yield f"v:{initial}{full}.{final}.{vowel}"
    skeleton = _collapse("".join(c for c in consonants if c not in _SEMIVOWELS))
    if skeleton:
        yield f"s:{skeleton}"


def _latin_alternatives(token: str) -> list[str]:
    """The token and the readings a joined prefix allows: Lamrani → amrani, Benjelloun → jelloun."""
    found = [token]
    if token[:1] == "l" and len(token) >= 5 and token[1] in "aeiou":
        found.append(token[1:])
    if token.startswith("ben") and len(token) >= 6:
        found.append(token[3:])
    return found


def _arabic_alternatives(token: str) -> list[str]:
    found = [token]
    if token.startswith("\u0628\u0646") and len(token) >= 5:  # بن joined: بنجلون
        found.append(token[2:])
    return found


@lru_cache(maxsize=16384)
def _readings(token: str) -> tuple[tuple[str, ...], bool]:
    arabic = any(_is_arabic(ch) for ch in token)
    return (tuple(_arabic_readings(token)) if arabic else tuple(_latin_readings(token))), arabic


@lru_cache(maxsize=16384)
def token_keys(token: str) -> frozenset[str]:
    """Keys of ONE normalised token, each prefixed by its kind: 'n:' (normalised Latin spelling, an
    Arabic token transliterated first), 'v:' and 'p:' (phonetic keys: consonant classes and vowel
    classes, common to both scripts), 's:' (consonant skeleton). Every key is printable ASCII."""
    if not token:
        return frozenset()
    arabic = any(_is_arabic(ch) for ch in token)
    keys: set[str] = set()
    for alternative in (_arabic_alternatives(token) if arabic else _latin_alternatives(token)):
        spelling = _arabic_spelling(alternative) if arabic else _collapse(alternative)
        if spelling:
            keys.add(f"n:{spelling}")
        readings, _ = _readings(alternative)
        for reading in readings:
            keys.update(_reading_keys(reading, arabic))
    return frozenset(k[:_MAX_KEY] for k in keys)


@lru_cache(maxsize=16384)
def _pair_keys(first: str, second: str) -> frozenset[str]:
    """Keys of two adjacent tokens written as one word (Fatima Zahra ~ Fatimazahra, Ait Ali ~ Aitali):
    their readings concatenated, so an Arabic ة inside the joined word stays a vowel. Only the n: and v:
    kinds: a joined compound is a match when it is a strong one."""
    (one, _), (two, arabic) = _readings(first), _readings(second)
    keys: set[str] = set()
    spell_one = _arabic_spelling(first) if any(_is_arabic(c) for c in first) else first
    spell_two = _arabic_spelling(second) if arabic else second
    keys.add(f"n:{_collapse(spell_one + spell_two)}")
    for count, (a, b) in enumerate(product(one, two)):
        if count >= _MAX_READINGS:
            break
        keys.update(k for k in _reading_keys(a + b, arabic) if k.startswith("v:"))
    return frozenset(k[:_MAX_KEY] for k in keys)


def _joined(keys: Iterable[str]) -> frozenset[str]:
    """The stored form of the keys of adjacent tokens read as one word: 'j' before the kind, so that they
    meet a probe's token written joined, never a probe's own pair (two names both written separately
    are compared token by token: 'Amine Bennani' and 'Amina Bennani' must not meet as 'aminebennani')."""
    return frozenset("j" + key for key in keys)


@lru_cache(maxsize=8192)
def _keys_per_token(text: str) -> tuple[frozenset[str], ...]:
    found = _tokens(text)
    pairs = [_pair_keys(a, b) for a, b in zip(found, found[1:])]
    return tuple(token_keys(t) | _joined(token_keys(t))
                 | (pairs[i - 1] if i > 0 else frozenset()) | (pairs[i] if i < len(pairs) else frozenset())
                 for i, t in enumerate(found))


def keys_per_token(text: str) -> list[frozenset[str]]:
    """[token_keys(t) for t in tokens(text)], each set extended for joined compounds: the keys of the
    token joined with each neighbour (they meet a stored token written joined: 'Fatima Zahra' finds
    'Fatimazahra') and the token's keys in the stored form of joined pairs ('Fatimazahra' finds a stored
    'Fatima Zahra'). This is the probe side (searches, duplicate checks); name_keys is the stored side."""
    return list(_keys_per_token(text))


@lru_cache(maxsize=8192)
def name_keys(text: str) -> frozenset[str]:
    """The keys stored for a name: the union of token_keys over tokens(text), plus the keys of each
    pair of adjacent tokens read as one word, in their stored form ('j' before the kind)."""
    found = _tokens(text)
    keys: set[str] = set()
    for token in found:
        keys |= token_keys(token)
    for first, second in zip(found, found[1:]):
        keys |= _joined(_pair_keys(first, second))
    return frozenset(keys)


def query_keys(text: str) -> list[frozenset[str]]:
    """For a search string: one key set per token, as keys_per_token (a case matches when every token's
    set meets the case's keys). Tokens shorter than 2 characters after normalisation are ignored."""
    return [keys for token, keys in zip(_tokens(text), _keys_per_token(text)) if len(token) >= MIN_QUERY_TOKEN]


def _kind(key: str) -> str:
    return key.split(":", 1)[0].removeprefix("j")


def _meet_weight(keys: frozenset[str], other: frozenset[str]) -> float:
    """The weight of the strongest kind among the keys two sets share (0 when they share none)."""
    return max((KIND_WEIGHTS.get(_kind(k), 0.0) for k in keys & other), default=0.0)


def field_match(a_keys_per_token: list[frozenset[str]], b_keys: frozenset[str]) -> float:
    """0..1: how well a name (given as key sets per token) is matched by another name's key set: the
    share of its tokens that meet it, each weighted by the strongest kind of key it meets on
    (n:/v: 1, p: 0.5, s: 0.25; see KIND_WEIGHTS). Only set operations on keys."""
    if not a_keys_per_token:
        return 0.0
    return sum(_meet_weight(keys, b_keys) for keys in a_keys_per_token) / len(a_keys_per_token)


def _all_met(keys_per_token_: Iterable[frozenset[str]], other: frozenset[str]) -> bool:
    return all(keys & other for keys in keys_per_token_)


def key_sets_match(a_keys_per_token: list[frozenset[str]], a_keys: frozenset[str],
                   b_keys_per_token: list[frozenset[str]], b_keys: frozenset[str]) -> bool:
    """names_match on keys alone (keys_per_token and name_keys of each name, plain or hashed with their
    kind prefix kept): every token of each name meets the other's keys, and field_match is at least
    MATCH_THRESHOLD both ways."""
    if not a_keys_per_token or not b_keys_per_token:
        return False
    if not (_all_met(a_keys_per_token, b_keys) and _all_met(b_keys_per_token, a_keys)):
        return False
    return min(field_match(a_keys_per_token, b_keys), field_match(b_keys_per_token, a_keys)) >= MATCH_THRESHOLD


def names_match(a: str, b: str) -> bool:
    """Whether two full names (first + last written in one string, either script) denote the same name,
    decided only from their keys (key_sets_match on keys_per_token and name_keys)."""
    return key_sets_match(keys_per_token(a), name_keys(a), keys_per_token(b), name_keys(b))
