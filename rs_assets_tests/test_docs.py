"""README.md documents every status and reason code the tables can hold, and no code that is gone: each
vocabulary has one table whose header names it, and its rows are exactly the vocabulary's codes."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from rs_assets.lib.records import DROP_REASONS, RAW_STATUSES
from rs_assets.lib.release.samples import EXCLUSION_REASONS
from rs_assets.lib.stages import STAGES

README = Path(__file__).resolve().parents[1] / "README.md"
VOCABULARIES = {
    "raw_scrape.status": RAW_STATUSES,
    "filtered_pool.drop_reason": DROP_REASONS,
    "captions.status": STAGES["captions"].vocabularies["status"],
    "instruction_sets.skip_reason": STAGES["instruction_sets"].vocabularies["skip_reason"],
    "release exclusion reason": EXCLUSION_REASONS,
}


def documented_codes(text: str, vocabulary: str) -> list[str]:
    """The first-column codes of the README table whose header's first cell is `vocabulary`."""
    lines = text.splitlines()
    header = f"| `{vocabulary}` |"
    starts = [i for i, line in enumerate(lines) if line.startswith(header)]
    assert len(starts) == 1, f"README.md needs exactly one table headed {header!r}, found {len(starts)}"
    codes = []
    for line in lines[starts[0] + 2 :]:  # skip the header and its |---| line
        if not line.startswith("|"):
            break
        match = re.match(r"\|\s*`([a-z_]+)`\s*\|", line)
        assert match, f"README.md, table {vocabulary!r}: row without a `code` first cell: {line!r}"
        codes.append(match.group(1))
    return codes


@pytest.mark.parametrize("vocabulary", VOCABULARIES)
def test_every_code_of_the_vocabulary_is_documented_in_the_readme(vocabulary: str) -> None:
    codes = documented_codes(README.read_text(encoding="utf-8"), vocabulary)
    expected = set(VOCABULARIES[vocabulary])
    assert len(codes) == len(set(codes)), f"{vocabulary}: a code is listed twice"
    assert expected - set(codes) == set(), f"{vocabulary}: codes missing from README.md"
    assert set(codes) - expected == set(), f"{vocabulary}: README.md lists codes the code does not have"


def test_the_table_reader_sees_a_missing_code() -> None:
    """The check above can fail: a table lacking a code, or listing an unknown one, is seen."""
    table = "| `raw_scrape.status` | meaning |\n|---|---|\n| `ok` | fine |\n| `gone_code` | stale |\n\ntext"
    assert documented_codes(table, "raw_scrape.status") == ["ok", "gone_code"]
