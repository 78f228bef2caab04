#!/usr/bin/env python3
"""Bootstrap for a fresh machine: only Python >= 3.11 and git are assumed.

    python3 ops/dev.py serve [hocba serve options]   # the demo school, then the service, on an embedded
                                                     # PostgreSQL by default
    python3 ops/dev.py test  [pytest options]        # the whole test suite
    python3 ops/dev.py lint                          # ruff, mypy, the import contracts and the tree's shape

Each command creates `.venv/` on first use and installs the project into it (again only when
pyproject.toml changes). Uses the standard library only.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import sys
import venv
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
VENV = ROOT / ".venv"
BIN = VENV / ("Scripts" if os.name == "nt" else "bin")
PYTHON = BIN / ("python.exe" if os.name == "nt" else "python")


def _say(message: str) -> None:
    print(f"[hocba] {message}", file=sys.stderr, flush=True)


def ensure_venv(extras: str) -> None:
    if sys.version_info < (3, 11):  # noqa: UP036 - this script must also run on an old Python
        raise SystemExit("hocba-ledger needs Python 3.11 or newer")
    if not PYTHON.exists():
        _say(f"creating {VENV.relative_to(ROOT)}")
        try:
            venv.create(VENV, with_pip=True)
        except subprocess.CalledProcessError:
            shutil.rmtree(VENV, ignore_errors=True)
            raise SystemExit(
                "this Python cannot create a virtual environment with pip (ensurepip is missing): install "
                "your system's venv package (Debian/Ubuntu: apt-get install python3-venv) and run again"
            ) from None
    spec = f".[{extras}]" if extras else "."
    stamp = VENV / ".hocba-installed"
    wanted = hashlib.sha256((ROOT / "pyproject.toml").read_bytes() + spec.encode()).hexdigest()
    installed = stamp.read_text().split() if stamp.exists() else []
    if wanted in installed:
        return
    _say(f"installing {spec} into {VENV.relative_to(ROOT)} (first run takes a minute)")
    subprocess.check_call([str(PYTHON), "-m", "pip", "install", "--quiet", "--upgrade", "pip"])
    subprocess.check_call([str(PYTHON), "-m", "pip", "install", "--quiet", "-e", spec], cwd=ROOT)
    stamp.write_text("\n".join([*installed, wanted]) + "\n")


# The independent verifiers the interoperability tests run: command -> Debian package.
SYSTEM_TOOLS = {
    "softhsm2-util": "softhsm2",
    "xmlsec1": "xmlsec1",
    "pdfsig": "poppler-utils",
    "pdftotext": "poppler-utils",
    "certutil": "libnss3-tools",
    "crlutil": "libnss3-tools",
    "chromium": "chromium",
    "pgbackrest": "pgbackrest",
    "patroni": "patroni",
    "etcd": "etcd-server",
    # What PyICU (ICU's Vietnamese collation) is built with
    "icuinfo": "libicu-dev",
    "pkg-config": "pkg-config",
    "g++": "g++",
}


def ensure_system_tools(tools: tuple[str, ...] = tuple(SYSTEM_TOOLS)) -> None:
    """Install SoftHSM2 (the token that holds the ledger service's keys, and a teacher's USB token in
    the signing tests), xmlsec1, poppler's pdfsig,
    NSS's certutil, Chromium (for the browser tests), pgBackRest, Patroni and etcd (the recovery and
    failover drills) and what PyICU is built with, when missing, where apt-get can (as root); elsewhere
    say what to install. The tests that need them fail, never skip, without them."""
    missing = sorted({SYSTEM_TOOLS[tool] for tool in tools if shutil.which(tool) is None})
    if not missing:
        return
    if shutil.which("apt-get") and hasattr(os, "geteuid") and os.geteuid() == 0:
        _say(f"installing {' '.join(missing)} with apt-get")
        env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
        subprocess.call(["apt-get", "update", "-qq"], env=env)
        if subprocess.call(["apt-get", "install", "-y", "-qq", *missing], env=env) == 0:
            return
    _say(
        f"missing {' '.join(missing)}: install them (Debian/Ubuntu: apt-get install {' '.join(missing)}); "
        "the tests need them; without SoftHSM2 the demo keeps the service keys in files"
    )


def _workers(rest: list[str]) -> list[str]:
    """One pytest worker per core unless the caller chose (`-n 0` runs in one process). Each worker
    has its own database and fixture school; a test file stays on one worker, with its fixtures."""
    if any(arg == "-n" or arg.startswith(("-n", "--numprocesses", "--dist")) for arg in rest):
        return []
    return ["-n", "auto", "--dist", "loadfile"]


def _run(argv: list[str]) -> int:
    return subprocess.call(argv, cwd=ROOT)


def main(argv: list[str]) -> int:
    command, rest = (argv[0], argv[1:]) if argv else ("help", [])
    if command == "serve":
        ensure_venv("")
        ensure_system_tools(("softhsm2-util",))
        _say("loading the demo school year of THCS Khánh Phú if this database has none (first run: about 2 minutes)")
        status = _run([str(BIN / "hocba"), "demo"])
        return status or _run([str(BIN / "hocba"), "serve", *rest])
    if command == "test":
        ensure_system_tools()
        ensure_venv("test,icu")
        return _run([str(PYTHON), "-m", "pytest", *_workers(rest), *rest])
    if command == "lint":
        ensure_venv("test")
        status = _run([str(PYTHON), "-m", "ruff", "check", "."])
        status |= _run([str(PYTHON), "-m", "ruff", "format", "--check", "."])
        status |= _run([str(PYTHON), "-m", "mypy"])
        status |= _run([str(BIN / "lint-imports")])
        status |= _run([str(PYTHON), str(ROOT / "ops" / "check_tree.py")])
        return status
    print(__doc__)
    return 0 if command in {"help", "-h", "--help"} else 2


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
