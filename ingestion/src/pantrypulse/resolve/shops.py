"""Shop resolution: chain first (`shop_brand_key`), then the branch (location) in the chain.

Chain of a spelling, strongest evidence first:

1. an id kept in the registry (a spelling never changes chain once resolved);
2. the brand field (legal form stripped, compared as compact text: `MERCADONA S.A.` and
   `Mercadona` are one chain);
3. the tax id, when spellings with a chain name a clear majority chain for it (a tax id
   identifies the legal entity, i.e. the chain, never a branch);
4. a known chain (from any brand field or the registry) at the start of the name, exactly or
   with a typo (compact similarity >= 0.88);
5. otherwise learned from the names themselves: the name's chain part (first segment, legal
   form stripped, cut where location starts: a number, a street-type word, the spelling's
   own address/city words or a city seen anywhere) and then the shortest prefix of it that is
   itself a complete chain part of some spelling (`mercadona diagonal` -> `mercadona` because
   `MERCADONA S.A.` exists), else the longest prefix shared by all spellings starting with
   the same word.

Chains are then merged when one is the other plus a generic word that follows several
chains in the data (`X Supermercados`, `Y Supermercados` -> `x`, `y`), or when they share a
tax id and one name contains the other.

Branch within the chain: location = postal code, city, street words and house numbers from
the address fields, or, without an address, from the name after the chain (`Mercadona - Av.
Diagonal 123`, `mercadona diagonal`); a bare number after the chain in a name with no street
(`LIDAL 4113`) is a store code. Different known postal codes, cities, house numbers or store
codes never merge. Spellings are visited address first; one with a street joins the branch
whose street words cover it (>= 0.75, abbreviation-aware) or founds a branch; one with a
store code joins the branch with that code; one with only a city / postal code joins the
chain's only branch there (or founds a city-level branch when there is none); one with no
location at all joins the chain's only branch. When several branches fit, the spelling goes
to a per-chain "unknown branch" shop (policy `"unknown"`, default: it does not invent a
location) or to the busiest candidate (policy `"majority"`).
"""

from __future__ import annotations

import re
from collections import Counter, defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime

from rapidfuzz.distance import OSA

from pantrypulse.resolve.common import most_common, stable_id, token_coverage
from pantrypulse.resolve.model import Row, ShopObservation, ShopSpelling
from pantrypulse.resolve.normalize import (
    address_tokens,
    deumlaut,
    is_number,
    is_placeholder,
    is_street_type,
    name_segments,
    normalize_postal_code,
    normalize_tax_id,
    strip_legal_form,
    token_similarity,
    tokenize,
    tokens_of,
)

UNKNOWN_BRANCH = "?"
STREET_ACCEPT = 0.75
AMBIGUITY_MARGIN = 0.05
_STREET_COMPOUND = re.compile(r"[a-z]{3,}(strasse|str|weg|platz|gasse|allee|damm|ring)$")


def _clean_tokens(tokens: Iterable[str]) -> list[str]:
    return [t.replace(".", "") if not t.replace(".", "").isdigit() else t for t in tokens if t]


def _name_segments_tokens(name: str) -> list[list[str]]:
    segs = []
    for seg in name_segments(name):
        toks = [t for t in _clean_tokens(tokens_of(seg)) if t]
        if toks:
            segs.append(strip_legal_form(toks))
    return segs


@dataclass
class ShopFeatures:
    """Normalized evidence of one shop spelling."""

    spelling: ShopSpelling
    count: int
    countries: Counter
    brand_toks: tuple[str, ...]
    tax: str
    pc: str
    city: str
    addr: tuple[str, ...]
    segments: list[list[str]]
    chain: str = ""
    street: tuple[str, ...] = ()
    numbers: tuple[str, ...] = ()
    codes: tuple[str, ...] = ()
    loc_city: str = ""
    loc_pc: str = ""
    street_from_name: bool = False
    inferred_city: str = ""  # from the postal code, when the spelling names no city

    @property
    def key(self) -> str:
        """The alias key."""
        return self.spelling.alias_key

    @property
    def name_toks(self) -> list[str]:
        """All name tokens, legal forms stripped per segment."""
        return [t for seg in self.segments for t in seg]

    @property
    def level(self) -> int:
        """2: has a street, number or store code; 1: only a city / postal code; 0: none."""
        if self.street or self.numbers or self.codes:
            return 2
        if self.loc_city or self.loc_pc:
            return 1
        return 0


