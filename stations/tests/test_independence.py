"""The stations app stands on its own: no module under stations/ imports the drivers app
(drivers depends on stations, never the other way round). Tests of other apps may import
anything; stations' own tests obey the rule too."""

import ast
from pathlib import Path

import stations

STATIONS_DIR = Path(stations.__file__).resolve().parent


def _imports_of_drivers(tree: ast.AST) -> list[str]:
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names = [node.module]
        else:
            continue
        found += [f"line {node.lineno}: {n}" for n in names if n == "drivers" or n.startswith("drivers.")]
    return sorted(found)


def test_no_module_under_stations_imports_drivers():
    offenders = {}
    modules = sorted(STATIONS_DIR.rglob("*.py"))
    assert len(modules) > 5
    for path in modules:
        found = _imports_of_drivers(ast.parse(path.read_text(), filename=str(path)))
        if found:
            offenders[str(path.relative_to(STATIONS_DIR))] = found
    assert offenders == {}


def test_the_check_finds_an_import_of_drivers_anywhere_in_a_module():
    source = "import os\ndef f():\n    from drivers.models import Driver\nimport drivers\n"
    assert _imports_of_drivers(ast.parse(source)) == ["line 3: drivers.models", "line 4: drivers"]
