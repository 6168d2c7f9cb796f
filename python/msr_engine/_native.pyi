"""Type stubs of the native module (python/src/lib.rs)."""

from typing import List, Optional, Tuple

CANCELLED: int

def run(argv: List[str], threads: Optional[int] = None) -> Tuple[int, str]:
    """Run one msr command (argv without the program name): (exit class, message)."""

def engine_version() -> str:
    """The engine version (msr --version)."""
