"""Published claims, loaded from ``seeds/claims.toml`` and validated against the ports."""

from __future__ import annotations

import datetime as dt
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from geo import settings
from geo.errors import ClaimsFileError
from geo.ports import Port, load_ports
from geo.types import PathLikeStr

__all__ = ["CLAIM_KINDS", "COMPARATORS", "Claim", "load_claims"]

#: Claim kinds berthwatch can check.
CLAIM_KINDS = ("trip_count", "round_trip_count", "container_count", "vessel_presence")
#: Comparators, applied as ``true_value <comparator> number``.
COMPARATORS = (">=", ">", "<=", "<", "==")
_REQUIRED = ("id", "source", "quote", "kind", "ports", "since", "until", "comparator", "number")


@dataclass(frozen=True)
class Claim:
    """One published claim: ``<true value> <comparator> <number>`` over ``since..until`` (UTC, inclusive)."""

    id: str
    source: str
    quote: str
    kind: str
    ports: tuple[str, ...]
    since: dt.date
    until: dt.date
    comparator: str
    number: float
    unit: str = ""
    paraphrase: bool = False
    notes: str = ""
    vessels: tuple[str, ...] = ()
    min_length_m: float | None = None

    def holds_for(self, value: float) -> bool:
        """Return whether a true value *value* would make the claim true."""
        ops = {
            ">=": value >= self.number,
            ">": value > self.number,
            "<=": value <= self.number,
            "<": value < self.number,
            "==": value == self.number,
        }
        return ops[self.comparator]


def load_claims(
    path: PathLikeStr | None = None, *, ports: Mapping[str, Port] | None = None
) -> list[Claim]:
    """Load and validate the claims file.

    Parameters
    ----------
    path : str or path-like, optional
        A TOML file with ``[[claim]]`` tables. Default: ``seeds/claims.toml``.
    ports : mapping of str to Port, optional
        Known ports, to check each claim's ``ports``. Default: :func:`geo.ports.load_ports`.

    Raises
    ------
    ClaimsFileError
        Unreadable TOML, a missing field, an unknown kind, comparator or port, an inverted window,
        or a duplicate id. The message names the file, the claim and the fix.
    """
    p = Path(path) if path is not None else settings.seeds_dir() / "claims.toml"
    known = load_ports() if ports is None else ports
    try:
        doc = tomllib.loads(p.read_text(encoding="utf-8"))
    except FileNotFoundError as err:
        raise ClaimsFileError(f"{p}: file not found; pass an existing claims TOML.") from err
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as err:
        raise ClaimsFileError(f"{p}: not readable as TOML ({err}); fix the syntax.") from err
    tables = doc.get("claim", [])
    if not isinstance(tables, list):
        raise ClaimsFileError(f"{p}: claims must be [[claim]] tables.")
    claims = [_claim(p, i, t, known) for i, t in enumerate(tables)]
    ids = [c.id for c in claims]
    dupes = sorted({i for i in ids if ids.count(i) > 1})
    if dupes:
        raise ClaimsFileError(f"{p}: claim ids {', '.join(dupes)} repeat; give every claim a unique id.")
    return claims


def _claim(p: Path, i: int, t: dict[str, Any], ports: Mapping[str, Port]) -> Claim:
    cid = t.get("id", f"#{i + 1}")
    missing = [k for k in _REQUIRED if k not in t]
    if missing:
        raise ClaimsFileError(f"{p}: claim {cid!r} lacks {', '.join(missing)}; add the field(s).")
    if t["kind"] not in CLAIM_KINDS:
        raise ClaimsFileError(
            f"{p}: claim {cid!r} has kind={t['kind']!r}; valid kinds: {', '.join(CLAIM_KINDS)}."
        )
    if t["comparator"] not in COMPARATORS:
        raise ClaimsFileError(
            f"{p}: claim {cid!r} has comparator={t['comparator']!r}; valid: {', '.join(COMPARATORS)}."
        )
    claim_ports = t["ports"]
    if not isinstance(claim_ports, list) or not claim_ports:
        raise ClaimsFileError(f"{p}: claim {cid!r} needs ports = [\"from\", \"to\"] (a non-empty list).")
    for port in claim_ports:
        if port not in ports:
            raise ClaimsFileError(
                f"{p}: claim {cid!r} names unknown port {port!r}; valid ports: {', '.join(ports)}."
            )
    since, until = _date(p, cid, "since", t["since"]), _date(p, cid, "until", t["until"])
    if since > until:
        raise ClaimsFileError(
            f"{p}: claim {cid!r} has since={since} after until={until}; swap or fix the dates."
        )
    number = t["number"]
    if not isinstance(number, (int, float)) or isinstance(number, bool) or number < 0:
        raise ClaimsFileError(f"{p}: claim {cid!r} number must be a non-negative number. Got {number!r}.")
    return Claim(
        id=str(cid),
        source=str(t["source"]),
        quote=str(t["quote"]),
        kind=t["kind"],
        ports=tuple(claim_ports),
        since=since,
        until=until,
        comparator=t["comparator"],
        number=float(number),
        unit=str(t.get("unit", "")),
        paraphrase=bool(t.get("paraphrase", False)),
        notes=str(t.get("notes", "")),
        vessels=tuple(t.get("vessels", ())),
        min_length_m=t.get("min_length_m"),
    )


def _date(p: Path, cid: str, key: str, value: Any) -> dt.date:
    if isinstance(value, dt.datetime):
        return value.date()
    if isinstance(value, dt.date):
        return value
    try:
        return dt.date.fromisoformat(str(value))
    except ValueError as err:
        raise ClaimsFileError(
            f"{p}: claim {cid!r} {key}={value!r} is not a date; write it as YYYY-MM-DD."
        ) from err
