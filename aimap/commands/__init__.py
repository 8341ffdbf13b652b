"""The ``aimap`` command groups, one module each; :mod:`aimap.cli` registers them on the app."""
