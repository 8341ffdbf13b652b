"""ETL stage: from documents and registries to organisations and cooperation events."""
