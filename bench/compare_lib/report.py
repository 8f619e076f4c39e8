"""Samples summarised: medians, ratios measured in the same run, the table and the JSON file."""

from __future__ import annotations

import json
import os
import statistics
import tempfile
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from .workloads import ALL_PHASES

SCHEMA_VERSION = 1
Key = tuple[str, str, str, str]  # workload, arch, tool, phase


@dataclass(frozen=True)
class Sample:
    seconds: float
    status: str  # "ok", "FAIL" (non-zero exit) or "WRONG-ARCH" (a .so of another machine)
    returncode: int
    max_rss_kib: int
    log: str
    so_machines: dict[str, int] = field(default_factory=dict)


@dataclass(frozen=True)
class Cell:
    status: str
    seconds: float | None
    max_rss_mib: float | None


def summarise(samples: Sequence[Sample]) -> Cell:
    """The median of the repeats; one failed repeat fails the cell."""
    bad = [sample.status for sample in samples if sample.status != "ok"]
    if bad:
        return Cell(bad[0], None, None)
    seconds = statistics.median(sample.seconds for sample in samples)
    rss = statistics.median(sample.max_rss_kib for sample in samples) / 1024
    return Cell("ok", round(seconds, 2), round(rss, 1))


def _ratio(numerator: Cell | None, denominator: Cell | None) -> float | None:
    if numerator is None or denominator is None:
        return None
    if numerator.seconds is None or not denominator.seconds:
        return None
    return round(numerator.seconds / denominator.seconds, 2)


def rows(cells: Mapping[Key, Cell]) -> list[dict[str, Any]]:
    """One row per workload, arch and phase measured, with the ratios of that run."""
    order: list[tuple[str, str]] = []
    for workload, arch, _, _ in cells:
        if (workload, arch) not in order:
            order.append((workload, arch))
    result = []
    for workload, arch in order:
        for phase in ALL_PHASES:
            row = {tool: cells.get((workload, arch, tool, phase)) for tool in ("ours", "sam", "uv")}
            if not any(row.values()):
                continue
            x86 = cells.get((workload, "x86_64", "ours", phase)) if arch == "arm64" else None
            result.append(
                {
                    "workload": workload,
                    "arch": arch,
                    "phase": phase,
                    **row,
                    "ours_over_sam": _ratio(row["ours"], row["sam"]),
                    "ours_over_uv": _ratio(row["ours"], row["uv"]),
                    "arm64_over_x86_64": _ratio(row["ours"], x86),
                }
            )
    return result


def _seconds(cell: Cell | None) -> str:
    if cell is None:
        return "-"
    return f"{cell.seconds:.2f}" if cell.seconds is not None else cell.status


def _number(value: float | None, digits: int = 2) -> str:
    return "-" if value is None else f"{value:.{digits}f}"


HEADER = (
    "workload", "arch", "phase", "ours s", "ours MiB", "SAM s", "uv s",
    "ours/SAM", "ours/uv", "arm64/x86",
)  # fmt: skip


def table(table_rows: Iterable[Mapping[str, Any]]) -> str:
    lines = [HEADER]
    for row in table_rows:
        ours = row["ours"]
        lines.append(
            (
                row["workload"],
                row["arch"],
                row["phase"],
                _seconds(ours),
                _number(ours.max_rss_mib if ours else None, 0),
                _seconds(row["sam"]),
                _seconds(row["uv"]),
                _number(row["ours_over_sam"]),
                _number(row["ours_over_uv"]),
                _number(row["arm64_over_x86_64"]),
            )
        )
    widths = [max(len(line[column]) for line in lines) for column in range(len(HEADER))]
    return "\n".join(
        "  ".join(text.ljust(width) if column < 3 else text.rjust(width)
                  for column, (text, width) in enumerate(zip(line, widths))).rstrip()
        for line in lines
    )  # fmt: skip


def document(
    samples: Mapping[Key, Sequence[Sample]], cells: Mapping[Key, Cell], meta: Mapping[str, Any]
) -> dict[str, Any]:
    results = [
        {
            "workload": workload,
            "arch": arch,
            "tool": tool,
            "phase": phase,
            **asdict(cells[(workload, arch, tool, phase)]),
            "samples": [asdict(sample) for sample in runs],
        }
        for (workload, arch, tool, phase), runs in samples.items()
    ]
    ratios = [
        {key: row[key] for key in row if key not in ("ours", "sam", "uv")} for row in rows(cells)
    ]
    return {"schema_version": SCHEMA_VERSION, **meta, "results": results, "ratios": ratios}


def write_json(path: Path, data: Mapping[str, Any]) -> None:
    """Written beside the destination, then swapped in: a reader never sees half a file."""
    path.parent.mkdir(parents=True, exist_ok=True)
    descriptor, temporary = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    try:
        with os.fdopen(descriptor, "w") as stream:
            json.dump(data, stream, indent=2)
            stream.write("\n")
        os.replace(temporary, path)
    except BaseException:
        os.unlink(temporary)
        raise
