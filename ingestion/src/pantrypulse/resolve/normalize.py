"""Text normalization for entity resolution: folding, tokens, sizes, legal forms, addresses.

Everything here is language-agnostic general knowledge (Unicode folding, metric and imperial
units, company legal forms, street-type words of the main European languages). Nothing is
tuned to a particular data source: abbreviations are handled by token similarity rules
(`token_similarity`), not by a dictionary of expansions.
"""

from __future__ import annotations

import math
import re
import unicodedata
from dataclasses import dataclass
from functools import lru_cache

from rapidfuzz.distance import OSA

# --------------------------------------------------------------------------------------
# Folding and tokens
# --------------------------------------------------------------------------------------

_SPECIAL = str.maketrans(
    {
        "ß": "ss",
        "ẞ": "ss",
        "æ": "ae",
        "Æ": "ae",
        "œ": "oe",
        "Œ": "oe",
        "ø": "o",
        "Ø": "o",
        "ł": "l",
        "Ł": "l",
        "đ": "d",
        "Đ": "d",
        "ð": "d",
        "Ð": "d",
        "þ": "th",
        "Þ": "th",
        "ı": "i",
        "’": "'",
        "‘": "'",
        "`": "'",
        "´": "'",
        "×": "x",
        "–": "-",
        "—": "-",
        "‐": "-",
        "‑": "-",
        "−": "-",
    }
)


def fold(text: str | None) -> str:
    """Case- and accent-fold: `'LÉCHE Entera'` -> `'leche entera'`; `None` -> `''`.

    NFKD decomposition drops combining marks (é, ü, ñ, ç...), compatibility forms are
    flattened (ﬁ -> fi, º -> o, full-width digits), and a few letters that do not decompose
    are transliterated (ß, æ, ø, ł...). Whitespace is collapsed.
    """
    if not text:
        return ""
    text = text.translate(_SPECIAL)
    text = unicodedata.normalize("NFKD", text)
    text = "".join(c for c in text if not unicodedata.combining(c))
    text = text.translate(_SPECIAL).casefold()
    return " ".join(text.split())


_DECIMAL_COMMA = re.compile(r"(?<=\d),(?=\d)")
_ELISION = re.compile(r"(?<![a-z0-9])([ldjmnst]|qu|dell|dall|nell|sull|all)'(?=[a-z])")
_APOSTROPHE = re.compile(r"(?<=[a-z0-9])'(?=[a-z0-9])")
_PERCENT = re.compile(r"(\d+(?:\.\d+)?)\s*%")
_NON_ALNUM = re.compile(r"[^a-z0-9.]+")
_STRAY_DOT = re.compile(r"(?<!\d)\.|\.(?!\d)")


def prepare(text: str | None) -> str:
    """Fold and canonicalize number formats and apostrophes.

    Decimal comma -> dot; French / Italian elision split off (`l'opera` -> `l opera`);
    other apostrophes joined (`kellogg's` -> `kelloggs`).
    """
    s = fold(text)
    s = _DECIMAL_COMMA.sub(".", s)
    s = _ELISION.sub(r"\1 ", s)  # `l'opera` -> `l opera`, `dell'arte` -> `dell arte`
    s = _APOSTROPHE.sub("", s)  # `sainsbury's` -> `sainsburys`
    return s


_RUNS = re.compile(r"\d+(?:\.\d+)?pct|\d+(?:\.\d+)?|[a-z]+")


def tokens_of(prepared: str) -> list[str]:
    """Split prepared text into alphanumeric tokens; decimals (`1.5`) and `0pct` survive.

    Letters and digits are split apart (`n5` -> `n 5`, `omega3` -> `omega 3`) so that
    `N5`, `n.5` and `n 5` give the same tokens.
    """
    s = _PERCENT.sub(lambda m: f" {_num_text(float(m.group(1)))}pct ", prepared)
    s = _NON_ALNUM.sub(" ", s)
    s = _STRAY_DOT.sub(" ", s)
    return [r for t in s.split() for r in _RUNS.findall(t)]


