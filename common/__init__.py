"""The foundation every layer may import: configuration, data-file paths and readers, text folding,
the shared vocabularies, the tabular reader, identifiers and event identity.

It imports nothing of the project (a test enforces this): the stages (``crawlers``, ``etl``,
``analysis``) and the faces (``aimap``, ``flows``) build on it, never the reverse.
"""
