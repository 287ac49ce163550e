"""How receipts print products and shops: per-chain habits, variants and a uniqueness guard.

Every chain has a house style (case, abbreviations, brand placement, unit spelling, receipt
width). A product prints mostly one way at a chain, with a few variants (till firmware,
item-master edits); a chain's firmware update can switch the house style on a given day.
The registry here guarantees the ground truth stays well defined: a (product_name,
product_brand) pair never means two different products at one chain, and across chains it
is shared only by private labels printed without their brand.

Realistic anchors (kept so that the truth, defined per product, is decidable from receipts;
the mess stays: case, accents, abbreviations, units, truncation, brand placement):

- A national brand of an item that comes in several brands (national brands anywhere, or
  this chain's own label) keeps its brand on every line at that chain: when the printed
  name lost it (brand position `none`, or cut off by the receipt width), the line's
  `product_brand` field carries it (`_anchored`). A till that sells three brands of
  semi-skimmed milk tells them apart on the receipt; without this, `LECHE SEMIDESNATAD`
  at a chain selling two brands named no product anyone could recover. Brands still move
  around in the name, get cut, and are missing where only one brand of the item exists.
- Alternative item names (`catalogue._ITEM_ROWS`) share a word with the main name
  (`Friegasuelos` / `Friegasuelos limpiador`, not `Limpiador suelos`): a name variant that
  shares nothing with the other chains' names, with the same brand and size, is a pure
  language-knowledge synonym that no data-driven matcher can tie (`Pan rústico` / `Hogaza
  rústica` stays: the barcode some chains print ties it).
"""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass, replace
from functools import cache

from pantrypulse.simulator.catalogue import (
    CHAIN_BY_ID,
    CHAINS,
    CITIES,
    ITEM_BY_KEY,
    STREET_TYPES,
    Chain,
    Product,
    Shop,
    rng_for,
)

# --------------------------------------------------------------------------------------
# Chain habits
# --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class PrintStyle:
    """A chain's receipt-printing habits for product lines."""

    case: str  # upper | lower | title | sentence
    accents: float  # share of product spellings that keep accents
    keep_enye: bool  # accents stripped, but Ñ still printed
    abbreviate: float  # share of dictionary words this chain abbreviates
    drop_stopwords: bool
    brand_pos: tuple[tuple[str, float], ...]  # national brands: before | after | end | none
    pl_brand_pos: tuple[tuple[str, float], ...]  # the chain's own private label
    pl_short: float  # share printing the private label as the chain's short code
    brand_field: float  # share of spellings that carry product_brand
    brand_field_upper: bool
    category_field: float  # share of lines that carry category
    category_vocab: str  # en | es_upper | es_title
    unit_styles: tuple[str, ...]  # house style first
    width: int  # receipt width in characters
    smart_fit: bool  # abbreviate harder before truncating
    double_space: float
    extra_variants: float  # expected extra spellings per product
    loose_suffix: str | None
    firmware: tuple[int, str, object] | None  # (day offset from start, attribute, new value)
    unit_words: tuple[str | None, str]  # line 'unit' for counted / weighed goods
    null_keys: bool  # send absent optional fields as null rather than leaving them out


# fmt: off
STYLES: dict[str, PrintStyle] = {
    "B01": PrintStyle("upper", 0.0, False, 0.7, True,
                      (("after", 7), ("none", 2), ("before", 1)), (("after", 5), ("none", 5)),
                      0.6, 0.1, True, 0.0, "es_upper", ("compact", "spaced"), 22, True, 0.02,
                      0.5, None, None, (None, "kg"), False),
    "B02": PrintStyle("title", 0.9, True, 0.0, False,
                      (("before", 8), ("after", 1), ("none", 1)), (("before", 6), ("none", 4)),
                      0.0, 0.8, False, 0.9, "es_title", ("spaced", "lower"), 32, False, 0.05,
                      0.6, "a granel", (90, "unit_style", "metric"), ("ud", "kg"), True),
    "B03": PrintStyle("lower", 0.4, True, 0.25, False,
                      (("after", 8), ("end", 1), ("none", 1)), (("after", 5), ("none", 5)),
                      0.0, 0.5, False, 0.3, "en", ("lower", "metric"), 20, False, 0.1,
                      0.7, None, (120, "accents", False), ("u", "kg"), True),
    "B04": PrintStyle("sentence", 1.0, True, 0.0, False,
                      (("after", 6), ("end", 3), ("before", 1)), (("after", 7), ("none", 3)),
                      0.0, 0.9, False, 1.0, "en", ("spaced", "compact"), 40, False, 0.02,
                      0.4, None, None, ("unit", "kg"), True),
    "B05": PrintStyle("upper", 0.1, True, 0.3, True,
                      (("none", 7), ("after", 3)), (("none", 85), ("after", 15)),
                      0.0, 0.3, True, 0.0, "es_upper", ("compact", "decimal"), 18, False, 0.0,
                      0.3, "KG", None, (None, "KG"), False),
    "B06": PrintStyle("title", 0.6, True, 0.5, True,
                      (("before", 6), ("after", 2), ("none", 2)), (("before", 5), ("none", 5)),
                      0.0, 0.6, False, 0.5, "es_upper", ("lt", "compact"), 24, True, 0.03,
                      0.5, None, (60, "case", "upper"), ("UN", "KG"), False),
    "B07": PrintStyle("lower", 1.0, True, 0.1, False,
                      (("after", 7), ("end", 2), ("none", 1)), (("after", 6), ("none", 4)),
                      0.0, 0.4, False, 0.8, "es_title", ("metric", "lower"), 28, False, 0.08,
                      0.6, "granel", None, ("u", "kg"), True),
    "B08": PrintStyle("upper", 0.9, True, 0.4, False,
                      (("before", 5), ("after", 4), ("none", 1)),
                      (("before", 4), ("after", 3), ("none", 3)),
                      0.0, 0.7, True, 0.7, "es_upper", ("decimal", "compact"), 24, True, 0.02,
                      0.4, None, (140, "unit_style", "spaced"), ("UD", "KG"), True),
    "B09": PrintStyle("title", 0.3, False, 0.35, False,
                      (("after", 7), ("before", 2), ("none", 1)), (("after", 5), ("none", 5)),
                      0.0, 0.5, False, 0.6, "en", ("spaced", "lower"), 26, False, 0.04,
                      0.5, "Granel", None, (None, "kg"), False),
    "B10": PrintStyle("upper", 0.0, False, 0.8, True,
                      (("after", 4), ("none", 6)), (("none", 8), ("after", 2)),
                      0.3, 0.2, True, 0.0, "es_upper", ("compact", "packword"), 20, True, 0.0,
                      0.3, None, None, (None, "KG"), False),
}

