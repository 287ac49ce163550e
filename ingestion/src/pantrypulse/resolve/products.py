"""Product resolution: one canonical product per real product, whatever the spelling.

A spelling (alias) is (shop_brand_key, raw_name, raw_brand). Each is normalized into

- a brand: the brand field (legal form stripped, compared as compact text), else a brand
  found in the name: any brand the data itself carries in brand fields, matched as whole
  words (`... Hacendado 1L`), as an abbreviation (`HACEND`, `HCDO`) that is not better
  explained as an abbreviation of an ordinary word of the data, or cut off at the end of the
  name (`... LA VEG` for `La Vega Real`);
- a size (`Size`: content in g | ml | unit and a pack count), or, for a name cut off by the
  receipt's width, the digits of the size that survived (`NATA COCIN. 2`); loose goods
  (sold by weight, `GRANEL`, `KG`) have none;
- descriptor words: what is left of the name (`leche ent`);
- its median unit price, divided by its chain's price level (learned from products that are
  certainly the same at several chains), so prices compare across chains within a few %;
- whether the name reaches its chain's print width (learned), i.e. may have lost words; a
  weighed good cut inside its loose marker (`... EN FILETES A GRANE`) loses the stub;
- the barcode (GTIN/EAN, check digit verified) its lines print, when they print one.

Brands. A known brand is global: a national brand is the same product in every chain. A
brand seen (>= 90% of its mentions) at only one chain, or named like the chain, is that
chain's private label: spellings of other chains never join it. A spelling without any
brand may be a brandless product (the same everywhere: `TOMATE CHERRY 250G`), a national
brand whose brand the receipt dropped, or the chain's own label printed without it:

- it joins a branded product sold at the same chain at the same price (within 15%), or one
  never seen at its chain only at (nearly) its price (6%) and only if no other brand fits;
  when brands tie it stays unbranded (no guessing which brand was dropped);
- when products of its kind have brands in the data, its own (unbranded) product stays
  within its chain (`ESPAGUETIS 500G` at two chains are two chains' own labels);
  otherwise it is a brandless product shared by all chains (prices within 30%).

Matching is centroid-based: each canonical product keeps slots (one per descriptor word of
its spellings, with the variants seen for it and how many spellings carry it). A spelling is
aligned to the slots one-to-one (abbreviation-aware `token_similarity`; two words may match
one slot, `S/DESN` ~ `semidesnatada`; abbreviations learned from earlier matches count);
the score is the lower of the two IDF-weighted coverages (spelling words the product
explains, product words the spelling has, weighted by how many spellings carry them). A
cut-off name is not blamed for the product's trailing words. Spellings are visited richest
first (brand, size, mentions), each joins the best compatible product with score >= ACCEPT
or founds a new one. Matching centroids rather than single spellings prevents chaining
(a ~ b ~ c but a !~ c). A spelling normalized exactly like a product's spelling scores 1.
Passes follow, each merging only products created in this run (ids stay stable):

- products whose centroids match both ways merge (order effects);
- products whose spellings print the same barcode merge (`PAN RUSTICO` / `HOGAZA RUSTICA`),
  never across two known brands or incompatible sizes;
- products of one brand and size, at one price, sold at disjoint sets of chains and sharing
  a word merge when the partner is unambiguous (chains print one name per product:
  `CERVEZA LAGER` / `CERVZ RUBIA`);
- a product all of whose words another product of the same brand (or both unbranded, sold
  alike) explains joins it - the till dropped words (`TOMATE KG` / `TOMATE PERA KG`) -
  when that partner is the only one, the words fit only one kind of product in the data
  (`COLA 2L` stays apart when `REFRESCO COLA` and `COLA ZERO` both exist in 2L) and no
  receipt carries a spelling of each.

Receipts are evidence too: two spellings printed on one receipt are two products (one
product is one line), which vetoes the last two passes. Prices: promotions only lower a
price, so when brand (or the exact spelling) already settles the identity, a cheaper price
seen on a line or two may be up to `PROMO_PRICE` below the product's at that chain.

Hard constraints (never merged): different known brands; a branded spelling and an
unbranded product; another chain's private label; different known sizes or pack counts
(`sizes_compatible`) or a truncated size that cannot be the product's; weighed vs packed;
prices out of tolerance. A spelling without size whose best candidates differ in size
founds its own product instead of guessing.
"""

from __future__ import annotations

import math
import statistics
from collections import Counter, defaultdict
from collections.abc import Sequence, Set
from dataclasses import dataclass, field, replace
from datetime import datetime
from functools import lru_cache

from pantrypulse.resolve.categories import ProductEvidence, canonical_types
from pantrypulse.resolve.common import most_common, stable_id
from pantrypulse.resolve.model import ProductObservation, ProductSpelling, Row
from pantrypulse.resolve.normalize import (
    LOOSE_PREPOSITIONS,
    NO_SIZE,
    Size,
    deumlaut,
    is_cut_loose_marker,
    is_number,
    is_placeholder,
    parse_size,
    prepare,
    size_hint_compatible,
    sizes_compatible,
    skeleton,
    strip_legal_form,
    strip_loose_markers,
    token_similarity,
    tokenize,
    tokens_of,
    trailing_size_hint,
)

ACCEPT = 0.72
TIE_MARGIN = 0.02
PRIVATE_SHARE = 0.9
SAME_CHAIN_PRICE = 1.15  # max price ratio for one product at one chain
PROMO_PRICE = 1.5  # ... unless the cheaper side is a line or two (a promotion), identity settled
PROMO_LINES = 2
CROSS_CHAIN_PRICE = 1.3  # max (chain-level adjusted) price ratio for one product across chains
MERGE_ACCEPT = 0.8
COMPLEMENT_PRICE = 1.1  # complementary products: prices this close
COMPLEMENT_SHARE = 0.3  # ... and sharing this much of one name
COMPLEMENT_MARGIN = 0.1  # ... clearly more than any other candidate
BRAND_TIE = 0.03  # unbranded spelling: brands this close are a tie, do not guess
DROPPED_BRAND_PRICE = 1.06  # ... a brand never seen at its chain only at (nearly) its price
SUBSUME_SHARE = 0.9  # a product all of whose words another explains ...
SUBSUME_MARGIN = 0.1  # ... and no other product nearly as well
KIND_EXPLAINS = 0.95  # a kind of product explains a name when it has all its words
KIND_SHARE = 0.8  # two products are one kind when each explains this much of the other
CODE_SHARE = 0.8  # a spelling's barcode: the code on at least this share of its coded lines


@dataclass
class ProductFeatures:
    """Normalized evidence of one product spelling."""

    spelling: ProductSpelling
    count: int
    categories: Counter
    brand: str | None
    size: Size
    desc: tuple[str, ...]
    price: float | None = None
    hint: str | None = None
    loose: bool | None = None  # sold by weight (no pack size); None when unknown
    truncated: bool = False  # the name reaches its chain's print width: words may be cut
    branded_kind: bool = False  # unbranded, but products with these words have brands

    @property
    def key(self) -> str:
        """The alias key."""
        return self.spelling.alias_key

    @property
    def sbk(self) -> str:
        """The chain the spelling was printed at."""
        return self.spelling.shop_brand_key

    @property
    def gkey(self) -> tuple[str, str, str, str]:
        """Spellings with the same gkey are the same product (exact normalized match)."""
        ctx = self.brand if self.brand else "@" + self.sbk
        return (ctx, " ".join(self.desc), self.size.key(), self.hint or "")


def _comp(toks: Sequence[str]) -> str:
    return deumlaut("".join(toks))


def _brand_tokens(text: str) -> list[str]:
    toks = [t.replace(".", "") for t in tokenize(text)]
    return strip_legal_form([t for t in toks if t])


