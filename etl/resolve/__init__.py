"""Entity resolution: mention names -> organisations, with a judgement store (after nomenklatura).

Identity
    An organisation is keyed by its stable identifiers where known (统一社会信用代码
    ``organisations.uscc``; stock code + exchange) and by its names in ``aliases`` (full legal,
    short, former, English, stock short). A *normalised* name (:func:`normalise_name`) is only
    a key for finding candidates: it never decides identity on its own.

Resolving a name (:class:`Resolver`; :meth:`~Resolver.resolve`, or :meth:`~Resolver.match` then
:meth:`~Resolver.adopt` when the caller creates organisations itself), in this order:
    1. identifiers given with the mention and known -> that organisation;
    2. exact alias hit (after :func:`fold_name`: NFKC, traditional -> simplified, case, spaces);
    3. a stored *positive* judgement between the name and an organisation -> that organisation;
    4. candidates by blocking (character n-grams of the normalised name, and of the name with its
       region prefix kept, see :class:`NameIndex`)
       scored by :meth:`Resolver.score` (rapidfuzz similarity plus kind and province agreement;
       weights and thresholds in ``etl/data/resolve.yml``), leaving out candidates with a stored
       negative or unsure judgement and candidates with a different identifier:

       ==============================  =====================================================
       score >= auto_merge             same organisation: the name becomes an alias, an
                                       automatic positive judgement is stored
       suggest <= score < auto_merge   a new organisation, and a *pending* judgement (a merge
                                       suggestion for the review queue, :mod:`etl.review`)
       score < suggest                 a new organisation
       ==============================  =====================================================

Judgements (:class:`db.models.Judgement`)
    Every decision on a pair of organisation references: positive / negative / unsure, taken
    automatically (``decided_by`` = the resolver's name from the config) or by an analyst, when,
    with the score. A negative or unsure judgement keeps the pair apart and a positive one
    forces the merge, so a re-run never re-asks a settled question; an analyst's decision is
    never overwritten by an automatic one. References are portable — ``uscc:<code>``,
    ``stock:<exchange>:<code>`` or ``name:<folded name>`` (a name only when the organisation has
    no identifier) — so :func:`export_decisions` writes them as JSON lines that
    :func:`import_decisions` re-applies to another database (kept under version control).

Corrections
    :func:`merge_organisations` (re-points aliases, events, firm attributes and financials,
    judgements; events that become duplicates are merged keeping every mention) and
    :func:`split_alias` (moves an alias to a new organisation and stores a negative judgement).

Modules: :mod:`~etl.resolve.names` (folding, normalised keys), :mod:`~etl.resolve.config`,
:mod:`~etl.resolve.judgements` (references, the judgement store), :mod:`~etl.resolve.index`
(blocking), :mod:`~etl.resolve.resolver`, :mod:`~etl.resolve.corrections` (merge, split) and
:mod:`~etl.resolve.decisions` (export, import). This package re-exports their public names.

Reference: *nomenklatura*, OpenSanctions' entity-resolution library: its resolver (blocking,
scoring, automatic merges above a threshold, suggestions below) and judgement store.
"""

from etl.resolve.config import CONFIG_FILE, ResolverConfig, load_config
from etl.resolve.corrections import (
    MergeReport,
    SplitReport,
    choose_survivor,
    merge_organisations,
    split_alias,
)
from etl.resolve.decisions import ImportReport, export_decisions, import_decisions
from etl.resolve.distinct import distinct_reason
from etl.resolve.index import NameIndex
from etl.resolve.judgements import (
    NEGATIVE,
    PENDING,
    POSITIVE,
    SETTLED,
    UNSURE,
    OrgInfo,
    Party,
    decision_time,
    identifier_refs,
    name_ref,
    org_ref,
    record_judgement,
)
from etl.resolve.names import (
    NAMES_FILE,
    NameKey,
    NameRules,
    ResolveError,
    alias_kind,
    fold_name,
    load_name_rules,
    name_key,
    normalise_name,
)
from etl.resolve.resolver import Resolution, Resolver, Scored

__all__ = [
    "CONFIG_FILE", "NAMES_FILE", "NEGATIVE", "PENDING", "POSITIVE", "SETTLED", "UNSURE",
    "ImportReport", "MergeReport", "NameIndex", "NameKey", "NameRules", "OrgInfo", "Party", "Resolution",
    "ResolveError", "Resolver", "ResolverConfig", "Scored", "SplitReport",
    "alias_kind", "choose_survivor", "decision_time", "distinct_reason", "export_decisions", "fold_name", "identifier_refs",
    "import_decisions", "load_config", "load_name_rules", "merge_organisations", "name_key", "name_ref",
    "normalise_name", "org_ref", "record_judgement", "split_alias",
]