CATEGORY_VOCAB = {
    "en": {c: c for c in ("dairy", "bakery", "fruit", "vegetables", "meat", "fish", "deli",
                          "pantry", "beverages", "frozen", "snacks", "household",
                          "personal_care")},
    "es_upper": {"dairy": "LACTEOS", "bakery": "PANADERIA", "fruit": "FRUTA",
                 "vegetables": "VERDURA", "meat": "CARNE", "fish": "PESCADO",
                 "deli": "CHARCUTERIA", "pantry": "ALIMENTACION", "beverages": "BEBIDAS",
                 "frozen": "CONGELADOS", "snacks": "DULCES Y SNACKS", "household": "DROGUERIA",
                 "personal_care": "PERFUMERIA"},
    "es_title": {"dairy": "Lácteos", "bakery": "Panadería", "fruit": "Frutas",
                 "vegetables": "Verduras", "meat": "Carnicería", "fish": "Pescadería",
                 "deli": "Charcutería", "pantry": "Despensa", "beverages": "Bebidas",
                 "frozen": "Congelados", "snacks": "Snacks", "household": "Limpieza",
                 "personal_care": "Higiene"},
}
# fmt: on
UNIT_STYLES = ("compact", "spaced", "lower", "metric", "lt", "decimal", "packword")

STOPWORDS = ("DE", "DEL", "EN", "CON", "PARA", "LA", "A")