def _name_parts(raw_name: str) -> tuple[Size, list[str]]:
    size, toks = _name_parts_cached(raw_name)
    return size, list(toks)


@lru_cache(maxsize=100_000)
def _name_parts_cached(raw_name: str) -> tuple[Size, tuple[str, ...]]:
    size, rest = parse_size(prepare(raw_name))
    toks = [t for t in tokens_of(rest) if t]
    toks = [t.replace(".", "") if not t.replace(".", "").isdigit() else t for t in toks]
    return size, tuple(t for t in toks if t)


@dataclass
class BrandVocabulary:
    """Brands learned from the data's brand fields, for finding brands inside names.

    Ordinary words are learned too (every name's words once brands are taken out), so that
    an abbreviation of an ordinary word (`PLAT.` for `platano`, `GRANE` for `granel`) is
    never taken for an abbreviated brand, nor is a brand that is also a common word.
    """

    displays: dict[str, Counter] = field(default_factory=dict)
    max_words: int = 1
    wordlike: set[str] = field(default_factory=set)
    words: Counter = field(default_factory=Counter)
    word_brands: dict[str, set[str]] = field(default_factory=dict)
    first_words: dict[str, str] = field(default_factory=dict)
    _by_initial: dict[str, list[str]] = field(default_factory=dict)
    _words_by_initial: dict[str, list[str]] = field(default_factory=dict)
    _ordinary_cache: dict[tuple[str, str], bool] = field(default_factory=dict)

    @classmethod
    def learn(cls, spellings: Sequence[tuple[ProductSpelling, int]]) -> BrandVocabulary:
        """Learn brands and ordinary words from spellings (with their mention counts)."""
        v = cls()
        parsed = []
        for sp, count in spellings:
            comp = None
            if not is_placeholder(sp.brand):
                toks = _brand_tokens(sp.brand)
                comp = _comp(toks) or None
                if comp and len(comp) >= 2:
                    v.displays.setdefault(comp, Counter())[sp.brand.strip()] += count + 1
                    v.max_words = max(v.max_words, min(len(toks), 5))
                    v.first_words.setdefault(comp, toks[0])
                else:
                    comp = None
            _, name = _name_parts(sp.name)
            parsed.append((comp, name))
        brands = set(v.displays)
        # A brand that other brands' names use as a word (`natural`) is not looked for.
        other_use: Counter = Counter()
        for comp, name in parsed:
            if comp:
                for t in set(_remove_windows(name, {comp})):
                    if t in brands and t != comp:
                        other_use[t] += 1
        v.wordlike = {b for b, n in other_use.items() if n >= 2}
        findable = brands - v.wordlike
        for comp, name in parsed:
            rest = _remove_windows(name, findable | ({comp} if comp else set()))
            for t in set(rest):
                if comp and len(t) >= 3 and token_similarity(t, comp) >= 0.8:
                    continue  # the spelling's own brand, abbreviated
                v.words[t] += 1
                if comp:
                    v.word_brands.setdefault(t, set()).add(comp)
        for comp in sorted(findable):
            v._by_initial.setdefault(comp[0], []).append(comp)
        for w in sorted(v.words):
            if v.words[w] >= 2 and not is_number(w) and len(w) >= 3:
                v._words_by_initial.setdefault(w[0], []).append(w)
        return v

    def _ordinary(self, t: str, brand: str) -> bool:
        """Tell whether t is a word of other products or an abbreviation of an ordinary one.

        An ordinary word wins when it explains t at least as well as the brand does (`PLAT.`
        is a prefix of `platano`, only a subsequence of `palacete`); a brand that t starts
        (`MAHO` for `mahora`) beats a word t is merely a subsequence of (`manchego`).
        """
        key = (t, brand)
        hit = self._ordinary_cache.get(key)
        if hit is None:
            need = max(0.8, token_similarity(t, brand))
            hit = bool(self.word_brands.get(t, set()) - {brand}) or any(
                w != t
                and len(w) > len(t)
                and token_similarity(t, w) >= need
                and token_similarity(w, brand) < 0.8
                for w in self._words_by_initial.get(t[0], ())
            )
            self._ordinary_cache[key] = hit
        return hit

    def display(self, comp: str) -> str | None:
        """The most used spelling of a brand."""
        c = self.displays.get(comp)
        return most_common(c) if c else None

    def find(self, toks: Sequence[str]) -> tuple[str | None, list[str]]:
        """Brand named in `toks` (whole words, else an abbreviation); tokens without it."""
        best: tuple[int, int, str] | None = None
        for i in range(len(toks)):
            for n in range(min(self.max_words, len(toks) - i), 0, -1):
                comp = _comp(toks[i : i + n])
                if comp in self.displays and comp not in self.wordlike:
                    if best is None or (-n, i) < (-best[1], best[0]):
                        best = (i, n, comp)
                    break
        if best:
            i, n, comp = best
            return comp, list(toks[:i]) + list(toks[i + n :])
        # An abbreviated or cut-off brand: one word (`HACEND`, `HCDO`, `VALLEBL`) or the last
        # words of a name cut by the receipt width (`LA VEG` for `La Vega Real`).
        hits: list[tuple[float, int, int, str]] = []
        for i, t in enumerate(toks):
            if len(t) < 3 or is_number(t):
                continue
            for comp in self._by_initial.get(t[0], ()):
                if len(comp) <= len(t):
                    continue
                s = token_similarity(t, comp)
                if s >= 0.8 and (len(t) >= 4 or comp.startswith(t) or t == skeleton(comp)):
                    hits.append((s, i, 1, comp))
        for n in (2, 3):
            i = len(toks) - n
            if i < 0:
                continue
            window = _comp(toks[i:])
            if len(window) < 4 or is_number(toks[i]):
                continue
            for comp in self._by_initial.get(window[0], ()):
                if (
                    len(comp) > len(window)
                    and comp.startswith(window)
                    and self.first_words.get(comp) == toks[i]
                ):
                    hits.append((0.9, i, n, comp))
        hits = [h for h in hits if not (h[2] == 1 and self._ordinary(toks[h[1]], h[3]))]
        if not hits:
            return None, list(toks)
        hits.sort(key=lambda h: (-h[0], -h[2], h[1], h[3]))
        s, i, n, comp = hits[0]
        if any(h[0] == s and h[2] == n and h[3] != comp for h in hits[1:]):
            return None, list(toks)  # two brands fit equally: do not guess
        return comp, list(toks[:i]) + list(toks[i + n :])

    def strip(self, toks: Sequence[str], comp: str) -> list[str]:
        """Remove a known brand (whole, per word, or abbreviated) from name tokens."""
        out = _remove_windows(list(toks), {comp})
        if len(out) == len(toks):
            # a multi-word brand cut off at the end of the name (`... ESTRELLA DEL SU`)
            first = self.first_words.get(comp)
            for n in (4, 3, 2):
                tail = _comp(out[-n:]) if len(out) > n else ""
                if len(tail) >= 4 and comp.startswith(tail) and out[-n] == first:
                    out = out[:-n]
                    break
        # single words of a multi-word brand only when the whole brand is not there
        words = set(_brand_word_index(self, comp)) if len(out) == len(toks) else set()
        res = []
        for t in out:
            if t in words and len(t) >= 3:
                continue
            if (
                len(t) >= 3
                and not is_number(t)
                and token_similarity(t, comp) >= 0.8
                and (len(t) >= 4 or comp.startswith(t))
                and not self._ordinary(t, comp)
            ):
                continue
            res.append(t)
        return res


