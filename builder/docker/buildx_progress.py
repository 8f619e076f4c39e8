"""Reading ``docker buildx build --progress rawjson``: steps, their log lines, cached or not.

buildx writes one indented JSON document per status update, back to back; a step's log
arrives base64-encoded in chunks that may split a line. Pure: fed text, it calls back with
whole lines, and remembers which steps ran, came from the cache or failed.
"""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Callable
from dataclasses import dataclass, field

# (step name, one line of its output)
LineSink = Callable[[str, str], None]


@dataclass
class Vertex:
    name: str = ""
    cached: bool = False
    completed: bool = False
    error: str = ""


@dataclass
class ProgressReader:
    on_line: LineSink
    vertexes: dict[str, Vertex] = field(default_factory=dict)
    other: list[str] = field(default_factory=list)  # what was not JSON: buildx's own errors
    _text: str = ""
    _partial: dict[str, bytes] = field(default_factory=dict)

    def feed(self, text: str) -> None:
        self._text += text
        decoder = json.JSONDecoder()
        while True:
            stripped = self._text.lstrip()
            if not stripped:
                self._text = ""
                return
            if not stripped.startswith("{"):
                line, newline, rest = stripped.partition("\n")
                if not newline:  # wait for the whole line
                    self._text = stripped
                    return
                self.other.append(line.rstrip("\r"))
                self._text = rest
                continue
            try:
                document, end = decoder.raw_decode(stripped)
            except ValueError:  # incomplete: wait for more
                self._text = stripped
                return
            self._text = stripped[end:]
            if isinstance(document, dict):
                self._apply(document)

    def close(self) -> None:
        """Flush what is left: a last line without a newline, unfinished step logs."""
        if self._text.strip():
            self.other.extend(self._text.strip().splitlines())
        self._text = ""
        for digest, pending in list(self._partial.items()):
            if pending:
                self._emit(digest, pending)
        self._partial.clear()

    def _apply(self, document: dict[str, object]) -> None:
        for item in _dicts(document.get("vertexes")):
            digest = str(item.get("digest", ""))
            vertex = self.vertexes.setdefault(digest, Vertex())
            vertex.name = str(item.get("name", vertex.name))
            vertex.cached = vertex.cached or bool(item.get("cached"))
            vertex.completed = vertex.completed or bool(item.get("completed"))
            vertex.error = str(item.get("error") or vertex.error)
        for item in _dicts(document.get("logs")):
            digest = str(item.get("vertex", ""))
            try:
                data = base64.b64decode(str(item.get("data", "")))
            except (binascii.Error, ValueError):
                continue
            *complete, rest = (self._partial.get(digest, b"") + data).split(b"\n")
            self._partial[digest] = rest
            for raw in complete:
                self._emit(digest, raw)

    def _emit(self, digest: str, raw: bytes) -> None:
        name = self.vertexes.get(digest, Vertex()).name
        self.on_line(name, raw.decode("utf-8", "replace").rstrip("\r"))

    def find(self, predicate: Callable[[str], bool]) -> Vertex | None:
        return next((v for v in self.vertexes.values() if predicate(v.name)), None)

    def errors(self) -> list[str]:
        return [f"{v.name}: {v.error}" for v in self.vertexes.values() if v.error]


def _dicts(value: object) -> list[dict[str, object]]:
    return [item for item in value if isinstance(item, dict)] if isinstance(value, list) else []
