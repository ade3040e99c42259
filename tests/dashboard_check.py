#!/usr/bin/env python3
"""Structural check of docs/grafana/hostflow.json against docs/prometheus/hostflow.rules.yml and
docs/metrics.md (issue 17). A typed check of what Grafana needs to load the dashboard:

  - the dashboard: title, uid, an integer schemaVersion, time, panels and templating;
  - every panel: a unique integer id, a gridPos of integers inside the 24-column grid, overlapping
    no other panel; a known type; non-row panels use the datasource variable (uid
    "${datasource}") and have targets, each with a non-empty expr and a refId unique in the panel;
  - templating: `datasource` (type datasource, prometheus), `job` and `instance` (queries on
    the datasource variable; instance multi-valued with an All value); every variable an
    expression uses is defined (or one of Grafana's $__ built-ins) and every variable defined
    is used;
  - every metric selector in an expression is restricted to job="$job" and instance=~"$instance";
  - every metric name is real: hostflow_* and process_* names are in docs/metrics.md, names with
    colons are recording rules of hostflow.rules.yml, scrape_* are Prometheus's own. The
    hostflow_* names in the rules' expressions are checked against docs/metrics.md too, and
    every recording rule is used by the dashboard.

That the expressions are valid PromQL returning data is checked by a real Prometheus
(tests/integration/dashboard_rules_test.cc).
Usage: tests/dashboard_check.py [ROOT]   (exit 1 with one line per problem)
"""
import json
import os
import re
import sys

ROOT = os.path.abspath(sys.argv[1] if len(sys.argv) > 1 else os.path.join(os.path.dirname(__file__), ".."))
DASHBOARD = os.path.join(ROOT, "docs/grafana/hostflow.json")
RULES = os.path.join(ROOT, "docs/prometheus/hostflow.rules.yml")
METRICS_MD = os.path.join(ROOT, "docs/metrics.md")

PANEL_TYPES = {"row", "timeseries", "table", "stat", "bargauge", "gauge", "text"}
BUILTINS = {"__rate_interval", "__interval", "__range", "__interval_ms", "__range_s"}
PROMETHEUS_OWN = {"up", "scrape_duration_seconds", "scrape_samples_scraped",
                  "scrape_samples_post_metric_relabeling", "scrape_series_added"}
DS_UID = "${datasource}"

problems = []


def problem(msg):
    problems.append(msg)


def expand_braces(token):
    """hostflow_vm_{read,write}_bytes -> both names (every {a,b} group, recursively)."""
    m = re.search(r"\{([^{}]*)\}", token)
    if not m:
        return [token]
    out = []
    for alt in m.group(1).split(","):
        out.extend(expand_braces(token[:m.start()] + alt + token[m.end():]))
    return out


def documented_names():
    """Every metric name docs/metrics.md names, with `a_x_total` / `y_total` shorthands expanded
    (the second replaces as many trailing words of the first as it has)."""
    names = set()
    text = open(METRICS_MD, encoding="utf-8").read()
    for line in text.splitlines():
        tokens = re.findall(r"`([^`]+)`", line)
        last = None
        for i, tok in enumerate(tokens):
            if "=" in tok:  # a selector, e.g. name{section="conntrack"}
                tok = tok.split("{")[0]
            for name in expand_braces(tok):
                if not re.fullmatch(r"[a-z_][a-z0-9_]*", name):
                    continue
                if name.startswith(("hostflow_", "process_")):
                    names.add(name)
                    last = name
                elif last and i > 0 and re.search(r"`\s*/\s*`" + re.escape(tok) + "`", line):
                    words = name.split("_")
                    base = last.split("_")
                    if len(base) > len(words):
                        names.add("_".join(base[: len(base) - len(words)] + words))
    return names


def recording_rules():
    return re.findall(r"^\s*- record:\s*(\S+)\s*$", open(RULES, encoding="utf-8").read(), re.M)


