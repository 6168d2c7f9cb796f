"""Shared fixtures: the repository root, the sample tape, the msr binary."""

import os
import shutil
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
SAMPLE = ROOT / "data" / "sample_loans.parquet"
NOTES = ROOT / "data" / "sample_notes.parquet"


def msr_binary():
    """The msr binary for the bit-for-bit comparison: MSR_BIN, else the
    workspace's target/debug or target/release build. With MSR_REQUIRE_CLI=1
    (as .ci/run sets) its absence fails instead of skipping."""
    for cand in [os.environ.get("MSR_BIN"), ROOT / "target/debug/msr", ROOT / "target/release/msr", shutil.which("msr")]:
        if cand and Path(cand).is_file():
            return str(cand)
    if os.environ.get("MSR_REQUIRE_CLI") == "1":
        pytest.fail("MSR_REQUIRE_CLI=1 but no msr binary (set MSR_BIN)")
    pytest.skip("no msr binary to compare with (build it or set MSR_BIN)")


@pytest.fixture(autouse=True)
def _in_root(monkeypatch):
    monkeypatch.chdir(ROOT)
