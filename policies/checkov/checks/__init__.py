"""Lakehouse custom checkov checks (loaded with --external-checks-dir; this file must exist)."""