def rule_expressions():
    """The expr of every rule (single-line or a folded block)."""
    exprs, lines = [], open(RULES, encoding="utf-8").read().splitlines()
    i = 0
    while i < len(lines):
        m = re.match(r"^(\s*)expr:\s*(.*)$", lines[i])
        if m:
            indent, rest = len(m.group(1)), m.group(2)
            if rest in (">-", ">", "|", "|-"):
                block = []
                i += 1
                while i < len(lines) and (not lines[i].strip() or
                                          len(lines[i]) - len(lines[i].lstrip()) > indent):
                    block.append(lines[i].strip())
                    i += 1
                exprs.append(" ".join(block))
                continue
            exprs.append(rest)
        i += 1
    return exprs


NAME = r"[a-zA-Z_:][a-zA-Z0-9_:]*"


def strip_strings(expr):
    return re.sub(r'"(?:[^"\\]|\\.)*"', '""', expr)


def metric_names(expr):
    """Metric names in an expression with their positions in strip_strings(expr): identifiers
    followed by a selector or that look like one of ours (label and function names are neither)."""
    out = []
    stripped = strip_strings(expr)
    for m in re.finditer(r"(?<![A-Za-z0-9_:$])(" + NAME + r")\s*(\{)?", stripped):
        name, brace = m.group(1), m.group(2)
        if ":" in name or name.startswith(("hostflow_", "process_", "scrape_", "node_")) or \
           (brace and name not in ("by", "without", "on", "ignoring", "group_left", "group_right")):
            out.append((name, m.start(1)))
    return out


def check_expr(where, expr, documented, records, used_vars):
    for v in re.findall(r"\$\{?(\w+)\}?", expr):
        used_vars.add(v)
    for name, pos in metric_names(expr):
        if ":" in name:
            if name not in records:
                problem(f"{where}: {name} is not a recording rule of hostflow.rules.yml")
        elif name.startswith(("hostflow_", "process_")):
            if name not in documented:
                problem(f"{where}: {name} is not in docs/metrics.md")
        elif name not in PROMETHEUS_OWN:
            problem(f"{where}: {name} is neither hostflow's nor Prometheus's own")
    # Every selector is restricted to the dashboard's job and instance.
    for m in re.finditer(r"(" + NAME + r")\{([^}]*)\}", expr):
        if m.group(1) in ("by", "without"):
            continue
        labels = m.group(2)
        if 'job="$job"' not in labels or 'instance=~"$instance"' not in labels:
            problem(f'{where}: selector {m.group(0)} lacks job="$job" and instance=~"$instance"')
    stripped = strip_strings(expr)
    for name, pos in metric_names(expr):
        after = stripped[pos + len(name):].lstrip()
        if not after.startswith("{"):
            problem(f"{where}: {name} has no selector (not restricted to $job/$instance)")


