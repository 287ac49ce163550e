"""The integration tier's local services (PostgreSQL, S3, Nessie, Trino, Kafka) as processes.

`python -m services up|down|status|logs` (what `make services-up/services-down` runs) and the
pytest fixtures in `tests/integration/conftest.py` use the same `Stack`.
"""

from .config import Config
from .stack import Stack

__all__ = ["Config", "Stack"]
