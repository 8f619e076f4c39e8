#!/bin/sh
# Run lambda-builder in host mode inside the Lambda image (compose.yaml), trusting the CA bundle
# mounted as a compose secret when one is given.
set -eu
if [ -s /run/secrets/ca_bundle ]; then
    export PIP_CERT=/run/secrets/ca_bundle SSL_CERT_FILE=/run/secrets/ca_bundle
fi
exec /var/lang/bin/python3 -m builder "$@"