def tokenize(text: str | None) -> list[str]:
    """`prepare` then `tokens_of`: `'Lèche ENT. 0,5% 1L'` -> `['leche','ent','0.5pct','1l']`."""
    return tokens_of(prepare(text))


def compact(text: str | None) -> str:
    """Alphanumeric-only fold, for comparing brands.

    `'Coca-Cola'` -> `'cocacola'`, `'Müller'` / `'Mueller'` -> `'muller'`.
    """
    return deumlaut("".join(tokenize(text)).replace(".", ""))


def deumlaut(text: str) -> str:
    """German transliteration folded away: `mueller` / `muller` -> `muller`, `sued` -> `sud`.

    Applied to both sides of a comparison only (chain and brand keys, token similarity), so
    it is harmless for words that merely contain `ue`/`oe`/`ae`.
    """
    return text.replace("ae", "a").replace("oe", "o").replace("ue", "u")


def _num_text(value: float) -> str:
    if value == int(value):
        return str(int(value))
    return f"{value:.6g}"


@lru_cache(maxsize=200_000)
def is_number(token: str) -> bool:
    """True for tokens that carry a number (`12`, `1.5`, `0pct`, `123b`)."""
    return any(c.isdigit() for c in token)


# --------------------------------------------------------------------------------------
# Sizes and packs
# --------------------------------------------------------------------------------------

# unit spelling -> (canonical unit, factor to the canonical unit)
_MEASURE_UNITS: dict[str, tuple[str, float]] = {}
for _names, _unit, _factor in (
    ("g gr grs grm grms gramo gramos gram grams gramm gramme grammes grammi grammo", "g", 1.0),
    (
        "kg kgs kgr kilo kilos kilogramo kilogramos kilogram kilograms kilogramm kilogramme "
        "chilo chili",
        "g",
        1000.0,
    ),
    ("mg milligram milligrams miligramos", "g", 0.001),
    ("l lt lts ltr ltrs litro litros liter liters litre litres litri", "ml", 1000.0),
    (
        "ml mls mltr millilitre millilitres milliliter milliliters mililitro mililitros millilitri",
        "ml",
        1.0,
    ),
    ("cl cls centilitre centilitres centiliter centilitro centilitros", "ml", 10.0),
    ("dl decilitre deciliter decilitro", "ml", 100.0),
    ("oz ounce ounces", "g", 28.349523125),
    ("lb lbs pound pounds", "g", 453.59237),
    ("floz", "ml", 29.5735295625),
    ("pt pint pints", "ml", 568.26125),
):
    for _n in _names.split():
        _MEASURE_UNITS[_n] = (_unit, _factor)

# count units: `12 uds`, `6 pcs`, `10 Stk`, `4 u.`
_COUNT_UNITS = [
    "u",
    "ud",
    "uds",
    "un",
    "und",
    "unds",
    "unid",
    "unids",
    "unidad",
    "unidades",
    "uni",
    "unit",
    "units",
    "pc",
    "pcs",
    "pce",
    "pces",
    "piece",
    "pieces",
    "pz",
    "pzs",
    "pza",
    "pzas",
    "pezzi",
    "pezzo",
    "stk",
    "stck",
    "stuck",
    "st",
    "ct",
    "cnt",
    "count",
    "pieza",
    "piezas",
    "szt",
    "kpl",
    "stuk",
    "stuks",
]
# pack words: `6 pack`, `6-pack`, `6er pack`, `pack 6`, `pack de 6`, `lot de 6`
_PACK_WORDS = ["pack", "packs", "pk", "pak", "paquete", "lot", "lote", "multipack", "confezione"]

_NUM = r"(\d+(?:\.\d+)?)"
_UNIT_ALT = "|".join(sorted((re.escape(u) for u in _MEASURE_UNITS), key=len, reverse=True))
_UNIT = rf"(fl\.?\s*oz|{_UNIT_ALT})"
_COUNT_ALT = "|".join(sorted(_COUNT_UNITS, key=len, reverse=True))
_PACK_ALT = "|".join(_PACK_WORDS)
_B = r"(?<![a-z0-9.])"  # left boundary: not inside a word or number
_E = r"(?![a-z0-9])"  # right boundary

