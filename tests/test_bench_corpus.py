"""The benchmark corpus is valid content for both tools, realistic in size, and reproducible."""

from __future__ import annotations

from pathlib import Path

from bench.corpus import make_corpus
from newsletter.content import load_corpus
from newsletter.content.check import run_checks
from newsletter.settings import load_settings


def test_corpus_passes_check_with_nothing_to_report(tmp_path: Path) -> None:
    ours, _ = make_corpus(tmp_path, issues=6)
    settings = load_settings(ours / "newsletter.toml")
    corpus = load_corpus(settings)
    assert [i.slug for i in corpus.issues] == [f"1984-0{n}" for n in range(6, 0, -1)]
    assert all(set(i.editions) == {"es", "en"} for i in corpus.issues)
    assert list(corpus.problems) + run_checks(settings, corpus) == []


def test_editions_are_about_9_kb_with_every_markdown_feature(tmp_path: Path) -> None:
    ours, pelican = make_corpus(tmp_path, issues=4)
    texts = [md.read_text(encoding="utf-8") for md in sorted((ours / "issues").rglob("*.md"))]
    for text in texts:
        assert 7_000 < len(text.encode()) < 12_000
        for feature in ("\n## ", "\n| ", "\n[^1]: ", "](https://", '"'):
            assert feature in text, feature
    assert any("\n- " in t for t in texts) and any("\n1. " in t for t in texts)
    assert any("\n> " in t for t in texts)
    spanish = (ours / "issues/1984-02/es.md").read_text(encoding="utf-8")
    assert "](../1984-01/es.md)" in spanish
    assert any(c in spanish.split("\n## ", 1)[1].split("\n", 1)[0] for c in "áéíóúñ")
    english = (pelican / "content/1984-02/en.md").read_text(encoding="utf-8")
    assert english.startswith("Title: ") and "\nLang: en\n" in english
    assert "\nTranslation: true\n" in english and "]({filename}/1984-01/en.md)" in english
    assert "TRANSLATION_FEED_RSS" in (pelican / "pelicanconf.py").read_text(encoding="utf-8")


def test_same_seed_same_bytes_other_seed_other_text(tmp_path: Path) -> None:
    a, _ = make_corpus(tmp_path / "a", issues=2, seed=7)
    b, _ = make_corpus(tmp_path / "b", issues=2, seed=7)
    c, _ = make_corpus(tmp_path / "c", issues=2, seed=8)
    read = lambda root: (root / "issues/1984-02/es.md").read_bytes()  # noqa: E731
    assert read(a) == read(b) != read(c)
