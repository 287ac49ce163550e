"""The simulated world: chains, their shops and the product catalogue.

Everything here is derived from the seed alone (never from the span or the number of
households), so a bigger run of the same seed sells the same products in the same shops
under the same ids. Names are invented; any likeness to real brands is by genre only.
"""

from __future__ import annotations

import random
from dataclasses import dataclass

CATEGORIES = (
    "dairy",
    "bakery",
    "fruit",
    "vegetables",
    "meat",
    "fish",
    "deli",
    "pantry",
    "beverages",
    "frozen",
    "snacks",
    "household",
    "personal_care",
)
NON_FOOD = ("household", "personal_care")


def rng_for(*parts: object) -> random.Random:
    """A private RNG for one named stream.

    Each stream is seeded from its own name, so adding a draw in one place never shifts the
    draws anywhere else (and str seeds hash with SHA-512, independent of PYTHONHASHSEED).
    """
    return random.Random("/".join(str(p) for p in parts))  # noqa: S311 - simulation, not security


# --------------------------------------------------------------------------------------
# Chains and shops
# --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Chain:
    """A supermarket chain (shop brand) and the legal entity behind its receipts."""

    chain_id: str
    name: str
    legal_name: str
    tax_id: str
    pl_food: str
    pl_home: str
    pl_code: str
    national_share: float
    pl_share: float
    price_factor: float
    cities: tuple[tuple[str, int], ...]
    store_code_digits: int


# fmt: off
CHAINS: tuple[Chain, ...] = (
    Chain("B01", "Mercavida", "MERCAVIDA, S.A.", "A46512873", "Hacendilla", "Bosquería",
          "HCDLLA", 0.55, 1.0, 0.98,
          (("Madrid", 2), ("Barcelona", 2), ("Valencia", 2), ("Sevilla", 1), ("Málaga", 1),
           ("Zaragoza", 1), ("Murcia", 1)), 4),
    Chain("B02", "Ahorrín", "Supermercados Ahorrín S.L.", "B28764015", "Ahorrín",
          "Ahorrín Hogar", "AHR", 0.9, 0.5, 1.0, (("Madrid", 3),), 3),
    Chain("B03", "Dialma", "Dialma Retail España S.A.U.", "A28164754", "Dialma", "Bonté",
          "DLM", 0.75, 0.9, 0.97,
          (("Madrid", 2), ("Barcelona", 1), ("Sevilla", 1), ("Bilbao", 1), ("Valladolid", 1),
           ("A Coruña", 1), ("Málaga", 1)), 5),
    Chain("B04", "Hipersol", "Centros Comerciales Hipersol S.A.", "A28425270", "Hipersol",
          "Hipersol Hogar", "HSOL", 1.0, 0.7, 1.06,
          (("Madrid", 1), ("Barcelona", 1), ("Valencia", 1), ("Sevilla", 1), ("Zaragoza", 1)),
          3),
    Chain("B05", "Lidal", "Lidal Supermercados S.A.U.", "A60195278", "Milvale", "Lavix",
          "MILV", 0.35, 1.0, 0.93,
          (("Madrid", 1), ("Barcelona", 1), ("Valencia", 1), ("Bilbao", 1), ("Murcia", 1),
           ("A Coruña", 1)), 4),
    Chain("B06", "Fresquita", "Fresquita Alimentación S.L.", "B41872934", "Fresquita",
          "Fresquita", "FQ", 0.85, 0.5, 1.04,
          (("Madrid", 1), ("Sevilla", 2), ("Málaga", 1)), 3),
    Chain("B07", "Bonmercat", "Bonmercat Supermercats S.A.", "A08675412", "Bonmercat",
          "Bonmercat", "BM", 0.9, 0.6, 1.05, (("Barcelona", 3),), 3),
    Chain("B08", "Erosa", "Erosa S. Coop.", "F20043785", "Erosa", "Erosa", "ERS", 0.9, 0.7,
          1.03, (("Bilbao", 2), ("A Coruña", 1), ("Zaragoza", 1), ("Valladolid", 1)), 4),
    Chain("B09", "Consumo", "Consumo S. Coop. V.", "F46078986", "Consumo", "Consumo", "CSM",
          0.85, 0.7, 1.01, (("Valencia", 2), ("Murcia", 1), ("Barcelona", 1)), 3),
    Chain("B10", "Aldea", "Aldea Supermercados S.L.", "B66012394", "Aldea", "Tandil", "ALD",
          0.3, 1.0, 0.92,
          (("Madrid", 1), ("Barcelona", 1), ("Valencia", 1), ("Sevilla", 1), ("Zaragoza", 1),
           ("Valladolid", 1)), 3),
)
# fmt: on
CHAIN_BY_ID = {c.chain_id: c for c in CHAINS}

# Franchised branches print their own legal entity and tax id (chain, city) -> entity.
FRANCHISEES = {
    ("B03", "Valladolid"): ("Supermercados Hermanos García S.L.", "B47312598"),
    ("B03", "A Coruña"): ("Autoservicios Pérez e Hijos S.L.", "B15498322"),
}

# fmt: off
# Street types: canonical abbreviation, then the spellings tills use.
STREET_TYPES = {
    "Calle": ("C/", ("Calle", "C/", "CL", "C.")),
    "Carrer": ("C/", ("Carrer", "C/", "C.")),
    "Avenida": ("Av.", ("Avenida", "Av.", "Avda.", "AV")),
    "Paseo": ("Pº", ("Paseo", "Pº", "P.º", "PS")),
    "Plaza": ("Pl.", ("Plaza", "Pza.", "Pl.", "PZ")),
    "Ronda": ("Rda.", ("Ronda", "Rda.", "RD")),
    "Carretera": ("Ctra.", ("Carretera", "Ctra.", "CTRA")),
    "Rúa": ("Rúa", ("Rúa", "R/", "Rua")),
}

