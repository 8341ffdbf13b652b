"""A generated, deterministic "public web" of AI-firm newsrooms for crawling without internet.

The project's crawlers normally read the newsrooms of Chinese AI firms on the internet, but CI
and the development machines have no internet access. So the project ships its own small
public web: a synthetic world of firms, partners and cooperation events, rendered to static
HTML newsrooms and served on ``127.0.0.1``. Because the world is generated, its ground truth is
known exactly, which lets end-to-end tests check that crawl -> extraction -> network ->
report recovers what was planted.

The package is split so the world can grow (a later preset will hold all 4,311 firms)
without touching the HTML:

- :mod:`demosite.world` -- the world model: sample firms (:class:`~demosite.world.Firm`),
  relation nodes (:class:`~demosite.world.Partner`), cooperation events
  (:class:`~demosite.world.Event`) and plain company news, built by
  :func:`~demosite.world.build_world` from a seed and a preset. No HTML here.
- :mod:`demosite.render` -- :func:`~demosite.render.render_site` turns a world into static
  files: ``site/`` (robots.txt, index, paginated newsrooms, article pages, a ``/private/``
  page robots.txt forbids), ``registry.csv`` (the firm registry) and ``truth/`` (the ground
  truth: ``events.csv`` and ``world.json``).
- :mod:`demosite.server` -- :func:`~demosite.server.serve` (context manager for tests) and
  :func:`~demosite.server.serve_forever` (for the CLI): a quiet static-file HTTP server that
  only ever binds to a loopback address.

Everything is deterministic: the same seed and preset give byte-identical files (no
timestamps, sorted iteration, randomness only from ``random.Random`` seeded explicitly).
All names generated for the sample firms and the generated partner firms are fictitious; the
well-known partners (universities, telecom operators ...) are real names used as plausible
counterparts, and the events involving them are invented.
"""

from demosite.render import SiteManifest, render_site
from demosite.server import serve, serve_forever
from demosite.world import PRESETS, World, build_world

__all__ = ["PRESETS", "SiteManifest", "World", "build_world", "render_site", "serve", "serve_forever"]
