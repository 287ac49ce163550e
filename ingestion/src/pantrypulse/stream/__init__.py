"""Streaming ingestion: Kafka to bronze, exactly once (see `consumer`)."""

from pantrypulse.stream.consumer import BatchReport, StreamConsumer, StreamError, StreamTotals

__all__ = ["BatchReport", "StreamConsumer", "StreamError", "StreamTotals"]