def main():
    try:
        d = json.load(open(DASHBOARD, encoding="utf-8"))
    except (OSError, ValueError) as e:
        print(f"{DASHBOARD}: {e}")
        return 1
    documented = documented_names()
    records = set(recording_rules())
    if len(documented) < 100:
        problem(f"only {len(documented)} metric names found in docs/metrics.md: the parser broke")
    for key, typ in (("title", str), ("uid", str), ("schemaVersion", int), ("panels", list),
                     ("templating", dict), ("time", dict)):
        if not isinstance(d.get(key), typ) or isinstance(d.get(key), bool):
            problem(f"dashboard: {key} missing or not a {typ.__name__}")
    if isinstance(d.get("schemaVersion"), int) and d["schemaVersion"] < 30:
        problem("dashboard: schemaVersion < 30 (Grafana 8+ dashboards)")

    ids, boxes, used_vars, used_records = set(), [], set(), set()
    for p in d.get("panels", []):
        where = f"panel {p.get('id')} ({p.get('title')!r})"
        pid = p.get("id")
        if not isinstance(pid, int) or isinstance(pid, bool) or pid <= 0:
            problem(f"{where}: id is not a positive integer")
        elif pid in ids:
            problem(f"{where}: id used twice")
        ids.add(pid)
        if p.get("type") not in PANEL_TYPES:
            problem(f"{where}: unknown type {p.get('type')!r}")
        if not isinstance(p.get("title"), str) or not p.get("title"):
            problem(f"{where}: no title")
        g = p.get("gridPos", {})
        if not all(isinstance(g.get(k), int) and not isinstance(g.get(k), bool)
                   for k in ("h", "w", "x", "y")):
            problem(f"{where}: gridPos needs integer h, w, x, y")
            continue
        if g["w"] < 1 or g["h"] < 1 or g["x"] < 0 or g["y"] < 0 or g["x"] + g["w"] > 24:
            problem(f"{where}: gridPos {g} outside the 24-column grid")
        for other, og in boxes:
            if g["x"] < og["x"] + og["w"] and og["x"] < g["x"] + g["w"] and \
               g["y"] < og["y"] + og["h"] and og["y"] < g["y"] + g["h"]:
                problem(f"{where}: overlaps {other}")
        boxes.append((where, g))
        if p.get("type") == "row":
            if p.get("panels"):
                problem(f"{where}: an expanded row holds no panels of its own")
            continue
        if p.get("datasource") != {"type": "prometheus", "uid": DS_UID}:
            problem(f"{where}: datasource is not the $datasource variable")
        targets = p.get("targets")
        if not isinstance(targets, list) or not targets:
            problem(f"{where}: no targets")
            continue
        refs = set()
        for t in targets:
            expr = t.get("expr")
            if not isinstance(expr, str) or not expr.strip():
                problem(f"{where}: a target without expr")
                continue
            if t.get("refId") in refs or not t.get("refId"):
                problem(f"{where}: refId missing or repeated")
            refs.add(t.get("refId"))
            if t.get("datasource", {}).get("uid") != DS_UID:
                problem(f"{where} {t.get('refId')}: target datasource is not $datasource")
            check_expr(f"{where} {t.get('refId')}", expr, documented, records, used_vars)
            used_records.update(n for n, _ in metric_names(expr) if ":" in n)

    tv = {v.get("name"): v for v in d.get("templating", {}).get("list", [])}
    ds = tv.get("datasource", {})
    if ds.get("type") != "datasource" or ds.get("query") != "prometheus":
        problem("templating: no datasource variable of type datasource for prometheus")
    for name in ("job", "instance"):
        v = tv.get(name, {})
        if v.get("type") != "query" or v.get("datasource", {}).get("uid") != DS_UID:
            problem(f"templating: {name} is not a query on $datasource")
        q = v.get("query", {})
        q = q.get("query") if isinstance(q, dict) else q
        if not isinstance(q, str) or "label_values(" not in q:
            problem(f"templating: {name} has no label_values query")
        else:
            for v in re.findall(r"\$\{?(\w+)\}?", q):
                used_vars.add(v)
            for n, _ in metric_names(q):
                if n not in documented:
                    problem(f"templating {name}: {n} is not in docs/metrics.md")
    if not tv.get("instance", {}).get("multi") or not tv.get("instance", {}).get("includeAll"):
        problem("templating: instance is not multi-valued with an All option")
    for v in used_vars - set(tv) - BUILTINS:
        problem(f"an expression uses ${v}, which is not a template variable")
    for v in set(tv) - used_vars - {"datasource"}:
        problem(f"template variable ${v} is never used")

    for i, expr in enumerate(rule_expressions()):
        for name, _ in metric_names(expr):
            if name.startswith(("hostflow_", "process_")) and name not in documented:
                problem(f"hostflow.rules.yml expr {i}: {name} is not in docs/metrics.md")
    for r in sorted(records - used_records):
        problem(f"recording rule {r} is not used by the dashboard")

    for p in problems:
        print(p)
    if not problems:
        print(f"ok: {len(ids)} panels, {len(documented)} documented names, {len(records)} records")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
