"""DESIGN.md's layering, checked the way harlequin does: import each headless module in a fresh interpreter
and look at sys.modules."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


def _modules(package: str) -> list[str]:
    return sorted(
        ".".join(p.relative_to(ROOT).with_suffix("").parts).removesuffix(".__init__")
        for p in (ROOT / package).rglob("*.py")
    )


HEADLESS = [m for pkg in ("store", "index", "archivist") for m in _modules(pkg)]


@pytest.mark.parametrize("module", HEADLESS)
def test_headless_modules_do_not_load_textual(module: str) -> None:
    code = (f"import sys, importlib; importlib.import_module({module!r}); "
            "bad = [m for m in ('textual',) if m in sys.modules]; "
            "bad += ['watchdog'] if 'watchdog' in sys.modules and not "
            f"{module!r}.startswith('archivist.watch') else []; print(','.join(bad))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, timeout=60)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "", f"{module} loads {out.stdout.strip()}"


def _imports(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(a.name.split(".")[0] for a in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module.split(".")[0])
    return names


@pytest.mark.parametrize(("package", "forbidden"), [
    ("store", {"index", "archivist", "tui", "textual", "watchdog", "whoosh"}),
    ("index", {"archivist", "tui", "textual", "watchdog"}),
    ("archivist", {"tui", "textual"}),
    ("tui", {"store", "index", "watchdog"}),
])
def test_layers_import_only_downwards(package: str, forbidden: set[str]) -> None:
    for path in (ROOT / package).rglob("*.py"):
        if path.name == "cli_tui.py":
            continue  # the `archivist tui` command is the one door from the CLI into the UI (imported lazily)
        bad = _imports(path) & forbidden
        assert not bad, f"{path.relative_to(ROOT)} imports {sorted(bad)}"


def test_only_the_watcher_imports_watchdog() -> None:
    for path in (ROOT / "archivist").rglob("*.py"):
        if "watchdog" in _imports(path):
            assert path.name.startswith("watch"), f"{path.relative_to(ROOT)} imports watchdog"


# The `Archive` facade is the only door to the log: ingest, the watcher, the CLI, the demo and the TUI go
# through it. The modules that carry the facade's work are the only ones in archivist/ that import the log.
FACADE = {"archive.py", "recording.py", "transfer.py", "verify.py", "versions.py"}
THROUGH_THE_FACADE = sorted(
    [ROOT / "archivist" / "ingest" / "service.py", ROOT / "archivist" / "demo.py",
     *(ROOT / "archivist").glob("watch*.py"), *(ROOT / "archivist").glob("cli*.py"), *(ROOT / "tui").rglob("*.py")])


def test_only_the_facade_imports_the_log() -> None:
    for path in (ROOT / "archivist").rglob("*.py"):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            names = [node.module or ""] if isinstance(node, ast.ImportFrom) else \
                [a.name for a in node.names] if isinstance(node, ast.Import) else []
            if any(n == "store.log" or n.startswith("store.log.") for n in names):
                assert path.parent.name == "archivist" and path.name in FACADE, \
                    f"{path.relative_to(ROOT)} imports store.log: go through the Archive facade"


@pytest.mark.parametrize("path", THROUGH_THE_FACADE, ids=lambda p: str(p.relative_to(ROOT)))
def test_callers_go_through_the_facade(path: Path) -> None:
    """No `archive.log`, `archive.blobs`, `defer_index` or `AppendRequest`, and no `root / "inbox"`."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    where = str(path.relative_to(ROOT))
    for node in ast.walk(tree):
        if isinstance(node, ast.Attribute) and node.attr in ("log", "blobs", "defer_index"):
            holder = node.value.id if isinstance(node.value, ast.Name) else \
                node.value.attr if isinstance(node.value, ast.Attribute) else ""
            an_archive = holder in ("a", "arc", "archive", "_archive") or node.attr == "defer_index"
            assert not an_archive, f"{where}:{node.lineno} reaches past the facade (.{node.attr})"
        if isinstance(node, ast.Name):
            assert node.id not in ("AppendRequest", "NO_STREAM"), f"{where}:{node.lineno} builds an append"
        if isinstance(node, ast.BinOp) and isinstance(node.op, ast.Div) and \
                isinstance(node.right, ast.Constant) and node.right.value == "inbox":
            raise AssertionError(f"{where}:{node.lineno} builds the inbox path (use Archive.inbox)")


def test_a_search_does_not_load_the_parsers(tmp_path: Path) -> None:
    """Start-up is part of a search's time (issue 10): the file parsers load when something is ingested."""
    code = (f"import sys; from archivist.archive import Archive; a = Archive.open({str(tmp_path)!r}); "
            "a.publish(title='Pożar', body='Strażacy gasili pożar.'); a.search('pożar'); "
            "print(','.join(m for m in sys.modules if m.startswith('archivist.ingest.') and "
            "m != 'archivist.ingest.model' or m == 'importlib.metadata'))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, timeout=120)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == ""  # (nor importlib.metadata: `__version__` is looked up when asked for)
