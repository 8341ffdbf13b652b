"""The world model of the demo public web: organisations and cooperation events, calibrated to the report.

:func:`build_world` generates a :class:`World` from a seed, a preset (``tiny``, ``small``,
``medium``, ``report``) and the last year of news (``through_year``, 2023 by default). It
knows nothing about HTML; :mod:`demosite.render` turns a world into sites and truth files.

What is generated, and how it is calibrated to the 2024 report (targets in
:mod:`demosite.targets`: the report's ``report-2024-figures.yaml`` and the model's own choices
in ``demosite/data/world-model.yml``; names in ``names.yml``, ``organisations.yml``,
``geography.yml``; the side-by-side comparison in :mod:`demosite.calibration`). Each step has
its module: records in :mod:`demosite.model`, identifiers in :mod:`demosite.identifiers`, seeded
drawing helpers in :mod:`demosite.samplers`, places in :mod:`demosite.geography`, names in
:mod:`demosite.names`, sample firms in :mod:`demosite.firms`, relation nodes in
:mod:`demosite.nodes`, the growth model in :mod:`demosite.growth`, company news in
:mod:`demosite.news` and the model's truth files in :mod:`demosite.truth`. This module builds a
world from them (:func:`build_world`, :func:`step`) and is the package's public face for the model.

1. **Sample firms** (:class:`Firm`): the report's named hubs (Table 2, real names with
   fictitious identifiers) plus generated firms. Every attribute distribution is drawn by
   *quota* (largest-remainder rounding of the report's shares to the firm count), so province,
   founding year, employees, listing, technology layer and patent buckets match the report to
   rounding; patents are then placed so that the province and layer shares of all patents are
   met greedily; listed firms' 2022 revenue, R&D expense and R&D intensity buckets are met
   jointly by a greedy choice of the intensity. Names follow 企业名称 practice
   (place + 字号 + industry + 组织形式) with a 字号 unique in the world; USCCs carry a valid
   GB 32100-2015 check character and the registration district of the firm's city; listed
   firms get codes of the right board (SSE 600/601/603/605/688, SZSE 000-003/300/301,
   BSE 8xxxxx/920xxx, a few HKEX and NASDAQ). The world writes these identifiers with its own
   few lines (:mod:`demosite.identifiers`), independent of the system under test.
2. **Relation nodes** (:class:`Partner`): the report's Table 3 hubs and other well-known
   organisations, template organisations (universities, governments, hospitals, banks,
   institutes, bodies, utilities of a province or city) and generated firms of every GB/T 4754
   division, created when the growth model needs a new node of some industry in some province.
3. **Cooperation events 2014 .. through_year** (:class:`Event`), grown year by year so that the
   cumulative yearly network (unique provider -> receiver pairs of the events not terminated
   before the year, as :mod:`analysis.network` builds it) has the Table 1 numbers of sample
   nodes, relation nodes and edges of that year (scaled with the preset):

   - the named hubs get their Table 2/3 in- and out-degree, grown in proportion to the edges;
   - other sample firms and relation nodes are chosen by preferential attachment (probability
     proportional to degree + an offset), the sample firms joining in a year get their first
     cooperation (often with a hub), and a share of new edges closes a triangle (a partner of a
     partner), which gives the network its clustering;
   - the provinces of the two ends are steered by a *deficit sampler* towards the report's
     province-to-province flow matrix (Table 6 margins, Table 7 top flows, completed by
     iterative proportional fitting), the industry of new receiving nodes towards the report's
     sector / section / division shares of the receiving side, and every event's technology
     category and application domain towards the report's shares of that year; a deficit
     sampler draws category i with probability proportional to max(0, target_i * (n + 1) -
     count_i), which keeps every running share within about one event of its target;
   - events carry a kind (strategic_agreement, joint_lab, product_adoption, procurement (中标),
     investment, joint_development, alliance), a direction ("directed" provider -> receiver,
     or "mutual", then the provider is the reporting sample firm), a status (a few % terminated
     within the year they started), multi-party signings (several pairwise events sharing a
     ``group_id``), witnesses (government or industry bodies present at a signing, not parties),
     repeated cooperations of an existing pair, and the reporting newsroom(s).
4. **Company news** (:class:`CompanyNews`): plain news naming no other organisation.

Determinism: every random draw comes from ``random.Random`` seeded with a string made of the
seed and a stage name (``"7:events:2019"``), iteration is over lists, never sets, so the same
arguments give an equal world in any process (and byte-identical renders). Years are generated
in order and no draw of a year depends on later years, so ``build_world(s, p, through_year=2024)``
is ``build_world(s, p)`` plus the events, partners and news of 2024 (:func:`step`).
"""