def shop_features(obs: ShopObservation) -> ShopFeatures:
    """Normalized fields of a shop spelling (chain and location come later)."""
    sp = obs.spelling
    brand_toks: tuple[str, ...] = ()
    if not is_placeholder(sp.brand):
        brand_toks = tuple(strip_legal_form(_clean_tokens(tokenize(sp.brand))))
    city = " ".join(_clean_tokens(tokenize(sp.city))) if not is_placeholder(sp.city) else ""
    addr = tuple(t for t in address_tokens(sp.address) if is_number(t) or len(t) > 2)
    return ShopFeatures(
        spelling=sp,
        count=obs.count,
        countries=obs.countries,
        brand_toks=brand_toks,
        tax=normalize_tax_id(sp.tax_id) if not is_placeholder(sp.tax_id) else "",
        pc=normalize_postal_code(sp.postal_code) if not is_placeholder(sp.postal_code) else "",
        city=city,
        addr=addr,
        segments=_name_segments_tokens(sp.name),
    )


def _pad_postal_codes(feats: Sequence[ShopFeatures]) -> None:
    """Restore leading zeros lost by spreadsheets (`8009` -> `08009`).

    When the zero-padded code is seen elsewhere, or the country's usual length is longer.
    """
    lengths: dict[str, Counter] = defaultdict(Counter)
    seen = {f.pc for f in feats if f.pc.isdigit()}
    for f in feats:
        if f.pc.isdigit():
            lengths[most_common(f.countries) or ""][len(f.pc)] += f.count + 1
    for f in feats:
        if not f.pc.isdigit():
            continue
        common = most_common(lengths[most_common(f.countries) or ""], tie=lambda n: -n)
        for n in range(len(f.pc) + 1, len(f.pc) + 3):
            if f.pc.zfill(n) in seen or n == common:
                f.pc = f.pc.zfill(n)
                break


def _compact(tokens: Sequence[str]) -> str:
    return deumlaut("".join(tokens))


def _city_eq(a: str, b: str) -> bool:
    """Same city, allowing typos, transliteration and abbreviations (`BCN` ~ `barcelona`)."""
    if a == b:
        return True
    ca, cb = deumlaut(a.replace(" ", "")), deumlaut(b.replace(" ", ""))
    if ca == cb or (min(len(ca), len(cb)) >= 5 and OSA.normalized_similarity(ca, cb) >= 0.85):
        return True
    return min(len(ca), len(cb)) >= 3 and token_similarity(ca, cb) >= 0.8


# --------------------------------------------------------------------------------------
# Chains
# --------------------------------------------------------------------------------------


@dataclass
class Chains:
    """Known chains: compact text -> chain key, and each key's tokens."""

    by_compact: dict[str, str] = field(default_factory=dict)
    tokens: dict[str, tuple[str, ...]] = field(default_factory=dict)

    def add(self, key: str, toks: tuple[str, ...]) -> None:
        """Register a chain key with its tokens."""
        self.by_compact.setdefault(_compact(toks), key)
        self.tokens.setdefault(key, toks)

    def match_prefix(self, toks: Sequence[str]) -> tuple[str, int] | None:
        """A known chain at the start of `toks`: exact compact first, then a close typo."""
        for n in range(min(5, len(toks)), 0, -1):
            key = self.by_compact.get(_compact(toks[:n]))
            if key is not None:
                return key, n
        best: tuple[float, int, str] | None = None
        for n in range(min(5, len(toks)), 0, -1):
            c = _compact(toks[:n])
            if len(c) < 5:
                continue
            for kc in sorted(self.by_compact):
                if len(kc) < 5 or abs(len(kc) - len(c)) > 2 or kc[0] != c[0]:
                    continue
                s = OSA.normalized_similarity(c, kc)
                if s >= 0.88 and (best is None or (-s, -n, kc) < (-best[0], -best[1], best[2])):
                    best = (s, n, kc)
        if best:
            return self.by_compact[best[2]], best[1]
        return None


def _chain_key(toks: Sequence[str]) -> str:
    return "-".join(toks) or "unknown"


def _city_at(toks: Sequence[str], i: int, cities: dict[tuple[str, ...], str]) -> int:
    """Length of a known city starting at toks[i] (0 if none)."""
    for n in (3, 2, 1):
        if i + n <= len(toks) and tuple(toks[i : i + n]) in cities:
            return n
    return 0


