#!/usr/bin/env python3
"""The recording rules of docs/compat/<tool>.rules.yml against the profiles (issue 14).

For every rules file: the native golden expositions (tests/golden/<area>.prom, one snapshot of
every area) are the input series of a `promtool test rules` case, and every sample of the
profile's own golden (tests/golden/compat_<tool>.prom, the same snapshot through --compat=<tool>)
is an expected sample of the family of that name. So the rules compute, from the native
families, exactly what the profile serves: same series (label sets), same values. A second case
feeds the same series as scraped from two targets with an extra target label: the rules must keep
targets apart and keep their labels.

Three kinds of exception, each listed here by name with its reason, none silent:
  NOT_REPRODUCED  families no PromQL over the native series can compute (they need the profile's
                  state across snapshots, or a quantity with no native family). The rules file
                  must not record them, docs/compat.md's "Recording rules: <tool>" section must
                  name each, and they are left out of the expected samples.
  LABELS_ONLY     families computed from a native value that the goldens normalise (measured at
                  render time: tests/unit/golden_test.cc, kMeasured), so the profile saw a value
                  the rules are not given: their series (label sets) are compared, not values.
  SETTINGS        records that stand for exporter flags no native series carries: the rules file
                  must have the record (as `- record: NAME` + `expr: >` + indented lines); the
                  test replaces its expression with the golden scenario's flags.
Usage: tests/compat_rules_test.py [ROOT]   (exit 1 on a failure; needs promtool)
"""
import glob
import json
import os
import re
import subprocess
import sys
import tempfile

ROOT = os.path.abspath(sys.argv[1] if len(sys.argv) > 1 else os.path.join(os.path.dirname(__file__), ".."))
SAMPLE = re.compile(r'^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{.*\})? (\S+)$')

_LISTS = ["tor_exit", "tor_relay", "spamhaus", "emergingthreats", "customlist"]
NOT_REPRODUCED = {
    "oie": {
        **{f"oie_{l}_contact": "a running sum of the active contacts over the profile's snapshots "
                               "(state across snapshots)" for l in _LISTS},
        "oie_host_collection_lag_seconds": "the previous snapshot's timestamp (state across snapshots)",
        "oie_cache_cleanup_duration_seconds": "the profile's own minute-tick cleanup of its state",
        "oie_cache_evictions_total": "the profile's own minute-tick cleanup of its state",
        "oie_host_go_heap_alloc_bytes": "the exporter's allocator in use: no native family",
    },
}
LABELS_ONLY = {
    "oie": {
        "oie_static_cache_entries": "counts lists whose hostflow_threat_feed_last_success_timestamp_"
                                    "seconds > 0, normalised to 0 in the goldens",
    },
}
# The golden scenario's flags (tests/unit/golden_test.cc, render_scenario: cfg.conntrack.feeds).
_GOLDEN_DIRECTIONS = {"tor_exit": "any", "tor_relay": "in", "spamhaus": "any",
                      "emergingthreats": "out", "customlist": "any"}
SETTINGS = {
    "oie": {
        "hostflow_compat:oie_list_direction": "\nor ".join(
            f'label_replace(label_replace(vector(1), "list", "{l}", "", ""), "direction", "{d}", "", "")'
            for l, d in _GOLDEN_DIRECTIONS.items()),
    },
    # The golden scenario's --compat.platform.hostname (render_scenario).
    "platform": {
        "hostflow_compat:platform_hostname": 'label_replace(vector(1), "host_name", "pve104", "", "")',
    },
}
# The second case: the same snapshot scraped from two targets, with a target label more than
# Prometheus's own, so every join must keep targets apart and every label of a target. The
# TrueNAS tool and seed 003 have their own `instance`: their rules keep the target's in
# `hostflow_target`.
TARGETS = [{"job": "hostflow", "instance": "host-a:9471", "env": "lab"},
           {"job": "hostflow", "instance": "host-b:9471", "env": "lab"}]
TARGET_INSTANCE_LABEL = {"truenas": "hostflow_target", "platform": "hostflow_target"}


def with_labels(labels, extra):
    """`labels` ("{a="b",...}" or "") with the pairs of `extra` added in front."""
    inner = labels[1:-1] if labels else ""
    pairs = ",".join(f'{k}="{v}"' for k, v in extra.items())
    return "{" + pairs + ("," + inner if inner else "") + "}"


RECORD = re.compile(r'^\s*- record:\s*(\S+)\s*$', re.M)


def apply_settings(text, tool, errors):
    for name, expr in SETTINGS.get(tool, {}).items():
        pat = re.compile(r'(^(\s*)- record: ' + re.escape(name) + r'\n\s*expr: >\n)((?:\2    .*\n)+)', re.M)
        m = pat.search(text)
        if not m:
            errors.append(f"settings record {name} not found as '- record: {name}' + 'expr: >' + lines")
            continue
        indent = m.group(2) + "    "
        body = "".join(indent + line + "\n" for line in expr.split("\n"))
        text = text[: m.start(3)] + body + text[m.end(3):]
    return text


def doc_section(doc, tool):
    m = re.search(r'^### Recording rules: ' + re.escape(tool) + r'\n(.*?)(?=^#|\Z)', doc, re.M | re.S)
    return m.group(1) if m else None


