"""Run Salt 3007.8's distribution-grain code on os-release/lsb-release texts
stored under a fake root directory (argv[1]); print the grains as JSON.
Used by minion/tests/grains_vs_salt.rs."""
import json
import os
import sys

import distro

import salt.grains.core as core

root = sys.argv[1]


def _read(rel):
    path = os.path.join(root, rel)
    if os.path.exists(path):
        with open(path, encoding="utf-8") as fh:
            return fh.read()
    return None


def _os_release():
    import platform

    text = _read("etc/os-release")
    if text is None:
        raise OSError(2, "missing")
    return platform._parse_os_release(text.splitlines(keepends=True))


def _lsb():
    grains = {}
    text = _read("etc/lsb-release")
    if text is not None:
        for line in text.splitlines():
            match = core._LSB_REGEX.match(line)
            if match:
                key, value = match.groups()[:2]
                grains[f"lsb_{key.lower()}"] = value.rstrip()
    return grains, True


_dist = distro.LinuxDistribution(root_dir=root, include_lsb=False, include_uname=False)
core._freedesktop_os_release = _os_release
core._linux_lsb_distrib_data = _lsb
core._linux_distribution = lambda: (
    _dist.name(),
    _dist.version(best=True),
    _dist.codename(),
)
grains = core._linux_distribution_data()
if grains.get("osrelease"):
    grains.update(
        core._osrelease_data(grains["os"], grains["osfullname"], grains["osrelease"])
    )
print(json.dumps(grains))