# city -> (postal prefix, highest district number, printed variants, streets)
CITIES: dict[str, tuple[str, int, tuple[str, ...], tuple[tuple[str, str], ...]]] = {
    "Madrid": ("28", 55, ("Madrid", "MADRID", "madrid"), (
        ("Calle", "Alcalá"), ("Calle", "Bravo Murillo"), ("Calle", "Fuencarral"),
        ("Calle", "Princesa"), ("Calle", "Arturo Soria"), ("Calle", "Santa Engracia"),
        ("Calle", "General Ricardos"), ("Paseo", "Delicias"), ("Avenida", "Albufera"),
        ("Calle", "Ortega y Gasset"), ("Calle", "López de Hoyos"), ("Avenida", "Oporto"),
        ("Calle", "Sainz de Baranda"), ("Paseo", "Extremadura"))),
    "Barcelona": ("08", 42, ("Barcelona", "BARCELONA", "barcelona", "BCN"), (
        ("Avenida", "Diagonal"), ("Carrer", "Sants"), ("Carrer", "Gran de Gràcia"),
        ("Carrer", "Balmes"), ("Carrer", "Aragó"), ("Avenida", "Meridiana"),
        ("Avenida", "Paral·lel"), ("Carrer", "Pujades"), ("Carrer", "Mallorca"),
        ("Ronda", "Guinardó"), ("Paseo", "Sant Joan"), ("Carrer", "Calvet"))),
    "Valencia": ("46", 26, ("Valencia", "VALENCIA", "València", "valencia"), (
        ("Avenida", "Blasco Ibáñez"), ("Calle", "Peris y Valero"), ("Avenida", "del Cid"),
        ("Calle", "Cuba"), ("Avenida", "Primado Reig"), ("Calle", "San Vicente Mártir"),
        ("Avenida", "Pérez Galdós"), ("Calle", "Jesús"), ("Avenida", "del Puerto"))),
    "Sevilla": ("41", 20, ("Sevilla", "SEVILLA", "sevilla"), (
        ("Avenida", "Luis Montoto"), ("Avenida", "República Argentina"),
        ("Calle", "Eduardo Dato"), ("Calle", "Asunción"), ("Avenida", "La Palmera"),
        ("Calle", "San Jacinto"), ("Avenida", "Kansas City"), ("Calle", "Feria"))),
    "Málaga": ("29", 18, ("Málaga", "MALAGA", "Malaga"), (
        ("Calle", "Larios"), ("Avenida", "Andalucía"), ("Carretera", "Cádiz"),
        ("Calle", "Cuarteles"), ("Avenida", "Juan Sebastián Elcano"), ("Calle", "Mármoles"))),
    "Zaragoza": ("50", 18, ("Zaragoza", "ZARAGOZA", "zaragoza"), (
        ("Paseo", "Independencia"), ("Calle", "Delicias"), ("Avenida", "Goya"),
        ("Paseo", "Fernando el Católico"), ("Calle", "Miguel Servet"),
        ("Avenida", "Cesáreo Alierta"))),
    "Murcia": ("30", 12, ("Murcia", "MURCIA"), (
        ("Calle", "Trapería"), ("Avenida", "Libertad"), ("Ronda", "Levante"),
        ("Avenida", "Juan Carlos I"), ("Calle", "Santa Teresa"))),
    "Bilbao": ("48", 15, ("Bilbao", "BILBAO", "Bilbo"), (
        ("Calle", "Autonomía"), ("Calle", "Licenciado Poza"), ("Plaza", "Zabalburu"),
        ("Calle", "Iparraguirre"), ("Calle", "Ercilla"), ("Avenida", "Sabino Arana"))),
    "A Coruña": ("15", 11, ("A Coruña", "A CORUÑA", "La Coruña", "CORUNA"), (
        ("Ronda", "Outeiro"), ("Calle", "Los Mallos"), ("Avenida", "Finisterre"),
        ("Rúa", "Real"), ("Avenida", "Alfonso Molina"))),
    "Valladolid": ("47", 14, ("Valladolid", "VALLADOLID", "valladolid"), (
        ("Paseo", "Zorrilla"), ("Calle", "Santiago"), ("Calle", "Panaderos"),
        ("Calle", "Labradores"), ("Avenida", "Palencia"))),
}
# Where the simulated households live, and how many (relative weights).
CITY_WEIGHTS = (
    ("Madrid", 7), ("Barcelona", 6), ("Valencia", 4), ("Sevilla", 3), ("Málaga", 2),
    ("Zaragoza", 2), ("Bilbao", 2), ("Murcia", 1), ("A Coruña", 2), ("Valladolid", 1),
)
# fmt: on


@dataclass(frozen=True)
class Shop:
    """One branch of a chain."""

    shop_id: str
    chain_id: str
    city: str
    street_type: str
    street: str
    number: int
    postal_code: str
    store_code: str
    legal_name: str
    tax_id: str
    franchise: bool

    @property
    def address(self) -> str:
        """The canonical address, e.g. 'Av. Diagonal 123'."""
        return f"{STREET_TYPES[self.street_type][0]} {self.street} {self.number}"


