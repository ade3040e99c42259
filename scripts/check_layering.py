#!/usr/bin/env python3
"""Fails when a source file includes a header of a layer above its own (issue 13, item 6).

The exporter's folders are layered libraries (exporter/CMakeLists.txt):
    snapshot, identity, metrics  <  areas, compat  <  outputs  <  http, privilege, config, pipeline, main
An area sees only its own folder, the area interface (areas/area.h) and the layers below it;
config.h, http/options.h and privilege/policy_needs.h are plain data every layer may read. The
sampler and the exporter never include each other; common and shm-schema include neither.
Usage: scripts/check_layering.py [ROOT]   (exit 1 and one line per violation)
"""
import os
import re
import sys

ROOT = os.path.abspath(sys.argv[1] if len(sys.argv) > 1 else os.path.join(os.path.dirname(__file__), ".."))
INCLUDE = re.compile(r'^\s*#\s*include\s+"([^"]+)"', re.M)
DATA = {"config.h", "http/options.h", "privilege/policy_needs.h"}

# exporter folder -> folders (or files) it may include, besides itself and DATA.
EXPORTER = {
    "snapshot": set(),
    "identity": set(),
    "metrics": set(),
    "areas": {"identity", "metrics", "snapshot"},
    "compat": {"metrics"},
    "outputs": {"metrics", "opentelemetry", "google"},  # opentelemetry/, google/rpc: protoc's code from proto/
    "privilege": set(),
    "http": {"outputs", "metrics", "areas", "identity", "snapshot", "privilege", "pipeline.h", "self_metrics.h"},
}
EXPORTER_TOP = {"config.h", "config.cc", "pipeline.h", "pipeline.cc", "self_metrics.h", "self_metrics.cc", "main.cc"}


def sources(base):
    for d, _, files in os.walk(base):
        for f in files:
            if f.endswith((".h", ".cc", ".c")):
                yield os.path.join(d, f)


def exporter_layer(rel):  # rel: path inside exporter/
    parts = rel.split("/")
    return parts[0] if len(parts) > 1 else None


def check_exporter(violations):
    base = os.path.join(ROOT, "exporter")
    for path in sources(base):
        rel = os.path.relpath(path, base)
        layer = exporter_layer(rel)
        text = open(path, encoding="utf-8", errors="replace").read()
        for inc in INCLUDE.findall(text):
            if inc.startswith("sources/"):
                violations.append(f"exporter/{rel}: includes the sampler's {inc}")
                continue
            if inc.startswith("hostflow/") or inc in DATA:
                continue
            target = inc.split("/")[0] if "/" in inc else inc
            if layer is None:  # top-level files: anything of the exporter
                continue
            if target == layer:
                # Areas (and profiles): only their own folder and the interface/registry of
                # the root.
                if layer in ("areas", "compat"):
                    own = rel.split("/")[1] if rel.count("/") >= 2 else None
                    parts = inc.split("/")
                    if len(parts) >= 3 and own != parts[1] and own is not None:
                        violations.append(f"exporter/{rel}: {layer}/{own} includes another one's {inc}")
                continue
            allowed = EXPORTER.get(layer, set())
            if target in allowed or inc in allowed:
                continue
            violations.append(f"exporter/{rel}: layer '{layer}' includes '{inc}' (allowed: {sorted(allowed) or 'none'})")


def check_no_cross(dirname, forbidden_prefixes, violations):
    base = os.path.join(ROOT, dirname)
    for path in sources(base):
        text = open(path, encoding="utf-8", errors="replace").read()
        for inc in INCLUDE.findall(text):
            for p in forbidden_prefixes:
                if inc.startswith(p):
                    violations.append(f"{os.path.relpath(path, ROOT)}: includes {inc}")


def main():
    violations = []
    check_exporter(violations)
    # Folders only the exporter has (the sampler has a privilege/ of its own).
    exporter_folders = tuple(f + "/" for f in EXPORTER if f != "privilege") + tuple(EXPORTER_TOP)
    check_no_cross("sampler", exporter_folders, violations)
    check_no_cross("common", exporter_folders + ("sources/", "privilege/"), violations)
    check_no_cross("shm-schema", exporter_folders + ("sources/", "privilege/"), violations)
    for v in violations:
        print(v)
    if violations:
        print(f"{len(violations)} include(s) against the layering (scripts/check_layering.py)")
        return 1
    print("layering ok")
    return 0


if __name__ == "__main__":
    sys.exit(main())
