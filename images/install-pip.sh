#!/bin/sh
# Put lambda-builder's own pip (copied into the build context as images/pip) beside the image's
# pip, byte-compiled now so no build pays for it. The pipeline puts /opt/lambda-builder/pip first
# on PYTHONPATH when it exists. Skipped when the image's Python is older than that pip supports,
# or the image's pip is at least as new; a context without images/pip (compose) has nothing to do.
set -eu
source=/opt/lambda-builder/images/pip
destination=/opt/lambda-builder/pip
[ -d "$source/pip" ] || exit 0
if /var/lang/bin/python3 - "$source/METADATA" <<'PY'
import re, sys
import pip  # the image's own

def release(text):
    return tuple(int(part) for part in re.findall(r"\d+", text)[:3])

metadata = open(sys.argv[1], encoding="utf-8").read()
version = re.search(r"^Version: (\S+)", metadata, re.M).group(1)
needs = re.search(r"^Requires-Python: >=\s*(\d+)\.(\d+)", metadata, re.M)
runs = needs is None or sys.version_info[:2] >= (int(needs.group(1)), int(needs.group(2)))
newer = release(version) > release(pip.__version__)
print(f"lambda-builder: image pip {pip.__version__}, bundled pip {version}: "
      + ("using the bundled one" if runs and newer else "keeping the image's"))
sys.exit(0 if runs and newer else 1)
PY
then
    mkdir -p "$destination"
    cp -R "$source/pip" "$destination/pip"
    /var/lang/bin/python3 -m compileall -q "$destination/pip" >/dev/null
    PYTHONPATH="$destination" /var/lang/bin/python3 -m pip --version
    # The image's own pip built setup.py-only sdists with the image's setuptools and wheel, not
    # in an isolated environment (pip before 23.1 did, when both import); the pipeline keeps
    # doing that for them, which also spares installing setuptools per sdist under QEMU.
    if /var/lang/bin/python3 -c "import setuptools, wheel" 2>/dev/null; then
        touch "$destination/legacy-builds"
    fi
fi