def _chain_candidate(f: ShopFeatures, cities: dict[tuple[str, ...], str]) -> tuple[str, ...]:
    """The chain part of a name: first segment cut where the location starts."""
    if not f.segments:
        return ()
    toks = f.segments[0]
    own = set(f.addr) | set(f.city.split()) | ({f.pc.lower()} if f.pc else set())
    for i, t in enumerate(toks):
        if i == 0:
            continue
        if (
            is_number(t)
            or is_street_type(t)
            or _STREET_COMPOUND.match(t)
            or t in own
            or _city_at(toks, i, cities)
        ):
            return tuple(toks[:i])
    return tuple(toks)


def _common_prefix(seqs: Sequence[tuple[str, ...]]) -> tuple[str, ...]:
    out = []
    for parts in zip(*seqs, strict=False):
        if all(p == parts[0] for p in parts):
            out.append(parts[0])
        else:
            break
    return tuple(out)


def assign_chains(
    feats: Sequence[ShopFeatures], fixed: dict[str, str], cities: dict[tuple[str, ...], str]
) -> Chains:
    """Set `f.chain` on every spelling (see module doc); return the known chains."""
    chains = Chains()
    for key in sorted(set(fixed.values())):
        chains.add(key, tuple(key.split("-")))
    variants: dict[str, Counter] = defaultdict(Counter)
    for f in feats:
        if f.brand_toks:
            variants[_compact(f.brand_toks)][f.brand_toks] += f.count + 1
    for comp in sorted(variants):
        if comp not in chains.by_compact:
            toks = most_common(variants[comp])
            chains.add(_chain_key(toks), toks)

    tax_votes: dict[str, Counter] = defaultdict(Counter)
    for f in feats:
        if f.key in fixed:
            f.chain = fixed[f.key]
        elif f.brand_toks:
            f.chain = chains.by_compact[_compact(f.brand_toks)]
        if f.chain and f.tax:
            tax_votes[f.tax][f.chain] += f.count + 1
    tax_chain = {}
    for tax, votes in tax_votes.items():
        top = most_common(votes)
        if votes[top] * 3 >= sum(votes.values()) * 2:
            tax_chain[tax] = top

    rest = []
    for f in feats:
        if f.chain:
            continue
        if f.tax in tax_chain:
            f.chain = tax_chain[f.tax]
            continue
        hit = chains.match_prefix(f.name_toks)
        if hit:
            f.chain = hit[0]
            continue
        rest.append(f)

    # Learn chains from names nobody branded.
    cands = {f.key: _chain_candidate(f, cities) for f in rest}
    complete = {c for c in cands.values() if c}
    by_first: dict[str, list[tuple[str, ...]]] = defaultdict(list)
    for c in sorted(complete):
        by_first[c[0]].append(c)
    for f in sorted(rest, key=lambda x: x.key):
        cand = cands[f.key] or tuple(f.name_toks[:1]) or ("unknown",)
        chosen = next((cand[:n] for n in range(1, len(cand) + 1) if cand[:n] in complete), None)
        if chosen is None or chosen == cand:
            group = by_first.get(cand[0], [cand])
            lcp = _common_prefix(group)
            if lcp and len(_compact(lcp)) >= 3 and len(group) > 1:
                chosen = lcp if chosen is None or len(lcp) < len(chosen) else chosen
        chosen = chosen or cand
        key = chains.by_compact.get(_compact(chosen))
        if key is None:
            hit = chains.match_prefix(list(chosen))
            key = hit[0] if hit else _chain_key(chosen)
            if not hit:
                chains.add(key, tuple(chosen))
        f.chain = key
    _merge_chains(feats, chains, set(fixed.values()))
    return chains


