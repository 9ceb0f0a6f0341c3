"""What the tests of the repository's source checkers (`check-*.py`) share: loading a checker from its file, writing a
small crate to a temporary directory, and running the checker's `main` with its output captured."""

import importlib.util
import io
import tempfile
from contextlib import redirect_stdout
from pathlib import Path


def load(script: str):
    """The module of `scripts/<script>` (a file name with dashes, so not importable by name)."""
    spec = importlib.util.spec_from_file_location(Path(script).stem.replace("-", "_"), Path(__file__).with_name(script))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def crate(files: dict[str, str]) -> Path:
    """A crate in a new temporary directory: each `path` below its `src/` holds `text`."""
    root = Path(tempfile.mkdtemp())
    for path, text in files.items():
        file = root / "src" / path
        file.parent.mkdir(parents=True, exist_ok=True)
        file.write_text(text, encoding="utf-8")
    return root


def run(checker, *args) -> tuple[int, str]:
    """`checker.main(args)`: its exit code and what it printed."""
    out = io.StringIO()
    with redirect_stdout(out):
        code = checker.main([str(a) for a in args])
    return code, out.getvalue()
