"""The demo web's sites, one module per kind of source.

- :mod:`demosite.sites.newsroom` — corporate newsrooms (list pages with pagination, articles,
  three page styles, robots-disallowed drafts);
- :mod:`demosite.sites.exchange` — the stock exchange: announcement detail pages, annual-report
  summaries with revenue and R&D expense, and the JSON search API's index;
- :mod:`demosite.sites.government` — provincial government portals, some in GBK/GB2312, one
  with a wrong ``<meta charset>``;
- :mod:`demosite.sites.media` — an industry news site that syndicates (rewrites) events, with
  RSS and sitemaps, and a Hong Kong edition in traditional Chinese.

Every module exposes ``render(ctx) -> list[Page]``; :class:`Context` carries the world, the
phraser and the helpers they share.
"""

from __future__ import annotations

import random
from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any

from demosite.model import Event, World
from demosite.phrasing import Phraser

#: Injected faults and the share of document pages that get each: ``gone`` pages are listed but
#: answer 404; ``flaky`` answer 500 twice then 200 (retries recover them); ``broken`` always
#: answer 500; ``slow`` answer after a delay; ``malformed`` have broken HTML.
FAULT_RATES: tuple[tuple[str, float], ...] = (
    ("gone", 0.01),
    ("flaky", 0.01),
    ("broken", 0.003),
    ("slow", 0.005),
    ("malformed", 0.01),
)


def _get(obj: Any, name: str, default: Any = None) -> Any:
    return getattr(obj, name, default)


@dataclass
class Context:
    """What every site renderer needs: the world, the phraser, seeded randomness, lookups."""

    world: World
    phraser: Phraser
    earlier: dict[str, list[Event]] = field(default_factory=dict)
    groups: dict[str, list[Event]] = field(default_factory=dict)
    partners: dict[str, Any] = field(default_factory=dict)
    well_known: list[str] = field(default_factory=list)

    @classmethod
    def build(cls, world: World) -> Context:
        """Index the world: names and their forms, pair histories, multi-party groups."""
        names: dict[str, dict[str, str]] = {}
        cities: dict[str, str] = {}
        for f in world.firms:
            forms = {"full": f.name, "short": f.short_name}
            if f.english_name:
                forms["english"] = f.english_name
            if f.stock_short_name and f.stock_short_name != f.short_name:
                forms["stock_short"] = f.stock_short_name
            names[f.name] = forms
            cities[f.name] = f.city
        partners = {}
        for p in world.partners:
            forms = {"full": p.name}
            # generated partners are only ever named in full: their short names are known to no
            # reader (well-known, real organisations are named in any of their forms)
            for key in ("short_name", "english_name") if _get(p, "real", True) else ():
                value = _get(p, key)
                if value:
                    forms[key.removesuffix("_name")] = value
            for i, alias in enumerate((_get(p, "aliases", ()) or ()) if _get(p, "real", True) else ()):
                forms.setdefault("short" if i == 0 and "short" not in forms else f"alias{i}", alias)
            names[p.name] = forms
            cities[p.name] = p.city
            partners[p.name] = p
        by_pair: dict[frozenset[str], list[Event]] = defaultdict(list)
        for e in sorted(world.events, key=lambda e: (e.date, e.id)):
            by_pair[frozenset((e.provider, e.receiver))].append(e)
        earlier: dict[str, list[Event]] = {}
        for history in by_pair.values():
            for i, e in enumerate(history):
                earlier[e.id] = [h for h in history[:i] if h.year < e.year]
        groups: dict[str, list[Event]] = defaultdict(list)
        for e in world.events:
            group = _get(e, "group_id")
            if group:
                groups[group].append(e)
        # well-known partners (a set that does not change when the world grows by a year)
        well_known = sorted(n for n, p in partners.items() if _get(p, "real", False)) or sorted(partners)
        return cls(world, Phraser(names, cities), earlier, dict(groups), partners, well_known)

    def fault(self, url: str) -> str | None:
        """The injected fault of a document page, drawn per URL (see :data:`FAULT_RATES`)."""
        roll = self.rng(f"fault:{url}").random()
        for kind, rate in FAULT_RATES:
            if roll < rate:
                return kind
            roll -= rate
        return None

    def rng(self, key: str) -> random.Random:
        """A generator seeded by the world seed and ``key`` (a page path): independent pages."""
        return random.Random(f"{self.world.seed}:{key}")


def event_status(event: Event) -> tuple[str, Any]:
    """(status, terminated_on) of an event; worlds without terminations say ("active", None)."""
    return _get(event, "status", "active") or "active", _get(event, "terminated_on")


def event_witnesses(event: Event) -> tuple[str, ...]:
    """Canonical names of non-parties present at the event's signing."""
    return tuple(_get(event, "witnesses", ()) or ())
