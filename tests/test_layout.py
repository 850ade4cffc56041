"""The package's shape: folders in pipeline order, imports only downward, no reaching into
another package's private names, render.py and every function small enough to read."""

import ast
from pathlib import Path

PACKAGE = Path(__file__).resolve().parent.parent / "audiofic"
# Lowest first: a module may import from its own folder and from any folder below it.
LAYERS = ["base", "engines", "publish", "read", "story", "casting", "sound", "run", "studio", "cli"]
BASE = {"__init__", "model", "errors", "files"}


def layer_of(module: str) -> str:
    parts = module.split(".")[1:]  # drop "audiofic"
    if not parts or (len(parts) == 1 and parts[0] in BASE):
        return "base"
    if len(parts) == 1 and parts[0] in ("cli", "__main__"):
        return "cli"
    return parts[0]


def modules():
    for path in sorted(PACKAGE.rglob("*.py")):
        parts = ("audiofic",) + path.relative_to(PACKAGE).with_suffix("").parts
        name = ".".join(parts[:-1] if parts[-1] == "__init__" else parts)
        package = name if parts[-1] == "__init__" else name.rsplit(".", 1)[0]
        yield path, name, package


def imports(path: Path, package: str):
    """(imported module, names) for every `from … import …` of an audiofic module."""
    for node in ast.walk(ast.parse(path.read_text("utf-8"))):
        if isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")[: len(package.split(".")) - node.level + 1]
                target = ".".join(base + ([node.module] if node.module else []))
            elif (node.module or "").startswith("audiofic"):
                target = node.module
            else:
                continue
            yield target, [alias.name for alias in node.names]
        elif isinstance(node, ast.Import):
            for alias in node.names:
                if alias.name.startswith("audiofic"):
                    yield alias.name, []


def test_layer_names_are_the_folders():
    folders = {p.name for p in PACKAGE.iterdir() if p.is_dir() and (p / "__init__.py").exists()}
    assert folders == set(LAYERS) - {"base", "cli"}


def test_no_import_points_up_a_layer():
    upward = []
    for path, name, package in modules():
        for target, names in imports(path, package):
            targets = [f"{target}.{n}" for n in names if (PACKAGE.parent / f"{target}.{n}".replace(".", "/")).is_dir()
                       or (PACKAGE.parent / (f"{target}.{n}".replace(".", "/") + ".py")).exists()] or [target]
            for module in targets:
                if LAYERS.index(layer_of(module)) > LAYERS.index(layer_of(name)):
                    upward.append(f"{name} imports {module}")
    assert not upward


def test_no_module_imports_another_packages_private_name():
    reaching = []
    for path, name, package in modules():
        for target, names in imports(path, package):
            target_package = target if (PACKAGE.parent / target.replace(".", "/")).is_dir() else target.rsplit(".", 1)[0]
            for n in names:
                if n.startswith("_") and target_package != package:
                    reaching.append(f"{name} imports {target}.{n}")
    assert not reaching


def test_render_is_one_work_and_no_function_is_long():
    assert len((PACKAGE / "run" / "render.py").read_text("utf-8").splitlines()) < 300
    long = []
    for path, name, _package in modules():
        for node in ast.walk(ast.parse(path.read_text("utf-8"))):
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)) and node.end_lineno - node.lineno + 1 > 80:
                long.append(f"{name}.{node.name}: {node.end_lineno - node.lineno + 1} lines")
    assert not long