def build_shops(seed: int) -> list[Shop]:
    """Every shop of every chain, with unique streets within a chain and unique postal codes."""
    rng = rng_for(seed, "shops")
    free_streets = {city: list(spec[3]) for city, spec in CITIES.items()}
    free_postcodes = {city: list(range(1, spec[1] + 1)) for city, spec in CITIES.items()}
    shops: list[Shop] = []
    for chain in CHAINS:
        used_streets: list[str] = []
        used_codes: list[str] = []
        for city, count in chain.cities:
            for _ in range(count):
                # A chain never has two branches on streets of the same name, so a short form
                # like 'mercavida diagonal' always points at one branch.
                candidates = [s for s in free_streets[city] if s[1] not in used_streets]
                street_type, street = rng.choice(candidates)
                free_streets[city].remove((street_type, street))
                used_streets.append(street)
                district = rng.choice(free_postcodes[city])
                free_postcodes[city].remove(district)
                postal = f"{CITIES[city][0]}{district:03d}"
                digits = chain.store_code_digits
                code = str(rng.randint(10 ** (digits - 1), 10**digits - 1))
                while code in used_codes:
                    code = str(rng.randint(10 ** (digits - 1), 10**digits - 1))
                used_codes.append(code)
                franchise = (chain.chain_id, city) in FRANCHISEES
                legal, tax = FRANCHISEES.get(
                    (chain.chain_id, city), (chain.legal_name, chain.tax_id)
                )
                shops.append(
                    Shop(
                        shop_id=f"S{len(shops) + 1:03d}",
                        chain_id=chain.chain_id,
                        city=city,
                        street_type=street_type,
                        street=street,
                        number=rng.randint(1, 240),
                        postal_code=postal,
                        store_code=code,
                        legal_name=legal,
                        tax_id=tax,
                        franchise=franchise,
                    )
                )
    return shops


# --------------------------------------------------------------------------------------
# Products
# --------------------------------------------------------------------------------------

