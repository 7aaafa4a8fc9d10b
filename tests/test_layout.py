"""The package's shape: the lesson in front, the classroom behind, and small files.

These are the budgets of the redesign (issue 12), checked on every run so they hold.
"""

import ast
from pathlib import Path

from mnist_demo.constants import PROJECT_ROOT

PACKAGE = PROJECT_ROOT / "mnist_demo"
MAX_FILE_LINES = 420
MAX_FUNCTION_LINES = 60  # argparse builders aside
MAX_TRAIN_LINES = 40


def modules() -> dict[Path, ast.Module]:
    return {path: ast.parse(path.read_text()) for path in sorted(PACKAGE.rglob("*.py"))}


def imported(tree: ast.Module) -> set[str]:
    """The top-level package of every import in a module."""
    names = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names |= {alias.name.split(".")[0] for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module:
            names.add(node.module.split(".")[0])
    return names


def functions(tree: ast.Module):
    for node in ast.walk(tree):
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            yield node.name, node.end_lineno - node.lineno + 1


def test_files_and_functions_stay_small():
    too_long = []
    for path, tree in modules().items():
        lines = path.read_text().count("\n") + 1
        if lines > MAX_FILE_LINES:
            too_long.append(f"{path.name}: {lines} lines")
        too_long += [
            f"{path.name}:{name}: {length} lines"
            for name, length in functions(tree)
            if length > MAX_FUNCTION_LINES and not name.startswith(("parse_args", "build_parser"))
        ]
    assert too_long == []


def test_the_training_loop_fits_on_a_projected_screen():
    train = dict(functions(ast.parse((PACKAGE / "train.py").read_text())))
    assert train["train"] <= MAX_TRAIN_LINES
    assert train["train_step"] <= 10  # the lesson's five lines, a signature and a docstring


def test_no_global_statements():
    assert [
        path.name
        for path, tree in modules().items()
        if any(isinstance(node, ast.Global) for node in ast.walk(tree))
    ] == []


def test_only_ui_imports_gradio():
    outside = [
        path.relative_to(PACKAGE).as_posix()
        for path, tree in modules().items()
        if "gradio" in imported(tree) and path.relative_to(PACKAGE).parts[0] != "ui"
    ]
    assert outside == []
    assert (PACKAGE / "classroom").is_dir()


def test_the_lesson_does_not_depend_on_the_classroom_or_the_ui():
    lesson = [path for path in modules() if path.parent == PACKAGE]
    assert len(lesson) >= 10
    for path in lesson:
        text = path.read_text()
        assert "mnist_demo.classroom" not in text and "mnist_demo.ui" not in text, path.name


def test_the_pads_browser_code_is_in_static_files():
    static = PACKAGE / "ui" / "static"
    assert {"pad.html", "pad.css", "pad.js"} <= {path.name for path in static.iterdir()}
    assert "addEventListener('pointerdown'" in (static / "pad.js").read_text()
