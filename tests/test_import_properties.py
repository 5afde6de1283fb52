"""Property test: no CSV row makes `subscribers import` raise anything but a reported problem.

Rows are built from hostile cells (control characters, NUL, quotes and separators, newlines,
huge and unicode text, addresses valid and not, every case of state and language) and written
both by the csv module and as raw lines; the import reports each bad row as `FILE:line: reason`
or the file as a whole as one `ImportFileError` line, and never raises anything else.
"""

from __future__ import annotations

import csv
import io
import tempfile
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from newsletter.errors import NewsletterError
from newsletter.settings import Settings, load_settings
from newsletter.subscribers.importer import ImportFileError, import_csv
from newsletter.subscribers.store import SubscriberStore
from tests.conftest import copy_project

HEADER = ["email", "state", "lang", "name", "organisation"]
CELLS = st.one_of(
    st.sampled_from([
        "ana@inau.gub.uy", "ANA@INAU.GUB.UY", "x@y", "@", "a@b@c", "a b@c.d", "\x00@x.org",
        "uy", "UY", "ZZ", "", " ", "es", "EN", "de", "=cmd|' /C calc'!A0", "\r", "\n", "\t",
        '"', "'", ",", ";", "a" * 5000, "ñandú@correo.uy", "xn--@x.org", "\u2028", "\ufeff",
        "user@[127.0.0.1]", "a@" + "b" * 300 + ".org",
    ]),
    st.text(max_size=30),
    st.emails().map(str),
)
ROWS = st.lists(st.lists(CELLS, min_size=0, max_size=7), min_size=1, max_size=6)


@pytest.fixture(scope="module")
def module_settings(tmp_path_factory: pytest.TempPathFactory) -> Settings:
    root = copy_project(tmp_path_factory.mktemp("import-properties") / "project", issues=False)
    return load_settings(root / "newsletter.toml")


def _import(settings_: Settings, data: bytes, strict: bool) -> None:
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "rows.csv"
        path.write_bytes(data)
        store = SubscriberStore.open(settings_)
        try:
            report = import_csv(store, path, confirmed=True, note="property test",
                                strict=strict, display="rows.csv")
        except ImportFileError as exc:
            assert str(exc).startswith("rows.csv:")
        except NewsletterError as exc:  # --strict with bad rows: every one is listed
            assert getattr(exc, "problems", None), exc
        else:
            for problem in report.problems:
                assert str(problem).startswith(f"rows.csv:{problem.line}: ")
                assert problem.line >= 2
        finally:
            store.database.conn.execute("DELETE FROM subscribers")
            store.close()


@settings(max_examples=200, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(rows=ROWS, delimiter=st.sampled_from([",", ";"]), strict=st.booleans())
def test_no_csv_row_raises_anything_but_a_reported_problem(
    module_settings: Settings, rows: list[list[str]], delimiter: str, strict: bool
) -> None:
    out = io.StringIO()
    writer = csv.writer(out, delimiter=delimiter, lineterminator="\n")
    writer.writerow(HEADER)
    writer.writerows(rows)
    _import(module_settings, out.getvalue().encode("utf-8", "surrogatepass"), strict)


@settings(max_examples=150, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(body=st.binary(max_size=300))
def test_no_raw_bytes_after_the_header_raise_anything_but_a_reported_problem(
    module_settings: Settings, body: bytes
) -> None:
    _import(module_settings, b"email,state,lang\n" + body, strict=False)