# One row per item: key, printed name forms (;), category, sizes (,), price of the first
# size in EUR (per kg for loose goods), national brands (,) or "loose" (sold by weight) or
# "generic" (unbranded, the same product everywhere) or "-" (private labels only),
# private-label likelihood per chain ("all" = every chain), weekly purchase weight.
# Alternative name forms share a word with the first (see `messy`: a synonym sharing
# nothing, same brand and size, is decidable only with language knowledge).
# fmt: off
_ITEM_ROWS: tuple[tuple[str, str, str, str, float, str, float | str, float], ...] = (
    ("leche_entera", "Leche entera;Leche entera de vaca", "dairy", "1l,6x1l",
     0.95, "Pastora,Lechenorte,Valleblanco", 0.9, 3),
    ("leche_semi", "Leche semidesnatada;Leche semi", "dairy", "1l,6x1l",
     0.92, "Pastora,Lechenorte,Valleblanco", 0.9, 3),
    ("leche_desnatada", "Leche desnatada", "dairy", "1l", 0.9, "Pastora,Lechenorte", 0.6, 1.2),
    ("leche_sin_lactosa", "Leche sin lactosa;Leche semi sin lactosa", "dairy", "1l",
     1.15, "Pastora,Kaikoa", 0.6, 0.8),
    ("bebida_avena", "Bebida de avena;Bebida avena", "dairy", "1l",
     1.35, "Vegora,Avenia", 0.5, 0.6),
    ("yogur_natural", "Yogur natural", "dairy", "4x125g,8x125g",
     0.85, "Danubia,Yoplá,Kaikoa", 0.9, 2),
    ("yogur_griego", "Yogur griego", "dairy", "4x115g", 1.65, "Danubia,Kalos", 0.6, 0.8),
    ("yogur_fresa", "Yogur de fresa;Yogur sabor fresa", "dairy", "4x125g",
     0.95, "Danubia,Yoplá", 0.7, 1),
    ("queso_lonchas", "Queso en lonchas;Queso lonchas", "dairy", "200g",
     1.85, "La Vega Real,Le Fermier", 0.8, 1.2),
    ("queso_curado", "Queso curado", "dairy", "250g", 3.6, "La Vega Real,Dehesa Grande", 0.6, 0.7),
    ("queso_fresco", "Queso fresco de Burgos;Queso fresco", "dairy", "250g",
     1.6, "Burgalia,Kaikoa", 0.6, 0.8),
    ("queso_rallado", "Queso rallado", "dairy", "150g", 1.45, "Le Fermier,La Vega Real", 0.5, 0.6),
    ("mantequilla", "Mantequilla", "dairy", "250g",
     2.25, "Alpenrahm,Lechenorte,Le Fermier", 0.7, 0.5),
    ("nata_cocinar", "Nata para cocinar;Nata cocinar", "dairy", "200ml,3x200ml",
     0.85, "Lechenorte,Pastora", 0.5, 0.4),
    ("batido_cacao", "Batido de cacao;Batido cacao", "dairy", "6x200ml",
     2.1, "Cacaolín,Pastora", 0.5, 0.5),
    ("huevos_l", "Huevos L;Huevos frescos L", "dairy", "12u,6u",
     2.3, "Granja Guillena,Ovoalba", 0.9, 1.8),
    ("huevos_camperos", "Huevos camperos", "dairy", "6u", 2.1, "Granja Guillena", 0.4, 0.4),
    ("pan_molde", "Pan de molde;Pan molde blanco", "bakery", "460g",
     1.35, "Bimbia,Panrica", 0.8, 1.2),
    ("pan_molde_integral", "Pan de molde integral;Pan molde integral", "bakery", "460g",
     1.55, "Bimbia,Panrica", 0.7, 0.7),
    ("barra_pan", "Barra de pan;Pan barra", "bakery", "250g", 0.55, "generic", 0, 3),
    ("pan_rustico", "Pan rústico;Hogaza rústica", "bakery", "400g", 1.4, "generic", 0, 0.8),
    ("croissants", "Croissants;Croissants mantequilla", "bakery", "6u", 1.75, "Bimbia,Panrica",
     0.5, 0.5),
    ("magdalenas", "Magdalenas", "bakery", "12u", 1.6, "Dulcemar", 0.7, 0.6),
    ("tostadas", "Pan tostado;Tostadas", "bakery", "270g", 1.25, "Ortiza,Bimbia", 0.6, 0.6),
    ("pan_hamburguesa", "Pan de hamburguesa", "bakery", "4u", 1.2, "Bimbia", 0.5, 0.3),
    ("tortitas_maiz", "Tortitas de maíz", "bakery", "130g", 1.1, "Biocentral", 0.4, 0.4),
    ("platano", "Plátano de Canarias;Plátano Canarias", "fruit", "kg", 2.15, "loose", 0, 2.5),
    ("banana", "Banana", "fruit", "kg", 1.35, "loose", 0, 0.8),
    ("manzana_golden", "Manzana golden", "fruit", "kg", 1.99, "loose", 0, 1.2),
    ("manzana_fuji", "Manzana fuji", "fruit", "kg", 2.29, "loose", 0, 0.8),
    ("naranja", "Naranja de mesa;Naranja mesa", "fruit", "kg", 1.59, "loose", 0, 1.2),
    ("mandarina", "Mandarina", "fruit", "kg", 2.1, "loose", 0, 0.8),
    ("pera", "Pera conferencia", "fruit", "kg", 2.19, "loose", 0, 0.7),
    ("kiwi", "Kiwi", "fruit", "kg", 3.49, "loose", 0, 0.5),
    ("limon", "Limón", "fruit", "kg", 1.99, "loose", 0, 0.6),
    ("aguacate", "Aguacate", "fruit", "kg", 4.99, "loose", 0, 0.5),
    ("sandia", "Sandía", "fruit", "kg", 0.99, "loose", 0, 0.4),
    ("melon", "Melón piel de sapo", "fruit", "kg", 1.29, "loose", 0, 0.4),
    ("fresas", "Fresas", "fruit", "500g", 2.5, "generic", 0, 0.6),
    ("uva_blanca", "Uva blanca sin semillas", "fruit", "500g", 2.45, "generic", 0, 0.4),
    ("arandanos", "Arándanos", "fruit", "125g", 1.99, "generic", 0, 0.4),
    ("tomate", "Tomate pera;Tomate", "vegetables", "kg", 1.99, "loose", 0, 1.8),
    ("tomate_cherry", "Tomate cherry", "vegetables", "250g", 1.29, "generic", 0, 0.7),
    ("lechuga", "Lechuga iceberg", "vegetables", "1u", 0.89, "generic", 0, 1),
    ("cebolla", "Cebolla", "vegetables", "kg", 1.29, "loose", 0, 1.2),
    ("patata", "Patata", "vegetables", "kg", 1.19, "loose", 0, 1),
    ("patatas_malla", "Patatas malla", "vegetables", "3kg", 2.99, "generic", 0.4, 0.5),
    ("zanahoria", "Zanahoria", "vegetables", "kg", 0.99, "loose", 0, 0.9),
    ("pimiento_rojo", "Pimiento rojo", "vegetables", "kg", 2.79, "loose", 0, 0.8),
    ("calabacin", "Calabacín", "vegetables", "kg", 1.79, "loose", 0, 0.8),
    ("pepino", "Pepino", "vegetables", "kg", 1.49, "loose", 0, 0.6),
    ("brocoli", "Brócoli", "vegetables", "kg", 2.49, "loose", 0, 0.5),
    ("ajo", "Ajos;Ajo malla", "vegetables", "250g", 1.49, "generic", 0, 0.4),
    ("espinacas", "Espinacas frescas", "vegetables", "300g", 1.39, "-", 0.6, 0.4),
    ("ensalada", "Ensalada mezclum;Mezclum", "vegetables", "150g", 1.29, "Floreta", 0.6, 0.6),
    ("champinon", "Champiñón laminado;Champiñones laminados", "vegetables", "250g",
     1.19, "-", 0.6, 0.5),
    ("pechuga_pollo", "Pechuga de pollo fileteada;Filetes pechuga pollo", "meat", "kg",
     6.99, "loose", 0, 1.4),
    ("pollo_entero", "Pollo entero", "meat", "kg", 3.29, "loose", 0, 0.4),
    ("muslos_pollo", "Muslos de pollo", "meat", "kg", 3.49, "loose", 0, 0.6),
    ("lomo_cerdo", "Lomo de cerdo en filetes;Filetes lomo cerdo", "meat", "kg",
     6.49, "loose", 0, 0.6),
    ("chuletas_cerdo", "Chuletas de cerdo", "meat", "kg", 5.49, "loose", 0, 0.5),
    ("costillas", "Costillas de cerdo", "meat", "kg", 5.99, "loose", 0, 0.3),
    ("ternera_filete", "Filete de ternera;Filetes ternera", "meat", "kg", 13.9, "loose", 0, 0.5),
    ("carne_picada", "Carne picada mixta;Picada mixta cerdo vacuno", "meat", "400g",
     2.95, "-", 0.8, 0.8),
    ("hamburguesas", "Hamburguesas de vacuno;Burger meat vacuno", "meat", "4x90g",
     2.95, "El Pozuelo,Campoverde", 0.6, 0.5),
    ("salchichas", "Salchichas frankfurt", "meat", "250g",
     1.25, "Oskar Meier,Campoverde", 0.7, 0.5),
    ("merluza", "Merluza;Merluza de pincho", "fish", "kg", 11.9, "loose", 0, 0.6),
    ("salmon", "Salmón fresco;Salmón rodaja", "fish", "kg", 14.5, "loose", 0, 0.5),
    ("dorada", "Dorada", "fish", "kg", 8.99, "loose", 0, 0.4),
    ("lubina", "Lubina", "fish", "kg", 9.49, "loose", 0, 0.3),
    ("boquerones", "Boquerones", "fish", "kg", 6.99, "loose", 0, 0.3),
    ("mejillones", "Mejillones de Galicia;Mejillón", "fish", "1kg", 2.49, "generic", 0, 0.3),
    ("jamon_cocido", "Jamón cocido extra;Jamón cocido", "deli", "150g",
     1.89, "Campoverde,Navidal,El Pozuelo", 0.9, 1.2),
    ("pechuga_pavo", "Pechuga de pavo;Pavo en lonchas", "deli", "150g",
     1.79, "Campoverde,El Pozuelo", 0.9, 1),
    ("jamon_serrano", "Jamón serrano lonchas;Jamón serrano", "deli", "100g",
     2.2, "Navidal,El Pozuelo", 0.8, 0.8),
    ("chorizo", "Chorizo extra;Chorizo", "deli", "200g", 2.1, "Campoverde,Palacete", 0.7, 0.6),
    ("salchichon", "Salchichón extra", "deli", "200g", 2.05, "Campoverde,Navidal", 0.5, 0.4),
    ("fuet", "Fuet", "deli", "170g", 2.35, "Casa Tarrasa", 0.6, 0.5),
    ("jamon_al_corte", "Jamón cocido al corte", "deli", "kg", 11.9, "loose", 0, 0.4),
    ("queso_manchego", "Queso manchego curado cuña;Queso manchego cuña", "deli", "300g",
     4.95, "Dehesa Grande,La Vega Real", 0.5, 0.4),
    ("hummus", "Hummus", "deli", "240g", 1.85, "Yorgos", 0.5, 0.4),
    ("aceite_oliva_ve", "Aceite de oliva virgen extra;Aceite AOVE", "pantry", "1l,5l",
     8.95, "Olivar del Sur,Carbonera,La Hispana", 0.9, 0.5),
    ("aceite_oliva_suave", "Aceite de oliva suave;Aceite oliva 0,4º", "pantry", "1l",
     7.5, "Carbonera,La Hispana", 0.7, 0.3),
    ("aceite_girasol", "Aceite de girasol;Aceite girasol", "pantry", "1l,5l",
     1.95, "Koipesur", 0.9, 0.4),
    ("arroz_redondo", "Arroz redondo", "pantry", "1kg",
     1.35, "La Huertana,Arrocera Brillo", 0.9, 0.6),
    ("arroz_basmati", "Arroz basmati", "pantry", "500g", 1.75, "Tildan", 0.5, 0.3),
    ("arroz_largo", "Arroz largo", "pantry", "1kg", 1.3, "La Huertana", 0.6, 0.3),
    ("macarrones", "Macarrones", "pantry", "500g,1kg", 0.85, "Barillo,Pastas Galo", 0.9, 0.9),
    ("espaguetis", "Espaguetis;Pasta espaguetis", "pantry", "500g", 0.85, "Barillo,Pastas Galo",
     0.9, 0.9),
    ("fideos", "Fideos finos", "pantry", "500g", 0.9, "Pastas Galo", 0.5, 0.3),
    ("harina", "Harina de trigo;Harina trigo", "pantry", "1kg", 0.8, "Harinera Real", 0.6, 0.2),
    ("azucar", "Azúcar blanco;Azúcar blanquilla", "pantry", "1kg",
     1.15, "Azucarera Norte", 0.7, 0.3),
    ("sal", "Sal fina", "pantry", "1kg", 0.35, "Sal del Mar", 0.5, 0.1),
    ("garbanzos", "Garbanzos cocidos", "pantry", "400g", 0.75, "Legumbres Luengo", 0.8, 0.5),
    ("lentejas", "Lentejas cocidas", "pantry", "400g", 0.79, "Legumbres Luengo", 0.8, 0.5),
    ("lentejas_pardinas", "Lentejas pardinas", "pantry", "1kg", 1.99, "Legumbres Luengo", 0.5, 0.2),
    ("tomate_frito", "Tomate frito", "pantry", "400g", 0.95, "Orlanda,Hanson", 0.9, 0.8),
    ("tomate_triturado", "Tomate triturado", "pantry", "400g",
     0.69, "Orlanda,Huerta Hida", 0.7, 0.4),
    ("atun_claro", "Atún claro en aceite de oliva;Atún claro aceite oliva", "pantry", "3x80g",
     2.95, "Calvora,Isabella", 0.9, 0.8),
    ("sardinas_lata", "Sardinas en aceite", "pantry", "120g", 1.3, "Cuquita,Rianxo", 0.5, 0.3),
    ("mejillones_lata", "Mejillones en escabeche", "pantry", "115g",
     1.75, "Rianxo,Cuquita", 0.4, 0.2),
    ("mayonesa", "Mayonesa", "pantry", "450ml", 1.65, "Ybarrola,Hanson", 0.7, 0.3),
    ("ketchup", "Ketchup", "pantry", "560g", 1.55, "Hanson,Orlanda", 0.6, 0.3),
    ("cafe_molido", "Café molido natural;Café molido", "pantry", "250g",
     2.75, "Marcella,Cafemax,Saimar", 0.8, 0.6),
    ("cafe_capsulas", "Café cápsulas intenso;Cápsulas café", "pantry", "10u",
     2.6, "Cafemax,Marcella", 0.5, 0.4),
    ("cacao_soluble", "Cacao soluble;Cacao en polvo", "pantry", "390g",
     2.85, "Cacaolín,Nesquito", 0.6, 0.4),
    ("copos_maiz", "Copos de maíz;Cereales copos maíz", "pantry", "500g",
     1.65, "Kellans,Nestora", 0.7, 0.4),
    ("cereales_choco", "Cereales de chocolate;Cereales choco", "pantry", "375g",
     2.2, "Kellans,Nestora", 0.6, 0.4),
    ("galletas_maria", "Galletas María", "pantry", "800g",
     1.45, "Gullana,Cuetarra,Fontana", 0.9, 0.7),
    ("galletas_digestive", "Galletas digestive", "pantry", "400g",
     1.35, "Gullana,McVitas", 0.5, 0.3),
    ("mermelada_fresa", "Mermelada de fresa", "pantry", "350g",
     1.55, "Confitería Serrana", 0.6, 0.3),
    ("miel", "Miel de flores", "pantry", "500g", 3.95, "Mielar", 0.5, 0.2),
    ("caldo_pollo", "Caldo de pollo", "pantry", "1l", 1.45, "Gallo Blanco,Anetto", 0.7, 0.4),
    ("sopa_fideos", "Sopa de fideos;Sopa fideos sobre", "pantry", "72g",
     0.75, "Gallo Blanco", 0.4, 0.2),
    ("aceitunas", "Aceitunas rellenas de anchoa;Aceitunas rellenas", "pantry", "350g",
     1.2, "La Hispana,Serpa", 0.7, 0.5),
    ("vinagre", "Vinagre de vino", "pantry", "1l", 0.75, "Borja", 0.5, 0.1),
    ("pan_rallado", "Pan rallado", "pantry", "250g", 0.65, "Ortiza", 0.5, 0.1),
    ("agua_mineral", "Agua mineral natural;Agua mineral", "beverages", "1.5l,6x1.5l",
     0.3, "Fontclara,Sierra Blanca,Aguas del Pirineo", 0.9, 2),
    ("agua_garrafa", "Agua mineral garrafa;Agua garrafa", "beverages", "5l",
     0.85, "Sierra Blanca,Fontclara", 0.8, 0.7),
    ("agua_gas", "Agua con gas", "beverages", "500ml", 0.45, "Vichy Font", 0.4, 0.3),
    ("cola", "Refresco de cola;Cola", "beverages", "2l,6x330ml", 1.35, "Cola Royal,Pepsa", 0.9, 1),
    ("cola_zero", "Refresco cola zero;Cola zero", "beverages", "2l,6x330ml",
     1.4, "Cola Royal,Pepsa", 0.7, 0.8),
    ("naranjada", "Refresco de naranja;Naranjada con gas", "beverages", "2l",
     1.25, "Fantina,Kasita", 0.6, 0.4),
    ("tonica", "Tónica", "beverages", "1l", 1.1, "Brixton", 0.4, 0.2),
    ("cerveza", "Cerveza lager;Cerveza rubia", "beverages", "6x330ml",
     2.4, "Mahora,Estrella del Sur,Hollander,Dammer", 0.9, 1),
    ("cerveza_sin", "Cerveza sin alcohol;Cerveza 0,0", "beverages", "6x330ml",
     2.6, "Mahora,Hollander", 0.5, 0.4),
    ("vino_tinto", "Vino tinto Rioja crianza;Rioja crianza", "beverages", "750ml",
     4.95, "Viña Albarca,Campo Ebro", 0.3, 0.3),
    ("vino_blanco", "Vino blanco verdejo;Verdejo", "beverages", "750ml",
     3.95, "Viña Albarca,Castillo Rueda", 0.3, 0.2),
    ("zumo_naranja", "Zumo de naranja;Zumo naranja", "beverages", "1l",
     1.25, "Don Ramón,Zumoluz", 0.9, 0.7),
    ("zumo_pina", "Zumo de piña;Zumo piña", "beverages", "1l", 1.15, "Don Ramón,Zumoluz", 0.5, 0.3),
    ("nectar_melocoton", "Néctar de melocotón", "beverages", "1l", 1.1, "Don Ramón", 0.4, 0.2),
    ("isotonica", "Bebida isotónica", "beverages", "500ml", 1.05, "Isoplus", 0.4, 0.2),
    ("te_verde", "Té verde;Infusión té verde", "beverages", "25u",
     1.45, "Hormann,Pompadura", 0.5, 0.2),
    ("guisantes", "Guisantes congelados;Guisantes finos", "frozen", "1kg",
     1.75, "Fjordus,La Cocinilla", 0.6, 0.3),
    ("judias_verdes", "Judías verdes congeladas;Judía verde plana", "frozen", "1kg",
     1.95, "Fjordus", 0.5, 0.2),
    ("pizza_barbacoa", "Pizza barbacoa;Pizza congelada barbacoa", "frozen", "410g",
     2.95, "Casa Tarrasa,Dr. Oetkeler", 0.7, 0.5),
    ("pizza_4quesos", "Pizza 4 quesos;Pizza cuatro quesos", "frozen", "390g",
     2.85, "Casa Tarrasa,Dr. Oetkeler", 0.7, 0.5),
    ("croquetas", "Croquetas de jamón", "frozen", "500g", 2.45, "La Cocinilla,Pescamar", 0.7, 0.4),
    ("varitas_merluza", "Varitas de merluza;Palitos de merluza", "frozen", "300g",
     2.65, "Pescamar,Fjordus", 0.6, 0.3),
    ("helado_vainilla", "Helado de vainilla;Helado vainilla", "frozen", "900ml",
     2.49, "Frigolana,Carte Blanche", 0.7, 0.3),
    ("patatas_prefritas", "Patatas prefritas;Patatas congeladas", "frozen", "1kg",
     1.55, "McKane", 0.6, 0.3),
    ("gambas_peladas", "Gambas peladas congeladas;Gamba pelada", "frozen", "250g",
     3.95, "Pescamar", 0.5, 0.2),
    ("merluza_cong", "Filetes de merluza congelada;Merluza filetes", "frozen", "400g",
     3.95, "Pescamar", 0.5, 0.2),
    ("patatas_chips", "Patatas fritas;Patatas chips", "snacks", "160g",
     1.35, "Matutino,Lais", 0.9, 0.7),
    ("patatas_onduladas", "Patatas onduladas", "snacks", "150g", 1.55, "Matutino,Lais", 0.4, 0.3),
    ("frutos_secos", "Cóctel de frutos secos;Frutos secos mezcla", "snacks", "200g",
     2.1, "Frutisec", 0.6, 0.3),
    ("almendras", "Almendras tostadas", "snacks", "150g", 2.25, "Frutisec", 0.5, 0.2),
    ("pipas", "Pipas de girasol;Pipas", "snacks", "200g", 1.05, "Grefa,Facundino", 0.4, 0.2),
    ("galletas_choco", "Galletas con chocolate;Cookies chocolate", "snacks", "185g",
     1.65, "Orbio,Cuetarra", 0.6, 0.5),
    ("palomitas", "Palomitas microondas", "snacks", "3x100g", 1.45, "Poppins", 0.4, 0.2),
    ("gominolas", "Gominolas;Caramelos gominolas", "snacks", "150g", 1.2, "Haribé", 0.3, 0.3),
    ("crema_cacao", "Crema de cacao;Crema cacao avellanas", "snacks", "400g",
     2.95, "Nocella", 0.6, 0.3),
    ("chocolate_leche", "Chocolate con leche", "snacks", "100g", 1.15, "Valora,Milkana", 0.7, 0.6),
    ("chocolate_negro", "Chocolate negro 70%;Chocolate negro", "snacks", "100g",
     1.45, "Valora,Lindora", 0.5, 0.4),
    ("detergente", "Detergente líquido;Detergente gel", "household", "2l",
     6.95, "Arielle,Skibo,Wippo", 0.8, 0.3),
    ("suavizante", "Suavizante concentrado;Suavizante", "household", "2l",
     2.95, "Mimosa,Flora", 0.7, 0.3),
    ("lavavajillas", "Lavavajillas a mano;Lavavajillas mano", "household", "750ml",
     1.45, "Fairlia,Mistral", 0.9, 0.3),
    ("pastillas_lavavajillas", "Pastillas lavavajillas;Lavavajillas máquina pastillas",
     "household", "40u", 6.5, "Fairlia,Finnex", 0.6, 0.2),
    ("lejia", "Lejía;Lejía normal", "household", "2l", 0.95, "La Paloma,Conejín", 0.7, 0.2),
    ("friegasuelos", "Friegasuelos;Friegasuelos limpiador", "household", "1.5l",
     1.55, "Mistral,Don Brillo", 0.6, 0.2),
    ("papel_higienico", "Papel higiénico;Papel higiénico doble capa", "household", "12u",
     4.45, "Scotina,Renovia", 0.9, 0.5),
    ("papel_cocina", "Papel de cocina;Rollo cocina", "household", "4u",
     2.35, "Scotina,Colhogarra", 0.7, 0.3),
    ("servilletas", "Servilletas de papel", "household", "50u", 0.95, "Colhogarra", 0.4, 0.1),
    ("bolsas_basura", "Bolsas de basura", "household", "30u", 1.6, "Alba Plus", 0.7, 0.3),
    ("bolsa_compra", "Bolsa de papel;Bolsa", "household", "1u", 0.15, "-", "all", 1.5),
    ("estropajo", "Estropajo;Estropajo verde", "household", "3u", 0.95, "Scotchmor", 0.5, 0.1),
    ("gel_ducha", "Gel de ducha;Gel baño", "personal_care", "750ml",
     2.25, "Sanelia,Nivela,Doveline", 0.9, 0.3),
    ("champu", "Champú;Champú anticaspa", "personal_care", "300ml",
     2.95, "Head&Care,Pantelle", 0.8, 0.3),
    ("pasta_dientes", "Pasta de dientes;Dentífrico pasta dientes", "personal_care", "75ml",
     1.65, "Colgana,Signia", 0.8, 0.3),
    ("desodorante", "Desodorante roll-on;Desodorante", "personal_care", "50ml",
     2.1, "Nivela,Rexino", 0.6, 0.2),
    ("cepillo_dientes", "Cepillo de dientes", "personal_care", "2u",
     1.95, "Colgana,Oralix", 0.4, 0.1),
    ("panales", "Pañales talla 4;Pañales T4", "personal_care", "42u",
     10.95, "Dodito,Huggo", 0.7, 0.1),
    ("toallitas", "Toallitas bebé;Toallitas húmedas", "personal_care", "80u",
     1.65, "Dodito", 0.7, 0.2),
    ("maquinillas", "Maquinillas de afeitar", "personal_care", "4u", 3.95, "Gilmore", 0.4, 0.1),
    ("crema_manos", "Crema de manos", "personal_care", "100ml", 2.45, "Nivela,Neutrall", 0.4, 0.1),
)
# fmt: on


