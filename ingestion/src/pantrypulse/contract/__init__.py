"""The invoice source contract (v1): its JSON Schema and the validator every importer uses."""

from pantrypulse.contract.validate import (
    MAX_RECORD_BYTES,
    REASON_CODES,
    Verdict,
    validate_record,
)

__all__ = ["MAX_RECORD_BYTES", "REASON_CODES", "Verdict", "validate_record"]
