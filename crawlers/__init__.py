"""Crawl stage: a Scrapy project whose spiders fill the ``documents`` table.

Sources are declared as data (``crawlers/sources/*.yml``); spiders are generic per *kind* of
source and read their source file. Each crawl runs as its own process (Scrapy's reactor cannot
restart in one process), see :mod:`crawlers.run`.
"""
