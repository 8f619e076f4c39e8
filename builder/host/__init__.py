"""This machine: the workspace a pipeline run uses, host mode, copying sources, swapping outputs in.

It touches the local filesystem, asks this machine's keyring for index credentials and starts
the pipeline as a local process; it may import the core and ``builder.incontainer``'s protocol,
never ``builder.docker``, ``builder.artifacts``, ``builder.api`` or ``builder.cli``.
"""