def _brand_word_index(v: BrandVocabulary, comp: str) -> list[str]:
    disp = v.displays.get(comp)
    if not disp:
        return []
    out: set[str] = set()
    for d in disp:
        out.update(t for t in _brand_tokens(d) if len(t) >= 4)
    return sorted(out)


def _remove_windows(toks: list[str], comps: set[str]) -> list[str]:
    i = 0
    out: list[str] = []
    while i < len(toks):
        hit = 0
        for n in range(min(5, len(toks) - i), 0, -1):
            if _comp(toks[i : i + n]) in comps:
                hit = n
                break
        if hit:
            i += hit
        else:
            out.append(toks[i])
            i += 1
    return out


def product_features(obs: ProductObservation, vocab: BrandVocabulary) -> ProductFeatures:
    """Brand, size (or truncated-size hint), descriptor words and price of a spelling."""
    sp = obs.spelling
    size, toks = _name_parts(sp.name)
    hint = None
    if not size.known:
        hint, pack, toks = trailing_size_hint(toks)
        if pack:
            size = Size(None, None, pack)
    brand: str | None = None
    if not is_placeholder(sp.brand):
        brand = _comp(_brand_tokens(sp.brand)) or None
    if brand:
        desc = vocab.strip(toks, brand)
    else:
        brand, desc = vocab.find(toks)
    cats: Counter = Counter()
    for c, n in obs.categories.items():
        if c and not is_placeholder(c):
            cats[c] += n
    desc, marked = strip_loose_markers(list(desc))
    price = round(statistics.median(obs.prices), 4) if obs.prices else None
    loose = obs.weighed * 2 > obs.count if obs.count else None
    if marked and not size.known:
        loose = True
    return ProductFeatures(sp, obs.count, cats, brand, size, tuple(desc), price, hint, loose)


# --------------------------------------------------------------------------------------
# Clusters (canonical products)
# --------------------------------------------------------------------------------------


class _Cluster:
    __slots__ = (
        "all_prices",
        "brand",
        "canon",
        "first_seen_at",
        "hints",
        "loose",
        "members",
        "n",
        "order",
        "pid",
        "prices",
        "scoped",
        "size",
        "support",
        "variants",
    )

    def __init__(self, order: int) -> None:
        self.pid: str | None = None
        self.first_seen_at: datetime | None = None
        self.brand: str | None = None
        self.size: Size = NO_SIZE
        self.hints: set[tuple[str, bool]] = set()
        self.canon: list[str] = []
        self.variants: list[Counter] = []
        self.support: list[int] = []
        self.n = 0
        self.members: list[ProductFeatures] = []
        self.prices: dict[str, list[float]] = {}
        self.all_prices: list[float] = []
        self.loose = Counter()
        self.scoped = False  # unbranded, of a kind that has brands: its own chain only
        self.order = order

    def add(self, f: ProductFeatures, learned: dict[str, set[str]] | None = None) -> None:
        """Add a spelling to the centroid.

        Abbreviations aligned to a word of this product are remembered in `learned`
        (`lche` -> `leche`), so that later spellings anywhere profit from them.
        """
        pairs = _align(f.desc, self, learned or {}) if self.canon else []
        matched = set()
        for li, rj, s in pairs:
            word = "".join(f.desc[i] for i in li)
            j = rj[0]
            if learned is not None and 0.75 <= s < 0.95 and len(rj) == 1 and word != self.canon[j]:
                learned.setdefault(word, set()).add(self.canon[j])
            self.variants[j][word] += 1
            for jj in rj:
                self.support[jj] += 1
            matched.update(li)
        for i, t in enumerate(f.desc):
            if i not in matched:
                self.canon.append(t)
                self.variants.append(Counter({t: 1}))
                self.support.append(1)
        self.n += 1
        self.members.append(f)
        if self.brand is None and f.brand and not self.members[:-1]:
            self.brand = f.brand
        if (f.size.value is not None and self.size.value is None) or (
            f.size.known and not self.size.known
        ):
            self.size = f.size
        if f.hint:
            self.hints.add((f.hint, f.size.pack is not None))
        if f.price is not None:
            self.prices.setdefault(f.sbk, []).append(f.price)
            self.all_prices.append(f.price)
        if f.loose is not None:
            self.loose[f.loose] += 1

    def block_keys(self) -> set[str]:
        keys = {_block(t) for v in self.variants for t in v}
        return keys or {""}

    def chain_price(self, chain: str) -> float | None:
        ps = self.prices.get(chain)
        return statistics.median(ps) if ps else None

    def lines_at(self, chain: str) -> int:
        return sum(m.count for m in self.members if m.sbk == chain)

    def any_price(self) -> float | None:
        return statistics.median(self.all_prices) if self.all_prices else None

    def is_loose(self) -> bool | None:
        if not self.loose:
            return None
        return self.loose[True] > self.loose[False]


def _slot_sim(t: str, canon: str, variants: Counter, learned: dict[str, set[str]]) -> float:
    if t == canon:
        return 1.0
    if t in variants or canon in learned.get(t, ()):
        return 0.95  # a variant seen before, here or (learned) in any product
    best = token_similarity(t, canon)
    if best < 0.9:
        for v in variants:
            if v != canon and len(v) >= 4 and v[0] == canon[0]:
                best = max(best, min(token_similarity(t, v), 0.9))
    return best


def _align(
    desc: Sequence[str], c: _Cluster, learned: dict[str, set[str]]
) -> list[tuple[tuple[int, ...], tuple[int, ...], float]]:
    """Greedy one-to-one alignment of spelling words to product slots, best pairs first.

    Besides word-to-slot pairs, two adjacent spelling words may match one slot (`S/DESN` ->
    `s desn` ~ `semidesnatada`) and one word two adjacent slots (`semidesnatada` ~
    `semi desnatada`). Returns (spelling indices, slot indices, similarity).
    """
    pairs: list[tuple[float, tuple[int, ...], tuple[int, ...]]] = []
    n, m = len(desc), len(c.canon)
    for i, t in enumerate(desc):
        for j, canon in enumerate(c.canon):
            sim = _slot_sim(t, canon, c.variants[j], learned)
            if sim > 0:
                pairs.append((-sim, (i,), (j,)))
    for i in range(n - 1):
        a, b = desc[i], desc[i + 1]
        if is_number(a) or is_number(b):
            continue
        joined = a + b
        for j, canon in enumerate(c.canon):
            if len(canon) > len(joined):
                sim = _slot_sim(joined, canon, c.variants[j], learned)
                if sim >= 0.8:
                    pairs.append((-(sim - 0.01), (i, i + 1), (j,)))
    for j in range(m - 1):
        joined = c.canon[j] + c.canon[j + 1]
        if is_number(c.canon[j]) or is_number(c.canon[j + 1]):
            continue
        for i, t in enumerate(desc):
            if len(t) >= 5:
                sim = token_similarity(t, joined)
                if sim >= 0.8:
                    pairs.append((-(sim - 0.01), (i,), (j, j + 1)))
    pairs.sort()
    used_l: set[int] = set()
    used_r: set[int] = set()
    out = []
    for neg, li, rj in pairs:
        if used_l.intersection(li) or used_r.intersection(rj):
            continue
        used_l.update(li)
        used_r.update(rj)
        out.append((li, rj, -neg))
    return out


def _block(t: str) -> str:
    return t if is_number(t) or len(t) < 3 else skeleton(t)[:2]


@dataclass
class _Context:
    idf: dict[str, float]
    default_idf: float
    private_of: dict[str, set[str]]  # brand -> the chains it is a private label of
    learned: dict[str, set[str]] = field(default_factory=dict)  # abbreviation -> words

    def w(self, t: str) -> float:
        return self.idf.get(t, self.default_idf)


