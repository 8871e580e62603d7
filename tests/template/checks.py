"""A small check runner for the deployment tests: `@check` registers a function, `expect` fails it,
`Skip` skips it, and `run_all(label)` prints one line per check, then `label: N passed, M failed`
(`, K skipped` when any were) and returns the exit status (1 on any failure)."""

from __future__ import annotations

from typing import Callable

CHECKS: list[Callable[[], None]] = []


class Skip(Exception):
    """Raised by a check that cannot run here (the reason is printed)."""


def check(fn: Callable[[], None]) -> Callable[[], None]:
    CHECKS.append(fn)
    return fn


def expect(condition: bool, message: str) -> None:
    if not condition:
        raise AssertionError(message)


def run_all(label: str) -> int:
    passed = failed = skipped = 0
    for fn in CHECKS:
        name = fn.__name__.replace("_", " ")
        try:
            fn()
        except Skip as skip:
            skipped += 1
            print(f"skip  {name}: {skip}")
        except AssertionError as err:
            failed += 1
            print(f"FAIL  {name}: {err or 'failed'}")
        except Exception as err:  # noqa: BLE001 - a broken check is a failure, with its type
            failed += 1
            print(f"FAIL  {name}: {type(err).__name__}: {err}")
        else:
            passed += 1
            print(f"ok    {name}")
    print(f"{label}: {passed} passed, {failed} failed" + (f", {skipped} skipped" if skipped else ""))
    return 1 if failed else 0
