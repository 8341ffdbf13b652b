"""The resolver's configuration (``etl/data/resolve.yml``): weights, thresholds and blocking limits."""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from common.datafiles import read_yaml
from common.vocab import ORG_KINDS
from etl.resolve.names import DATA_DIR, ResolveError

CONFIG_FILE = DATA_DIR / "resolve.yml"

# --------------------------------------------------------------------------- configuration


@dataclass(frozen=True)
class ResolverConfig:
    """Thresholds and weights of the resolver (``etl/data/resolve.yml`` documents each)."""

    version: int
    resolver_name: str
    auto_merge: float
    suggest: float
    max_suggestions: int
    kind_agree: float
    kind_conflict: float
    province_agree: float
    province_conflict: float
    prefix_similarity: float
    prefix_min_length: int
    cjk_unequal_cap: float
    ngram: int
    ngram_ascii: int
    max_posting: int
    max_grams: int
    max_candidates: int
    kind_families: tuple[frozenset[str], ...] = ()

    def same_family(self, a: str, b: str) -> bool:
        """Whether two different kinds are compatible (one family: no kind conflict)."""
        return any(a in family and b in family for family in self.kind_families)


@lru_cache(maxsize=4)
def load_config(path: Path = CONFIG_FILE) -> ResolverConfig:
    """Read and check the resolver configuration (``0 <= suggest < auto_merge <= 1`` ...)."""
    raw = read_yaml(path) or {}
    try:
        weights, blocking = raw["weights"], raw["blocking"]
        cfg = ResolverConfig(
            version=int(raw["version"]),
            resolver_name=str(raw["resolver_name"]),
            auto_merge=float(raw["auto_merge"]),
            suggest=float(raw["suggest"]),
            max_suggestions=int(raw["max_suggestions"]),
            kind_agree=float(weights["kind_agree"]),
            kind_conflict=float(weights["kind_conflict"]),
            province_agree=float(weights["province_agree"]),
            province_conflict=float(weights["province_conflict"]),
            prefix_similarity=float(raw["prefix_similarity"]),
            prefix_min_length=int(raw["prefix_min_length"]),
            cjk_unequal_cap=float(raw["cjk_unequal_cap"]),
            ngram=int(blocking["ngram"]),
            ngram_ascii=int(blocking["ngram_ascii"]),
            max_posting=int(blocking["max_posting"]),
            max_grams=int(blocking["max_grams"]),
            max_candidates=int(blocking["max_candidates"]),
            kind_families=tuple(frozenset(str(k) for k in family) for family in raw.get("kind_families") or ()),
        )
    except (KeyError, TypeError, ValueError) as exc:
        raise ResolveError(f"{path}: missing or malformed setting: {exc}") from exc
    unknown = {k for family in cfg.kind_families for k in family} - set(ORG_KINDS)
    if unknown:
        raise ResolveError(f"{path}: kind_families: unknown kinds {', '.join(sorted(unknown))}")
    if not 0 <= cfg.suggest < cfg.auto_merge <= 1:
        raise ResolveError(f"{path}: need 0 <= suggest < auto_merge <= 1")
    if cfg.prefix_similarity >= cfg.auto_merge or cfg.cjk_unequal_cap >= cfg.auto_merge:
        raise ResolveError(f"{path}: prefix_similarity and cjk_unequal_cap must stay below auto_merge")
    if min(cfg.ngram, cfg.ngram_ascii, cfg.max_posting, cfg.max_grams, cfg.max_candidates) < 1:
        raise ResolveError(f"{path}: blocking settings must be positive")
    return cfg
