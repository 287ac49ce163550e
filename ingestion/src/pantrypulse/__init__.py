"""PantryPulse ingestion: invoice sources to bronze Iceberg tables, and the pipeline CLI."""

__version__ = "0.1.0"