# fmt: off
# Word (upper case, no accents) -> the abbreviations tills use for it.
ABBR: dict[str, tuple[str, ...]] = {
    "LECHE": ("LCHE", "LECH."), "ENTERA": ("ENT.", "ENT", "ENTER."),
    "SEMIDESNATADA": ("SEMI", "SEMID.", "S/DESN."), "DESNATADA": ("DESN.", "DESNAT."),
    "LACTOSA": ("LACT.", "LACTOS."), "YOGUR": ("YOG.", "YOG", "YOGR"),
    "NATURAL": ("NAT.", "NAT", "NATUR."), "GRIEGO": ("GRIEG.", "GRGO"), "FRESA": ("FRES.",),
    "QUESO": ("QSO", "QUES."), "LONCHAS": ("LONCH.", "LNCH"), "CURADO": ("CUR.", "CURAD."),
    "FRESCO": ("FRESC.",), "FRESCOS": ("FRESC.",), "RALLADO": ("RALL.", "RALLAD."),
    "MANTEQUILLA": ("MANTEQ.", "MANTQ."), "COCINAR": ("COCIN.",), "BATIDO": ("BATID.", "BAT."),
    "CACAO": ("CAC.",), "HUEVOS": ("HUEV.", "HVOS"), "CAMPEROS": ("CAMP.", "CAMPER."),
    "MOLDE": ("MLDE", "MOLD."), "INTEGRAL": ("INTEG.", "INT."), "BLANCO": ("BCO", "BLANC."),
    "RUSTICO": ("RUST.",), "CROISSANTS": ("CROISS.", "CRSNT"), "MAGDALENAS": ("MAGD.",),
    "TOSTADO": ("TOST.",), "HAMBURGUESA": ("HAMB.",), "HAMBURGUESAS": ("HAMB.", "HAMBURG."),
    "TORTITAS": ("TORT.",), "PLATANO": ("PLAT.", "PLATAN."), "CANARIAS": ("CANAR.", "CAN."),
    "MANZANA": ("MANZ.", "MZNA"), "NARANJA": ("NARANJ.", "NJA"), "MANDARINA": ("MANDAR.",),
    "CONFERENCIA": ("CONF.", "CONFER."), "AGUACATE": ("AGUAC.",), "SEMILLAS": ("SEMILL.",),
    "TOMATE": ("TOM.", "TOMAT."), "CEBOLLA": ("CEB.", "CEBOLL."), "ZANAHORIA": ("ZANAH.",),
    "PIMIENTO": ("PIM.", "PIMIEN."), "CALABACIN": ("CALAB.",), "BROCOLI": ("BROC.",),
    "ESPINACAS": ("ESPIN.", "ESPINAC."), "ENSALADA": ("ENSAL.", "ENS."),
    "CHAMPINON": ("CHAMP.", "CHAMPI."), "CHAMPINONES": ("CHAMP.",), "LAMINADO": ("LAMIN.",),
    "LAMINADOS": ("LAMIN.", "LAM."), "PECHUGA": ("PECH.", "PECHUG."), "POLLO": ("PLLO",),
    "FILETEADA": ("FILET.", "FIL."), "FILETES": ("FTES", "FILET."), "FILETE": ("FTE",),
    "MUSLOS": ("MUSL.",), "CERDO": ("CERD.", "CDO"), "CHULETAS": ("CHULET.", "CHUL."),
    "COSTILLAS": ("COSTILL.", "COST."), "TERNERA": ("TERN.", "TERNER."),
    "PICADA": ("PIC.", "PICAD."), "MIXTA": ("MIXT.",), "VACUNO": ("VAC.", "VACUN."),
    "SALCHICHAS": ("SALCH.", "SALCHIC."), "FRANKFURT": ("FRANKF.", "FRANK."),
    "MERLUZA": ("MERL.", "MERLUZ."), "SALMON": ("SALM.",), "RODAJA": ("ROD.",),
    "BOQUERONES": ("BOQUER.", "BOQ."), "MEJILLONES": ("MEJILL.", "MEJ."),
    "MEJILLON": ("MEJILL.",), "JAMON": ("JAM.", "JMN"), "COCIDO": ("COC.", "COCID."),
    "EXTRA": ("EXT.", "EXTR."), "SERRANO": ("SERR.", "SRNO"), "CHORIZO": ("CHOR.", "CHORIZ."),
    "SALCHICHON": ("SALCHICH.", "SALCHN."), "MANCHEGO": ("MANCH.", "MANCHEG."),
    "CORTE": ("CORT.",), "ACEITE": ("AC.", "ACEIT."), "OLIVA": ("OLIV.", "OLV."),
    "VIRGEN": ("VIRG.", "V."), "SUAVE": ("SUAV.",), "GIRASOL": ("GIRAS.", "GIR."),
    "ARROZ": ("ARRZ",), "REDONDO": ("RED.", "REDOND."), "BASMATI": ("BASM.",),
    "MACARRONES": ("MACARR.", "MACAR."), "ESPAGUETIS": ("ESPAG.", "ESPAGUET."),
    "SPAGHETTI": ("SPAGH.",), "FIDEOS": ("FID.",), "HARINA": ("HAR.", "HARIN."),
    "TRIGO": ("TRIG.",), "AZUCAR": ("AZUC.", "AZ."), "BLANQUILLA": ("BLANQ.",),
    "GARBANZOS": ("GARB.", "GARBANZ."), "LENTEJAS": ("LENT.", "LENTEJ."),
    "COCIDOS": ("COC.",), "COCIDAS": ("COC.",), "PARDINAS": ("PARD.",),
    "FRITO": ("FRIT.", "FTO"), "TRITURADO": ("TRIT.", "TRITUR."), "CLARO": ("CLAR.", "CL."),
    "SARDINAS": ("SARD.",), "ESCABECHE": ("ESCAB.",), "MAYONESA": ("MAYON.", "MAYO"),
    "MOLIDO": ("MOL.", "MOLID."), "CAPSULAS": ("CAPS.", "CAPSUL."), "INTENSO": ("INTENS.",),
    "SOLUBLE": ("SOLUB.", "SOL."), "POLVO": ("POLV.",), "COPOS": ("COP.",),
    "CEREALES": ("CEREAL.", "CER."), "CHOCOLATE": ("CHOC.", "CHOCO"),
    "GALLETAS": ("GALL.", "GALLET."), "DIGESTIVE": ("DIGEST.", "DIG."),
    "MERMELADA": ("MERM.", "MERMEL."), "FLORES": ("FLOR.",), "CALDO": ("CALD.",),
    "ACEITUNAS": ("ACEITUN.", "ACEIT."), "RELLENAS": ("RELL.", "RELLEN."),
    "ANCHOA": ("ANCH.",), "VINAGRE": ("VINAG.",), "MINERAL": ("MIN.", "MINER."),
    "GARRAFA": ("GARR.",), "REFRESCO": ("REFR.", "REFRESC."), "NARANJADA": ("NARANJ.",),
    "TONICA": ("TON.",), "CERVEZA": ("CERV.", "CERVZ"), "ALCOHOL": ("ALC.",),
    "RUBIA": ("RUB.",), "CRIANZA": ("CRZA", "CRIANZ."), "VERDEJO": ("VERD.",),
    "NECTAR": ("NECT.",), "MELOCOTON": ("MELOC.", "MELOCOT."), "ISOTONICA": ("ISOT.",),
    "BEBIDA": ("BEB.", "BEBID."), "INFUSION": ("INFUS.",), "GUISANTES": ("GUIS.", "GUISANT."),
    "CONGELADOS": ("CONG.", "CONGEL."), "CONGELADAS": ("CONG.", "CONGEL."),
    "CONGELADA": ("CONG.",), "JUDIAS": ("JUD.",), "VERDES": ("VDES", "VERD."),
    "BARBACOA": ("BBQ", "BARBAC."), "QUESOS": ("QSOS", "QUES."),
    "CROQUETAS": ("CROQ.", "CROQUET."), "VARITAS": ("VARIT.",), "PALITOS": ("PALIT.",),
    "HELADO": ("HEL.", "HELAD."), "VAINILLA": ("VAINIL.", "VAIN."),
    "PATATAS": ("PAT.", "PATAT."), "PREFRITAS": ("PREFR.", "PREFRIT."), "FRITAS": ("FRIT.",),
    "ONDULADAS": ("ONDUL.",), "GAMBAS": ("GAMB.",), "GAMBA": ("GAMB.",),
    "PELADAS": ("PEL.", "PELAD."), "PELADA": ("PEL.",), "FRUTOS": ("FRUT.", "FR."),
    "SECOS": ("SEC.",), "COCTEL": ("COCT.",), "MEZCLA": ("MEZCL.",),
    "ALMENDRAS": ("ALMEND.", "ALM."), "TOSTADAS": ("TOST.",), "MICROONDAS": ("MICROOND.",),
    "GOMINOLAS": ("GOMIN.",), "CARAMELOS": ("CARAM.",), "CREMA": ("CRM", "CREM."),
    "AVELLANAS": ("AVELL.",), "DETERGENTE": ("DETERG.", "DET."), "LIQUIDO": ("LIQ.", "LIQUID."),
    "SUAVIZANTE": ("SUAVIZ.", "SUAV."), "CONCENTRADO": ("CONC.", "CONCENT."),
    "LAVAVAJILLAS": ("LAVAV.", "LAVAVAJ."), "PASTILLAS": ("PASTILL.", "PAST."),
    "MAQUINA": ("MAQ.",), "LEJIA": ("LEJ.",), "FRIEGASUELOS": ("FRIEGAS.", "FRIEGASUEL."),
    "LIMPIADOR": ("LIMP.", "LIMPIAD."), "SUELOS": ("SUEL.",), "PAPEL": ("PAP.", "PPL"),
    "HIGIENICO": ("HIG.", "HIGIEN."), "DOBLE": ("DBL",), "CAPA": ("CAP.",),
    "COCINA": ("COCIN.",), "ROLLO": ("ROLL.",), "SERVILLETAS": ("SERVILL.", "SERV."),
    "BOLSAS": ("BOLS.",), "BOLSA": ("BOLS.",), "BASURA": ("BASUR.", "BAS."),
    "ESTROPAJO": ("ESTROP.",), "DUCHA": ("DCHA",), "CHAMPU": ("CHAMP.",),
    "ANTICASPA": ("ANTICASP.", "A/CASPA"), "PASTA": ("PTA",), "DIENTES": ("DIENT.", "DTES"),
    "DENTIFRICO": ("DENTIF.", "DENT."), "DESODORANTE": ("DESOD.", "DEO"),
    "CEPILLO": ("CEPILL.", "CEP."), "PANALES": ("PAÑAL.", "PANAL."), "TALLA": ("T.", "TALL."),
    "TOALLITAS": ("TOALL.", "TOALLIT."), "HUMEDAS": ("HUM.", "HUMED."),
    "MAQUINILLAS": ("MAQUINILL.", "MAQ."), "AFEITAR": ("AFEIT.",), "BARRA": ("BRRA", "BARR."),
    "HOGAZA": ("HOGAZ.",), "BURGER": ("BURG.",), "VARIADO": ("VAR.",),
}
# fmt: on


