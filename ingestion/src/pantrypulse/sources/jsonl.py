"""JSON Lines imports and backfills: one invoice per line, read as raw bytes.

Lines are yielded as bytes so that a line which is not UTF-8 still reaches the quarantine
with its content, instead of failing the whole file.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import dlt

from pantrypulse.sources.http import Delivery

_CHUNK = 1 << 20


def file_slice(path: Path) -> str:
    """The bronze slice of a file: its content hash, so re-importing the same bytes replaces."""
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        while chunk := fh.read(_CHUNK):
            digest.update(chunk)
    return f"file:{digest.hexdigest()[:32]}"


def read_lines(path: Path, slice_key: str) -> Iterator[Delivery]:
    """Every non-blank line of `path` with its line number."""
    with path.open("rb") as fh:
        for number, line in enumerate(fh, start=1):
            body = line.rstrip(b"\r\n")
            if body.strip():
                yield Delivery(slice_key, f"file={path.name}/line={number}", body)


@dlt.source(name="invoice_file", max_table_nesting=0)
def invoice_file(path: Path) -> Any:
    """Dlt source: one JSON Lines file."""
    slice_key = file_slice(path)

    @dlt.resource(name="deliveries", max_table_nesting=0)
    def deliveries() -> Iterator[Delivery]:
        yield from read_lines(path, slice_key)

    return deliveries