_RE_PACK_SIZE = re.compile(rf"{_B}(\d+)\s*[x*]\s*{_NUM}\s*{_UNIT}\.?{_E}")
_RE_SIZE_PACK = re.compile(rf"{_B}{_NUM}\s*{_UNIT}\.?\s*[x*]\s*(\d+){_E}")
_RE_SIZE = re.compile(rf"{_B}{_NUM}\s*{_UNIT}\.?{_E}")
# unit before number, as some receipts print it: `GR 500`, `KG 1`, `LT 1,5`, `CL 75`
_RE_UNIT_FIRST = re.compile(rf"{_B}(gr|grs|kg|kgs|mg|ml|cl|dl|lt|ltr|lts)\.?\s*{_NUM}{_E}")
_RE_COUNT = re.compile(rf"{_B}(\d+)\s*(?:{_COUNT_ALT})\.?{_E}")
_RE_PACK_AFTER = re.compile(rf"{_B}(\d+)\s*-?\s*(?:er\s*)?(?:{_PACK_ALT}){_E}")
_RE_PACK_BEFORE = re.compile(rf"{_B}(?:{_PACK_ALT})\s*(?:de|of|da|di|x|von)?\s*(\d+){_E}")
_RE_AFTER_NUMBER = re.compile(rf"\s*(?:x|\*|{_UNIT_ALT}|{_COUNT_ALT}){_E}")
_RE_PACK_WORD = re.compile(rf"{_B}(?:{_PACK_ALT}){_E}")
_RE_X_COUNT = re.compile(rf"{_B}x\s*(\d+){_E}|{_B}(\d+)\s*x{_E}")


@dataclass(frozen=True)
class Size:
    """Net content of one product: `value` in `unit` (g | ml | unit), `pack` units per pack.

    `6x33cl` -> Size(330, 'ml', 6); `1L` -> Size(1000, 'ml', 1); `12 uds` -> Size(12,
    'unit', 1); `pack 6` (no content) -> Size(None, None, 6).
    """

    value: float | None
    unit: str | None
    pack: int | None

    @property
    def known(self) -> bool:
        """A content or a pack count is known."""
        return self.value is not None or self.pack is not None

    def key(self) -> str:
        """Stable text form: `6x330ml`, `1000ml`, `12unit`, `6x?`, `` when unknown."""
        if not self.known:
            return ""
        body = f"{_num_text(self.value)}{self.unit}" if self.value is not None else "?"
        if self.pack and self.pack != 1:
            return f"{self.pack}x{body}"
        return body

    def item_count(self) -> int | None:
        """How many items a buyer gets: pack for measured goods, the count for `unit`."""
        if self.unit == "unit" and self.value is not None:
            return int(self.value) * (self.pack or 1)
        return self.pack


NO_SIZE = Size(None, None, None)


def _canonical_measure(value: float, unit_text: str) -> tuple[float, str]:
    unit_text = re.sub(r"[\s.]", "", unit_text)
    unit, factor = _MEASURE_UNITS.get(unit_text, ("ml", 29.5735295625))  # only fl oz misses
    return round(value * factor, 3), unit


def _parse_number(text: str, unit_text: str | None = None) -> float:
    # `1.500 g` is a thousands separator (1.5 g of a grocery is implausible); `1.500 kg` not.
    if unit_text is not None and re.fullmatch(r"\d{1,3}\.\d{3}", text):
        unit = re.sub(r"[\s.]", "", unit_text)
        if unit in _MEASURE_UNITS and _MEASURE_UNITS[unit][1] <= 10:
            return float(text.replace(".", ""))
    return float(text)


