"""aimap: China AI-industry value-network ETL service.

This package holds what every stage shares: configuration (:mod:`common.config`) and the
``aimap`` command line (:mod:`aimap.cli`). The stages themselves live in the top-level
packages ``crawlers``, ``etl``, ``db``, ``analysis`` and ``flows``.
"""

__version__ = "0.1.0"
