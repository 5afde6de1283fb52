"""The architecture, checked: the import contracts, no import cycle anywhere, each subsystem's
public names, one owner for the database, a small kernel, a Layout section that lists every
module, and a command line that starts without the libraries its commands use. (That every
module imports on its own is tests/test_imports.py.)"""

from __future__ import annotations

import ast
import importlib
import re
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import grimp
import pytest

REPO = Path(__file__).resolve().parent.parent
PACKAGE = REPO / "newsletter"
SUBSYSTEMS = ("archive", "content", "delivery", "mail", "subscribers", "webapp")
# The files that may hold SQL: the subscribers' database (`migrations`: every migration, the
# schema; `database`: the connection, its transactions, the migrations' runner and the file-level
# backup log), the one queries module of each side (`subscribers/queries`: subscribers, events,
# suppressions, the sign-up queue and the confirmation outbox, their figures; `delivery/ledger`:
# campaigns, deliveries, the send lock, events, send runs, their figures), and the build cache,
# which is a file of its own that nothing else reads.
SQL_FILES = {
    "subscribers/migrations.py", "subscribers/database.py", "subscribers/queries.py",
    "delivery/ledger.py",
}
BUILD_CACHE = "archive/cache.py"
SQL_START = ("SELECT ", "INSERT ", "UPDATE ", "DELETE ", "CREATE ", "DROP ", "ALTER ", "PRAGMA ",
             "BEGIN", "COMMIT", "ROLLBACK", "SAVEPOINT", "RELEASE ", "WITH ")


def modules() -> list[str]:
    """Every module of the package, by dotted name."""
    names = []
    for path in sorted(PACKAGE.rglob("*.py")):
        parts = path.relative_to(REPO).with_suffix("").parts
        names.append(".".join(parts[:-1] if parts[-1] == "__init__" else parts))
    return names


def test_the_import_contracts_hold(capsys: pytest.CaptureFixture[str]) -> None:
    """Layers, no cycles between siblings, public names only (pyproject's [tool.importlinter])."""
    from importlinter.cli import lint_imports

    code = lint_imports(config_filename=str(REPO / "pyproject.toml"), no_cache=True,
                        no_logo=True)
    assert code == 0, capsys.readouterr().out


def test_no_import_cycle_anywhere() -> None:
    """No module reaches itself again, counting package __init__ files, imports inside functions
    and imports made only for type checkers (which the sibling contract cannot see between a
    package and its own modules)."""
    graph = grimp.build_graph("newsletter", exclude_type_checking_imports=False, cache_dir=None)
    assert _cycles(graph) == []
    # The search finds a cycle through a package and its own module when there is one.
    toy = grimp.ImportGraph()
    for importer, imported in [("p", "p.a"), ("p.a", "p"), ("p.b", "p.a")]:
        toy.add_import(importer=importer, imported=imported)
    assert _cycles(toy) == [["p", "p.a"]]


def _cycles(graph: grimp.ImportGraph) -> list[list[str]]:
    return [sorted(component) for component in _strongly_connected(graph) if len(component) > 1]


def _strongly_connected(graph: grimp.ImportGraph) -> list[set[str]]:
    """Tarjan's strongly connected components of the import graph, iteratively."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[set[str]] = []

    def imported(module: str) -> Iterator[str]:
        return iter(sorted(graph.find_modules_directly_imported_by(module)))

    for root in sorted(graph.modules):
        if root in index:
            continue
        work = [(root, imported(root))]
        index[root] = low[root] = len(index)
        stack.append(root)
        on_stack.add(root)
        while work:
            node, children = work[-1]
            child = next(children, None)
            if child is not None:
                if child not in index:
                    index[child] = low[child] = len(index)
                    stack.append(child)
                    on_stack.add(child)
                    work.append((child, imported(child)))
                elif child in on_stack:
                    low[node] = min(low[node], index[child])
                continue
            work.pop()
            if work:
                parent = work[-1][0]
                low[parent] = min(low[parent], low[node])
            if low[node] == index[node]:
                component = set()
                while True:
                    member = stack.pop()
                    on_stack.discard(member)
                    component.add(member)
                    if member == node:
                        break
                found.append(component)
    return found


@pytest.mark.parametrize("name", SUBSYSTEMS)
def test_each_subsystem_declares_its_public_names_once(name: str) -> None:
    """`__all__`, the imports for type checkers and the lazy table name the same things, and
    every public name resolves to its module's own object."""
    package = importlib.import_module(f"newsletter.{name}")
    tree = ast.parse((PACKAGE / name / "__init__.py").read_text(encoding="utf-8"))
    typed: dict[str, set[str]] = {}
    lazy: dict[str, set[str]] = {}
    for node in tree.body:
        if isinstance(node, ast.If) and ast.unparse(node.test) == "TYPE_CHECKING":
            for statement in node.body:
                assert isinstance(statement, ast.ImportFrom) and statement.level == 1
                typed["." + (statement.module or "")] = {a.name for a in statement.names}
        elif isinstance(node, ast.Assign) and isinstance(node.value, ast.Call) \
                and ast.unparse(node.value.func) == "lazy_exports":
            table = ast.literal_eval(node.value.args[1])
            lazy = {module: set(names) for module, names in table.items()}
    assert typed and typed == lazy
    assert sorted(package.__all__) == sorted(n for names in typed.values() for n in names)
    for module, names in typed.items():
        owner = importlib.import_module(module, package.__name__)
        for public in names:
            assert getattr(package, public) is getattr(owner, public), f"{name}.{public}"