def parse_size(prepared: str) -> tuple[Size, str]:
    """Find the size/pack in prepared (folded) text; return it and the text without it.

    Understands `1L`, `1 L`, `1 lt`, `1000ml`, `500G`, `0.5kg` (after `prepare`, `0,5kg`),
    `6x1L`, `6 X 33CL`, `33cl x 6`, `2x125g`, `12 uds`, `6 pack`, `pack de 6`, `4 uds 125 g`.
    A bare letter is never a unit (`HUEVOS L` is an egg grade, not litres).
    """
    s = prepared
    pack: int | None = None
    value: float | None = None
    unit: str | None = None

    m = _RE_PACK_SIZE.search(s)
    if m:
        pack = int(m.group(1))
        value, unit = _canonical_measure(_parse_number(m.group(2), m.group(3)), m.group(3))
        s = s[: m.start()] + " " + s[m.end() :]
    else:
        m = _RE_SIZE_PACK.search(s)
        if m:
            value, unit = _canonical_measure(_parse_number(m.group(1), m.group(2)), m.group(2))
            pack = int(m.group(3))
            s = s[: m.start()] + " " + s[m.end() :]
        else:
            m = _RE_SIZE.search(s)
            if m:
                u = _RE_UNIT_FIRST.match(s, m.start(2))
                if u and not _RE_AFTER_NUMBER.match(s, u.end()):
                    m = None  # `N. 5 GR 500`: the unit belongs to the number after it
            if m:
                value, unit = _canonical_measure(_parse_number(m.group(1), m.group(2)), m.group(2))
                s = s[: m.start()] + " " + s[m.end() :]
            else:
                m = _RE_UNIT_FIRST.search(s)
                if m:
                    value, unit = _canonical_measure(
                        _parse_number(m.group(2), m.group(1)), m.group(1)
                    )
                    s = s[: m.start()] + " " + s[m.end() :]
    if value is not None:
        # a second statement of the content (`2.272L 4 PINTS`) is dropped from the text
        s = _RE_SIZE.sub(" ", s)
    count: int | None = None
    for rx in (_RE_PACK_AFTER, _RE_PACK_BEFORE, _RE_COUNT):
        m = rx.search(s)
        if m:
            count = int(m.group(1))
            is_pack_word = rx is not _RE_COUNT
            s = s[: m.start()] + " " + s[m.end() :]
            break
    if count is None and value is not None:
        m = _RE_X_COUNT.search(s)  # `125g ... x4`
        if m:
            count = int(m.group(1) or m.group(2))
            is_pack_word = True
            s = s[: m.start()] + " " + s[m.end() :]
    if count is not None and count > 0:
        if value is not None:
            if pack is None or pack == 1:
                pack = count
        elif is_pack_word:
            pack = count
        else:
            value, unit = float(count), "unit"
    if value is not None and pack is None:
        pack = 1
    if pack == 0:
        pack = None
    if pack is not None and pack > 1:  # `PACK 6X1L`: the word `pack` said nothing more
        s = _RE_PACK_WORD.sub(" ", s)
    return Size(value, unit, pack), " ".join(s.split())


# 2.272 L printed for 4 UK pints (2.273 L), 2.27 L for the same: same content.
SIZE_TOLERANCE = 0.005


def sizes_compatible(a: Size, b: Size) -> bool:
    """Could `a` and `b` be the same product? Unknown parts are compatible with anything.

    Different known contents never are (1 L vs 500 ml), nor are different pack counts
    (6x33cl vs 33cl). A count (`4 uds`) is compatible with a pack of the same count
    (`4x125g`).
    """
    if a.unit is not None and b.unit is not None:
        if a.unit == b.unit:
            if not math.isclose(a.value, b.value, rel_tol=SIZE_TOLERANCE, abs_tol=1e-6):
                return False
            return (a.pack or 1) == (b.pack or 1) or a.pack is None or b.pack is None
        if "unit" in (a.unit, b.unit):
            return a.item_count() == b.item_count()
        return False  # g vs ml: no density table, so never merge
    # at most one side has a content
    if a.pack is not None and b.pack is not None:
        return a.item_count() == b.item_count()
    return True


_PLAIN_NUMBER = re.compile(r"\d+(?:\.\d+)?")
_UNIT_STUBS = {p for u in [*_MEASURE_UNITS, *_COUNT_UNITS] for p in (u[:1], u[:2]) if p.isalpha()}


