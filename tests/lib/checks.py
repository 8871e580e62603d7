"""What every protocol client in tests/ shares: counting and printing checks."""
from __future__ import annotations

from typing import Any


class Checks:
    """Counts and prints checks; a failed check never stops the run."""

    def __init__(self) -> None:
        self.passed = 0
        self.failed = 0

    def check(self, name: str, ok: bool, detail: Any = "") -> bool:
        if ok:
            self.passed += 1
            print(f"PASS {name}", flush=True)
        else:
            self.failed += 1
            print(f"FAIL {name}: {detail}", flush=True)
        return ok

    def summary(self, label: str) -> int:
        """Prints the closing `label: N passed, M failed` line; the exit status to use."""
        print(f"{label}: {self.passed} passed, {self.failed} failed", flush=True)
        return 1 if self.failed else 0
