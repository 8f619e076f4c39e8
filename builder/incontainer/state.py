"""What the passes know about each package, and carrying it from one phase to the next."""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field

from .protocol import MissingPackage, Result


@dataclass
class Sorted:
    """What is known about each package (by canonical name) as the passes go on."""

    versions: dict[str, str] = field(default_factory=dict)
    chosen: dict[str, tuple[str, str, str]] = field(default_factory=dict)  # wheel, how, detail
    sdists: dict[str, str] = field(default_factory=dict)
    incompatible: dict[str, str] = field(default_factory=dict)
    failures: dict[str, str] = field(default_factory=dict)
    built_on: dict[str, str] = field(default_factory=dict)  # native | emulated | host

    def unresolved(self) -> list[str]:
        names = set(self.sdists) | set(self.incompatible) | set(self.failures)
        return sorted(names - set(self.chosen))


def save_state(path: str, state: Sorted, result: Result) -> None:
    """What the passes learnt, for the next phase (possibly in another container)."""
    data = {
        "state": asdict(state),
        "warnings": result.warnings,
        "missing": [asdict(missing) for missing in result.missing],
    }
    with open(path, "w", encoding="utf-8") as stream:
        json.dump(data, stream)


def load_state(path: str, result: Result) -> Sorted:
    """The state a previous phase saved; its warnings and missing packages go to ``result``."""
    with open(path, encoding="utf-8") as stream:
        data = json.load(stream)
    state = data["state"]
    state["chosen"] = {name: tuple(chosen) for name, chosen in state["chosen"].items()}
    result.warnings = list(data["warnings"])
    result.missing = [MissingPackage(**missing) for missing in data["missing"]]
    return Sorted(**state)