def _merge_chains(feats: Sequence[ShopFeatures], chains: Chains, fixed: set[str]) -> None:
    """Merge chains that are one.

    `X Supermercados` into `X` (a word that follows several chains is generic), and chains
    that share a tax id when one name contains the other.
    """
    used = sorted({f.chain for f in feats} | fixed)
    toks = {k: chains.tokens.get(k, tuple(k.split("-"))) for k in used}
    generic: dict[tuple[str, ...], set[str]] = defaultdict(set)
    pairs = []
    for a in used:
        for b in used:
            ta, tb = toks[a], toks[b]
            if a != b and len(tb) > len(ta) and tb[: len(ta)] == ta:
                generic[tb[len(ta) :]].add(a)
                pairs.append((a, b))
    taxes: dict[str, set[str]] = defaultdict(set)
    for f in feats:
        if f.tax:
            taxes[f.chain].add(f.tax)
    parent = {k: k for k in used}

    def find(k: str) -> str:
        while parent[k] != k:
            k = parent[k]
        return k

    def union(short: str, long_: str) -> None:
        ra, rb = find(short), find(long_)
        if ra == rb or (ra in fixed and rb in fixed):
            return
        keep, drop = (rb, ra) if rb in fixed and ra not in fixed else (ra, rb)
        parent[drop] = keep

    for a, b in pairs:
        if len(generic[toks[b][len(toks[a]) :]]) >= 2 or taxes[a] & taxes[b]:
            union(a, b)
    for a in used:
        for b in used:
            ca, cb = _compact(toks[a]), _compact(toks[b])
            if a < b and taxes[a] & taxes[b] and (ca in cb or cb in ca):
                union(*sorted((a, b), key=lambda k: (len(toks[k]), k)))
    for f in feats:
        f.chain = find(f.chain)


# --------------------------------------------------------------------------------------
# Locations and branches
# --------------------------------------------------------------------------------------


def locate(
    f: ShopFeatures,
    chains: Chains,
    cities: dict[tuple[str, ...], str],
    postal_codes: set[str] = frozenset(),
) -> None:
    """Fill the location evidence of a spelling whose chain is known."""
    f.loc_pc = f.pc
    f.loc_city = f.city
    chain_toks = chains.tokens.get(f.chain, tuple(f.chain.split("-")))
    toks = f.name_toks
    n = len(chain_toks)
    hit = chains.match_prefix(toks)
    if n and tuple(toks[:n]) == chain_toks:
        rest = toks[n:]
    elif hit:
        rest = toks[hit[1] :]
    else:
        chain_set = set(chain_toks) | {_compact(chain_toks)}
        rest = [t for t in toks if t not in chain_set]
    rest = strip_legal_form(["x", *rest])[1:]
    words: list[str] = []
    i = 0
    while i < len(rest):
        t = rest[i]
        n_city = _city_at(rest, i, cities)
        if n_city:
            if not f.loc_city:
                f.loc_city = " ".join(rest[i : i + n_city])
            i += n_city
            continue
        if f.pc and t.upper() == f.pc:
            i += 1
            continue
        if not f.pc and t.upper() in postal_codes:  # a postal code seen in the data
            f.loc_pc = f.loc_pc or t.upper()
            i += 1
            continue
        words.append(t)
        i += 1
    if f.city:
        city_toks = set(f.city.split())
        words = [w for w in words if w not in city_toks]
    name_loc = [t for t in address_tokens(" ".join(words)) if is_number(t) or len(t) > 2]
    name_numbers = tuple(sorted({t for t in name_loc if is_number(t)}))
    name_street = tuple(t for t in name_loc if not is_number(t))
    if f.addr:
        src = [t for t in f.addr if t not in set(f.city.split()) and t.upper() != f.pc]
        f.street = tuple(t for t in src if not is_number(t))
        f.numbers = tuple(sorted({t for t in src if is_number(t)}))
        f.codes = tuple(n for n in name_numbers if n not in f.numbers) if not name_street else ()
        f.street_from_name = False
    else:
        f.street_from_name = True
        if name_street:
            f.street, f.numbers = name_street, name_numbers
        else:
            f.codes = name_numbers  # `LIDAL 4113`: a store number, not a house number