def _coverages(f: ProductFeatures, c: _Cluster, ctx: _Context) -> tuple[float, float, bool]:
    """How much of the spelling the product explains, and of the product the spelling has.

    Returns (spelling coverage, product coverage, gap), IDF-weighted, product words weighted
    by how many spellings carry them; gap: a product word the spelling lacks comes before
    one it has (not what a cut-off name looks like).
    """
    if not f.desc and not c.canon:
        return 1.0, 1.0, False
    if not f.desc or not c.canon:
        return 0.0, 0.0, True
    pairs = _align(f.desc, c, ctx.learned)
    matched_l: set[int] = set()
    matched_r: set[int] = set()
    num_a = den_a = num_c = 0.0
    for li, rj, s in pairs:
        matched_l.update(li)
        matched_r.update(rj)
        w = sum(ctx.w(c.canon[j]) for j in rj)
        num_a += s * w
        den_a += w
        num_c += s * sum(ctx.w(c.canon[j]) * min(1.0, c.support[j] / c.n) for j in rj)
    last = len(f.desc) - 1
    for i, t in enumerate(f.desc):
        stub = f.truncated and i == last and len(f.desc) > 1 and len(t) <= 2
        if i not in matched_l and not stub:
            den_a += ctx.w(t)  # (the last word of a cut-off name may be a stub: `... LE`)
    den_c = sum(ctx.w(c.canon[j]) * min(1.0, c.support[j] / c.n) for j in range(len(c.canon)))
    if den_a <= 0 or den_c <= 0:
        return 0.0, 0.0, True
    last = max(matched_r) if matched_r else -1
    gap = any(j not in matched_r and c.support[j] * 2 >= c.n for j in range(last))
    return num_a / den_a, num_c / den_c, gap


def _score(f: ProductFeatures, c: _Cluster, ctx: _Context) -> float:
    """Name similarity of a spelling to a product: the lower of the two coverages.

    A name cut off by the receipt width (`f.truncated`) is not blamed for the product words
    it could not print - the product's trailing words, not one in the middle -: its score is
    what it explains, capped by 0.75 + 0.25 x product coverage, so the product with the
    fewest missing words still wins.
    """
    cov_a, cov_c, gap = _coverages(f, c, ctx)
    if f.truncated and not gap:
        return min(cov_a, 0.75 + 0.25 * cov_c)
    return min(cov_a, cov_c)


def _ratio(a: float, b: float) -> float:
    return max(a, b) / max(min(a, b), 1e-9)


def _compatible(f: ProductFeatures, c: _Cluster, ctx: _Context, branded_kind: bool = False) -> bool:
    if f.brand:
        if c.brand != f.brand:
            return False
    elif c.brand and c.brand in ctx.private_of and f.sbk not in ctx.private_of[c.brand]:
        return False  # another chain's own label
    elif not c.brand and (c.scoped or branded_kind) and f.sbk not in _chains_of(c):
        return False  # unbranded `ESPAGUETIS 500G` at two chains: two chains' own labels
    if not sizes_compatible(f.size, c.size):
        return False
    loose = c.is_loose()
    if (f.loose and c.size.value is not None) or (loose and f.size.value is not None):
        return False  # sold by weight vs a packed size
    if f.loose is not None and loose is not None and f.loose != loose:
        return False
    if f.hint and not size_hint_compatible(f.hint, c.size, f.size.pack is not None):
        return False
    return all(size_hint_compatible(h, f.size, p) for h, p in sorted(c.hints))


def _promo_ok(low: float, high: float, few_low: bool, identity: bool) -> bool:
    """A price below a product's at one chain, seen on a line or two: maybe a promotion.

    Promotions only lower prices, so when the product's identity is otherwise settled
    (`identity`: same known brand, or the very same normalized spelling) a cheaper price
    seen on at most `PROMO_LINES` lines may be up to `PROMO_PRICE` below.
    """
    return identity and few_low and high / max(low, 1e-9) <= PROMO_PRICE


def _price_evidence(f: ProductFeatures, c: _Cluster, identity: bool = False) -> tuple[bool, float]:
    """(price compatible, closeness bonus): same chain within 15%, other chains 50%."""
    if f.price is None:
        return True, 0.0
    same = c.chain_price(f.sbk)
    if same is not None:
        r = _ratio(f.price, same)
        few = f.count <= PROMO_LINES if f.price < same else c.lines_at(f.sbk) <= PROMO_LINES
        if r > SAME_CHAIN_PRICE:
            if not _promo_ok(min(f.price, same), max(f.price, same), few, identity):
                return False, 0.0
            r = SAME_CHAIN_PRICE
        return True, 0.05 * (1.0 - math.log(r) / math.log(SAME_CHAIN_PRICE))
    other = c.any_price()
    if other is None:
        return True, 0.0
    r = _ratio(f.price, other)
    if r > CROSS_CHAIN_PRICE:
        return False, 0.0
    return True, 0.03 * (1.0 - math.log(r) / math.log(CROSS_CHAIN_PRICE))


def _uncertain(f: ProductFeatures, c: _Cluster) -> bool:
    """Tell whether the identity is open enough for price to matter (brand/size unknown)."""
    return not f.brand or not c.brand or not f.size.known or not c.size.known or f.hint is not None


def _private_labels(feats: Sequence[ProductFeatures]) -> dict[str, set[str]]:
    """Map brand -> chains it is the private label of (>= 90% of mentions, or named alike)."""
    by_brand: dict[str, Counter] = defaultdict(Counter)
    for f in feats:
        if f.brand:
            by_brand[f.brand][f.sbk] += f.count + 1
    chain_names = {_comp(f.sbk.split("-")): f.sbk for f in feats}
    out: dict[str, set[str]] = defaultdict(set)
    for brand, chains in by_brand.items():
        total = sum(chains.values())
        for chain, n in chains.items():
            if n >= PRIVATE_SHARE * total:
                out[brand].add(chain)
        if brand in chain_names:
            out[brand].add(chain_names[brand])
    return dict(out)


def _canonical_tokens(c: _Cluster) -> list[str]:
    out = []
    for j, canon in enumerate(c.canon):
        if c.support[j] * 2 < c.n:
            continue
        var = c.variants[j]
        floor = 0.2 * c.support[j]
        cands = [t for t, k in var.items() if k >= floor] or [canon]
        out.append(min(cands, key=lambda t: (-len(t), -var[t], t)))
    return out


def _norm_key(c: _Cluster, brand: str | None = None) -> str:
    """`normalized name|brand|size`; an unbranded chain label has brand `@<chain>`."""
    if brand is None:
        brand = c.brand or ("@" + _main_chain(c) if c.scoped else "")
    return f"{' '.join(_canonical_tokens(c))}|{brand}|{c.size.key()}"


def _group_order(item: tuple[tuple, list[ProductFeatures]]):
    gkey, fs = item
    f0 = fs[0]
    mentions = sum(f.count for f in fs)
    return (
        f0.brand is None,
        f0.size.value is None,
        not f0.size.known,
        -len(fs) - mentions,
        -sum(len(t) for t in f0.desc),
        gkey,
    )


class _Index:
    """Block index: bucket (a brand, '' for unbranded, '*' for all) -> block key -> clusters."""

    def __init__(self) -> None:
        self._idx: dict[str, dict[str, set[int]]] = defaultdict(lambda: defaultdict(set))

    def register(self, c: _Cluster) -> None:
        keys = c.block_keys()
        for bucket in (c.brand or "", "*"):
            idx = self._idx[bucket]
            for k in keys:
                idx[k].add(c.order)

    def candidates(self, f: ProductFeatures) -> list[int]:
        idx = self._idx.get(f.brand if f.brand else "*")
        if not idx:
            return []
        out: set[int] = set()
        for k in {_block(t) for t in f.desc} or {""}:
            out |= idx.get(k, set())
        return sorted(out)