def trailing_size_hint(tokens: list[str]) -> tuple[str | None, int | None, list[str]]:
    """A size cut off by the receipt's line width, at the end of a name without a size.

    `NATA COCIN. 2` (from `200 ml`), `ENSAL. MEZCLUM 0` (from `0,15 kg`), `PAN MOLDE 46`,
    `... 1 K`, `CERVEZA 6X0,33`, `CERVEZA 6X`: returns the digits of the content printed
    (`'2'`, `'0'`, `'46'`, `'1'`, `'033'`, None), the pack count when one survived (6) and
    the tokens without them. The hint constrains which sizes the spelling can have
    (`size_hint_compatible`).
    """
    toks = list(tokens)
    if len(toks) >= 3 and toks[-1] in _UNIT_STUBS and _PLAIN_NUMBER.fullmatch(toks[-2]):
        toks = toks[:-1]
    num = _PLAIN_NUMBER.fullmatch
    if len(toks) >= 4 and toks[-2] == "x" and num(toks[-1]) and toks[-3].isdigit():
        return toks[-1].replace(".", ""), int(toks[-3]) or None, toks[:-3]
    if len(toks) >= 3 and toks[-1] == "x" and toks[-2].isdigit():
        return None, int(toks[-2]) or None, toks[:-2]
    if len(toks) >= 2 and num(toks[-1]):
        return toks[-1].replace(".", ""), None, toks[:-1]
    return None, None, list(tokens)


def size_hint_compatible(hint: str | None, size: Size, after_pack: bool = False) -> bool:
    """Tell whether a size printed in full could start with the truncated digits `hint`.

    `after_pack`: the hint follows a pack count (`6X0,33`), so it is the content's digits.
    """
    if not hint:
        return True
    if size.value is None:  # only a pack count known: the size text starts with it or not
        if after_pack or size.pack is None:
            return True
        return str(size.pack).startswith(hint) or hint.startswith(str(size.pack))
    forms = {_num_text(size.value), _num_text(size.value / 1000)}
    if size.unit == "ml":
        forms |= {_num_text(size.value / 10), _num_text(size.value / 100)}
    if size.pack and size.pack > 1:
        forms.add(str(size.pack))
    return any(f.replace(".", "").startswith(hint) for f in forms)


# Words that mark goods sold loose, by weight (`PATATA GRANEL`, `TOMATES EN VRAC`,
# `BANANEN LOSE`), and bare weight units printed without a number (`ZANAHORIA KG`).
_LOOSE_WORDS = {"granel", "vrac", "lose", "loose", "sfuso", "sfusi", "bulk", "avulso"}
_BARE_UNITS = {"kg", "kgs", "kilo", "kilos", "lb", "lbs", "gr", "grs"}
LOOSE_PREPOSITIONS = {"a", "al", "en", "au", "in", "per", "de", "by", "the", "pro", "le"}


def is_cut_loose_marker(token: str) -> bool:
    """A word a receipt's width cut from a loose-goods marker: `grane`, `gra`, `g` (granel)."""
    return bool(token) and any(
        w.startswith(token) and w != token for w in (*_LOOSE_WORDS, *_BARE_UNITS)
    )


def strip_loose_markers(
    tokens: list[str], learned: frozenset[str] | set[str] = frozenset()
) -> tuple[list[str], bool]:
    """Drop loose-goods markers and bare weight units; say whether there were any.

    `['patata', 'a', 'granel']` -> (`['patata']`, True); `['zanahoria', 'kg']` ->
    (`['zanahoria']`, True). `learned`: markers found in the data (see products).
    """
    out: list[str] = []
    marked = False
    for t in tokens:
        if t in _LOOSE_WORDS or t in learned or (t in _BARE_UNITS and out):
            marked = True
            if out and out[-1] in LOOSE_PREPOSITIONS and len(out) > 1:
                out.pop()
            continue
        out.append(t)
    return (out, marked) if out else (list(tokens), False)


# --------------------------------------------------------------------------------------
# Token similarity (abbreviations, typos)
# --------------------------------------------------------------------------------------

_VOWELS = set("aeiouy")


def skeleton(token: str) -> str:
    """First letter plus the remaining consonants, doubles collapsed: `leche` -> `lch`."""
    if not token:
        return ""
    out = [token[0]]
    for c in token[1:]:
        if c in _VOWELS or c == out[-1]:
            continue
        out.append(c)
    return "".join(out)