def strip_accents(text: str, keep_enye: bool = False) -> str:
    """'Plátano Ñ' -> 'Platano N' (or 'Platano Ñ' with keep_enye)."""
    out = []
    for ch in text:
        if keep_enye and ch in "ñÑ":
            out.append(ch)
            continue
        decomposed = unicodedata.normalize("NFD", ch)
        out.append("".join(c for c in decomposed if not unicodedata.combining(c)))
    return "".join(out)


def _key(word: str) -> str:
    return strip_accents(word).upper().strip(".,")


def _title(word: str) -> str:
    return word[0].upper() + word[1:].lower() if word and word[0].isalpha() else word


def _num(x: float, comma: bool) -> str:
    text = f"{x:g}"
    return text.replace(".", ",") if comma else text


def format_size(value: float | None, unit: str, pack: int, style: str) -> str | None:
    """A size as a till of the given unit style prints it ('1L', '1 L', '1000ml', '6X1L'...)."""
    if value is None or unit == "kg":
        return None
    if unit == "unit":
        n = int(value)
        if n == 1:
            return None
        return {
            "compact": f"{n}U",
            "spaced": f"{n} uds",
            "lower": f"{n}u",
            "metric": f"{n} un",
            "lt": f"{n} UDS",
            "decimal": f"{n}UD",
            "packword": f"{n} UNID",
        }[style]
    big = value >= 1000
    if unit == "ml":
        base = {
            "compact": f"{_num(value / 1000, True)}L" if big else f"{value:g}ML",
            "spaced": f"{_num(value / 1000, True)} L" if big else f"{value:g} ml",
            "lower": f"{_num(value / 1000, False)}l" if big else f"{value:g}ml",
            "metric": f"{value:g}ml",
            "lt": f"{_num(value / 1000, True)} LT" if big else f"{_num(value / 10, True)} CL",
            "decimal": f"{_num(value / 1000, True)}L",
            "packword": f"{_num(value / 1000, True)}L" if big else f"{value:g}ML",
        }[style]
    else:
        base = {
            "compact": f"{_num(value / 1000, True)}KG" if big else f"{value:g}G",
            "spaced": f"{_num(value / 1000, True)} kg" if big else f"{value:g} g",
            "lower": f"{_num(value / 1000, False)}kg" if big else f"{value:g}g",
            "metric": f"{value:g}g",
            "lt": f"{_num(value / 1000, True)} KG" if big else f"{value:g} GR",
            "decimal": f"{_num(value / 1000, True)}KG",
            "packword": f"{_num(value / 1000, True)}KG" if big else f"{value:g}G",
        }[style]
    if pack == 1:
        return base
    return {
        "compact": f"{pack}X{base}",
        "spaced": f"{pack} x {base}",
        "lower": f"{pack}x{base}",
        "metric": f"{pack}x{base}",
        "lt": f"{pack}X{base}",
        "decimal": f"{pack}X{base}",
        "packword": f"PACK-{pack} {base}",
    }[style]


