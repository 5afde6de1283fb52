"""The package as pip sees it: metadata that installs without deprecation warnings."""

from __future__ import annotations

import tomllib
from pathlib import Path

from packaging.licenses import canonicalize_license_expression
from packaging.specifiers import SpecifierSet

REPO = Path(__file__).resolve().parents[1]
PYPROJECT = tomllib.loads((REPO / "pyproject.toml").read_text(encoding="utf-8"))


def test_the_licence_is_an_spdx_expression_not_the_deprecated_table() -> None:
    """`license = {text = …}` makes pip warn on every install (PEP 639); an SPDX string does not."""
    licence = PYPROJECT["project"]["license"]
    assert isinstance(licence, str)
    assert canonicalize_license_expression(licence) == licence
    # PEP 639 forbids licence classifiers beside an expression.
    assert not any(c.startswith("License ::") for c in PYPROJECT["project"].get("classifiers", []))
    # The expression form needs setuptools 77 or later to build.
    build = PYPROJECT["build-system"]["requires"]
    (requirement,) = [r.removeprefix("setuptools") for r in build if r.startswith("setuptools")]
    assert "76.9" not in SpecifierSet(requirement)
    assert "77.0" in SpecifierSet(requirement)
