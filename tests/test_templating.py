"""The Jinja environment's helpers: what templates read from the values a renderer hands over."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from jinja2 import UndefinedError
from markupsafe import Markup, escape

from newsletter.templating import Fields, make_environment


def test_fields_read_as_attributes_like_a_dict_and_a_missing_key_still_fails(
    tmp_path: Path,
) -> None:
    (tmp_path / "t.html").write_text("{{ t.skip }}|{{ t.get('skip') }}|{{ t.items is defined }}",
                                     encoding="utf-8")
    (tmp_path / "missing.html").write_text("{{ t.nothing }}", encoding="utf-8")
    env = make_environment(tmp_path)
    words = Fields({"skip": "Saltar <al> contenido"})
    assert env.get_template("t.html").render(t=words) == \
        "Saltar &lt;al&gt; contenido|Saltar &lt;al&gt; contenido|True"
    assert env.get_template("t.html").render(t=dict(words)) == \
        env.get_template("t.html").render(t=words)
    with pytest.raises(UndefinedError):
        env.get_template("missing.html").render(t=words)
    with pytest.raises(AttributeError):
        _ = words.nothing


def test_a_key_named_like_a_dict_method_reads_as_the_method_as_python_does(
    tmp_path: Path,
) -> None:
    """The environment reads a `Fields` key in one lookup, but a name Python's attribute lookup
    finds first (a dict method) is still that."""
    (tmp_path / "m.html").write_text(
        "{{ t.items is callable }}|{{ t['items'] }}|{{ t.name }}|{{ t.__class__.__name__ }}",
        encoding="utf-8")
    words = Fields({"items": "artículos", "name": "<b>"})
    assert make_environment(tmp_path).get_template("m.html").render(t=words) == \
        "True|artículos|&lt;b&gt;|Fields"
    assert make_environment(tmp_path).getattr(words, "name") == words.name


def test_feed_content_escaped_once_is_not_escaped_again(tmp_path: Path) -> None:
    (tmp_path / "f.xml").write_text("<content:encoded>{{ c }}</content:encoded>", encoding="utf-8")
    template = make_environment(tmp_path).get_template("f.xml")
    html = '<p>a &amp; "b"</p>'
    assert isinstance(escape(html), Markup)
    assert template.render(c=escape(html)) == template.render(c=html)


def test_an_environment_of_a_version_keeps_its_templates_and_a_new_version_reads_them(
    tmp_path: Path,
) -> None:
    page = tmp_path / "p.html"
    page.write_text("one", encoding="utf-8")
    assert make_environment(tmp_path, "v1").get_template("p.html").render() == "one"
    assert make_environment(tmp_path).get_template("p.html").render() == "one"
    page.write_text("two", encoding="utf-8")
    os.utime(page, (1, 1))  # another modification time, whatever the clock's resolution
    # The build's environment (its key hashes the templates) does not look at the disk again…
    assert make_environment(tmp_path, "v1").get_template("p.html").render() == "one"
    # …a new key is a new environment, and one without a version always looks.
    assert make_environment(tmp_path, "v2").get_template("p.html").render() == "two"
    assert make_environment(tmp_path).get_template("p.html").render() == "two"