# --------------------------------------------------------------------------------------
# Product spellings
# --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Choice:
    """Every decision that shapes one spelling of one product at one chain."""

    name_form: int
    brand_pos: str
    brand_short: bool
    abbr_level: int  # 0 none, 1 the chain's habit, 2 every known abbreviation
    accents: bool
    unit_style: str
    case: str
    gap: int | None  # which gap between words gets a double space
    brand_field: str | None  # proper | upper | None
    keep_size: bool = False  # truncate the words, never the size (fallback only)
    width: int | None = None  # None: the chain's receipt width


@dataclass(frozen=True)
class Spelling:
    """One way a product prints at a chain, how often, and in which firmware era."""

    name: str
    brand: str | None
    weight: float
    era: str  # all | pre | post


@cache
def _chain_abbr(seed: int, chain_id: str, word: str, rate: float) -> tuple[bool, str]:
    forms = ABBR[word]
    rng = rng_for(seed, "abbr", chain_id, word)
    return rng.random() < rate, forms[rng.randrange(len(forms))]


def _name_words(
    seed: int, chain: Chain, style: PrintStyle, product: Product, c: Choice, level: int
) -> list[str]:
    item = ITEM_BY_KEY[product.item_key]
    words = []
    for word in item.names[c.name_form].split():
        key = _key(word)
        if level and style.drop_stopwords and key in STOPWORDS:
            continue
        if level and key in ABBR:
            on, form = _chain_abbr(seed, chain.chain_id, key, style.abbreviate)
            if on or level == 2:
                word = form
        words.append(word)
    return words


def _case(word: str, case: str, kind: str, first: bool) -> str:
    if case == "upper":
        return word.upper()
    if case == "lower":
        return word.lower()
    if kind == "size":
        return word
    if case == "title":
        return _title(word)
    # sentence: the item name as written, brands in their own case
    return word[0].upper() + word[1:] if first and kind == "name" else word


def render(
    seed: int,
    chain: Chain,
    style: PrintStyle,
    product: Product,
    c: Choice,
    level: int | None = None,
) -> str:
    """The product_name a till prints for this product under choice `c`."""
    level = c.abbr_level if level is None else level
    name = [(w, "name") for w in _name_words(seed, chain, style, product, c, level)]
    brand: list[tuple[str, str]] = []
    if product.brand and c.brand_pos != "none":
        text = chain.pl_code if c.brand_short else product.brand
        brand = [(w, "brand") for w in text.split()]
    size_text = format_size(product.size_value, product.size_unit, product.pack, c.unit_style)
    if product.loose and style.loose_suffix:
        size_text = style.loose_suffix
    size = [(size_text, "size")] if size_text else []
    if c.brand_pos == "before":
        tokens = brand + name + size
    elif c.brand_pos == "end":
        tokens = name + size + brand
    else:
        tokens = name + brand + size
    words = [_case(w, c.case, kind, i == 0) for i, (w, kind) in enumerate(tokens)]
    if not c.accents:
        words = [strip_accents(w, style.keep_enye) for w in words]
    width = c.width or style.width
    if c.gap is not None and len(words) > 1:
        gap = c.gap % (len(words) - 1)
        text = " ".join(words[: gap + 1]) + "  " + " ".join(words[gap + 1 :])
    else:
        text = " ".join(words)
    if len(text) <= width:
        return text
    if style.smart_fit and level < 2:
        return render(seed, chain, style, product, c, level=2)
    if c.keep_size and size:
        tail = words[-1] if tokens[-1][1] == "size" else ""
        if tail:
            head = " ".join(words[:-1])[: max(1, width - len(tail) - 1)].rstrip()
            return f"{head} {tail}"
    return text[:width].rstrip()


def _brand_field(product: Product, how: str | None) -> str | None:
    if how is None or not product.brand:
        return None
    return product.brand.upper() if how == "upper" else product.brand