def _is_subsequence(short: str, long: str) -> bool:
    it = iter(long)
    return all(c in it for c in short)


@lru_cache(maxsize=1_000_000)
def token_similarity(a: str, b: str) -> float:
    """Similarity of two tokens in [0, 1], abbreviation-aware and symmetric.

    - equal: 1.0; tokens with digits only ever match exactly;
    - prefix (`ent` ~ `entera`, `hacend` ~ `hacendado`): 0.9 (0.6 for a 2-letter prefix);
    - same first letter and subsequence (`lche` ~ `leche`, `smdsn` ~ `semidesnatada`,
      `hcdo` ~ `hacendado`): 0.8, needing 3+ letters and 2+ consonants;
    - typos (`lehce` ~ `leche`): OSA similarity when >= 0.75 for 4+ letter tokens;
    - one stem (`filetes` ~ `fileteada`): a common prefix of 5+ letters and 3/4 of the
      shorter token: 0.8.
    """
    if a == b:
        return 1.0
    if not a or not b or is_number(a) or is_number(b):
        return 0.0
    if len(a) >= 4 and len(b) >= 4 and deumlaut(a) == deumlaut(b):
        return 0.95  # `mueller` ~ `muller`, `broetchen` ~ `brotchen`
    short, long_ = (a, b) if (len(a), a) <= (len(b), b) else (b, a)
    best = 0.0
    if short[0] == long_[0] and len(short) < len(long_):
        if long_.startswith(short):
            if len(short) >= 3:
                return 0.9
            if len(short) == 2:
                best = 0.6
        elif len(short) >= 3 and _is_subsequence(short, long_):
            if sum(1 for c in short if c not in _VOWELS) >= 2:
                best = 0.8
    if len(short) >= 4:
        sim = OSA.normalized_similarity(short, long_)
        if sim >= 0.75:
            best = max(best, min(sim, 0.85))
    if best < 0.8 and len(short) >= 5:
        # inflections of one stem: `filetes` ~ `fileteada`, `congelados` ~ `congelada`
        n = 0
        for x, y in zip(short, long_, strict=False):
            if x != y:
                break
            n += 1
        if n >= 5 and n >= 0.75 * len(short):
            best = 0.8
    return best


# --------------------------------------------------------------------------------------
# Placeholders, legal forms, tax ids, postal codes, addresses
# --------------------------------------------------------------------------------------

_PLACEHOLDERS = {
    "",
    "na",
    "n a",
    "none",
    "null",
    "nil",
    "unknown",
    "desconocido",
    "desconocida",
    "sin marca",
    "no brand",
    "unbranded",
    "generic",
    "generico",
    "generica",
    "nan",
    "sans marque",
    "keine marke",
    "ohne marke",
    "senza marca",
    "sem marca",
    "x",
    "xx",
    "xxx",
    "0",
}


def is_placeholder(text: str | None) -> bool:
    """True for empty / filler values (`''`, `'N/A'`, `'-'`, `'null'`, `'sin marca'`)."""
    return " ".join(tokenize(text)).replace(".", " ").strip() in _PLACEHOLDERS


# Legal forms as token sequences (after folding, punctuation -> spaces). `ambiguous` ones
# are real words or common initials and are removed only at the end of a name segment.
_LEGAL_UNAMBIGUOUS = """
gmbh|gmbh co kg|gmbh co|mbh|kgaa|ohg|ug haftungsbeschrankt|e k|e kfr|e v|ag co kg|
s a u|sau|s l u|slu|s l l|sll|s coop|scoop|s coop and|s coop v|scoopv|coop v|
sociedad anonima|sociedad limitada|
s a|s l|s c|s l n e|slne|s a l|
ltd|limited|plc|llp|l l c|llc|l l p|inc|incorporated|corp|corporation|pty ltd|pty|
b v|bv|n v|nv|vof|bvba|sprl|c v|
s p a|spa|s r l|srl|srls|s r l s|s a s|s n c|snc|s a p a|sapa|
sarl|s a r l|sas|sasu|s a s u|eurl|e u r l|sca|sci|
lda|l da|unipessoal lda|
aps|oyj|asa|
sp z o o|sp zoo|spzoo|sp j|sp k|s r o|sro|spol s r o|
kft|zrt|nyrt|d o o|doo|d d|ood|ead|a d
""".replace("\n", "").split("|")
_LEGAL_AMBIGUOUS = [
    "sa",
    "sl",
    "sc",
    "ag",
    "kg",
    "co",
    "cb",
    "se",
    "ab",
    "as",
    "a s",
    "oy",
    "ek",
    "ev",
    "ug",
    "ltda",
    "cia",
    "y cia",
    "& co",
    "and co",
]
_LEGAL_SEQS: tuple[tuple[tuple[str, ...], bool], ...] = tuple(
    sorted(
        {(tuple(f.split()), False) for f in _LEGAL_UNAMBIGUOUS if f.strip()}
        | {(tuple(f.split()), True) for f in _LEGAL_AMBIGUOUS if f.strip()},
        key=lambda x: (-len(x[0]), x),
    )
)


