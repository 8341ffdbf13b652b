"""Plain company news of the demo world: articles of a sample firm that name no other organisation.

Each year's news are ``news_share`` of that year's articles, given to the newsrooms with the
fewest articles first; in the report's last year every newsroom is topped up to the preset's
``min_articles``. Draws come from ``random.Random("{seed}:news:{year}")``.
"""

from __future__ import annotations

import bisect
import datetime as dt
import random
from collections.abc import Sequence

from demosite import targets
from demosite.model import LAST_YEAR, NEWS_KINDS, CompanyNews, Event, Firm
from demosite.samplers import Deficit
from demosite.targets import Preset


def make_news(seed: int, year: int, preset: Preset, firms: Sequence[Firm], events: Sequence[Event],
               counts: dict[str, int]) -> list[CompanyNews]:
    """Plain company news of ``year``: ``news_share`` of the year's articles (plus a top-up in 2023).

    ``counts`` (articles per newsroom so far) is updated. News go to the newsrooms with the
    fewest articles first; in the report's last year every newsroom is topped up to
    ``min_articles``.
    """
    rng = random.Random(f"{seed}:news:{year}")
    reports = 0
    for e in events:
        for slug in e.reporters:
            counts[slug] = counts.get(slug, 0) + 1
            reports += 1
    wanted = round(reports * preset.news_share / (1 - preset.news_share))
    eligible = [f for f in firms if f.founded_on <= dt.date(year, 12, 24)]
    if year == LAST_YEAR:
        wanted = max(wanted, sum(max(0, preset.min_articles - counts.get(f.id, 0)) for f in eligible))
    if not eligible:
        return []
    tech = Deficit(targets.category_targets("tech", year))
    heap: dict[int, list[str]] = {}
    for f in eligible:
        heap.setdefault(counts.get(f.id, 0), []).append(f.id)
    levels = sorted(heap)
    by_slug = {f.id: f for f in eligible}
    out: list[tuple[dt.date, str, str, str]] = []
    for _ in range(wanted):
        low = levels[0]
        bucket = heap[low]
        slug = bucket.pop(rng.randrange(len(bucket)))
        if not bucket:
            del heap[low]
            levels.pop(0)
        counts[slug] = low + 1
        if low + 1 not in heap:
            bisect.insort(levels, low + 1)
        heap.setdefault(low + 1, []).append(slug)
        firm = by_slug[slug]
        start = max(dt.date(year, 1, 1), firm.founded_on + dt.timedelta(days=1))
        day = start + dt.timedelta(days=rng.randint(0, (dt.date(year, 12, 31) - start).days))
        out.append((day, slug, rng.choice(NEWS_KINDS), tech.draw(rng)))
    out.sort()
    return [CompanyNews(id=f"N{year}-{i:06d}", firm=slug, date=day, kind=kind, tech=t)
            for i, (day, slug, kind, t) in enumerate(out, start=1)]

