"""The packaging pipeline that runs under the target's own Python (stdlib and pip only).

This package is copied into the build container (or run on a matching host) and started with
``python -m <staged name> JOB RESULT``. It must never import the host side (``builder.*``) and
uses relative imports only, so it works under whatever name it is staged as.
"""