def strip_legal_form(tokens: list[str]) -> list[str]:
    """Remove legal-form suffixes from a shop/company name's tokens.

    `['mercadona','s','a']` -> `['mercadona']`; `['aldi','gmbh','co','kg']` -> `['aldi']`;
    unambiguous forms (GmbH, S.A.U., Ltd, PLC, S.r.l., SARL...) go wherever they are; short
    ambiguous ones (SA, AG, CO...) only at the end. Never empties the name.
    """
    toks = list(tokens)
    changed = True
    while changed and len(toks) > 1:
        changed = False
        for seq, ambiguous in _LEGAL_SEQS:
            n = len(seq)
            if len(toks) > n and tuple(toks[-n:]) == seq:
                toks = toks[:-n]
                changed = True
                break
            if ambiguous or len(toks) <= n:
                continue
            for i in range(1, len(toks) - n + 1):
                if tuple(toks[i : i + n]) == seq:
                    toks = toks[:i] + toks[i + n :]
                    changed = True
                    break
            if changed:
                break
    return toks


_TAX_LABEL = re.compile(
    r"^\s*(?:[a-z][a-z.\-/ ]{1,20}?\s*(?:no\.?|nr\.?|n[oº]|#)?\s*[:#]|"
    r"(?:cif|nif|nie|vat|tva|iva|p\.?\s*iva|ust-?id(?:nr)?|uid|abn|btw|mwst|siret|siren|"
    r"tax\s*id|vat\s*reg(?:\.|istration)?)\b\.?(?:\s*(?:no|nr|number|num)\b\.?)?\s*:?)\s*",
    re.IGNORECASE,
)


def normalize_tax_id(text: str | None) -> str:
    """Tax id without label, separators or ISO country prefix.

    `ES-A46103834` -> `A46103834`, `DE 123 456 789` -> `123456789`, `CIF: A08675412` ->
    `A08675412`, `VAT No. GB 123 4567 89` -> `123456789`.
    """
    raw = fold(text)
    raw = _TAX_LABEL.sub("", raw, count=1)
    s = re.sub(r"[^A-Z0-9]", "", raw.upper())
    if len(s) >= 10 and s[:2].isalpha() and (s[2].isdigit() or s[3:].isdigit()):
        s = s[2:]
    return s


def normalize_postal_code(text: str | None) -> str:
    """Uppercase alphanumerics: `sw1a 1aa` -> `SW1A1AA`, `D-10115` -> `D10115`."""
    return re.sub(r"[^A-Z0-9]", "", fold(text).upper())