def resolve_products(
    observations: Sequence[ProductObservation],
    previous_products: Sequence[Row] = (),
    previous_aliases: Sequence[Row] = (),
    now: datetime | None = None,
    guard_unknown_size: bool = True,
    together: Set[tuple[str, str]] = frozenset(),
) -> tuple[list[Row], list[Row], dict[str, int]]:
    """Resolve product spellings against the previous registry.

    Returns (product rows, alias rows, stats). Pure: no I/O. Previous aliases keep their
    product id, method, score and first_seen_at; previous products keep id and first_seen_at;
    display attributes are refreshed from all evidence.
    """
    prev_alias = {r["alias_key"]: r for r in previous_aliases}
    prev_prod = {r["product_id"]: r for r in previous_products}

    obs_by_key: dict[str, ProductObservation] = {}
    for o in observations:
        k = o.spelling.alias_key
        if k in obs_by_key:
            obs_by_key[k].count += o.count
            obs_by_key[k].categories.update(o.categories)
            obs_by_key[k].prices.extend(o.prices)
            obs_by_key[k].weighed += o.weighed
            obs_by_key[k].codes.update(o.codes)
        else:
            obs_by_key[k] = ProductObservation(
                o.spelling,
                o.count,
                Counter(o.categories),
                list(o.prices),
                o.weighed,
                Counter(o.codes),
            )
    for r in previous_aliases:
        if r["alias_key"] not in obs_by_key:
            sp = ProductSpelling(r["shop_brand_key"], r["raw_name"], r["raw_brand"])
            obs_by_key[r["alias_key"]] = ProductObservation(sp, 0, Counter())
    keys = sorted(obs_by_key)
    for k in keys:
        obs_by_key[k].prices.sort()
    vocab = BrandVocabulary.learn([(obs_by_key[k].spelling, obs_by_key[k].count) for k in keys])
    feats = [product_features(obs_by_key[k], vocab) for k in keys]
    levels = chain_price_levels(feats)
    for f in feats:
        if f.price is not None:
            f.price = round(f.price / levels.get(f.sbk, 1.0), 4)

    _mark_truncated(feats)
    groups: dict[tuple, list[ProductFeatures]] = defaultdict(list)
    for f in feats:
        groups[f.gkey].append(f)
    df: Counter = Counter()
    for fs in groups.values():
        df.update(set(fs[0].desc))
    n_groups = max(len(groups), 1)
    # IDF without smoothing floor: function words (`de`, `en`) weigh little
    idf = {t: max(math.log((n_groups + 1) / (k + 0.5)), 0.05) for t, k in df.items()}
    ctx = _Context(idf, math.log((n_groups + 1) / 0.5), _private_labels(feats))

    clusters: list[_Cluster] = []
    index = _Index()

    # Seed from the registry.
    by_pid: dict[str, _Cluster] = {}
    members_prev: dict[str, list[ProductFeatures]] = defaultdict(list)
    for f in feats:
        row = prev_alias.get(f.key)
        if row and row["product_id"] in prev_prod:
            members_prev[row["product_id"]].append(f)
    for pid in sorted(prev_prod):
        c = _replay(members_prev.get(pid, []), len(clusters), ctx.learned)
        c.pid = pid
        c.first_seen_at = prev_prod[pid]["first_seen_at"]
        clusters.append(c)
        by_pid[pid] = c
        index.register(c)
    for c in clusters:  # an unbranded label of one chain stays there
        if c.brand is None and c.members and len(_chains_of(c)) == 1:
            fc = _as_spelling(c)
            c.scoped = _branded_kind(fc, [clusters[o] for o in index.candidates(fc)], ctx)

    decisions: dict[str, tuple[_Cluster, str, float]] = {}
    for f in feats:
        row = prev_alias.get(f.key)
        if row and row["product_id"] in by_pid:
            decisions[f.key] = (by_pid[row["product_id"]], row["match_method"], row["match_score"])

    # Each spelling on its own (one normalized form can hide two products told apart by
    # price), groups of identical normalized forms together, richest groups first.
    for _gkey, fs in sorted(groups.items(), key=_group_order):
        for f in sorted(fs, key=lambda f: (-f.count, f.key)):
            if f.key in decisions:
                continue
            best = _best_cluster(f, clusters, index, ctx, guard_unknown_size)
            if best is None:
                c = _Cluster(len(clusters))
                clusters.append(c)
                c.scoped = not f.brand and f.branded_kind
                c.add(f, ctx.learned)
                decisions[f.key] = (c, "new", 1.0)
            else:
                c, score = best
                exact = score >= 1.0 and c.size.key() == f.size.key()
                decisions[f.key] = (c, "exact" if exact else "fuzzy", round(min(score, 1.0), 4))
                c.add(f, ctx.learned)
            index.register(c)

    _merge_similar(clusters, decisions, index, ctx)
    _merge_by_code(clusters, decisions, ctx, _spelling_codes(obs_by_key))
    _merge_complementary(clusters, decisions, ctx, together)
    _merge_subsumed(clusters, decisions, index, ctx, together)
    _fold_duplicates(clusters, decisions)

    # Output attributes come from each product's members replayed in a canonical order, so
    # they depend on what the product is made of, not on the order it was built in.
    live = [c for c in clusters if c.members or c.pid]
    final = {c.order: _replay(c.members, c.order, {}) for c in live}
    for c in live:
        final[c.order].pid, final[c.order].first_seen_at = c.pid, c.first_seen_at
    _mark_scoped(list(final.values()), ctx)
    taken = set(prev_prod)
    new = [c for c in live if c.pid is None]
    provisional = _unique_keys(
        [final[c.order] for c in live if c.pid] + [final[c.order] for c in new], ordered=True
    )
    for c in sorted(new, key=lambda c: (provisional[c.order], c.order)):
        c.pid = final[c.order].pid = stable_id("p_", provisional[c.order], taken)
        c.first_seen_at = final[c.order].first_seen_at = now
    norm = _unique_keys(list(final.values()), ordered=False)

    alias_rows = []
    for f in feats:
        c, method, score = decisions[f.key]
        prev = prev_alias.get(f.key)
        alias_rows.append(
            {
                "alias_key": f.key,
                "shop_brand_key": f.sbk,
                "raw_name": f.spelling.name,
                "raw_brand": f.spelling.brand,
                "product_id": c.pid,
                "match_method": method,
                "match_score": float(score),
                "first_seen_at": prev["first_seen_at"] if prev else now,
            }
        )
    alias_rows.sort(key=lambda r: r["alias_key"])
    types = canonical_types([_type_evidence(final[c.order]) for c in live])
    product_rows = [
        _product_row(final[c.order], vocab, norm[c.order], types[c.order])
        for c in sorted(live, key=lambda c: c.pid)
    ]
    stats = {
        "aliases": len(alias_rows),
        "new_aliases": sum(1 for r in alias_rows if r["alias_key"] not in prev_alias),
        "entities": len(product_rows),
        "new_entities": sum(1 for r in product_rows if r["product_id"] not in prev_prod),
    }
    return product_rows, alias_rows, stats