@dataclass
class _Branch:
    chain: str
    kind: str  # "street" | "code" | "city" | "chain" | "unknown"
    shop_id: str | None = None
    norm_key: str = ""
    first_seen_at: datetime | None = None
    members: list[ShopFeatures] = field(default_factory=list)
    pcs: set = field(default_factory=set)
    cities: set = field(default_factory=set)
    numbers: set = field(default_factory=set)
    codes: set = field(default_factory=set)
    streets: list[tuple[str, ...]] = field(default_factory=list)
    named: set = field(default_factory=set)  # streets read from a name, not an address

    def add(self, f: ShopFeatures) -> None:
        self.members.append(f)
        if self.kind == "unknown":
            return
        if f.loc_pc:
            self.pcs.add(f.loc_pc)
        if f.loc_city:
            self.cities.add(f.loc_city)
        self.numbers.update(f.numbers)
        self.codes.update(f.codes)
        if f.street and f.street not in self.streets:
            self.streets.append(f.street)
            if f.street_from_name:
                self.named.add(f.street)

    @property
    def weight(self) -> int:
        return sum(m.count for m in self.members)

    def compatible(self, f: ShopFeatures) -> bool:
        if self.kind == "unknown":
            return False
        if f.loc_pc and self.pcs and f.loc_pc not in self.pcs:
            return False
        if f.loc_city and self.cities and not any(_city_eq(f.loc_city, c) for c in self.cities):
            return False
        if f.codes and self.codes and not set(f.codes) & self.codes:
            return False
        return not (f.numbers and self.numbers and not set(f.numbers) & self.numbers)

    def place_score(self, f: ShopFeatures) -> float:
        """How well the spelling's street / number / store code fit this branch."""
        best = 0.0
        for st in self.streets if f.street else ():
            cov_f, cov_b = token_coverage(f.street, st)
            # A name may carry extra words (`EDEKA Schulz Osterstr.`): for a street read
            # from a name, containing the branch's whole street is as good as being
            # contained in it.
            loose = f.street_from_name or st in self.named
            best = max(best, max(cov_f, cov_b) if loose else min(cov_f, cov_b))
        if f.codes and set(f.codes) & self.codes:
            best = max(best, 1.0)
        if f.numbers and set(f.numbers) & self.numbers:
            best = best + 0.05 if f.street else max(best, 0.8)
        if f.loc_pc and f.loc_pc in self.pcs:
            best += 0.05
        return best

    def same_place(self, f: ShopFeatures) -> bool:
        """City or postal code of the spelling seen at this branch."""
        return bool(
            (f.loc_pc and f.loc_pc in self.pcs)
            or (f.loc_city and any(_city_eq(f.loc_city, c) for c in self.cities))
        )


def _branch_key(chain: str, f: ShopFeatures, kind: str) -> str:
    where = f.loc_pc or f.loc_city.replace(" ", "-")
    if kind == "street":
        loc = " ".join([*f.street, *f.numbers])
        return f"{chain}|{where}:{loc}" if where else f"{chain}|{loc}"
    if kind == "code":
        loc = "#" + "#".join(f.codes)
        return f"{chain}|{where}:{loc}" if where else f"{chain}|{loc}"
    if kind == "city":
        return f"{chain}|{where}"
    if kind == "chain":
        return f"{chain}|*"
    return f"{chain}|{UNKNOWN_BRANCH}"


def _drop_chain_words(feats: Sequence[ShopFeatures]) -> None:
    """Drop name words that go with several places: they are the chain's, not a location.

    `DIALMA RETAIL ESPAÑA S.A.U.` printed at two addresses.
    """
    pcs: dict[tuple[str, str], set] = defaultdict(set)
    cities: dict[tuple[str, str], set] = defaultdict(set)
    for f in feats:
        if f.street_from_name:
            for t in f.street:
                if f.loc_pc:
                    pcs[(f.chain, t)].add(f.loc_pc)
                if f.loc_city:
                    cities[(f.chain, t)].add(deumlaut(f.loc_city.replace(" ", "")))

    def chain_word(f: ShopFeatures, t: str) -> bool:
        return len(pcs.get((f.chain, t), ())) >= 2 or len(cities.get((f.chain, t), ())) >= 2

    for f in feats:
        if f.street_from_name and f.street:
            kept = tuple(t for t in f.street if not chain_word(f, t))
            if kept != f.street:
                f.street = kept
                if not kept and f.numbers and not f.codes:
                    f.codes, f.numbers = f.numbers, ()


def _infer_cities(feats: Sequence[ShopFeatures]) -> None:
    """Infer the city of a postal code from spellings that print both.

    The code itself, else its longest prefix of 3+ characters that only one city uses.
    """
    votes: dict[str, Counter] = defaultdict(Counter)
    for f in feats:
        if f.loc_pc and f.loc_city:
            city = deumlaut(f.loc_city.replace(" ", ""))
            for n in range(3, len(f.loc_pc) + 1):
                votes[f.loc_pc[:n]][city] += 1
    for f in feats:
        if not f.loc_pc or f.loc_city:
            continue
        for n in range(len(f.loc_pc), 2, -1):
            c = votes.get(f.loc_pc[:n])
            if not c:
                continue
            top = most_common(c)
            if all(_city_eq(top, other) for other in c):
                f.inferred_city = top
            break


