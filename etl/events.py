"""A termination and its announcement meet whichever is loaded first (issue 14, finding 3).

The loader (:mod:`etl.load`) reads documents in publication order within a run, but across
incremental runs a termination notice may be loaded before the announcement of the cooperation
it ends. Loaded first, it finds no event to end and makes an event of its own; without this
module the announcement then made a second event, and the edges depended on arrival order.

The rule, per pair of organisations (either direction), whatever the arrival order:

- an event is *announced* when some mention reports the cooperation itself, *termination-only*
  (``announced`` false) while only termination notices report it;
- a termination of year ``t`` ends the latest event of the pair of year ``t`` or before (the
  loader's :meth:`~etl.load.LoaderState.latest_event`); the event ends on the latest date any
  termination gives (``terminated_on`` = the maximum, as loading in publication order gives);
- a termination that finds none is an event of its own (termination-only);
- when an event of year ``y`` appears (a new announcement, or a new termination-only event), every
  termination-only event of the pair of year ``y`` or later with no announced event between them
  is folded into it (mentions, labels, reviews; :func:`etl.resolve.corrections._fold_event`): the
  termination now ends the event it would have ended, had the announcement come first.

So termination-only events of a pair are kept below its earliest announcement, at most one per
pair. What this rule cannot see (mentions do not record their relation's status): a termination
already attached to an older announced event does not move to a newer announcement of a year up to
its own that arrives later; bench_faults.py's order runs measure how often that happens.
"""

from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING, Any

from sqlalchemy import update

from db.models import CooperationEvent
from etl.resolve.corrections import _fold_event, _move_reviews
from etl.resolve.judgements import bulk_execute

if TYPE_CHECKING:
    from etl.load import LoaderState


def meet(state: LoaderState, event: CooperationEvent, ended: dt.date | None, report: Any) -> None:
    """Record that a relation just reported ``event`` — a termination ending on ``ended``, or (``ended``
    None) the cooperation itself — and fold into ``event`` the termination-only events of its pair
    that it ends (see the module docstring).

    Called by the loader for every relation, after it found or created ``event`` (a new event has
    ``announced`` unset). Counts ``events_terminated`` (an event that was not terminated now is) and
    ``events_removed`` (events folded into another) on ``report`` (an :class:`etl.load.EtlReport`).
    """
    new = event.announced is None
    was_announced = bool(event.announced)
    if ended is not None:
        if event.status != "terminated":
            report.events_terminated += int(not new)
            event.status, event.terminated_on = "terminated", ended
        elif event.terminated_on is None or ended > event.terminated_on:
            event.terminated_on = ended
        if new:
            event.announced = False
    else:
        event.announced = True
    if not new and (was_announced or ended is not None):
        return  # nothing new below or at this event: nothing to fold
    folded = [x for x in _ends(state, event) if x.id != event.id]
    if not folded:
        return
    session = state.session
    session.flush()  # the event and everything this batch wrote so far, before the folds in SQL
    for other in folded:
        if event.status != "terminated":
            report.events_terminated += int(not new)
        end = max(d for d in (event.terminated_on, other.terminated_on) if d is not None)
        # the event keeps its own date, reporter and kind (as in publication order); it ends on the later date
        values = {"status": "terminated", "terminated_on": end, "event_date": event.event_date,
                  "reported_by_id": event.reported_by_id, "kind": event.kind}
        moves = {other.event_key: event.event_key}
        _fold_event(session, event.id, other.id)
        bulk_execute(session, update(CooperationEvent).where(CooperationEvent.id == event.id).values(**values))
        _move_reviews(session, moves)  # expires every object: they read their rows again
        session.expire(event)
        for key in [k for k in state.mentioned if k[0] == other.id]:  # this document's mention moved (or merged)
            moved = state.mentioned.pop(key)
            state.mentioned.setdefault((event.id, key[1]), moved)
        if other in session:
            session.expunge(other)
        report.events_removed += 1
    session.flush()
    state.load_events()


def _ends(state: LoaderState, event: CooperationEvent) -> list[CooperationEvent]:
    """The termination-only events of ``event``'s pair that ``event`` ends: of its year or later,
    with no other announced event of the pair between (the loader's index of the pair's events)."""
    a, b = event.provider_id, event.receiver_id
    later = sorted((y, i) for pair in ((a, b), (b, a)) for y, i in state.pair_events.get(pair, ())
                   if i != event.id and y >= event.year)  # usually none: documents come in publication order
    if not later:
        return []
    events = [(y, state.event(i)) for y, i in later]
    announced = [y for y, e in events if e is not None and e.announced is not False]
    return [e for y, e in events if e is not None and e.announced is False
            and not any(event.year <= y2 <= y for y2 in announced)]
