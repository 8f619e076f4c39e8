#!/bin/sh
# Give a Lambda base image a C/C++ toolchain so sdists compile against its own glibc and Python.
# Amazon Linux 2023 (python3.12+) has dnf, Amazon Linux 2 (python3.9-3.11) has yum; an image
# that already has a compiler (a mirror, a stand-in) is left as it is.
set -eu

if command -v gcc >/dev/null 2>&1 && command -v g++ >/dev/null 2>&1; then
    echo "lambda-builder: compiler already present: $(gcc --version | head -n 1)"
elif command -v gcc >/dev/null 2>&1; then
    echo "lambda-builder: gcc present (no g++): $(gcc --version | head -n 1)"
elif command -v dnf >/dev/null 2>&1; then
    dnf install -y gcc gcc-c++ make tar gzip findutils
    dnf clean all
    rm -rf /var/cache/dnf
elif command -v yum >/dev/null 2>&1; then
    yum install -y gcc gcc-c++ make tar gzip findutils
    yum clean all
    rm -rf /var/cache/yum
elif command -v apt-get >/dev/null 2>&1; then
    apt-get update
    DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends gcc g++ make libc6-dev
    rm -rf /var/lib/apt/lists/*
else
    echo "lambda-builder: no compiler and no package manager (dnf, yum, apt-get) in the image" >&2
    exit 1
fi

# Lambda images keep Python in /var/lang; stand-ins and mirrors may not.
if [ ! -x /var/lang/bin/python3 ]; then
    mkdir -p /var/lang/bin
    ln -sf "$(command -v python3)" /var/lang/bin/python3
fi
/var/lang/bin/python3 -m pip --version
mkdir -p /lambda-builder