def _weighted(rng, pairs: tuple[tuple[str, float], ...]) -> str:
    return rng.choices([p[0] for p in pairs], weights=[p[1] for p in pairs])[0]


def _dominant(seed: int, chain: Chain, style: PrintStyle, product: Product) -> Choice:
    rng = rng_for(seed, "spell", chain.chain_id, product.product_id)
    item = ITEM_BY_KEY[product.item_key]
    forms = rng_for(seed, "nameform", chain.chain_id, item.key)
    name_form = forms.choices(range(len(item.names)), weights=[3] + [1] * (len(item.names) - 1))[0]
    own_pl = product.private_label_of == chain.chain_id
    if not product.brand:
        pos = "none"
    else:
        pos = _weighted(rng, style.pl_brand_pos if own_pl else style.brand_pos)
    unit_style = style.unit_styles[0]
    if rng.random() < 0.1 and len(style.unit_styles) > 1:
        unit_style = rng.choice(style.unit_styles[1:])
    field = None
    if product.brand and rng.random() < style.brand_field:
        field = "upper" if style.brand_field_upper else "proper"
    return Choice(
        name_form=name_form,
        brand_pos=pos,
        brand_short=own_pl and rng.random() < style.pl_short,
        abbr_level=1 if style.abbreviate > 0 else 0,
        accents=rng.random() < style.accents,
        unit_style=unit_style,
        case=style.case,
        gap=rng.randrange(1000) if rng.random() < style.double_space else None,
        brand_field=field,
    )


def _perturb(rng, style: PrintStyle, product: Product, c: Choice) -> Choice:
    """One small change to a spelling: what an item-master edit or a promo label does."""
    item = ITEM_BY_KEY[product.item_key]
    options = ["unit", "abbr", "accents", "gap", "case"]
    if product.brand:
        options += ["brand_pos", "brand_field"]
    if len(item.names) > 1:
        options.append("name_form")
    what = rng.choice(options)
    if what == "unit":
        return replace(c, unit_style=rng.choice([u for u in UNIT_STYLES if u != c.unit_style]))
    if what == "abbr":
        return replace(c, abbr_level=2 if c.abbr_level < 2 else 0)
    if what == "accents":
        return replace(c, accents=not c.accents)
    if what == "gap":
        return replace(c, gap=None if c.gap is not None else rng.randrange(1000))
    if what == "case":
        return replace(c, case=rng.choice([k for k in ("upper", "title", "lower") if k != c.case]))
    if what == "brand_pos":
        return replace(
            c, brand_pos=rng.choice([p for p in ("before", "after", "none") if p != c.brand_pos])
        )
    if what == "brand_field":
        return replace(c, brand_field=None if c.brand_field else "proper")
    return replace(c, name_form=rng.choice([i for i in range(len(item.names)) if i != c.name_form]))


class SpellingRegistry:
    """Accepts spellings only while the truth stays well defined (see the module docstring)."""

    def __init__(self) -> None:
        self._at_chain: dict[tuple[str, str, str | None], str] = {}
        self._anywhere: dict[tuple[str, str | None], list[tuple[str, str, bool]]] = {}
        self.shared_private_label_pairs = 0

    def accept(
        self, chain_id: str, product: Product, name: str, brand: str | None, brand_printed: bool
    ) -> bool:
        """Register (name, brand) for `product` at `chain_id` if no rule forbids it."""
        owner = self._at_chain.get((chain_id, name, brand))
        if owner is not None:
            return owner == product.product_id
        pl_unbranded = bool(product.private_label_of) and brand is None and not brand_printed
        shared = False
        for other_chain, other_pid, other_pl_unbranded in self._anywhere.get((name, brand), ()):
            if other_pid == product.product_id:
                continue
            if not (pl_unbranded and other_pl_unbranded and other_chain != chain_id):
                return False
            shared = True
        self._at_chain[(chain_id, name, brand)] = product.product_id
        self._anywhere.setdefault((name, brand), []).append(
            (chain_id, product.product_id, pl_unbranded)
        )
        self.shared_private_label_pairs += shared
        return True


def _fallbacks(c: Choice, product: Product) -> list[Choice]:
    out = []
    if product.brand and c.brand_field is None:
        out.append(replace(c, brand_field="proper"))
    if product.brand:
        out.append(
            replace(
                c,
                brand_pos="after",
                brand_short=False,
                brand_field="proper",
                abbr_level=2,
                keep_size=True,
            )
        )
    out.append(
        replace(
            c,
            abbr_level=0,
            brand_pos="after" if product.brand else "none",
            brand_short=False,
            brand_field="proper" if product.brand else None,
            gap=None,
            keep_size=True,
            width=200,
        )
    )
    return out


def _anchored(
    seed: int, chain: Chain, style: PrintStyle, product: Product, c: Choice, anchor: bool
) -> Choice:
    """`c`, with the brand field on when the name lost a brand the till must not lose.

    A chain that sells several brands of one item tells them apart on the receipt: when the
    printed name does not carry the whole national brand (placed `none`, or cut off by the
    receipt's width), the line's brand field does.
    """
    if not anchor or c.brand_field is not None or not product.brand:
        return c
    name = strip_accents(render(seed, chain, style, product, c)).casefold()
    if strip_accents(product.brand).casefold() in " ".join(name.split()):
        return c
    return replace(c, brand_field="upper" if style.brand_field_upper else "proper")