@dataclass(frozen=True)
class Item:
    """A kind of product (e.g. whole milk) that several brands and sizes make concrete."""

    key: str
    names: tuple[str, ...]
    category: str
    sizes: tuple[str, ...]
    price: float
    brands: tuple[str, ...]
    kind: str  # branded | loose | generic
    pl: float
    staple: float


def _parse_items() -> tuple[Item, ...]:
    items = []
    for key, names, cat, sizes, price, brands, pl, staple in _ITEM_ROWS:
        kind = brands if brands in ("loose", "generic") else "branded"
        brand_list = () if kind != "branded" or brands == "-" else tuple(brands.split(","))
        items.append(
            Item(
                key=key,
                names=tuple(names.split(";")),
                category=cat,
                sizes=tuple(sizes.split(",")),
                price=price,
                brands=brand_list,
                kind=kind,
                pl=2.0 if pl == "all" else float(pl),
                staple=float(staple),
            )
        )
    return tuple(items)


ITEMS: tuple[Item, ...] = _parse_items()
ITEM_BY_KEY = {i.key: i for i in ITEMS}


def parse_size(spec: str) -> tuple[float | None, str, int]:
    """'6x1.5l' -> (1500, 'ml', 6); '500g' -> (500, 'g', 1); '12u' -> (12, 'unit', 1)."""
    if spec == "kg":
        return None, "kg", 1
    pack = 1
    if "x" in spec:
        head, spec = spec.split("x", 1)
        pack = int(head)
    for suffix, unit, factor in (
        ("kg", "g", 1000),
        ("ml", "ml", 1),
        ("l", "ml", 1000),
        ("g", "g", 1),
        ("u", "unit", 1),
    ):
        if spec.endswith(suffix):
            value = float(spec[: -len(suffix)]) * factor
            return (int(value) if value.is_integer() else value), unit, pack
    raise ValueError(f"bad size spec {spec!r}")


