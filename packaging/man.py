#!/usr/bin/env python3
"""Writes a man page from a hostflow binary's --help (CLI11's layout), as help2man would.

    man.py BINARY SECTION DATE > NAME.SECTION

Run at build time (target hostflow-man, packaging/package.cmake) for the Debian package. The
first --help line is "name: summary"; option lines start with "  -", the flag spec in the first
30 columns and its description after it or on the lines below, indented by 30 columns.
"""
import subprocess
import sys


def esc(text):
    """troff-escapes a text line: backslashes, hyphens, and a leading dot or quote."""
    text = text.replace("\\", "\\e").replace("-", "\\-")
    if text.startswith((".", "'")):
        text = "\\&" + text
    return text


def main():
    binary, section, date = sys.argv[1:4]
    name = binary.rsplit("/", 1)[-1]
    helptext = subprocess.run([binary, "--help"], check=True, capture_output=True, text=True).stdout
    version = subprocess.run([binary, "--version"], check=True, capture_output=True,
                             text=True).stdout.strip()
    lines = helptext.splitlines()
    summary = lines[0].split(":", 1)[1].strip() if ":" in lines[0] else name
    out = [
        f'.TH {name.upper()} {section} "{date}" "{esc(version)}" "System Administration"',
        ".ad l",
        ".SH NAME",
        f"{esc(name)} \\- {esc(summary)}",
        ".SH SYNOPSIS",
        f".B {esc(name)}",
        "[\\fIOPTIONS\\fR]",
        ".SH DESCRIPTION",
        esc(summary[0].upper() + summary[1:]) + ".",
        "It is one half of hostflow: \\fBhostflow\\-sampler\\fR(8) collects as root into a shared",
        "memory segment, \\fBhostflow\\-exporter\\fR(8) serves it as Prometheus metrics as its own",
        "unprivileged user. Under systemd, flags are set in ARGS= of",
        f"\\fI/etc/default/{esc(name)}\\fR.",
        ".SH OPTIONS",
    ]
    in_options = False
    for line in lines[1:]:
        if line.startswith("Options:"):
            in_options = True
            continue
        if not in_options or not line.strip():
            continue
        if line.startswith("  -"):
            if len(line) > 30 and line[29] == " " and line[30] != " ":
                spec, desc = line[:30].strip(), line[30:].strip()
            else:
                spec, desc = line.strip(), ""
            out += [".TP", f"\\fB{esc(spec)}\\fR"]
            if desc:
                out.append(esc(desc))
        elif line.startswith(" " * 30):
            out.append(esc(line.strip()))
        else:
            out += [".PP", esc(line.strip())]
    out += [
        ".SH FILES",
        ".TP",
        f"\\fI/etc/default/{esc(name)}\\fR",
        "ARGS= for the systemd unit (a conffile).",
        ".TP",
        "\\fI/run/hostflow/segment\\fR",
        "the shared memory segment (0640 root:hostflow).",
        ".SH SEE ALSO",
        "\\fBhostflow\\-sampler\\fR(8), \\fBhostflow\\-exporter\\fR(8),",
        "\\fI/usr/share/doc/hostflow/README.md\\fR, \\fI/usr/share/doc/hostflow/security.md\\fR",
    ]
    sys.stdout.write("\n".join(out) + "\n")


if __name__ == "__main__":
    main()