def _kind_of(f: ShopFeatures) -> str:
    if f.street or f.numbers:
        return "street"
    if f.codes:
        return "code"
    return "city" if f.level == 1 else "chain"


def _gather(observations: Sequence[ShopObservation], previous_aliases: Sequence[Row]):
    obs_by_key: dict[str, ShopObservation] = {}
    for o in observations:
        k = o.spelling.alias_key
        if k in obs_by_key:
            obs_by_key[k].count += o.count
            obs_by_key[k].countries.update(o.countries)
        else:
            obs_by_key[k] = ShopObservation(o.spelling, o.count, Counter(o.countries))
    for r in previous_aliases:
        if r["alias_key"] not in obs_by_key:
            obs_by_key[r["alias_key"]] = ShopObservation(ShopSpelling.from_row(r), 0, Counter())
    return [shop_features(obs_by_key[k]) for k in sorted(obs_by_key)]


def _known_cities(feats: Sequence[ShopFeatures], previous_shops: Sequence[Row]):
    cities: dict[tuple[str, ...], str] = {}
    for f in feats:
        if f.city and len(f.city) >= 3:
            cities.setdefault(tuple(f.city.split()), f.city)
    for r in previous_shops:
        c = " ".join(_clean_tokens(tokenize(r.get("city"))))
        if c and len(c) >= 3:
            cities.setdefault(tuple(c.split()), c)
    return cities


def resolve_shops(
    observations: Sequence[ShopObservation],
    previous_shops: Sequence[Row] = (),
    previous_aliases: Sequence[Row] = (),
    now: datetime | None = None,
    policy: str = "unknown",
) -> tuple[list[Row], list[Row], dict[str, int]]:
    """Resolve shop spellings against the previous registry; return (shops, aliases, stats).

    Pure: no I/O. Previous aliases keep their shop id, method, score and first_seen_at;
    previous shops keep their id, chain key, normalized key and first_seen_at; display
    attributes are refreshed from all evidence.
    """
    if policy not in ("unknown", "majority"):
        raise ValueError(f"unknown ambiguous-branch policy {policy!r}")
    prev_alias = {r["alias_key"]: r for r in previous_aliases}
    prev_shop = {r["shop_id"]: r for r in previous_shops}
    feats = _gather(observations, previous_aliases)
    _pad_postal_codes(feats)
    fixed = {}
    for f in feats:
        row = prev_alias.get(f.key)
        if row and row["shop_id"] in prev_shop:
            fixed[f.key] = prev_shop[row["shop_id"]]["shop_brand_key"]
    cities = _known_cities(feats, previous_shops)
    chains = assign_chains(feats, fixed, cities)
    postal_codes = {f.pc for f in feats if f.pc}
    for f in feats:
        locate(f, chains, cities, postal_codes)
    _drop_chain_words(feats)
    _infer_cities(feats)

    # Seed branches from the registry.
    branches: dict[str, list[_Branch]] = defaultdict(list)
    by_id: dict[str, _Branch] = {}
    for sid in sorted(prev_shop):
        r = prev_shop[sid]
        kind = "unknown" if r["normalized_key"].endswith("|" + UNKNOWN_BRANCH) else "street"
        b = _Branch(r["shop_brand_key"], kind, sid, r["normalized_key"], r["first_seen_at"])
        by_id[sid] = b
        branches[b.chain].append(b)
    assigned: dict[str, tuple[_Branch, str, float]] = {}
    for f in feats:
        row = prev_alias.get(f.key)
        if row and row["shop_id"] in by_id:
            by_id[row["shop_id"]].add(f)
            assigned[f.key] = (by_id[row["shop_id"]], row["match_method"], row["match_score"])

    # Address fields first, then locations read from names, then the most used spellings.
    order = sorted(
        (f for f in feats if f.key not in assigned),
        key=lambda f: (f.chain, -f.level, f.street_from_name, -f.count, -len(f.street), f.key),
    )
    pending: list[ShopFeatures] = []
    for f in order:
        if f.level < 2:
            pending.append(f)
            continue
        cands = sorted(
            (
                (b.place_score(f), b)
                for b in branches[f.chain]
                if b.kind not in ("unknown", "chain") and b.compatible(f)
            ),
            key=lambda x: (-x[0], x[1].members[0].key if x[1].members else ""),
        )
        if cands and cands[0][0] >= STREET_ACCEPT:
            score, b = cands[0]
            if (
                len(cands) > 1
                and cands[1][0] >= score - AMBIGUITY_MARGIN
                and f.street_from_name
                and not f.numbers
                and not f.codes
            ):
                pending.append(f)  # `mercadona gran via` with two Gran Via branches
                continue
            b.add(f)
            assigned[f.key] = (b, "exact" if score >= 1.0 else "fuzzy", min(score, 1.0))
            continue
        city_level = [
            b for b in branches[f.chain] if b.kind == "city" and b.compatible(f) and b.same_place(f)
        ]
        if len(city_level) == 1:  # the city's branch, first seen without a street
            city_level[0].kind = _kind_of(f)
            city_level[0].add(f)
            assigned[f.key] = (city_level[0], "fuzzy", 0.75)
            continue
        b = _Branch(f.chain, _kind_of(f))
        b.add(f)
        branches[f.chain].append(b)
        assigned[f.key] = (b, "new", 1.0)

    # Spellings with a city / postal code only, then the ones with no location at all.
    pending.sort(key=lambda f: (f.chain, -f.level, -f.count, f.key))
    for f in pending:
        located = [b for b in branches[f.chain] if b.kind != "unknown"]
        fits = [b for b in located if b.compatible(f)]
        if f.level >= 1:
            by_pc = [b for b in fits if f.loc_pc and f.loc_pc in b.pcs]
            fits = by_pc or [
                b
                for b in fits
                if b.same_place(f)
                or (f.street and b.place_score(f) >= STREET_ACCEPT)
                or (
                    f.inferred_city
                    and not b.pcs
                    and any(_city_eq(c, f.inferred_city) for c in b.cities)
                )
            ]
        if len(fits) == 1:
            fits[0].add(f)
            assigned[f.key] = (fits[0], "fuzzy", 0.5)
            continue
        if not fits and (f.level >= 1 or not located):
            b = _Branch(f.chain, _kind_of(f))
            b.add(f)
            branches[f.chain].append(b)
            assigned[f.key] = (b, "new", 1.0)
            continue
        fits = fits or located
        if policy == "majority":
            best = min(fits, key=lambda b: (-b.weight, b.members[0].key if b.members else ""))
            best.add(f)
            assigned[f.key] = (best, "fuzzy", round(1.0 / len(fits), 4))
            continue
        unk = next((b for b in branches[f.chain] if b.kind == "unknown"), None)
        if unk is None:
            unk = _Branch(f.chain, "unknown")
            branches[f.chain].append(unk)
        unk.add(f)
        assigned[f.key] = (unk, "fuzzy", 0.0)

    _assign_ids(branches, assigned, set(prev_shop), now)
    return _rows(feats, chains, branches, assigned, prev_alias, prev_shop, previous_shops, now)


