"""Entry point: ``python -m <staged name> JOB.json RESULT.json``."""

from __future__ import annotations

import os
import platform
import sys

from .install import InstallError
from .passes import make_runner
from .pipeline import Pipeline, PipelineFailure
from .protocol import JobError, Result, emit, read_job, write_result


def _glibc() -> str:
    try:
        return (os.confstr("CS_GNU_LIBC_VERSION") or "").split()[-1]  # "glibc 2.34"
    except (ValueError, OSError, AttributeError, IndexError):
        return ""


def main(argv: list[str]) -> int:
    if len(argv) != 2:
        sys.stderr.write("usage: python -m <pipeline> JOB.json RESULT.json\n")
        return 2
    job_path, result_path = argv
    try:
        job = read_job(job_path)
    except (OSError, ValueError, KeyError, JobError) as error:
        result = Result(status="error", error={"kind": "job", "message": str(error), "hint": ""})
        write_result(result, result_path)
        return 1
    pipeline = Pipeline(job, make_runner(job.pip_env, job.verbose))
    try:
        result = pipeline.execute()
    except PipelineFailure as failure:
        result = pipeline.result
        result.status = "error"
        result.error = {"kind": failure.kind, "message": failure.message, "hint": failure.hint}
    except InstallError as error:
        result = pipeline.result
        result.status = "error"
        result.error = {"kind": "install", "message": str(error), "hint": ""}
    finally:
        pipeline.clean()
    result.python = platform.python_version()
    result.machine = platform.machine()
    result.glibc = _glibc()
    write_result(result, result_path)
    emit("done", status=result.status)
    return 0 if result.status == "ok" else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