@dataclass(frozen=True)
class Product:
    """One true product: an item in one brand and one size."""

    product_id: str
    item_key: str
    name: str
    brand: str | None
    category: str
    size_value: float | None
    size_unit: str  # g | ml | unit | kg (kg: sold loose by weight, price per kg)
    pack: int
    private_label_of: str  # chain id, or '' for national brands and unbranded goods
    base_price: float  # reference price before the chain's factor and drift
    chains: tuple[str, ...]
    ean: str

    @property
    def loose(self) -> bool:
        """Sold by weight, quantity in kg."""
        return self.size_unit == "kg"


def _ean13(rng: random.Random, prefix: str) -> str:
    body = prefix + "".join(str(rng.randrange(10)) for _ in range(12 - len(prefix)))
    check = (10 - sum(int(d) * (3 if i % 2 else 1) for i, d in enumerate(body)) % 10) % 10
    return body + str(check)


def _size_ratio(first: str, other: str) -> float:
    v1, _, p1 = parse_size(first)
    v2, _, p2 = parse_size(other)
    return ((v2 or 1) * p2) / ((v1 or 1) * p1)


def _brand_chains(seed: int, brand: str) -> list[str]:
    rng = rng_for(seed, "brand-reach", brand)
    reach = rng.uniform(0.45, 0.95)
    chains = [c.chain_id for c in CHAINS if rng.random() < reach * c.national_share]
    # National brands are, by definition, on the shelves of several chains.
    for c in sorted(CHAINS, key=lambda c: (-c.national_share, c.chain_id)):
        if len(chains) >= 2:
            break
        if c.chain_id not in chains:
            chains.append(c.chain_id)
    return sorted(chains)


