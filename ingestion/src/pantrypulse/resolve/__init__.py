"""Entity resolution: one canonical product and shop per real one, with stable ids.

Pure API (no I/O):

    from pantrypulse.resolve import resolve_invoices
    result = resolve_invoices(invoices, previous=registry, now=now)

Iceberg I/O (bronze in, `resolution.*` registry tables out):

    from pantrypulse.resolve.registry import run_resolution
    summary = run_resolution(catalog)

Quality against ground truth: `pantrypulse.resolve.quality`.
Canonical product types (category synonyms across chains): `pantrypulse.resolve.categories`.
"""

from pantrypulse.resolve.engine import resolve_invoices
from pantrypulse.resolve.model import (
    EntityCounts,
    ProductObservation,
    ProductSpelling,
    Registry,
    ResolutionResult,
    ResolutionSummary,
    ShopObservation,
    ShopSpelling,
)
from pantrypulse.resolve.products import resolve_products
from pantrypulse.resolve.quality import EntityQuality, evaluate_aliases, pairwise_scores
from pantrypulse.resolve.shops import resolve_shops

__all__ = [
    "EntityCounts",
    "EntityQuality",
    "ProductObservation",
    "ProductSpelling",
    "Registry",
    "ResolutionResult",
    "ResolutionSummary",
    "ShopObservation",
    "ShopSpelling",
    "evaluate_aliases",
    "pairwise_scores",
    "resolve_invoices",
    "resolve_products",
    "resolve_shops",
]
