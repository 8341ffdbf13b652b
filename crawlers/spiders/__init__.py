"""Spiders, one per kind of source; each reads its source file from ``crawlers/sources/``."""
