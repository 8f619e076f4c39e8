"""Reading the pipeline's output stream: progress events for the UI, the rest as log lines."""

from __future__ import annotations

import json

from builder.incontainer.protocol import EVENT_PREFIX
from builder.redact import redact
from builder.ui import BuildUI


def relay_line(line: str, target: str, ui: BuildUI) -> None:
    line = redact(line.rstrip("\r\n"))
    if not line.startswith(EVENT_PREFIX):
        ui.log(target, line.strip())
        return
    try:
        event = json.loads(line[len(EVENT_PREFIX) :])
    except ValueError:
        ui.log(target, line)
        return
    if event.get("event") == "step":
        ui.step(target, str(event.get("message", "")))