def _place(
    seed: int,
    registry: SpellingRegistry,
    chain: Chain,
    style: PrintStyle,
    product: Product,
    c: Choice,
    anchor: bool = False,
) -> Choice:
    for candidate in (c, *_fallbacks(c, product)):
        candidate = _anchored(seed, chain, style, product, candidate, anchor)
        name = render(seed, chain, style, product, candidate)
        printed = candidate.brand_pos != "none" and bool(product.brand)
        if registry.accept(
            chain.chain_id, product, name, _brand_field(product, candidate.brand_field), printed
        ):
            return candidate
    raise RuntimeError(f"no unique spelling for {product.product_id} at {chain.chain_id}")


def build_spellings(
    seed: int, products: list[Product]
) -> tuple[dict[tuple[str, str], list[Spelling]], SpellingRegistry]:
    """Every (chain, product) -> its spellings, checked for uniqueness in a fixed order."""
    registry = SpellingRegistry()
    out: dict[tuple[str, str], list[Spelling]] = {}
    for chain in CHAINS:
        style = STYLES[chain.chain_id]
        brands_of_item: dict[str, set[str]] = {}
        for product in products:
            if product.brand and (not product.private_label_of or chain.chain_id in product.chains):
                brands_of_item.setdefault(product.item_key, set()).add(product.brand)
        for product in products:
            if chain.chain_id not in product.chains:
                continue
            # a national brand among several brands of its item at this chain
            brands = brands_of_item.get(product.item_key, ())
            anchor = not product.private_label_of and len(brands) > 1
            rng = rng_for(seed, "variants", chain.chain_id, product.product_id)
            dominant = _place(
                seed,
                registry,
                chain,
                style,
                product,
                _dominant(seed, chain, style, product),
                anchor,
            )
            entries: list[tuple[Choice, float, str]] = []
            if style.firmware:
                _, attr, value = style.firmware
                post = _place(
                    seed,
                    registry,
                    chain,
                    style,
                    product,
                    replace(dominant, **{attr: value}),
                    anchor,
                )
                entries += [(dominant, 1.0, "pre"), (post, 1.0, "post")]
            else:
                entries.append((dominant, 1.0, "all"))
            extra = sum(rng.random() < style.extra_variants / 3 for _ in range(3))
            for _ in range(extra):
                variant = _anchored(
                    seed, chain, style, product, _perturb(rng, style, product, dominant), anchor
                )
                name = render(seed, chain, style, product, variant)
                printed = variant.brand_pos != "none" and bool(product.brand)
                if registry.accept(
                    chain.chain_id,
                    product,
                    name,
                    _brand_field(product, variant.brand_field),
                    printed,
                ):
                    entries.append((variant, rng.uniform(0.03, 0.12), "all"))
            merged: dict[tuple[str, str | None, str], float] = {}
            for choice, weight, era in entries:
                key = (
                    render(seed, chain, style, product, choice),
                    _brand_field(product, choice.brand_field),
                    era,
                )
                merged[key] = merged.get(key, 0.0) + weight
            out[(chain.chain_id, product.product_id)] = [
                Spelling(name, brand, weight, era) for (name, brand, era), weight in merged.items()
            ]
    return out, registry


# --------------------------------------------------------------------------------------
# Shop headers
# --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class ShopStyle:
    """How a chain's receipts print the shop."""

    formats: tuple[tuple[str, float], ...]
    case: str  # asis | upper | lower
    brand_field: float
    address_field: float
    city_field: float
    postal_field: float
    tax_field: float
    country_field: float
    tax_format: str


# fmt: off
SHOP_STYLES: dict[str, ShopStyle] = {
    "B01": ShopStyle((("legal_addr", 5), ("legal", 3), ("brand_street", 2)), "upper",
                     0.2, 0.7, 0.8, 0.8, 0.9, 0.5, "{t}"),
    "B02": ShopStyle((("brand_addr", 6), ("brand", 2), ("brand_city", 2)), "asis",
                     0.8, 0.5, 0.9, 0.6, 0.5, 0.8, "{t}"),
    "B03": ShopStyle((("legal", 4), ("brand_code", 4), ("brand_street", 2)), "upper",
                     0.5, 0.6, 0.7, 0.7, 0.8, 0.2, "ES{t}"),
    "B04": ShopStyle((("brand_city", 5), ("brand_addr", 3), ("legal", 2)), "asis",
                     0.9, 0.9, 0.9, 0.9, 0.7, 0.9, "{t}"),
    "B05": ShopStyle((("brand", 5), ("brand_code", 3), ("brand_addr", 2)), "upper",
                     0.1, 0.8, 0.6, 0.8, 0.4, 0.0, "{l}-{d}"),
    "B06": ShopStyle((("brand_addr", 5), ("brand_street", 3), ("brand", 2)), "asis",
                     0.6, 0.5, 0.5, 0.5, 0.5, 0.3, "{t}"),
    "B07": ShopStyle((("brand_street", 5), ("legal_addr", 3), ("brand", 2)), "lower",
                     0.5, 0.6, 0.8, 0.6, 0.6, 0.4, "CIF: {t}"),
    "B08": ShopStyle((("legal_addr", 4), ("brand_city", 3), ("brand_code", 3)), "upper",
                     0.7, 0.7, 0.8, 0.8, 0.9, 0.5, "{t}"),
    "B09": ShopStyle((("brand_addr", 5), ("legal", 3), ("brand_street", 2)), "asis",
                     0.5, 0.6, 0.7, 0.6, 0.7, 0.5, "{t}"),
    "B10": ShopStyle((("brand", 6), ("brand_code", 4)), "upper",
                     0.3, 0.9, 0.8, 0.9, 0.3, 0.0, "{l}-{d}"),
}
# fmt: on
_FIELDS = ("brand", "address", "city", "postal_code", "country", "tax_id")


