"""The layout of the code: the import contract (import-linter), no imports of our own modules
inside functions, modules under 300 lines or saying why. Reads the source tree, runs
``lint-imports`` as a child process (on a temporary copy, too)."""

from __future__ import annotations

import ast
import os
import re
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
SRC = REPO / "src"
PACKAGES = {"ews": SRC / "ews", "flows": REPO / "flows"}
LINT_IMPORTS = Path(sys.executable).with_name("lint-imports")

#: the longest a module of src/ews may be without saying why in its docstring
MAX_LINES = 300
#: how a module docstring says why it is longer, e.g. "Longer than 300 lines because the
#: parser's states belong together." (the phrase is what the test looks for)
LONGER_BECAUSE = re.compile(r"longer than 300 lines because", re.IGNORECASE)


def lint_imports(root: Path, config: Path) -> subprocess.CompletedProcess[str]:
    """``lint-imports`` with ``config``, the packages ``ews`` and ``flows`` taken from ``root``
    (ahead of the installed ones on the path)."""
    env = os.environ | {"PYTHONPATH": str(root)}
    return subprocess.run(
        [str(LINT_IMPORTS), "--no-cache", "--no-logo", str(config)],
        cwd=root, env=env, capture_output=True, text=True, timeout=300, check=False,
    )


def python_files(package: str) -> Iterator[Path]:
    yield from sorted(PACKAGES[package].rglob("*.py"))


def test_the_import_contract_holds() -> None:
    result = lint_imports(REPO, REPO / "pyproject.toml")

    assert result.returncode == 0, result.stdout + result.stderr
    assert " kept, 0 broken." in result.stdout, result.stdout


def test_the_contract_fails_when_core_imports_a_capability(tmp_path: Path) -> None:
    for name, folder in PACKAGES.items():
        shutil.copytree(folder, tmp_path / name, ignore=shutil.ignore_patterns("__pycache__"))
    deadlines = tmp_path / "ews" / "core" / "deadlines.py"
    text = deadlines.read_text(encoding="utf-8")
    # after the docstring and `from __future__` (which must come first), before the rest
    anchor = "from __future__ import annotations\n"
    assert anchor in text
    deadlines.write_text(text.replace(anchor, anchor + "\nfrom ews.intake import pipeline\n", 1),
                         encoding="utf-8")
    shutil.copy(REPO / "pyproject.toml", tmp_path / "pyproject.toml")

    result = lint_imports(tmp_path, tmp_path / "pyproject.toml")

    assert result.returncode != 0, result.stdout
    assert "ews.core is not allowed to import ews.intake" in result.stdout, result.stdout
    assert "ews.core.deadlines -> ews.intake.pipeline" in result.stdout, result.stdout
    assert "BROKEN" in result.stdout, result.stdout


#: the comment that lets an import of ours stay inside a function of ``flows`` (the composition
#: root, where Prefect's environment must be set before Prefect is imported), with its reason
#: on the line: ``# deferred: Prefect reads its settings when imported``. Never in ``ews``; never
#: for a cycle, which the contract finds anyway (it counts imports inside functions, too).
DEFERRED = "# deferred:"


def imports_inside_functions(path: Path) -> Iterator[str]:
    """``path:line module`` of each import of ours (``ews``, ``flows``, relative) made in the
    body of a function or method, unless (in ``flows``) its first line says why
    (:data:`DEFERRED`)."""
    deferrable = PACKAGES["flows"] in path.parents
    source = path.read_text(encoding="utf-8")
    lines = source.splitlines()
    tree = ast.parse(source, filename=str(path))
    for function in ast.walk(tree):
        if not isinstance(function, (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda)):
            continue
        for node in ast.walk(function):
            if isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom):
                names = ["." * node.level + (node.module or "")]
            else:
                continue
            if deferrable and DEFERRED in lines[node.lineno - 1]:
                continue
            for name in names:
                if name.startswith(".") or name.split(".")[0] in PACKAGES:
                    yield f"{path.relative_to(REPO)}:{node.lineno} {name}"


def test_no_imports_of_our_modules_inside_functions() -> None:
    # a nested function's import is seen once per enclosing function: count each once
    found = sorted({hit for package in PACKAGES for path in python_files(package)
                    for hit in imports_inside_functions(path)})

    assert found == [], "Imports inside functions (move them to the top of the module; " \
        "a cycle they dodge is a layering problem):\n" + "\n".join(found)


def test_modules_over_300_lines_say_why_in_their_docstring() -> None:
    offenders = []
    for path in python_files("ews"):
        text = path.read_text(encoding="utf-8")
        lines = len(text.splitlines())
        if lines <= MAX_LINES:
            continue
        docstring = ast.get_docstring(ast.parse(text)) or ""
        if not LONGER_BECAUSE.search(" ".join(docstring.split())):
            offenders.append(f"{path.relative_to(REPO)}: {lines} lines")

    assert offenders == [], (
        f"Modules over {MAX_LINES} lines whose docstring does not say why (split them, or say "
        f"\"Longer than {MAX_LINES} lines because …\" in the module docstring):\n"
        + "\n".join(offenders))
