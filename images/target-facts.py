"""Print the target's marker environment as pip computes it, and its glibc, as JSON.

Standard library only: it runs on the bare base image. Run once when the builder image is
built (the output stays in the image), or by the host against a base image whose builder image
does not exist yet (builder/docker/cross.py), under emulation for a foreign architecture.
"""

import json
import os
import platform
import sys


def version_text(info):
    version = f"{info.major}.{info.minor}.{info.micro}"
    if info.releaselevel != "final":
        version += info.releaselevel[0] + str(info.serial)
    return version


glibc = (os.confstr("CS_GNU_LIBC_VERSION") or "glibc 0.0").split()[-1]
markers = {
    "implementation_name": sys.implementation.name,
    "implementation_version": version_text(sys.implementation.version),
    "os_name": os.name,
    "platform_machine": platform.machine(),
    "platform_release": platform.release(),
    "platform_system": platform.system(),
    "platform_version": platform.version(),
    "python_full_version": platform.python_version(),
    "platform_python_implementation": platform.python_implementation(),
    "python_version": ".".join(platform.python_version_tuple()[:2]),
    "sys_platform": sys.platform,
}
print(json.dumps({"glibc": glibc, "markers": markers}))