def chain_price_levels(feats: Sequence[ProductFeatures]) -> dict[str, float]:
    """Each chain's price level (a discounter sells everything ~7% cheaper).

    Learned from spellings that are certainly one product at several chains (same brand,
    same words, same size): log price = product effect + chain effect, fitted by
    alternating medians. Prices divided by their chain's level compare across chains within
    a few percent.
    """
    cells: dict[tuple, dict[str, list[float]]] = defaultdict(lambda: defaultdict(list))
    for f in feats:
        if f.brand and f.size.value is not None and f.price and f.desc:
            cells[(f.brand, f.desc, f.size.key())][f.sbk].append(math.log(f.price))
    obs = {}
    for g in sorted(cells):
        if len(cells[g]) >= 2:
            for chain in sorted(cells[g]):
                obs[(g, chain)] = statistics.median(cells[g][chain])
    if not obs:
        return {}
    groups = sorted({g for g, _ in obs})
    chains = sorted({c for _, c in obs})
    a = dict.fromkeys(groups, 0.0)
    b = dict.fromkeys(chains, 0.0)
    for _ in range(12):
        for g in groups:
            a[g] = statistics.median(obs[(g, c)] - b[c] for c in chains if (g, c) in obs)
        for c in chains:
            b[c] = statistics.median(obs[(g, c)] - a[g] for g in groups if (g, c) in obs)
        mid = statistics.median(b.values())
        b = {c: v - mid for c, v in b.items()}
    support = Counter(c for _, c in obs)
    return {c: round(math.exp(b[c]), 4) for c in chains if support[c] >= 3}


def _mark_truncated(feats: Sequence[ProductFeatures]) -> None:
    """Names as long as their chain's print width may have lost trailing words.

    The width is learned per chain: the longest name length, when at least 3 spellings
    (and 2%) reach it exactly - a fixed-width printer cuts many names at one length.
    """
    lengths: dict[str, Counter] = defaultdict(Counter)
    for f in feats:
        lengths[f.sbk][len(f.spelling.name.strip())] += 1
    width = {}
    for chain, c in lengths.items():
        top = max(c)
        if c[top] >= max(3, 0.02 * sum(c.values())):
            width[chain] = top
    for f in feats:
        w = width.get(f.sbk)
        f.truncated = w is not None and len(f.spelling.name.strip()) >= w - 1
        # a weighed good cut in its loose marker (`... EN FILETES A GRANE`): drop the stub
        if f.truncated and f.loose and len(f.desc) > 1 and is_cut_loose_marker(f.desc[-1]):
            desc = list(f.desc[:-1])
            if len(desc) > 1 and desc[-1] in LOOSE_PREPOSITIONS:
                desc.pop()
            f.desc = tuple(desc)


def _replay(members: Sequence[ProductFeatures], order: int, learned: dict) -> _Cluster:
    """A product rebuilt from its spellings in a canonical order (richest groups first)."""
    c = _Cluster(order)
    by_gkey: dict = defaultdict(list)
    for f in members:
        by_gkey[f.gkey].append(f)
    for _gk, fs in sorted(by_gkey.items(), key=_group_order):
        for f in sorted(fs, key=lambda f: (-f.count, f.key)):
            c.add(f, learned)
    return c


def _mark_scoped(clusters: Sequence[_Cluster], ctx: _Context) -> None:
    """Mark the unbranded products that are one chain's own (for their normalized key).

    Decided from the final products alone, so that a re-run says the same.
    """
    index = _Index()
    for c in clusters:
        if c.members:
            index.register(c)
    plain = _Context(ctx.idf, ctx.default_idf, ctx.private_of, {})
    by_order = {c.order: c for c in clusters}
    for c in clusters:
        if c.brand is None and c.members and len(_chains_of(c)) == 1:
            fc = _as_spelling(c)
            c.scoped = _branded_kind(fc, [by_order[o] for o in index.candidates(fc)], plain)


def _unique_keys(clusters: Sequence[_Cluster], ordered: bool) -> dict[int, str]:
    """Normalized keys made unique.

    A product kept apart from another with the same key (by price or chain label) gets the
    brand `@<chain>` (then `#n` on the name). Keys go first to the given order (`ordered`)
    or to the oldest product (first_seen_at, then id).
    """
    seq = (
        list(clusters)
        if ordered
        else sorted(
            clusters,
            key=lambda c: (c.first_seen_at is None, c.first_seen_at or 0, c.pid or "", c.order),
        )
    )
    seen: Counter = Counter()
    out: dict[int, str] = {}
    for c in seq:
        base = _norm_key(c)
        nk = base
        if seen[base] and not c.brand:
            nk = _norm_key(c, "@" + _main_chain(c))
        if seen[nk]:
            name, brand, size = nk.split("|")
            nk = f"{name} #{seen[base] + 1}|{brand}|{size}"
        seen[base] += 1
        seen[nk] += 1
        out[c.order] = nk
    return out


def _main_chain(c: _Cluster) -> str:
    chains = Counter(m.sbk for m in c.members)
    return most_common(chains) or "?"


def _clusters_mergeable(a: _Cluster, b: _Cluster) -> bool:
    if a.brand != b.brand or not sizes_compatible(a.size, b.size):
        return False
    if a.brand is None and (a.scoped or b.scoped) and not _chains_of(a) & _chains_of(b):
        return False
    for chain in set(a.prices) & set(b.prices):
        pa, pb = a.chain_price(chain), b.chain_price(chain)
        if _ratio(pa, pb) > SAME_CHAIN_PRICE:
            low = a if pa < pb else b
            if not _promo_ok(
                min(pa, pb), max(pa, pb), low.lines_at(chain) <= PROMO_LINES, a.brand is not None
            ):
                return False
    pa, pb = a.any_price(), b.any_price()
    return pa is None or pb is None or _ratio(pa, pb) <= CROSS_CHAIN_PRICE


def _as_spelling(c: _Cluster) -> ProductFeatures:
    """A product's centroid as if it were one spelling (for product-to-product matching)."""
    m0 = c.members[0]
    cats: Counter = Counter()
    for m in c.members:
        cats.update(m.categories)
    loose = c.is_loose()
    return ProductFeatures(
        spelling=ProductSpelling(_main_chain(c), m0.spelling.name, m0.spelling.brand),
        count=sum(m.count for m in c.members),
        categories=cats,
        brand=c.brand,
        size=c.size,
        desc=tuple(_canonical_tokens(c)),
        price=c.any_price(),
        hint=min(c.hints)[0] if c.hints and not c.size.known else None,
        loose=loose,
    )


def _merge_similar(clusters: list[_Cluster], decisions: dict, index: _Index, ctx: _Context) -> None:
    """Second pass: merge a new product whose centroid matches another's both ways.

    Same brand, compatible size and prices. Undoes splits caused by the order spellings
    were met in; centroid-to-centroid, so it does not chain.
    """
    for c in sorted(
        (c for c in clusters if c.pid is None and c.members),
        key=lambda c: (len(c.members), c.order),
    ):
        if not c.members:
            continue
        fc = _as_spelling(c)
        best: tuple[float, int, _Cluster] | None = None
        for o_i in index.candidates(fc):
            o = clusters[o_i]
            if o is c or not o.members or o.brand != c.brand:
                continue
            if not _clusters_mergeable(o, c) or not _compatible(fc, o, ctx):
                continue
            if (
                c.is_loose() is not None
                and o.is_loose() is not None
                and (c.is_loose() != o.is_loose())
            ):
                continue
            s = min(_score(fc, o, ctx), _score(_as_spelling(o), c, ctx))
            if s >= MERGE_ACCEPT and (
                best is None
                or (-s, -len(o.members), o.order) < (-best[0], -len(best[2].members), best[2].order)
            ):
                best = (s, o.order, o)
        if best is None:
            continue
        target = best[2]
        for f in c.members:
            _, method, score = decisions[f.key]
            decisions[f.key] = (
                target,
                "fuzzy" if method == "new" else method,
                min(score, round(best[0], 4)),
            )
            target.add(f, ctx.learned)
        c.members = []
        index.register(target)


def _chains_of(c: _Cluster) -> set[str]:
    return {m.sbk for m in c.members}