def build_products(seed: int) -> list[Product]:
    """The whole catalogue: national brands, private labels, loose and generic goods."""
    products: list[Product] = []

    def add(
        item: Item, brand: str | None, size: str, pl_of: str, chains: list[str], price: float
    ) -> None:
        value, unit, pack = parse_size(size)
        rng = rng_for(seed, "ean", item.key, brand, size)
        products.append(
            Product(
                product_id=f"P{len(products) + 1:04d}",
                item_key=item.key,
                name=item.names[0],
                brand=brand,
                category=item.category,
                size_value=value,
                size_unit=unit,
                pack=pack,
                private_label_of=pl_of,
                base_price=round(price, 4),
                chains=tuple(sorted(chains)),
                ean=_ean13(rng, "84" if pl_of or brand is None else rng.choice(("84", "40", "30"))),
            )
        )

    every_chain = [c.chain_id for c in CHAINS]
    for item in ITEMS:
        rng = rng_for(seed, "catalogue", item.key)
        if item.kind in ("loose", "generic"):
            # Discounters have no fresh meat or fish counter.
            counters = [
                c
                for c in every_chain
                if not (
                    item.kind == "loose"
                    and item.category in ("meat", "fish", "deli")
                    and c in ("B05", "B10", "B03")
                )
            ]
            chains = [c for c in counters if rng.random() < 0.92] or counters
            add(item, None, item.sizes[0], "", chains, item.price)
        for brand in item.brands:
            brand_chains = _brand_chains(seed, brand)
            premium = rng_for(seed, "premium", brand).uniform(1.12, 1.5)
            for i, size in enumerate(item.sizes):
                if i and rng.random() > 0.55:
                    continue
                chains = [c for c in brand_chains if rng.random() < 0.85]
                for c in brand_chains:
                    if len(chains) >= 2:
                        break
                    if c not in chains:
                        chains.append(c)
                price = item.price * premium * _size_ratio(item.sizes[0], size) ** 0.88
                add(item, brand, size, "", chains, price)
        if item.pl <= 0 or item.kind != "branded":
            continue
        for chain in CHAINS:
            if item.pl < 1.5 and rng.random() >= item.pl * chain.pl_share * 0.75:
                continue
            brand = chain.pl_home if item.category in NON_FOOD else chain.pl_food
            for i, size in enumerate(item.sizes):
                if i and rng.random() > 0.3:
                    continue
                price = item.price * rng.uniform(0.92, 1.02)
                price *= _size_ratio(item.sizes[0], size) ** 0.88
                add(item, brand, size, chain.chain_id, [chain.chain_id], price)
    return products