def _assign_ids(
    branches: dict[str, list[_Branch]],
    assigned: dict[str, tuple[_Branch, str, float]],
    taken: set[str],
    now: datetime | None,
) -> None:
    """Give new branches normalized keys and ids.

    A new branch whose key an existing or earlier branch already has is that branch (same
    chain, same normalized location).
    """
    all_b = [b for chain in sorted(branches) for b in branches[chain]]
    for b in all_b:
        if b.shop_id is None and b.members:
            founder = min(b.members, key=lambda m: (-m.level, -m.count, m.key))
            b.norm_key = _branch_key(b.chain, founder, b.kind)
    by_norm: dict[str, _Branch] = {}
    for b in sorted(all_b, key=lambda b: (b.shop_id is None, b.norm_key, b.shop_id or "")):
        if not b.members and b.shop_id is None:
            continue
        other = by_norm.get(b.norm_key)
        if other is not None and b.shop_id is None:
            for m in b.members:
                other.add(m)
                _, method, score = assigned[m.key]
                assigned[m.key] = (other, method, score)
            b.members = []
            continue
        by_norm.setdefault(b.norm_key, b)
    for b in sorted(
        (b for b in all_b if b.shop_id is None and b.members), key=lambda b: b.norm_key
    ):
        b.shop_id = stable_id("s_", b.norm_key, taken)
        b.first_seen_at = now


