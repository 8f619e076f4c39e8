#!/bin/sh
# Give a Lambda base image what building sdists needs: a C/C++ toolchain that compiles against the
# image's own glibc and Python, and git plus an SSH client for VCS dependencies.
# Amazon Linux 2023 (python3.12+) has dnf or microdnf, Amazon Linux 2 (python3.9-3.11) has yum; an image that
# already has all of it (a mirror, a stand-in) is left as it is.
set -eu

missing=""
command -v gcc >/dev/null 2>&1 || missing="$missing gcc"
command -v g++ >/dev/null 2>&1 || missing="$missing g++"
command -v make >/dev/null 2>&1 || missing="$missing make"
command -v git >/dev/null 2>&1 || missing="$missing git"
command -v ssh >/dev/null 2>&1 || missing="$missing ssh"

if [ -z "$missing" ]; then
    echo "lambda-builder: toolchain already present: $(gcc --version | head -n 1)"
elif command -v microdnf >/dev/null 2>&1 && ! command -v dnf >/dev/null 2>&1; then
    # The AL2023 minimal image under the Lambda images may carry microdnf alone.
    microdnf install -y gcc gcc-c++ make tar gzip findutils git openssh-clients
    microdnf clean all
elif command -v dnf >/dev/null 2>&1; then
    dnf install -y gcc gcc-c++ make tar gzip findutils git openssh-clients
    dnf clean all
    rm -rf /var/cache/dnf
elif command -v yum >/dev/null 2>&1; then
    yum install -y gcc gcc-c++ make tar gzip findutils git openssh-clients
    yum clean all
    rm -rf /var/cache/yum
elif command -v apt-get >/dev/null 2>&1 && ! command -v gcc >/dev/null 2>&1; then
    apt-get update
    DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends \
        gcc g++ make libc6-dev git openssh-client
    rm -rf /var/lib/apt/lists/*
elif command -v gcc >/dev/null 2>&1; then
    echo "lambda-builder: gcc present, without:$missing (no dnf/yum to add them)"
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
