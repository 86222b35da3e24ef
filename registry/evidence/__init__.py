"""Ownership evidence: canonical statements, the transparency log, receipts and timestamps."""