def _rows(feats, chains, branches, assigned, prev_alias, prev_shop, previous_shops, now):
    feat_by_key = {f.key: f for f in feats}
    alias_rows = []
    for key in sorted(assigned):
        b, method, score = assigned[key]
        sp = feat_by_key[key].spelling
        prev = prev_alias.get(key)
        alias_rows.append(
            {
                "alias_key": key,
                "raw_name": sp.name,
                "raw_brand": sp.brand,
                "raw_address": sp.address,
                "raw_city": sp.city,
                "raw_postal_code": sp.postal_code,
                "raw_tax_id": sp.tax_id,
                "shop_id": b.shop_id,
                "match_method": method,
                "match_score": float(score),
                "first_seen_at": prev["first_seen_at"] if prev else now,
            }
        )
    chain_display = _chain_displays(feats, chains, previous_shops)
    members_by_id: dict[str, list[ShopFeatures]] = defaultdict(list)
    for key, (b, _m, _s) in assigned.items():
        members_by_id[b.shop_id].append(feat_by_key[key])
    live = {
        b.shop_id: b
        for c in branches
        for b in branches[c]
        if b.shop_id and (members_by_id.get(b.shop_id) or b.shop_id in prev_shop)
    }
    shop_rows = [
        _shop_row(live[sid], members_by_id.get(sid, []), chain_display, prev_shop.get(sid))
        for sid in sorted(live)
    ]
    stats = {
        "aliases": len(alias_rows),
        "new_aliases": sum(1 for r in alias_rows if r["alias_key"] not in prev_alias),
        "entities": len(shop_rows),
        "new_entities": sum(1 for r in shop_rows if r["shop_id"] not in prev_shop),
    }
    return shop_rows, alias_rows, stats


def _pick(ms: Sequence[ShopFeatures], attr: str) -> str | None:
    c: Counter = Counter()
    for m in ms:
        v = getattr(m.spelling, attr)
        if v and not is_placeholder(v):
            c[v.strip()] += m.count + 1
    return most_common(c)


def _chain_displays(
    feats: Sequence[ShopFeatures], chains: Chains, previous_shops: Sequence[Row]
) -> dict[str, str]:
    votes: dict[str, Counter] = defaultdict(Counter)
    for f in feats:
        if f.spelling.brand and not is_placeholder(f.spelling.brand):
            toks = f.brand_toks
            # the chain's own name wins over a longer variant (`Mercavida Supermercados`)
            exact = _compact(toks) == _compact(chains.tokens.get(f.chain, ()))
            votes[f.chain][f.spelling.brand.strip()] += (f.count + 1) * (2 if exact else 1)
    out = {}
    for key in sorted({f.chain for f in feats}):
        if votes.get(key):
            out[key] = most_common(votes[key])
        else:
            toks = chains.tokens.get(key, tuple(key.split("-")))
            out[key] = " ".join(t.capitalize() for t in toks)
    for r in previous_shops:
        out.setdefault(r["shop_brand_key"], r["shop_brand"])
    return out


def _shop_row(
    b: _Branch, ms: Sequence[ShopFeatures], chain_display: dict[str, str], prev: Row | None
) -> Row:
    brand = chain_display.get(b.chain) or b.chain
    located = [m for m in ms if m.level > 0] or list(ms)
    if b.kind == "unknown":
        name = f"{brand} (unknown branch)"
        address = city = pc = None
    else:
        name = _pick(ms, "name") or brand
        address = _pick(located, "address")
        city = _pick(located, "city")
        pc = _pick(located, "postal_code")
        if city is None:
            loc_city = most_common(Counter(m.loc_city for m in located if m.loc_city))
            city = loc_city.title() if loc_city else None
    countries: Counter = Counter()
    for m in ms:
        countries.update({k: v for k, v in m.countries.items() if k})
    return {
        "shop_id": b.shop_id,
        "shop_brand_key": b.chain,
        "shop_brand": brand,
        "shop_name": name,
        "address": address,
        "city": city,
        "postal_code": pc,
        "country": most_common(countries) if countries else (prev or {}).get("country"),
        "tax_id": _pick(ms, "tax_id"),
        "normalized_key": prev["normalized_key"] if prev else b.norm_key,
        "alias_count": len(ms),
        "first_seen_at": prev["first_seen_at"] if prev else b.first_seen_at,
    }


def normalized_chain(text: str) -> str:
    """Chain key for a brand text (`'MERCADONA, S.A.'` -> `'mercadona'`)."""
    return _chain_key(strip_legal_form(_clean_tokens(tokenize(text))))
