#!/usr/bin/env python3
"""Checks that module dependencies point one way (docs/ARCHITECTURE.md, "Modules").

A file in src/<m>/ (or tests/<m>/) may include headers of <m> itself and of the
modules <m> is allowed to use below; a CMakeLists.txt in src/<m>/ may link only
those modules' libraries. Anything else -- a lower module reaching up, or a
sideways step the picture does not draw -- is reported with file and line, and
the script exits 1. Run from anywhere: `python3 scripts/check_deps.py`.
"""
import pathlib
import re
import sys

# What each module may use directly. The picture:
#   tools -> server -> http -> broker/controller -> coordinator -> metadata -> raft -> storage -> protocol -> common
#   net beside (below raft: the Raft driver and the coordinators' marker channel send over it);
#   security (principals, SASL, SCRAM, TLS contexts) below net, on common only;
#   client -> protocol/net/security/common, used by tools, benchmarks and tests.
ALLOWED = {
    "common": set(),
    "protocol": {"common"},
    "security": {"common"},
    "net": {"security", "protocol", "common"},
    "storage": {"protocol", "common"},
    "raft": {"storage", "net", "security", "protocol", "common"},
    "metadata": {"raft", "storage", "security", "protocol", "common"},
    "coordinator": {"metadata", "raft", "storage", "net", "security", "protocol", "common"},
    "controller": {"coordinator", "metadata", "raft", "storage", "net", "security", "protocol", "common"},
    "broker": {"coordinator", "metadata", "raft", "storage", "net", "security", "protocol", "common"},
    "http": {"broker", "controller", "coordinator", "metadata", "raft", "storage", "net", "security", "protocol", "common"},
    "client": {"net", "security", "protocol", "common"},
    "server": {"http", "broker", "controller", "coordinator", "metadata", "raft", "storage", "net", "security", "protocol", "common"},
    "tools": {"client", "server", "http", "broker", "controller", "coordinator", "metadata", "raft", "storage", "net", "security",
              "protocol", "common"},
}

INCLUDE = re.compile(r'^\s*#\s*include\s+"([a-z_]+)/')
LINK = re.compile(r"flotilla_([a-z]+)")


def check(root: pathlib.Path) -> list[str]:
    problems = []
    modules = sorted(p.name for p in (root / "src").iterdir() if p.is_dir())
    for m in modules:
        if m not in ALLOWED:
            problems.append(f"src/{m}/: module not in scripts/check_deps.py's picture")
    for top in ("src", "tests"):
        for m in modules:
            base = root / top / m
            if m not in ALLOWED or not base.is_dir():
                continue
            ok = ALLOWED[m] | {m}
            for f in sorted(base.rglob("*")):
                if f.suffix not in (".h", ".cc", ".cpp", ".hpp"):
                    continue
                for n, line in enumerate(f.read_text(errors="replace").splitlines(), 1):
                    hit = INCLUDE.match(line)
                    if hit and hit.group(1) in ALLOWED and hit.group(1) not in ok:
                        problems.append(f"{f.relative_to(root)}:{n}: {m} includes {hit.group(1)}/ ({line.strip()})")
    for m in modules:
        cm = root / "src" / m / "CMakeLists.txt"
        if m not in ALLOWED or not cm.is_file():
            continue
        ok = ALLOWED[m] | {m}
        for n, line in enumerate(cm.read_text().splitlines(), 1):
            if line.lstrip().startswith("#"):
                continue
            for dep in LINK.findall(line):
                if dep in ALLOWED and dep not in ok:
                    problems.append(f"{cm.relative_to(root)}:{n}: {m} links flotilla_{dep}")
    return sorted(set(problems))


def main() -> int:
    root = pathlib.Path(__file__).resolve().parent.parent
    problems = check(root)
    for p in problems:
        print(p)
    if problems:
        print(f"check_deps: {len(problems)} dependencies point the wrong way", file=sys.stderr)
        return 1
    print("check_deps: dependencies point one way")
    return 0


if __name__ == "__main__":
    sys.exit(main())