_STREET_TYPES = set(
    [
        "c",
        "cl",
        "cll",
        "calle",
        "c/",
        "carrer",
        "carrera",
        "cra",
        "cr",
        "av",
        "avd",
        "avda",
        "avenida",
        "avinguda",
        "avenue",
        "ave",
        "av.",
        "bd",
        "blvd",
        "boulevard",
        "bvd",
        "pl",
        "pza",
        "plaza",
        "placa",
        "place",
        "plac",
        "piazza",
        "pzza",
        "p",
        "paseo",
        "pso",
        "pg",
        "passeig",
        "passeio",
        "po",
        "ps",
        "ctra",
        "carretera",
        "cta",
        "camino",
        "cno",
        "cami",
        "travesia",
        "trav",
        "tr",
        "ronda",
        "rda",
        "glorieta",
        "gta",
        "via",
        "vial",
        "viale",
        "corso",
        "largo",
        "rua",
        "r",
        "rue",
        "route",
        "rte",
        "chemin",
        "ch",
        "allee",
        "all",
        "impasse",
        "imp",
        "quai",
        "cours",
        "square",
        "sq",
        "road",
        "rd",
        "street",
        "st",
        "lane",
        "ln",
        "drive",
        "dr",
        "way",
        "close",
        "cres",
        "crescent",
        "court",
        "ct",
        "terrace",
        "tce",
        "parade",
        "pde",
        "highway",
        "hwy",
        "strasse",
        "str",
        "weg",
        "platz",
        "pl",
        "gasse",
        "allee",
        "ring",
        "damm",
        "ufer",
        "chaussee",
        "steig",
        "pfad",
        "markt",
        "poligono",
        "pol",
        "urb",
        "urbanizacion",
        "barrio",
        "bo",
        "edificio",
        "edif",
        "local",
        "loc",
        "centro",
        "comercial",
        "cc",
        "c.c.",
        "km",
        "no",
        "num",
        "numero",
        "nr",
        "n",
        "s/n",
        "sn",
        "bajo",
        "bj",
        "esq",
        "esquina",
    ]
)
_STREET_SUFFIXES = ("strasse", "str", "weg", "platz", "gasse", "allee", "ring", "damm")


def address_tokens(text: str | None) -> list[str]:
    """Distinctive tokens of a street address.

    Street-type words dropped, German compound suffixes unified: `'Av. Diagonal, 123'` ->
    `['diagonal', '123']`; `'Hauptstraße 5'` -> `['hauptstr', '5']`; `'C/ Mayor nº 5'` ->
    `['mayor', '5']`.
    """
    out = []
    for t in tokenize(text):
        t = t.replace(".", "")
        if not t or t in _STREET_TYPES:
            continue
        for suf in ("strasse", "str"):
            if t.endswith(suf) and len(t) > len(suf) + 2:
                t = t[: -len(suf)] + "str"
                break
        out.append(t)
    return out


def is_street_type(token: str) -> bool:
    """A street-type word (`calle`, `av`, `rue`, `road`, `strasse`...)."""
    return token in _STREET_TYPES


# Separators between a shop's chain part and its location part in a printed name.
SEGMENT_SPLIT = re.compile(r"\s+[-|/]+\s+|\s*[,;|()\[\]·•:]\s*|\s+-+|-+\s+")


def name_segments(name: str | None) -> list[str]:
    """Split a printed shop name on separators (prepared text).

    `'MERCADONA S.A. - AV. DIAGONAL 123'` -> `['mercadona s.a.', 'av. diagonal 123']`.
    """
    return [seg.strip() for seg in SEGMENT_SPLIT.split(prepare(name)) if seg.strip()]


def gtin(value: object) -> str | None:
    """A printed barcode as a canonical GTIN-14 string, or None when it is not a valid one.

    EAN-8, UPC-A (12), EAN-13 and GTIN-14 are accepted (spaces and dashes ignored, numbers
    taken as digits) when their check digit holds; they are left-padded with zeros to 14
    digits, so one product's UPC-A and EAN-13 forms are equal. Restricted-circulation codes
    (prefix 02, 20-29: variable-weight items whose code embeds the price or weight) are not
    product identities and give None.
    """
    if isinstance(value, bool) or value is None:
        return None
    text = str(value) if not isinstance(value, float) else f"{value:.0f}"
    digits = "".join(ch for ch in text if ch not in " -")
    if not digits.isdigit() or len(digits) not in (8, 12, 13, 14):
        return None
    body, check = digits[:-1], int(digits[-1])
    total = sum(int(d) * (3 if i % 2 == 0 else 1) for i, d in enumerate(reversed(body)))
    if (10 - total % 10) % 10 != check:
        return None
    if set(digits) == {"0"} or (len(digits) in (12, 13) and digits[0] == "2"):
        return None
    return digits.zfill(14)
