#!/usr/bin/env python3
"""The recording rules of docs/compat/<tool>.rules.yml against the profiles (issue 14).

For every rules file: the native golden expositions (tests/golden/<area>.prom, one snapshot of
every area) are the input series of a `promtool test rules` case, and every sample of the
profile's own golden (tests/golden/compat_<tool>.prom, the same snapshot through --compat=<tool>)
is an expected sample of the family of that name. So the rules compute, from the native
families, exactly what the profile serves: same series (label sets), same values.
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
    for rule_file in rules:
        tool = os.path.basename(rule_file)[: -len(".rules.yml")]
        golden = os.path.join(ROOT, "tests/golden", f"compat_{tool}.prom")
        want = samples(golden)
        by_family = {}
        for name, labels, value in want:
            by_family.setdefault(name, []).append((name + labels, value))
        # JSON is YAML: no YAML library needed to write the test file.
        test = {
            "rule_files": [rule_file],
            "evaluation_interval": "1m",
            "tests": [{
                "interval": "1m",
                "input_series": [{"series": n + l, "values": v} for n, l, v in native],
                "promql_expr_test": [
                    {"expr": name, "eval_time": "0m",
                     "exp_samples": [{"labels": s, "value": float(v)} for s, v in series]}
                    for name, series in sorted(by_family.items())
                ],
            }],
        }
        with tempfile.NamedTemporaryFile("w", suffix=".yml", delete=False) as f:
            json.dump(test, f)
            path = f.name
        r = subprocess.run(["promtool", "test", "rules", path], capture_output=True, text=True)
        os.unlink(path)
        ok = r.returncode == 0
        print(f"{'ok  ' if ok else 'FAIL'} {os.path.relpath(rule_file, ROOT)}: "
              f"{len(by_family)} families, {len(want)} samples of {os.path.relpath(golden, ROOT)}")
        if not ok:
            failed += 1
            print((r.stdout + r.stderr)[-6000:])
        c = subprocess.run(["promtool", "check", "rules", rule_file], capture_output=True, text=True)
        if c.returncode != 0:
            failed += 1
            print(f"FAIL promtool check rules {rule_file}:\n{c.stdout}{c.stderr}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