def sql_in(path: Path) -> list[str]:
    """Where a file writes SQL: statements in string literals, and calls that run them."""
    found = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Constant) and isinstance(node.value, str):
            text = node.value.lstrip()
            if text.startswith(SQL_START):
                found.append(f"{node.lineno}: {text[:40]!r}")
        elif isinstance(node, ast.Attribute) and node.attr in (
                "execute", "executemany", "executescript"):
            found.append(f"{node.lineno}: .{node.attr}")
    return found


def test_sql_is_written_only_by_the_owners_of_the_tables() -> None:
    """Every SQL statement on the subscribers' database lives in its four files (at most four:
    issue 11); the build cache keeps its own (a separate file that nothing else reads)."""
    offenders = {}
    for path in sorted(PACKAGE.rglob("*.py")):
        relative = path.relative_to(PACKAGE).as_posix()
        if relative not in SQL_FILES and relative != BUILD_CACHE and sql_in(path):
            offenders[relative] = sql_in(path)
    assert offenders == {}
    assert len(SQL_FILES) <= 4
    # The search finds what it looks for: each owner does hold statements.
    assert all(sql_in(PACKAGE / owner) for owner in SQL_FILES | {BUILD_CACHE})


def test_no_module_reaches_into_the_connection() -> None:
    """Only the owners of the SQL touch a `Database`'s connection (`.conn`); everything else calls
    their methods (a `conn.execute` anywhere else would also be caught above)."""
    reached = {}
    for path in sorted(PACKAGE.rglob("*.py")):
        relative = path.relative_to(PACKAGE).as_posix()
        if relative in SQL_FILES or relative == BUILD_CACHE:
            continue
        found = [node.lineno for node in ast.walk(ast.parse(path.read_text(encoding="utf-8")))
                 if isinstance(node, ast.Attribute) and node.attr == "conn"]
        if found:
            reached[relative] = found
    assert reached == {}


def test_the_kernel_is_at_most_twelve_modules() -> None:
    kernel = sorted(p.name for p in PACKAGE.glob("*.py"))
    assert len(kernel) <= 12, kernel


def test_the_readme_layout_names_every_module() -> None:
    """README's Layout section lists each subpackage with its modules, and the kernel's."""
    readme = (REPO / "README.md").read_text(encoding="utf-8")
    block = readme.split("## Layout", 1)[1].split("```")[1]
    entries: dict[str, str] = {}
    current = ""
    for line in block.splitlines():
        head = line[:19].strip()
        if line.startswith("  ") and head:
            current = head
            entries[current] = ""
        if current:
            entries[current] += " " + line[19:]
    for folder in sorted(p for p in PACKAGE.rglob("*") if p.is_dir() and p.name != "__pycache__"):
        # A subpackage's own subpackage (mail/transports/) is listed on its parent's line.
        line = folder.name if folder.parent == PACKAGE else folder.parent.name
        words = set(re.findall(r"[a-z_]+", entries.get(f"{line}/", "")))
        wanted = {p.stem for p in folder.glob("*.py") if p.stem != "__init__"}
        assert wanted <= words, (folder.name, sorted(wanted - words))
    kernel = {p.stem for p in PACKAGE.glob("*.py") if p.stem != "__init__"}
    assert kernel <= set(re.findall(r"[a-z_]+", entries["*.py"]))


def test_registering_the_commands_imports_no_heavy_library() -> None:
    """`publish.py --help` (and every command before it starts) imports the public names it
    registers, not the libraries or subsystems its commands use."""
    probe = ("import sys; from newsletter.cli import build_parser; build_parser(); "
             "print(' '.join(sorted(sys.modules)))")
    loaded = set(subprocess.run([sys.executable, "-c", probe], cwd=REPO, capture_output=True,
                                text=True, check=True).stdout.split())
    heavy = {"boto3", "premailer", "markdown", "jinja2", "babel", "yaml", "email_validator",
             "sqlite3", "lxml", "newsletter.mail", "newsletter.delivery", "newsletter.webapp"}
    assert loaded & heavy == set()
