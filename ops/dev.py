#!/usr/bin/env python3
"""Bootstrap for a fresh machine: only Python >= 3.11 and git are assumed.

    python3 ops/dev.py serve [hocba serve options]   # the demo school, then the service, on an embedded
                                                     # PostgreSQL by default
    python3 ops/dev.py test  [pytest options]        # the whole test suite
    python3 ops/dev.py lint                          # ruff and mypy

Each command creates `.venv/` on first use and installs the project into it (again only when
pyproject.toml changes). Uses the standard library only.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
import sys
import tempfile
import urllib.request
import venv
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
VENV = ROOT / ".venv"
BIN = VENV / ("Scripts" if os.name == "nt" else "bin")
PYTHON = BIN / ("python.exe" if os.name == "nt" else "python")


def _say(message: str) -> None:
    print(f"[hocba] {message}", file=sys.stderr, flush=True)


def _bootstrap_pip_without_ensurepip() -> None:
    """Some distributions ship Python without ensurepip; fetch pip's wheel from PyPI and run it."""
    with urllib.request.urlopen("https://pypi.org/pypi/pip/json", timeout=60) as response:
        release = json.load(response)
    wheel = next(u for u in release["urls"] if u["packagetype"] == "bdist_wheel")
    with tempfile.TemporaryDirectory() as tmp:
        target = Path(tmp) / wheel["filename"]
        urllib.request.urlretrieve(wheel["url"], target)
        digest = hashlib.sha256(target.read_bytes()).hexdigest()
        if digest != wheel["digests"]["sha256"]:
            raise SystemExit("pip wheel download does not match PyPI's published sha256")
        subprocess.check_call([str(PYTHON), str(target / "pip"), "install", "--no-index", str(target)])


def ensure_venv(extras: str) -> None:
    if sys.version_info < (3, 11):  # noqa: UP036 - this script must also run on an old Python
        raise SystemExit("hocba-ledger needs Python 3.11 or newer")
    if not PYTHON.exists():
        _say(f"creating {VENV.relative_to(ROOT)}")
        try:
            venv.create(VENV, with_pip=True)
        except subprocess.CalledProcessError:
            venv.create(VENV, with_pip=False, clear=True)
            _bootstrap_pip_without_ensurepip()
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
SYSTEM_TOOLS = {"xmlsec1": "xmlsec1", "pdfsig": "poppler-utils", "pdftotext": "poppler-utils",
                "certutil": "libnss3-tools", "crlutil": "libnss3-tools", "chromium": "chromium"}  # fmt: skip


def ensure_system_tools() -> None:
    """Install xmlsec1, poppler's pdfsig, NSS's certutil and Chromium (for the browser tests) when
    missing, where apt-get can (as root); elsewhere say what to install. The tests that need them
    fail, never skip, without them."""
    missing = sorted({package for tool, package in SYSTEM_TOOLS.items() if shutil.which(tool) is None})
    if not missing:
        return
    if shutil.which("apt-get") and hasattr(os, "geteuid") and os.geteuid() == 0:
        _say(f"installing {' '.join(missing)} with apt-get")
        env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
        subprocess.call(["apt-get", "update", "-qq"], env=env)
        if subprocess.call(["apt-get", "install", "-y", "-qq", *missing], env=env) == 0:
            return
    _say(f"missing {' '.join(missing)}: install them (Debian/Ubuntu: apt-get install {' '.join(missing)}); "
         "the signature interoperability and browser tests need them")  # fmt: skip


def _run(argv: list[str]) -> int:
    return subprocess.call(argv, cwd=ROOT)


def main(argv: list[str]) -> int:
    command, rest = (argv[0], argv[1:]) if argv else ("help", [])
    if command == "serve":
        ensure_venv("")
        _say("loading the demo school year of THCS Khánh Phú if this database has none (first run: about 2 minutes)")
        status = _run([str(BIN / "hocba"), "demo"])
        return status or _run([str(BIN / "hocba"), "serve", *rest])
    if command == "test":
        ensure_venv("test")
        ensure_system_tools()
        return _run([str(PYTHON), "-m", "pytest", *rest])
    if command == "lint":
        ensure_venv("test")
        status = _run([str(PYTHON), "-m", "ruff", "check", "."])
        status |= _run([str(PYTHON), "-m", "ruff", "format", "--check", "."])
        status |= _run([str(PYTHON), "-m", "mypy"])
        return status
    print(__doc__)
    return 0 if command in {"help", "-h", "--help"} else 2


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
