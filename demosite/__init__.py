"""A generated, deterministic "public web" of AI-firm newsrooms for crawling without internet.

The project's crawlers normally read the newsrooms of Chinese AI firms on the internet, but CI
and the development machines have no internet access. So the project ships its own small
public web: a synthetic world of firms, partners and cooperation events, rendered to static
HTML newsrooms and served on ``127.0.0.1``. Because the world is generated, its ground truth is
known exactly, which lets end-to-end tests check that crawl -> extraction -> network ->
report recovers what was planted.

The package is split so the world model and the rendering evolve separately:

- :mod:`demosite.world` -- the world model: sample firms, relation nodes, cooperation events
  and plain company news, built by :func:`~demosite.world.build_world` from a seed and a
  preset (tiny, small, medium, report), calibrated to the 2024 report. No HTML here.
- :mod:`demosite.render` -- :func:`~demosite.render.render_site` turns a world into the demo
  web (:mod:`demosite.sites`: newsrooms, the exchange, government portals, media with feeds),
  the firm registry (``firms.csv``), crawl sources (``sources/``) and the ground truth
  (``truth/``); :func:`~demosite.render.step_world` advances it by one year.
- :mod:`demosite.phrasing` -- the varied wording of announcements (``data/phrasings.yml``).
- :mod:`demosite.server` -- a loopback-only HTTP server with ETag/Last-Modified, injected
  faults and the exchange's JSON search API.

Everything is deterministic: the same seed and preset give byte-identical files (no
timestamps, sorted iteration, randomness only from ``random.Random`` seeded explicitly).
The names of ordinary sample firms and of generated partner firms are fictitious. The hubs of the
report's Tables 2 and 3 (华为, 腾讯, 清华大学 ...) and the other well-known partners (universities,
telecom operators, foreign suppliers ...) carry their real names so that the rebuilt tables look
like the report's; their identifiers are generated and every event involving them is invented.
"""

# Modules are imported where used (demosite.world, demosite.render, demosite.server): importing
# them here would make `from demosite import calibration` inside the world model circular.
