"""A generated, deterministic "public web" of AI-firm newsrooms for crawling without internet.

The project's crawlers normally read the newsrooms of Chinese AI firms on the internet, but CI
and the development machines have no internet access. So the project ships its own small
public web: a synthetic world of firms, partners and cooperation events, rendered to static
HTML newsrooms and served on ``127.0.0.1``. Because the world is generated, its ground truth is
known exactly, which lets end-to-end tests check that crawl -> extraction -> network ->
report recovers what was planted.

The demo world is the oracle the pipeline is measured against, so it is independent of the
system under test: it imports only the foundation (``common``, ``db``), never ``crawlers``,
``etl``, ``analysis``, ``flows`` or ``aimap``, and no production code imports it (the tests and
benchmarks do, and ``tests/worldeval.py`` joins it with the ETL's scorer). Where it needs what
the system also computes (identifiers, network statistics) it has its own few lines.

The package is split so the world model and the rendering evolve separately:

- :mod:`demosite.world` -- the world model: sample firms, relation nodes, cooperation events
  and plain company news, built by :func:`~demosite.world.build_world` from a seed and a
  preset (tiny, small, medium, report), calibrated to the 2024 report. No HTML here. Its
  parts: :mod:`~demosite.model` (records), :mod:`~demosite.targets` (the report's targets and
  the presets), :mod:`~demosite.identifiers`, :mod:`~demosite.samplers`,
  :mod:`~demosite.geography`, :mod:`~demosite.names`, :mod:`~demosite.firms`,
  :mod:`~demosite.nodes`, :mod:`~demosite.growth`, :mod:`~demosite.news`,
  :mod:`~demosite.truth`; :mod:`~demosite.calibration` compares a world with the report.
- :mod:`demosite.render` -- :func:`~demosite.render.render_site` turns a world into the demo
  web (:mod:`demosite.sites`: newsrooms, the exchange, government portals, media with feeds),
  the firm registry (``firms.csv``), crawl sources (``sources/``) and the ground truth
  (``truth/``); :func:`~demosite.render.step_world` advances it by one year.
- :mod:`demosite.phrasing` -- the varied wording of announcements (``data/phrasings.yml``).
- :mod:`demosite.server` -- a loopback-only HTTP server with ETag/Last-Modified, injected
  faults and the exchange's JSON search API; it also emulates real hosts under
  ``/_hosts/<host>/`` (issue 15): the cninfo and HKEXnews protocols (:mod:`demosite.protocols`,
  data from :mod:`demosite.sites.cninfo` and :mod:`demosite.sites.hkex`), announcement PDFs built
  on request (:mod:`demosite.pdfs`, reportlab) with scanned/empty/encrypted/truncated faults, and
  the hubs' newsrooms, portals and ministries by robots.txt, sitemaps and feeds
  (:mod:`demosite.sites.hosts`). See docs/demo-web.md.
- :mod:`demosite.evaluation` -- readers of a rendered world's ground truth as plain data.
- :mod:`demosite.cli` -- the ``demosite`` command line (generate, serve, step, demo).

Everything is deterministic: the same seed and preset give byte-identical files (no
timestamps, sorted iteration, randomness only from ``random.Random`` seeded explicitly).
The names of ordinary sample firms and of generated partner firms are fictitious. The hubs of the
report's Tables 2 and 3 (华为, 腾讯, 清华大学 ...) and the other well-known partners (universities,
telecom operators, foreign suppliers ...) carry their real names so that the rebuilt tables look
like the report's; their identifiers are generated and every event involving them is invented.
"""
