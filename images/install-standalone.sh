#!/bin/sh
# Install lambda-builder into the Lambda image's own Python (the compose `standalone` stage).
set -eu
if [ -s /run/secrets/ca_bundle ]; then
    export PIP_CERT=/run/secrets/ca_bundle
fi
/var/lang/bin/python3 -m pip install --no-cache-dir --disable-pip-version-check /opt/lambda-builder/src
/var/lang/bin/python3 -m builder --help >/dev/null
