"""The Docker gateway: engine connection, builder image, containers, archives, emulation probes,
and the buildx backend (``docker buildx build`` on a builder, local or remote).

The only package that imports the ``docker`` SDK; nothing from ``docker.errors`` leaves it
(errors become ``builder.errors.DockerError``). It may import ``builder.host`` (the workspace a
run uses) and the core; it must not import ``builder.cli``, ``builder.api`` or
``builder.artifacts``.
"""
