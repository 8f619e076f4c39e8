"""Reading buildx's rawjson progress: whole lines per step, cached steps, errors."""

from __future__ import annotations

import base64
import json

from builder.docker.buildx_progress import ProgressReader


def _doc(**fields: object) -> str:
    return json.dumps(fields, indent=2) + "\n"


def _log(vertex: str, data: bytes) -> dict[str, object]:
    return {"vertex": vertex, "stream": 1, "data": base64.b64encode(data).decode()}


def test_lines_split_across_chunks_and_documents_come_out_whole() -> None:
    lines: list[tuple[str, str]] = []
    reader = ProgressReader(lambda name, line: lines.append((name, line)))
    text = _doc(vertexes=[{"digest": "d1", "name": "[pipeline 2/2] RUN launch.py"}])
    text += _doc(logs=[_log("d1", b"hel")]) + _doc(logs=[_log("d1", b"lo\nwor")])
    text += _doc(logs=[_log("d1", b"ld\r\nlast")])
    for index in range(0, len(text), 7):  # documents cut anywhere, as a pipe delivers them
        reader.feed(text[index : index + 7])
    reader.close()
    assert lines == [("[pipeline 2/2] RUN launch.py", part) for part in ("hello", "world", "last")]


def test_cached_and_failed_steps_are_remembered() -> None:
    reader = ProgressReader(lambda name, line: None)
    reader.feed(_doc(vertexes=[{"digest": "a", "name": "[pipeline 2/2] RUN x launch.py"}]))
    reader.feed(
        _doc(
            vertexes=[
                {
                    "digest": "a",
                    "name": "[pipeline 2/2] RUN x launch.py",
                    "cached": True,
                    "completed": "t",
                }
            ]
        )
    )
    reader.feed(_doc(vertexes=[{"digest": "b", "name": "[builder 1/2] FROM x", "error": "boom"}]))
    reader.close()
    step = reader.find(lambda name: "launch.py" in name)
    assert step is not None and step.cached and step.completed
    assert reader.errors() == ["[builder 1/2] FROM x: boom"]


def test_plain_text_from_buildx_is_kept_apart() -> None:
    reader = ProgressReader(lambda name, line: None)
    reader.feed(_doc(vertexes=[]) + "ERROR: failed to solve: no such image\n")
    reader.feed("trailing without newline")
    reader.close()
    assert reader.other == ["ERROR: failed to solve: no such image", "trailing without newline"]
