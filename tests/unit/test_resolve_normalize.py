"""Normalization for entity resolution: folding, numbers, sizes, legal forms, ids, addresses."""

from __future__ import annotations

import pytest

from pantrypulse.resolve.normalize import (
    NO_SIZE,
    Size,
    address_tokens,
    compact,
    fold,
    is_placeholder,
    name_segments,
    normalize_postal_code,
    normalize_tax_id,
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


def size_of(text: str) -> Size:
    return parse_size(prepare(text))[0]


def rest_of(text: str) -> list[str]:
    return tokens_of(parse_size(prepare(text))[1])


# --- folding and tokens -------------------------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "folded"),
    [
        ("LÉCHE Entera", "leche entera"),
        ("Crème Brûlée", "creme brulee"),
        ("Straße", "strasse"),
        ("Ærøskøbing Łódź", "aeroskobing lodz"),
        ("  many   spaces ", "many spaces"),
        ("Ｆｕｌｌ－ｗｉｄｔｈ", "full-width"),
        (None, ""),
    ],
)
def test_fold_case_accents_and_odd_letters(raw, folded):
    assert fold(raw) == folded


def test_tokenize_punctuation_decimal_comma_percent_and_digit_letter_split():
    assert tokenize("Lèche ENT. 0,5% 1L") == ["leche", "ent", "0.5pct", "1", "l"]
    assert tokenize("Spaghetti N5") == tokenize("spaghetti n.5") == ["spaghetti", "n", "5"]
    assert tokenize("L'Opéra") == ["l", "opera"]  # French elision split off
    assert tokenize("Kellogg's") == ["kelloggs"]  # possessive joined


def test_compact_brand_forms_are_equal():
    assert compact("Coca-Cola") == compact("COCA COLA") == compact("coca.cola")
    assert compact("Müller") == compact("Mueller") == compact("MULLER")
    assert compact("Sainsbury's") == compact("SAINSBURYS")


@pytest.mark.parametrize("raw", ["", "N/A", "-", "null", "Sin marca", "  ", None, "unknown"])
def test_placeholders(raw):
    assert is_placeholder(raw)


def test_real_values_are_not_placeholders():
    assert not is_placeholder("Hacendado")
    assert not is_placeholder("ja!")


# --- sizes and packs ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "value", "unit", "pack"),
    [
        ("Leche 1L", 1000, "ml", 1),
        ("Leche 1 L", 1000, "ml", 1),
        ("Leche 1 lt", 1000, "ml", 1),
        ("Leche 1000ml", 1000, "ml", 1),
        ("Leche 1 Liter", 1000, "ml", 1),
        ("Arroz 500G", 500, "g", 1),
        ("Arroz 0,5kg", 500, "g", 1),
        ("Arroz 0.5 KG.", 500, "g", 1),
        ("Azucar 1.500 g", 1500, "g", 1),  # thousands separator before a small unit
        ("Harina 1.5 kg", 1500, "g", 1),  # decimal before a large unit
        ("Agua 6x1L", 1000, "ml", 6),
        ("Cerveza 6 X 33CL", 330, "ml", 6),
        ("Cola 33cl x 6", 330, "ml", 6),
        ("Yogur 2x125g", 125, "g", 2),
        ("Yogur 4 uds 125 g", 125, "g", 4),
        ("6er Pack Bier 0,33l", 330, "ml", 6),
        ("Huevos 12 uds", 12, "unit", 1),
        ("Eggs 10 pcs", 10, "unit", 1),
        ("Semi Skimmed Milk 4 PINTS", 2273.045, "ml", 1),
        ("Beans 16 oz", 453.592, "g", 1),
        ("Barilla Spaghetti N. 5 GR 500", 500, "g", 1),  # unit printed before the number
        ("Olio LT 1", 1000, "ml", 1),
        ("Cerveza pack 6", None, None, 6),
    ],
)
def test_parse_size(text, value, unit, pack):
    s = size_of(text)
    assert (s.value, s.unit, s.pack) == (pytest.approx(value) if value else None, unit, pack)


def test_parse_size_removes_the_size_text_and_keeps_the_rest():
    assert rest_of("Leche Entera Hacendado 1L") == ["leche", "entera", "hacendado"]
    assert rest_of("LECHE SEMI PASCUAL PACK 6X1L") == ["leche", "semi", "pascual"]
    # a second statement of the same content is dropped too
    assert rest_of("TESCO SEMI SKIMMED MILK 2.272L 4 PINTS") == ["tesco", "semi", "skimmed", "milk"]


def test_bare_letters_and_percentages_are_not_units():
    assert size_of("HUEVOS L") == NO_SIZE  # egg grade, not litres
    assert size_of("Milch 3,5%") == NO_SIZE
    assert rest_of("HUEVOS L 12 UDS") == ["huevos", "l"]


def test_sizes_compatible():
    litre = size_of("1 L")
    assert sizes_compatible(litre, size_of("1000 ml"))
    assert not sizes_compatible(litre, size_of("500 ml"))  # different content
    assert not sizes_compatible(litre, size_of("6x1L"))  # different pack
    assert not sizes_compatible(size_of("1 kg"), size_of("1 L"))  # g vs ml never
    assert sizes_compatible(size_of("2.272 L"), size_of("4 pints"))  # rounding on labels
    assert sizes_compatible(size_of("4 uds"), size_of("4x125g"))  # a count fits a pack
    assert sizes_compatible(litre, NO_SIZE)  # unknown fits anything


