"""Run in the runtime image: import a bundle's top-level names, call a handler; JSON out.

Standard library only, Python 3.9+, run as a script: ``python runtime_probe.py REQUEST RESULT``.
The bundle is on ``PYTHONPATH`` where Lambda puts it (``/var/task``, ``/opt/python``).
"""

from __future__ import annotations

import contextlib
import decimal
import importlib
import io
import json
import os
import platform
import signal
import sys
import time
import traceback
from typing import Any

OUTPUT_LIMIT = 4000
REQUEST_ID = "00000000-0000-4000-8000-000000000000"


class LambdaContext:
    """The attributes and method of the context object Lambda passes to a handler."""

    def __init__(self, timeout: float = 60.0) -> None:
        name = os.environ.get("AWS_LAMBDA_FUNCTION_NAME", "lambda-builder-verify")
        region = os.environ.get("AWS_REGION", "us-east-1")
        self.function_name = name
        self.function_version = os.environ.get("AWS_LAMBDA_FUNCTION_VERSION", "$LATEST")
        self.invoked_function_arn = f"arn:aws:lambda:{region}:000000000000:function:{name}"
        self.memory_limit_in_mb = os.environ.get("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "128")
        self.aws_request_id = REQUEST_ID
        self.log_group_name = f"/aws/lambda/{name}"
        self.log_stream_name = "lambda-builder-verify"
        self.identity = None
        self.client_context = None
        self._deadline = time.monotonic() + timeout

    def get_remaining_time_in_millis(self) -> int:
        return max(0, int((self._deadline - time.monotonic()) * 1000))


def _describe(error: BaseException) -> str:
    text = "".join(traceback.format_exception_only(type(error), error)).strip()
    frames = [
        frame
        for frame in traceback.extract_tb(error.__traceback__)
        if frame.filename != __file__ and not frame.filename.startswith("<frozen")
    ]
    if frames:
        text += f" (at {frames[-1].filename}:{frames[-1].lineno})"
    return text


def _decimal(value: Any) -> float:
    # Lambda's own encoder turns Decimal into a number and refuses every other unknown type.
    if isinstance(value, decimal.Decimal):
        return float(value)
    raise TypeError(f"Object of type {type(value).__name__} is not JSON serializable")


# Generous limits: Lambda allows a handler 900 s; imports get room for QEMU's slowness.
IMPORT_SECONDS = int(os.environ.get("LAMBDA_BUILDER_IMPORT_TIMEOUT", "120"))
HANDLER_SECONDS = int(os.environ.get("LAMBDA_BUILDER_HANDLER_TIMEOUT", "900"))


@contextlib.contextmanager
def deadline(seconds: int) -> Any:
    """Turn a hung import or handler into a reported TimeoutError instead of a hung build."""

    def expire(signum: int, frame: Any) -> None:
        raise TimeoutError(f"still running after {seconds} s")

    if not hasattr(signal, "SIGALRM"):  # Windows (host-mode verify): no alarm to set
        yield
        return
    previous = signal.signal(signal.SIGALRM, expire)
    signal.alarm(seconds)
    try:
        yield
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, previous)


def try_import(name: str) -> dict[str, Any]:
    captured = io.StringIO()
    try:
        with (
            contextlib.redirect_stdout(captured),
            contextlib.redirect_stderr(captured),
            deadline(IMPORT_SECONDS),
        ):
            importlib.import_module(name)
    except BaseException as error:  # SystemExit or KeyboardInterrupt at a module's top level too
        return {"name": name, "ok": False, "error": _describe(error)}
    return {"name": name, "ok": True, "error": ""}


def call_handler(spec: str, event: Any) -> dict[str, Any]:
    """Call ``module.function(event, context)`` as Lambda does, and marshal what it returns."""
    module_name, _dot, function_name = spec.rpartition(".")
    outcome: dict[str, Any] = {
        "handler": spec,
        "ok": False,
        "result": None,
        "error": "",
        "output": "",
    }
    if not module_name or not function_name:
        outcome["error"] = "the handler must be written module.function"
        return outcome
    captured = io.StringIO()
    try:
        with contextlib.redirect_stdout(captured), contextlib.redirect_stderr(captured):
            module = importlib.import_module(module_name.replace("/", "."))
            function = getattr(module, function_name)
            value = function(event, LambdaContext())
        outcome["result"] = json.loads(json.dumps(value, default=_decimal))
        outcome["ok"] = True
    except TypeError as error:
        outcome["error"] = (
            _describe(error)
            if "serializable" not in str(error)
            else f"Runtime.MarshalError: Unable to marshal response: {error}"
        )
    except BaseException as error:
        outcome["error"] = _describe(error)
    outcome["output"] = captured.getvalue()[-OUTPUT_LIMIT:]
    return outcome


def _glibc() -> str:
    try:
        return (os.confstr("CS_GNU_LIBC_VERSION") or "").split()[-1]
    except (ValueError, OSError, AttributeError, IndexError):
        return ""


def main(argv: list[str]) -> int:
    if len(argv) != 2:
        sys.stderr.write("usage: python runtime_probe.py REQUEST.json RESULT.json\n")
        return 2
    here = os.path.dirname(os.path.abspath(__file__))
    sys.path[:] = [p for p in sys.path if os.path.abspath(p or ".") != here]
    with open(argv[0], encoding="utf-8") as stream:
        request = json.load(stream)
    result: dict[str, Any] = {
        "python": platform.python_version(),
        "machine": platform.machine(),
        "glibc": _glibc(),
        "imports": [try_import(name) for name in request.get("modules", [])],
        "handler": None,
    }
    if request.get("handler"):
        with deadline(HANDLER_SECONDS):
            result["handler"] = call_handler(request["handler"], request.get("event"))
    with open(argv[1] + ".tmp", "w", encoding="utf-8") as stream:
        json.dump(result, stream, indent=2, sort_keys=True, default=repr)
    os.replace(argv[1] + ".tmp", argv[1])
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
