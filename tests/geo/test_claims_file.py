"""Loading and validating seeds/claims.toml."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest

from geo.claims import load_claims
from geo.errors import ClaimsFileError
from geo.settings import seeds_dir

_GOOD = """
[[claim]]
id = "x"
source = "s"
quote = "q"
kind = "trip_count"
ports = ["rajin", "dunai"]
since = 2023-08-20
until = 2023-10-16
comparator = ">="
number = 6
"""


def test_seed_claims_hold_the_article_claims() -> None:
    claims = {c.id: c for c in load_claims()}
    csis = claims["csis-six-trips"]
    assert (csis.kind, csis.ports, csis.number, csis.comparator) == (
        "trip_count",
        ("rajin", "dunai"),
        6,
        ">=",
    )
    assert (csis.since, csis.until) == (dt.date(2023, 8, 20), dt.date(2023, 10, 16))
    wh = claims["whitehouse-1000-containers"]
    assert wh.kind == "container_count" and wh.number == 1000 and wh.comparator == ">"
    rusi = claims["rusi-five-round-trips"]
    assert rusi.vessels == ("Angara", "Maria") and rusi.number == 5
    assert csis.holds_for(6) and not csis.holds_for(5)
    assert not wh.holds_for(1000) and wh.holds_for(1001)
    # Every quote either appears in the source article or is marked as a paraphrase.
    article = (seeds_dir() / "000_91c607e6d8d26268.txt").read_text()
    for claim in claims.values():
        assert claim.paraphrase or claim.quote in article, claim.id


@pytest.mark.parametrize(
    ("old", "new", "message"),
    [
        ('"trip_count"', '"ship_count"', "kind='ship_count'; valid kinds: trip_count"),
        ('["rajin", "dunai"]', '["rajin", "nampo"]', "unknown port 'nampo'"),
        ("until = 2023-10-16", "until = 2023-08-01", "since=2023-08-20 after until=2023-08-01"),
        ('">="', '"~"', "comparator='~'"),
        ("number = 6", "number = -1", "non-negative number"),
        ('quote = "q"\n', "", "lacks quote"),
        ("since = 2023-08-20", 'since = "late August"', "is not a date"),
    ],
)
def test_bad_claims_are_refused_in_one_line(
    tmp_path: Path, old: str, new: str, message: str
) -> None:
    path = tmp_path / "claims.toml"
    path.write_text(_GOOD.replace(old, new))
    with pytest.raises(ClaimsFileError, match=message) as info:
        load_claims(path)
    assert "\n" not in str(info.value) and str(path) in str(info.value)


def test_duplicate_ids_and_bad_toml(tmp_path: Path) -> None:
    path = tmp_path / "claims.toml"
    path.write_text(_GOOD + _GOOD)
    with pytest.raises(ClaimsFileError, match="ids x repeat"):
        load_claims(path)
    path.write_text("[[claim]\n")
    with pytest.raises(ClaimsFileError, match="not readable as TOML"):
        load_claims(path)
