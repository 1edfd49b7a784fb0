"""Leads in and out: reading files, mapping, per-row validation, the import
pipeline (parallel parse, COPY, one transaction) and export."""