def _word_share(a: ProductFeatures, c: _Cluster, ctx: _Context) -> float:
    """IDF-weighted share of a's words that c's words explain (a's side coverage only)."""
    return _coverages(a, c, ctx)[0]


def _printed_together(a: _Cluster, b: _Cluster, together: Set[tuple[str, str]]) -> bool:
    """A spelling of each on one receipt: two products (one product is one line)."""
    if not together:
        return False
    keys_b = [m.key for m in b.members]
    for m in a.members:
        for k in keys_b:
            if ((m.key, k) if m.key < k else (k, m.key)) in together:
                return True
    return False


def _merge_complementary(
    clusters: list[_Cluster],
    decisions: dict,
    ctx: _Context,
    together: Set[tuple[str, str]] = frozenset(),
) -> None:
    """Merge one product named differently by different chains.

    Chains print one name per product: two products of one brand and size, at the same
    price, whose spellings come from disjoint sets of chains and that share a word are one
    product (`CERVEZA LAGER` / `CERVZ RUBIA`). Only when that partner is unambiguous
    (clearly the best), and never across chains that sell both.
    """

    def partners(c: _Cluster, o: _Cluster) -> bool:
        if o is c or not o.members or o.brand != c.brand or o.scoped:
            return False
        if _chains_of(o) & _chains_of(c) or not _clusters_mergeable(o, c):
            return False
        if _printed_together(c, o, together):
            return False
        if c.is_loose() != o.is_loose():
            return False
        if c.brand is None and (c.size.value is None) != (o.size.value is None):
            return False  # unbranded: only like with like (both weighed, or both sized)
        if c.size.value is None and not c.is_loose() and c.brand is None:
            return False
        hints_ok = all(size_hint_compatible(h, o.size, p) for h, p in c.hints) and all(
            size_hint_compatible(h, c.size, p) for h, p in o.hints
        )
        pa, pb = c.any_price(), o.any_price()
        return (
            hints_ok and pa is not None and pb is not None and _ratio(pa, pb) <= (COMPLEMENT_PRICE)
        )

    changed = True
    rounds = 0
    while changed and rounds < 4:
        changed = False
        rounds += 1
        by_brand: dict[str, list[_Cluster]] = defaultdict(list)
        for c in clusters:
            if c.members:
                by_brand[c.brand or ""].append(c)
        for brand in sorted(by_brand):
            members = sorted(by_brand[brand], key=lambda c: (len(c.members), c.order))
            for c in members:
                if not c.members or c.pid is not None or c.scoped:
                    continue  # (a chain's own unbranded label never spans chains)
                fc = _as_spelling(c)
                scored = []
                for o in members:
                    if not partners(c, o):
                        continue
                    share = max(_word_share(fc, o, ctx), _word_share(_as_spelling(o), c, ctx))
                    if share >= COMPLEMENT_SHARE:
                        scored.append((share, o))
                if not scored:
                    continue
                scored.sort(key=lambda x: (-x[0], x[1].order))
                if len(scored) > 1 and scored[1][0] > scored[0][0] - COMPLEMENT_MARGIN:
                    continue
                target = scored[0][1]
                for f in c.members:
                    _, method, score = decisions[f.key]
                    decisions[f.key] = (
                        target,
                        "fuzzy" if method == "new" else method,
                        min(score, round(scored[0][0], 4)),
                    )
                    target.add(f, ctx.learned)
                c.members = []
                changed = True


def _spelling_codes(obs_by_key: dict[str, ProductObservation]) -> dict[str, str]:
    """Map alias key -> the barcode its lines carry, when one code dominates (>= 80%)."""
    out = {}
    for k, o in obs_by_key.items():
        if o.codes:
            code, n = min(o.codes.items(), key=lambda kv: (-kv[1], kv[0]))
            if n >= CODE_SHARE * sum(o.codes.values()):
                out[k] = code
    return out


def _merge_by_code(
    clusters: list[_Cluster], decisions: dict, ctx: _Context, codes: dict[str, str]
) -> None:
    """Products whose spellings print the same barcode (GTIN/EAN) are one product.

    A barcode identifies a trade item, so it ties names that share no word (`PAN RUSTICO`,
    `HOGAZA RUSTICA`) and a spelling that dropped its brand to the branded product. Still
    never across two different known brands or incompatible sizes (a misprinted or reused
    code), and never two products that already have ids (ids stay stable): new products
    join the product that has an id, else the biggest.
    """
    by_code: dict[str, list[_Cluster]] = defaultdict(list)
    for c in clusters:
        seen = set()
        for m in c.members:
            code = codes.get(m.key)
            if code and code not in seen:
                seen.add(code)
                by_code[code].append(c)
    for code in sorted(by_code):
        group = [c for c in by_code[code] if c.members]
        group = list({c.order: c for c in group}.values())
        if len(group) < 2:
            continue
        group.sort(key=lambda c: (c.pid is None, -len(c.members), c.order))
        target = group[0]
        for c in group[1:]:
            if c.pid is not None or not c.members:
                continue
            if c.brand and target.brand and c.brand != target.brand:
                continue
            if not sizes_compatible(c.size, target.size) or (
                c.is_loose() is not None
                and target.is_loose() is not None
                and c.is_loose() != target.is_loose()
            ):
                continue
            if target.brand is None and c.brand:
                target.brand = c.brand
            for f in c.members:
                _, method, score = decisions[f.key]
                decisions[f.key] = (target, "fuzzy" if method == "new" else method, score)
                target.add(f, ctx.learned)
            c.members = []


def _merge_subsumed(
    clusters: list[_Cluster],
    decisions: dict,
    index: _Index,
    ctx: _Context,
    together: Set[tuple[str, str]],
) -> None:
    """Merge a product whose every word another product explains: the name lost words.

    Tills drop words (`TOMATE KG` for `TOMATE PERA KG`, `COLA 2L` for `REFRESCO COLA 2L`).
    A new product joins another when all its words are explained by that product's words
    (abbreviation-aware, learned abbreviations included), both have the same brand (or
    are both unbranded and sold alike), compatible sizes, prices and weighing, the partner
    is the only product that explains it (`COLA 2L` next to `COLA 2L` and `COLA ZERO 2L`
    of one brand stays apart), and no receipt ever carries a spelling of each (one product
    is one line on a receipt: two spellings on one receipt are two products). Nor when
    its words fit two kinds of product anywhere in the data, whatever the brand (`COLA 2L`
    when both `REFRESCO COLA` and `COLA ZERO` exist in 2L): a dropped word is then a guess.
    """
    live = [c for c in clusters if c.members]
    by_brand: dict[str, list[_Cluster]] = defaultdict(list)
    for c in live:
        by_brand[c.brand or ""].append(c)

    for brand in sorted(by_brand):
        group = sorted(by_brand[brand], key=lambda c: (len(c.members), c.order))
        for c in group:
            if not c.members or c.pid is not None or not c.canon:
                continue
            fc = _as_spelling(c)
            if not fc.desc:
                continue
            scored = []
            for o in group:
                if o is c or not o.members or not _clusters_mergeable(o, c):
                    continue
                if c.is_loose() != o.is_loose():
                    continue
                if c.brand is None and (c.size.value is None) != (o.size.value is None):
                    continue
                if not all(size_hint_compatible(h, o.size, p) for h, p in c.hints) or not all(
                    size_hint_compatible(h, c.size, p) for h, p in o.hints
                ):
                    continue
                share = _word_share(fc, o, ctx)
                if share >= SUBSUME_SHARE - SUBSUME_MARGIN:
                    scored.append((share, o))
            if not scored:
                continue
            scored.sort(key=lambda x: (-x[0], -len(x[1].members), x[1].order))
            best, target = scored[0]
            if best < SUBSUME_SHARE or (len(scored) > 1 and scored[1][0] > best - SUBSUME_MARGIN):
                continue
            if _printed_together(c, target, together):
                continue
            if _kinds_explaining(c, fc, clusters, index, ctx) > 1:
                continue
            for f in c.members:
                _, method, score = decisions[f.key]
                decisions[f.key] = (
                    target,
                    "fuzzy" if method == "new" else method,
                    min(score, round(best, 4)),
                )
                target.add(f, ctx.learned)
            c.members = []


