"""``aimap explain SOURCE TARGET``: every event, document and sentence behind one edge of the network.

The edge is SOURCE -> TARGET (provider -> receiver) in the network of year ``edition - 1``, built
as the report builds it (:func:`analysis.evidence.find_edge_events`); each of its events is shown
with what ``aimap review show E<id>`` shows (:func:`etl.review.show_item`): parties, kind,
direction, year, technology categories, application domains, review decision and every mention
(document address, title, date, confidence, extractor version, sentence).
"""

from __future__ import annotations

import json
from typing import Annotated

import typer
from rich.console import Console

from aimap.commands.review import print_event
from aimap.runtime import JSON_OPTION, fail, prepared
from analysis.edition import ReportError
from analysis.evidence import find_edge_events
from analysis.index import default_edition
from db.session import session_scope
from etl.review import ReviewError, show_item


def explain(
    source: Annotated[str, typer.Argument(metavar="SOURCE", help="The provider (技术赋能方): full name, alias or id.")],
    target: Annotated[str, typer.Argument(metavar="TARGET", help="The receiver (技术输入方): full name, alias or id.")],
    edition: Annotated[int | None, typer.Option(help="Report edition (network of edition-1). Default: latest data "
                                                     "year + 1.")] = None,
    mutual: Annotated[str, typer.Option(help="Orientation of mutual events: reporter | both (as the report).")] = "reporter",
    as_json: Annotated[bool, JSON_OPTION] = False,
) -> None:
    """Print every event and sentence behind the edge SOURCE -> TARGET of an edition's network.

    The edge's row in edges.csv lists the same event ids; each event is shown as `aimap review show`
    shows it, so a decision (`aimap review reject E<id>`) can follow at once.
    """
    prepared()
    with session_scope() as session:
        try:
            edition = edition or default_edition(session)
            found = find_edge_events(session, source, target, edition, mutual=mutual)
            if not found.event_ids:
                reverse = (f"; the reverse edge {found.target[1]} -> {found.source[1]} has "
                           f"{len(found.reverse_event_ids)} event(s): `aimap explain {found.target[0]} "
                           f"{found.source[0]} --edition {edition}`") if found.reverse_event_ids else ""
                fail(f"no edge {found.source[1]} [{found.source[0]}] -> {found.target[1]} [{found.target[0]}] in the "
                     f"network of {found.year} (edition {edition}){reverse}")
            infos = [show_item(session, f"E{i}") for i in found.event_ids]
        except (ReportError, ReviewError, ValueError) as exc:
            fail(str(exc))
    mentions = sum(len(i["mentions"]) for i in infos)
    if as_json:
        print(json.dumps({"source": {"id": found.source[0], "name": found.source[1]},
                          "target": {"id": found.target[0], "name": found.target[1]}, "year": found.year,
                          "edition": edition, "event_ids": found.event_ids, "mentions": mentions, "events": infos},
                         ensure_ascii=False, indent=2))
        return
    out = Console(soft_wrap=True, highlight=False, markup=False)
    out.print(f"edge {found.source[1]} [{found.source[0]}] -> {found.target[1]} [{found.target[0]}], network of "
              f"{found.year} (edition {edition}): {len(found.event_ids)} event(s), {mentions} mention(s)")
    for info in infos:
        print_event(out, info)