from __future__ import annotations

from demosite.firms import make_firms
from demosite.growth import Growth
from demosite.model import (
    APPLICATION_DOMAINS,
    DIRECTIONS,
    EVENT_KINDS,
    FIRST_YEAR,
    LAST_YEAR,
    MAX_YEAR,
    NEWS_KINDS,
    PARTNER_KINDS,
    STATUSES,
    TECH_CATEGORIES,
    TECH_LAYERS,
    CompanyNews,
    Event,
    Firm,
    Partner,
    World,
)
from demosite.names import check_names
from demosite.news import make_news
from demosite.targets import PRESETS, Preset
from demosite.truth import EVENT_CSV_COLUMNS, event_records, event_rows, organisation_records, write_truth

__all__ = [
    "APPLICATION_DOMAINS", "DIRECTIONS", "EVENT_CSV_COLUMNS", "EVENT_KINDS", "FIRST_YEAR", "LAST_YEAR", "MAX_YEAR",
    "NEWS_KINDS", "PARTNER_KINDS", "PRESETS", "STATUSES", "TECH_CATEGORIES", "TECH_LAYERS", "CompanyNews",
    "Event", "Firm", "Partner", "Preset", "World", "build_world", "check_names", "event_records", "event_rows",
    "organisation_records", "step", "write_truth",
]


def build_world(seed: int = 7, preset: str = "tiny", through_year: int = LAST_YEAR) -> World:
    """Generate the world for ``seed`` and ``preset`` (see :data:`PRESETS`) up to ``through_year``.

    Deterministic; ``through_year`` may run past the report's 2023 (up to :data:`MAX_YEAR`): the
    years after 2023 follow the extrapolated growth of world-model.yml, and the world of a later
    year contains the earlier one unchanged (see :func:`step`).
    """
    try:
        params = PRESETS[preset]
    except KeyError:
        raise ValueError(f"unknown preset {preset!r}; known: {', '.join(sorted(PRESETS))}") from None
    if not FIRST_YEAR <= through_year <= MAX_YEAR:
        raise ValueError(f"through_year must be within {FIRST_YEAR}-{MAX_YEAR}, not {through_year}")
    firms = make_firms(seed, params)
    growth = Growth(seed, params, firms)
    slug = [f.id for f in firms]
    names = growth.names
    events: list[Event] = []
    news: list[CompanyNews] = []
    counts: dict[str, int] = {}
    for year in range(FIRST_YEAR, through_year + 1):
        drafts = growth.grow(year)
        group_ids: dict[int, str] = {}
        year_events = []
        for i, d in enumerate(sorted(drafts, key=lambda d: (d.date, d.seq)), start=1):
            if d.group is not None and d.group not in group_ids:
                group_ids[d.group] = f"G{year}-{len(group_ids) + 1:05d}"
            year_events.append(
                Event(
                    id=f"E{year}-{i:06d}",
                    provider=names[d.provider],
                    receiver=names[d.receiver],
                    direction=d.direction,
                    kind=d.kind,
                    year=year,
                    date=d.date,
                    tech=d.tech,
                    domain=d.domain,
                    reporter=slug[d.reporter],
                    co_reporter=slug[d.co_reporter] if d.co_reporter is not None else None,
                    status="terminated" if d.terminated_on else "active",
                    terminated_on=d.terminated_on,
                    group_id=group_ids.get(d.group) if d.group is not None else None,
                    witnesses=tuple(names[w] for w in d.witnesses),
                )
            )
        events.extend(year_events)
        news.extend(make_news(seed, year, params, firms, year_events, counts))
    world = World(
        seed=seed,
        preset=preset,
        firms=tuple(firms),
        partners=tuple(growth.partners),
        events=tuple(events),
        news=tuple(news),
        through_year=through_year,
    )
    problems = check_names(world)
    if problems:  # a data file change broke the naming rules: say which names
        raise ValueError(f"name clashes in the generated world ({len(problems)}): " + "; ".join(problems[:20]))
    return world


def step(world: World) -> World:
    """The same world one year later: ``world`` plus the events, partners and news of the next year."""
    return build_world(world.seed, world.preset, world.through_year + 1)
