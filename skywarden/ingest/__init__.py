"""Ingest: wire formats -> input events, one module per format. Bad input becomes a counted
``ReportRejected`` event, never an exception that stops the night."""

from skywarden.ingest.jsonl import JsonlSource, ReportChecker, write_jsonl

__all__ = ["JsonlSource", "ReportChecker", "write_jsonl"]
