"""Entry point: ``python -m <staged name> JOB.json RESULT.json [PHASE]``."""

from __future__ import annotations

import os
import platform
import sys

from .install import InstallError
from .passes import make_runner, pip_version
from .pipeline import PHASES, Pipeline
from .protocol import (
    EXPECT_VARIABLE,
    JobError,
    PipelineFailure,
    Result,
    emit,
    read_job,
    write_result,
)


def _glibc() -> str:
    try:
        return (os.confstr("CS_GNU_LIBC_VERSION") or "").split()[-1]  # "glibc 2.34"
    except (ValueError, OSError, AttributeError, IndexError):
        return ""


def _facts() -> tuple[str, str]:
    return platform.machine(), "{}.{}".format(*sys.version_info[:2])


def _mismatch(expected: str) -> bool:
    return bool(expected) and tuple(expected.split()) != _facts()


def main(argv: list[str]) -> int:
    if len(argv) not in (2, 3) or (len(argv) == 3 and argv[2] not in PHASES):
        usage = f"usage: python -m <pipeline> JOB.json RESULT.json [{'|'.join(PHASES)}]"
        sys.stderr.write(usage + "\n")
        return 2
    job_path, result_path = argv[:2]
    phase = argv[2] if len(argv) == 3 else "all"
    if _mismatch(os.environ.get(EXPECT_VARIABLE, "")):
        # The host compares the facts below with what it asked for and says what is wrong.
        result = Result(status="error", error={"kind": "image", "message": "", "hint": ""})
        result.python, result.machine = platform.python_version(), platform.machine()
        write_result(result, result_path)
        return 1
    try:
        job = read_job(job_path)
    except (OSError, ValueError, KeyError, JobError) as error:
        result = Result(status="error", error={"kind": "job", "message": str(error), "hint": ""})
        write_result(result, result_path)
        return 1
    pipeline = Pipeline(job, make_runner(job.pip_env, job.verbose))
    try:
        result = pipeline.execute(phase)
    except PipelineFailure as failure:
        result = pipeline.result
        result.status = "error"
        result.error = {"kind": failure.kind, "message": failure.message, "hint": failure.hint}
    except InstallError as error:
        result = pipeline.result
        result.status = "error"
        result.error = {"kind": "install", "message": str(error), "hint": ""}
    finally:
        if pipeline.is_final(phase) or pipeline.result.status == "error":
            pipeline.clean()
    result.python = platform.python_version()
    result.pip = pip_version()
    result.machine = platform.machine()
    result.glibc = _glibc()
    write_result(result, result_path)
    emit("done", status=result.status)
    return 0 if result.status in ("ok", "build-needed") else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
