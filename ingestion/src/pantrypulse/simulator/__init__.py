"""Seeded, deterministic grocery-invoice simulator: messy receipts, deliveries, ground truth.

`generate(SimulatorConfig(...))` builds a `Dataset`: every delivery in source order plus the
truth (true product of every line, true shop of every invoice, kind of every delivery and,
for malformed ones, the reason code an importer must give). `write_jsonl` writes it as a
JSON Lines file with the truth CSVs beside it; `InvoiceSourceServer` serves it over the
HTTP source contract.
"""

from pantrypulse.simulator.generate import (
    Dataset,
    Delivery,
    SimulatorConfig,
    generate,
    load_truth,
    madrid_offset,
    write_jsonl,
)
from pantrypulse.simulator.malformed import KINDS as MALFORMED_KINDS
from pantrypulse.simulator.server import InvoiceSourceServer, http_item

__all__ = [
    "MALFORMED_KINDS",
    "Dataset",
    "Delivery",
    "InvoiceSourceServer",
    "SimulatorConfig",
    "generate",
    "http_item",
    "load_truth",
    "madrid_offset",
    "write_jsonl",
]