def _content(f: ProductFeatures) -> ProductFeatures:
    """`f` without one- and two-letter words (`a`, `de`, `la`: what tills drop first)."""
    desc = tuple(t for t in f.desc if len(t) > 2 or not t.isalpha())
    return replace(f, desc=desc) if desc else f


def _kinds_explaining(
    c: _Cluster, fc: ProductFeatures, clusters: list[_Cluster], index: _Index, ctx: _Context
) -> int:
    """How many kinds of product (any brand, sold like `c`) explain all of `c`'s words.

    Two explaining products are one kind when each explains the other's words (one- and
    two-letter function words aside: `LAVAVAJILLAS A MANO` and `LAVAVAJ. MANO` are one kind).
    """
    kinds: list[_Cluster] = []
    for o_i in index.candidates(replace(fc, brand=None)):
        o = clusters[o_i]
        if o is c or not o.members or o.is_loose() != c.is_loose():
            continue
        if not sizes_compatible(o.size, c.size) or _word_share(fc, o, ctx) < KIND_EXPLAINS:
            continue
        fo = _content(_as_spelling(o))
        if not any(
            _word_share(fo, k, ctx) >= KIND_SHARE
            and _word_share(_content(_as_spelling(k)), o, ctx) >= KIND_SHARE
            for k in kinds
        ):
            kinds.append(o)
            if len(kinds) > 1:
                return len(kinds)
    return len(kinds)


def _fold_duplicates(clusters: list[_Cluster], decisions: dict) -> None:
    """New products with the same normalized key as an earlier one are that product."""
    by_norm: dict[str, list[_Cluster]] = defaultdict(list)
    for c in sorted(clusters, key=lambda c: (c.pid is None, c.order)):
        if not c.members:
            continue
        nk = _norm_key(c)
        if c.pid is None:
            target = next((o for o in by_norm[nk] if _clusters_mergeable(o, c)), None)
            if target is not None:
                for f in c.members:
                    _, method, score = decisions[f.key]
                    decisions[f.key] = (target, "exact" if method == "new" else method, score)
                    target.add(f)
                c.members = []
                continue
        by_norm[nk].append(c)


def _best_cluster(
    f: ProductFeatures,
    clusters: list[_Cluster],
    index: _Index,
    ctx: _Context,
    guard_unknown_size: bool,
) -> tuple[_Cluster, float] | None:
    scored = []
    fc = most_common(f.categories) if f.categories else None
    cands = [clusters[o] for o in index.candidates(f) if clusters[o].members]
    if not f.brand:
        kind = _branded_kind(f, cands, ctx)
        f.branded_kind = kind
    by_price_only: set[int] = set()
    stub = f.desc[-1] if f.truncated and not f.brand and f.desc and len(f.desc[-1]) <= 2 else ""
    gkey = f.gkey
    for c in cands:
        if not _compatible(f, c, ctx, f.branded_kind):
            continue
        if stub and c.brand and not c.brand.startswith(stub):
            continue  # the name was cut at the start of another brand (`... MANO 750ML MI`)
        if not f.brand and c.brand and (c.chain_price(f.sbk) is None or f.price is None):
            # A brand the receipt dropped, never seen at this chain: only at its very price.
            other = c.any_price()
            if f.price is None or other is None or _ratio(f.price, other) > DROPPED_BRAND_PRICE:
                continue
            by_price_only.add(c.order)
        # a spelling normalized exactly like one of the product's is that product's
        s = 1.0 if any(m.gkey == gkey for m in c.members) else _score(f, c, ctx)
        if s < ACCEPT:
            continue
        bonus = 0.0
        if _uncertain(f, c):
            same_spelling = s >= 1.0 and f.truncated is False
            ok, bonus = _price_evidence(f, c, bool(f.brand and c.brand) or same_spelling)
            if not ok:
                continue
        if f.sbk in c.prices or any(m.sbk == f.sbk for m in c.members):
            bonus += 0.01
        if fc is not None:
            cc: Counter = Counter()
            for m in c.members:
                cc.update(m.categories)
            if cc:
                bonus += 0.01 if fc == most_common(cc) else -0.03
        if f.brand is None and c.brand is None:
            bonus += 0.005
        if f.size.known and c.size.key() == f.size.key():
            bonus += 0.005
        scored.append((s + bonus, s, c))
    if len({x[2].brand for x in scored if x[2].order in by_price_only}) > 1:
        scored = [x for x in scored if x[2].order not in by_price_only]  # two brands fit
    if not scored:
        return None
    scored.sort(key=lambda x: (-x[0], x[2].order))
    top_total, top_s, top_c = scored[0]
    if not f.brand:
        ties = [x for x in scored if x[0] >= top_total - BRAND_TIE]
        if len({x[2].brand for x in ties if x[2].brand}) > 1:
            # which brand the receipt dropped is not decided by the evidence: stay unbranded
            plain = [x for x in ties if x[2].brand is None]
            if not plain:
                return None
            top_total, top_s, top_c = plain[0]
    if guard_unknown_size and not f.size.known and not f.loose:
        rivals = [c for t, _, c in scored[1:] if t >= top_total - TIE_MARGIN]
        if any(c.size.key() != top_c.size.key() for c in rivals):
            return None
    return top_c, top_s


def _branded_kind(f: ProductFeatures, cands: Sequence[_Cluster], ctx: _Context) -> bool:
    """Tell whether an unbranded spelling names a kind of product that has brands.

    True when a branded product of compatible size matches its words: then its missing
    brand is unknown, not absent, and it stays within its chain unless the evidence says
    which brand.
    """
    for c in cands:
        if not c.brand or not sizes_compatible(f.size, c.size):
            continue
        if f.loose and c.size.value is not None:
            continue  # loose produce vs a packed branded product: not the same kind
        if _score(f, c, ctx) >= ACCEPT:
            return True
    return False


def _type_evidence(c: _Cluster) -> ProductEvidence:
    cats: Counter = Counter()
    for m in c.members:
        cats.update(m.categories)
    return ProductEvidence(c.order, cats, tuple(_canonical_tokens(c)), c.brand)


def _product_row(
    c: _Cluster, vocab: BrandVocabulary, norm_key: str, product_type: str | None
) -> Row:
    names: Counter = Counter()
    brands: Counter = Counter()
    for m in c.members:
        names[m.spelling.name.strip()] += m.count + 1
        if m.brand == c.brand and m.spelling.brand and not is_placeholder(m.spelling.brand):
            brands[m.spelling.brand.strip()] += m.count + 1
    name = most_common(names, tie=lambda s: (-len(s), s))
    # One display per brand across every product, so gold never splits a brand's spend
    # between `HACENDILLA` and `Hacendilla`; this product's own spellings are the fallback.
    brand = (vocab.display(c.brand) if c.brand else None) or (
        most_common(brands) if brands else None
    )
    size = c.size
    return {
        "product_id": c.pid,
        "product_name": name,
        "product_brand": brand,
        "product_type": product_type,
        "size_value": float(size.value) if size.value is not None else None,
        "size_unit": size.unit,
        "pack_count": int(size.pack) if size.pack is not None else None,
        "normalized_key": norm_key,
        "alias_count": len(c.members),
        "first_seen_at": c.first_seen_at,
    }