def samples(path):
    out = []
    with open(path, encoding="utf-8") as f:
        for line in f:
            line = line.rstrip("\n")
            if not line or line.startswith("#"):
                continue
            m = SAMPLE.match(line)
            if not m:
                raise SystemExit(f"{path}: cannot read sample line: {line}")
            out.append((m.group(1), m.group(2) or "", m.group(3)))
    return out


def case(native, by_family, labels_only, targets, instance_label="instance"):
    """A promtool test case: the native series as scraped from each of `targets`, and the
    expected samples of each family for each target; `* 0` (the name dropped) compares only the
    series of a LABELS_ONLY family."""
    def out_labels(t):
        return {(instance_label if k == "instance" else k): v for k, v in t.items()}
    return {
        "interval": "1m",
        "input_series": [{"series": n + with_labels(l, t) if t else n + l, "values": v}
                         for t in targets for n, l, v in native],
        "promql_expr_test": [
            {"expr": f"{name} * 0", "eval_time": "0m",
             "exp_samples": [{"labels": with_labels(s if s != "{}" else "", out_labels(t)) if t else s,
                              "value": 0.0} for t in targets for s, v in series]}
            if name in labels_only else
            {"expr": name, "eval_time": "0m",
             "exp_samples": [{"labels": name + (with_labels(s if s != "{}" else "", out_labels(t)) if t else s),
                              "value": float(v)} for t in targets for s, v in series]}
            for name, series in sorted(by_family.items())
        ],
    }


def main():
    rules = sorted(glob.glob(os.path.join(ROOT, "docs/compat/*.rules.yml")))
    if not rules:
        print("no docs/compat/*.rules.yml")
        return 1
    native = []
    for p in sorted(glob.glob(os.path.join(ROOT, "tests/golden/*.prom"))):
        if not os.path.basename(p).startswith("compat_"):
            native += samples(p)
    failed = 0
    with open(os.path.join(ROOT, "docs/compat.md"), encoding="utf-8") as f:
        doc = f.read()
    for rule_file in rules:
        tool = os.path.basename(rule_file)[: -len(".rules.yml")]
        golden = os.path.join(ROOT, "tests/golden", f"compat_{tool}.prom")
        with open(rule_file, encoding="utf-8") as f:
            rule_text = f.read()
        errors = []
        recorded = set(RECORD.findall(rule_text))
        skip = NOT_REPRODUCED.get(tool, {})
        labels_only = LABELS_ONLY.get(tool, {})
        section = doc_section(doc, tool)
        if section is None:
            errors.append(f"docs/compat.md has no '### Recording rules: {tool}' section")
        for name in sorted(skip):
            if name in recorded:
                errors.append(f"{name} is listed as not reproduced but the rules record it")
            if section is not None and f"`{name}`" not in section:
                errors.append(f"docs/compat.md's 'Recording rules: {tool}' does not name `{name}`")
        for name in sorted(labels_only):
            if section is not None and f"`{name}`" not in section:
                errors.append(f"docs/compat.md's 'Recording rules: {tool}' does not name `{name}`")
        rule_text = apply_settings(rule_text, tool, errors)
        want = [s for s in samples(golden) if s[0] not in skip]
        by_family = {}
        for name, labels, value in want:
            by_family.setdefault(name, []).append((labels or "{}", value))
        with tempfile.NamedTemporaryFile("w", suffix=".rules.yml", delete=False) as f:
            f.write(rule_text)
            evaluated = f.name
        # JSON is YAML: no YAML library needed to write the test file.
        test = {
            "rule_files": [evaluated],
            "evaluation_interval": "1m",
            "tests": [case(native, by_family, labels_only, [{}])] + [
                case(native, by_family, labels_only, TARGETS,
                     TARGET_INSTANCE_LABEL.get(tool, "instance"))],
        }
        with tempfile.NamedTemporaryFile("w", suffix=".yml", delete=False) as f:
            json.dump(test, f)
            path = f.name
        r = subprocess.run(["promtool", "test", "rules", path], capture_output=True, text=True)
        os.unlink(path)
        os.unlink(evaluated)
        ok = r.returncode == 0 and not errors
        exceptions = ""
        if skip or labels_only or SETTINGS.get(tool):
            exceptions = (f" ({len(skip)} families not reproduced, {len(labels_only)} compared by "
                          f"series only, {len(SETTINGS.get(tool, {}))} settings records replaced)")
        print(f"{'ok  ' if ok else 'FAIL'} {os.path.relpath(rule_file, ROOT)}: "
              f"{len(by_family)} families, {len(want)} samples of {os.path.relpath(golden, ROOT)}"
              + exceptions)
        for e in errors:
            print(f"  {e}")
        if r.returncode != 0:
            print((r.stdout + r.stderr)[-6000:])
        if not ok:
            failed += 1
        c = subprocess.run(["promtool", "check", "rules", rule_file], capture_output=True, text=True)
        if c.returncode != 0:
            failed += 1
            print(f"FAIL promtool check rules {rule_file}:\n{c.stdout}{c.stderr}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