@dataclass(frozen=True)
class ShopHeader:
    """One shop's printed header: its name spellings and which fields it usually sends."""

    shop_id: str
    names: tuple[tuple[str, float, bool], ...]  # (name, weight, identifies the branch)
    values: dict[str, str]
    present: tuple[str, ...]
    null_keys: bool


def _print_address(rng, shop: Shop) -> str:
    spellings = STREET_TYPES[shop.street_type][1]
    street_type = spellings[rng.randrange(len(spellings))]
    sep = rng.choice((" ", ", ", " nº "))
    return f"{street_type} {shop.street}{sep}{shop.number}"


def _shop_name(rng, chain: Chain, shop: Shop, fmt: str) -> tuple[str, bool]:
    legal = shop.legal_name
    if shop.franchise:
        legal = f"{chain.name.upper()} FRANQUICIA - {shop.legal_name}"
    address = _print_address(rng, shop)
    if fmt == "legal":
        return legal, shop.franchise
    if fmt == "legal_addr":
        return f"{legal} - {address}", True
    if fmt == "brand":
        return chain.name, False
    if fmt == "brand_addr":
        return f"{chain.name} - {address}", True
    if fmt == "brand_street":
        return f"{chain.name} {shop.street}".lower(), True
    if fmt == "brand_code":
        return f"{chain.name.upper()} {shop.store_code}", True
    city = CITIES[shop.city][2][0]
    return f"{chain.name} {city}", False


def _shop_case(name: str, case: str) -> str:
    if case == "upper":
        return strip_accents(name.upper(), keep_enye=True)
    if case == "lower":
        return name.lower()
    return name


def build_shop_headers(seed: int, shops: list[Shop]) -> dict[str, ShopHeader]:
    """Every shop's header profile."""
    out = {}
    for shop in shops:
        chain = CHAIN_BY_ID[shop.chain_id]
        style = SHOP_STYLES[shop.chain_id]
        rng = rng_for(seed, "shop-header", shop.shop_id)
        fmt = _weighted(rng, style.formats)
        name, ident = _shop_name(rng, chain, shop, fmt)
        names = [(_shop_case(name, style.case), 1.0, ident)]
        for _ in range(rng.choice((1, 1, 2))):
            alt_fmt = _weighted(rng, (*style.formats, ("brand_addr", 1.0), ("brand_street", 0.5)))
            alt, alt_ident = _shop_name(rng, chain, shop, alt_fmt)
            alt = _shop_case(alt, rng.choice((style.case, "asis", "upper", "lower")))
            if alt not in [n for n, _, _ in names]:
                names.append((alt, rng.uniform(0.08, 0.25), alt_ident))
        city_variants = CITIES[shop.city][2]
        postal = shop.postal_code
        if postal.startswith("0") and rng.random() < 0.15:
            postal = postal.lstrip("0")  # a spreadsheet ate the leading zero
        letter, digits = shop.tax_id[0], shop.tax_id[1:]
        values = {
            "brand": rng.choice(
                (chain.name, chain.name, chain.name.upper(), f"{chain.name} Supermercados")
            ),
            "address": _print_address(rng, shop),
            "city": city_variants[0] if rng.random() < 0.6 else rng.choice(city_variants),
            "postal_code": postal,
            "country": "ES",
            "tax_id": style.tax_format.format(t=shop.tax_id, l=letter, d=digits),
        }
        rates = {
            "brand": style.brand_field,
            "address": style.address_field,
            "city": style.city_field,
            "postal_code": style.postal_field,
            "country": style.country_field,
            "tax_id": style.tax_field,
        }
        present = tuple(f for f in _FIELDS if rng.random() < rates[f])
        out[shop.shop_id] = ShopHeader(
            shop.shop_id, tuple(names), values, present, null_keys=STYLES[shop.chain_id].null_keys
        )
    return out


def print_shop(rng, header: ShopHeader) -> tuple[dict, str]:
    """The `shop` object of one invoice, and its printed name."""
    name, _, ident = rng.choices(header.names, weights=[w for _, w, _ in header.names])[0]
    present = list(header.present)
    if rng.random() < 0.12:
        # Now and then a field goes missing or turns up (OCR, a till restart, a new feed).
        field = rng.choice(_FIELDS)
        if field in present:
            present.remove(field)
        else:
            present.append(field)
    if not ident and "address" not in present and "postal_code" not in present:
        # Keep the truth well defined: a header always says which branch it is.
        present.append("postal_code" if rng.random() < 0.5 else "address")
    shop: dict = {"name": name}
    for field in _FIELDS:
        if field in present:
            shop[field] = header.values[field]
        elif header.null_keys:
            shop[field] = None
    return shop, name
