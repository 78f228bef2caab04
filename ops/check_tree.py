"""Checks of the tree's shape that import-linter's contracts do not make, run by `python3 ops/dev.py lint`:

- no import cycle among the project's modules, counting imports inside functions (grimp reads them all);
- no module over 800 lines;
- no folder directly holding more than 20 modules;
- no private name (`_x`) imported from another of the project's modules.

Prints one line per problem and exits 1 when there is any.
"""

from __future__ import annotations

import ast
import sys
from pathlib import Path

import grimp

ROOT = Path(__file__).resolve().parent.parent
PACKAGES = ("ledger", "api", "signing", "audit", "migrations")
MAX_LINES = 800
MAX_MODULES = 20


def cycles(graph: grimp.ImportGraph) -> list[list[str]]:
    """The strongly connected components of more than one module (Tarjan's algorithm, iterative)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    on_stack: set[str] = set()
    stack: list[str] = []
    found: list[list[str]] = []
    counter = 0
    for start in sorted(graph.modules):
        if start in index:
            continue
        work = [(start, iter(sorted(graph.find_modules_directly_imported_by(start))))]
        index[start] = low[start] = counter
        counter += 1
        stack.append(start)
        on_stack.add(start)
        while work:
            node, children = work[-1]
            child = next(children, None)
            if child is not None:
                if child not in index:
                    index[child] = low[child] = counter
                    counter += 1
                    stack.append(child)
                    on_stack.add(child)
                    work.append((child, iter(sorted(graph.find_modules_directly_imported_by(child)))))
                elif child in on_stack:
                    low[node] = min(low[node], index[child])
                continue
            work.pop()
            if work:
                low[work[-1][0]] = min(low[work[-1][0]], low[node])
            if low[node] == index[node]:
                component = []
                while True:
                    member = stack.pop()
                    on_stack.discard(member)
                    component.append(member)
                    if member == node:
                        break
                if len(component) > 1:
                    found.append(sorted(component))
    return found


def private_imports(module: Path) -> list[str]:
    """`from project.module import _name`: what another module keeps to itself is used here."""
    found = []
    for node in ast.walk(ast.parse(module.read_text(encoding="utf-8"))):
        if isinstance(node, ast.ImportFrom) and node.module and node.module.split(".")[0] in PACKAGES:
            found += [f"{node.module}.{a.name}" for a in node.names if a.name.startswith("_")]
    return found


def main() -> int:
    sys.path.insert(0, str(ROOT))
    problems = [f"import cycle: {' -> '.join(c)}" for c in cycles(grimp.build_graph(*PACKAGES))]
    for package in PACKAGES:
        for folder in [ROOT / package, *(p for p in (ROOT / package).rglob("*") if p.is_dir())]:
            modules = [m for m in folder.glob("*.py") if m.name != "__init__.py"]
            if len(modules) > MAX_MODULES:
                problems.append(f"{folder.relative_to(ROOT)}/ holds {len(modules)} modules (at most {MAX_MODULES})")
            for module in modules:
                count = len(module.read_text(encoding="utf-8").splitlines())
                if count > MAX_LINES:
                    problems.append(f"{module.relative_to(ROOT)} has {count} lines (at most {MAX_LINES})")
                problems += [
                    f"{module.relative_to(ROOT)} imports the private {name}" for name in private_imports(module)
                ]
    for problem in problems:
        print(problem)
    print(f"tree: {'no' if not problems else len(problems)} problem{'s' if len(problems) != 1 else ''}")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