def test_truncated_size_hints():
    # names cut at the receipt width keep the first digits of the size
    assert trailing_size_hint(["nata", "cocin", "2"]) == ("2", None, ["nata", "cocin"])
    assert trailing_size_hint(["lais", "pat", "0.16", "k"]) == ("016", None, ["lais", "pat"])
    assert trailing_size_hint(["cerveza", "6", "x", "0.33"]) == ("033", 6, ["cerveza"])
    assert trailing_size_hint(["leche", "entera"]) == (None, None, ["leche", "entera"])
    assert size_hint_compatible("2", size_of("200 ml"))
    assert size_hint_compatible("0", size_of("0,15 kg"))
    assert size_hint_compatible("46", size_of("460 g"))
    assert not size_hint_compatible("2", size_of("500 g"))


def test_loose_markers():
    assert strip_loose_markers(["patata", "a", "granel"]) == (["patata"], True)
    assert strip_loose_markers(["zanahoria", "kg"]) == (["zanahoria"], True)
    assert strip_loose_markers(["tomates", "en", "vrac"]) == (["tomates"], True)
    assert strip_loose_markers(["leche", "entera"]) == (["leche", "entera"], False)


# --- abbreviations -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("a", "b"),
    [
        ("ent", "entera"),  # prefix
        ("lche", "leche"),  # consonant skeleton / subsequence
        ("yog", "yogur"),
        ("smdsn", "semidesnatada"),
        ("hcdo", "hacendado"),
        ("lehce", "leche"),  # typo (transposition)
        ("yoghurt", "yogurt"),
        ("filetes", "fileteada"),  # one stem
        ("mueller", "muller"),  # transliterated umlaut
    ],
)
def test_abbreviations_match(a, b):
    assert token_similarity(a, b) >= 0.75
    assert token_similarity(a, b) == token_similarity(b, a)


@pytest.mark.parametrize(
    ("a", "b"),
    [
        ("entera", "semidesnatada"),
        ("leche", "lechuga"),
        ("1", "2"),  # numbers only ever match exactly
        ("3.5pct", "1.5pct"),
        ("l", "m"),
        ("semidesnatada", "semicurado"),
    ],
)
def test_different_words_do_not_match(a, b):
    assert token_similarity(a, b) < 0.75


def test_short_tokens_need_care():
    assert token_similarity("ch", "chocolate") < 0.75  # a two-letter prefix is weak evidence
    assert skeleton("leche") == "lch"


# --- shops: legal forms, tax ids, postal codes, addresses ------------------------------------


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("MERCADONA S.A.", ["mercadona"]),
        ("Mercadona, S.A.U.", ["mercadona"]),
        ("Dia Retail España S.L.U.", ["dia", "retail", "espana"]),
        ("Aldi GmbH & Co. KG", ["aldi"]),
        ("Edeka Zentrale AG", ["edeka", "zentrale"]),
        ("Tesco Stores Ltd", ["tesco", "stores"]),
        ("J Sainsbury PLC", ["j", "sainsbury"]),
        ("Whole Foods Market Inc", ["whole", "foods", "market"]),
        ("Trader Joe's LLC", ["trader", "joes"]),
        ("Albert Heijn B.V.", ["albert", "heijn"]),
        ("Delhaize N.V.", ["delhaize"]),
        ("Esselunga S.p.A.", ["esselunga"]),
        ("Conad S.r.l.", ["conad"]),
        ("Carrefour SARL", ["carrefour"]),
        ("Monoprix SAS", ["monoprix"]),
        ("Consum S.Coop.V.", ["consum"]),
        ("Biedronka Sp. z o.o.", ["biedronka"]),
    ],
)
def test_strip_legal_forms(name, expected):
    assert strip_legal_form(tokenize(name)) == expected


def test_legal_forms_never_empty_a_name_and_ambiguous_ones_only_at_the_end():
    assert strip_legal_form(["sa"]) == ["sa"]
    assert strip_legal_form(["co", "op", "food"]) == ["co", "op", "food"]


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("ES-A46103834", "A46103834"),
        ("A46103834", "A46103834"),
        ("CIF: A08675412", "A08675412"),
        ("NIF B12345678", "B12345678"),
        ("DE 123 456 789", "123456789"),
        ("USt-IdNr.: DE812706034", "812706034"),
        ("VAT No. GB 123 4567 89", "123456789"),
        ("A-60195278", "A60195278"),
    ],
)
def test_normalize_tax_id(raw, expected):
    assert normalize_tax_id(raw) == expected


def test_postal_codes_and_addresses():
    assert normalize_postal_code("sw1a 1aa") == "SW1A1AA"
    assert address_tokens("Av. Diagonal, 123") == ["diagonal", "123"]
    assert address_tokens("Avinguda Diagonal 123") == ["diagonal", "123"]
    assert address_tokens("Hauptstraße 5") == address_tokens("Hauptstr. 5") == ["hauptstr", "5"]
    assert address_tokens("C/ Mayor nº 5") == ["mayor", "5"]
    assert address_tokens("12 High St.") == ["12", "high"]
    assert address_tokens("52 Rue de Rivoli") == ["52", "de", "rivoli"]


def test_name_segments_split_chain_from_location():
    assert name_segments("MERCADONA S.A. - AV. DIAGONAL 123") == [
        "mercadona s.a.",
        "av. diagonal 123",
    ]
    assert name_segments("Carrefour Express (Gran Via 5)") == ["carrefour express", "gran via 5"]
