"""A deterministic bilingual corpus for the build benchmarks, written for us and for Pelican.

`make_corpus(dest, issues=500, seed=2686)` writes two trees from the same plan:

- `dest/ours/`: a project folder (newsletter.toml, templates/, subscribers/member-states.toml from
  this repository) with `issues/<slug>/{es,en}.md` in our format (YAML front matter);
- `dest/pelican/`: `content/<slug>/{es,en}.md` with Pelican's `Key: value` metadata
  (`Lang:`, `Slug:`, `Translation: true` on the English edition) and `pelicanconf.py`.

Each edition is about 9 KB of Markdown: accented Spanish headings, paragraphs with "quotes",
bulleted and numbered lists, external links and a link to the previous issue, a table, a block
quote, footnotes. Both languages follow one plan, so the translations never drift apart (the
build's checks pass) and both tools convert the same text.

Run: `.venv/bin/python -m bench.corpus DEST [--issues 500] [--seed 2686]`.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import random
import shutil
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
LANGS = ("es", "en")
TARGET_BYTES = 9000
TODAY = dt.date(2026, 11, 28)

COUNTRIES = {
    "AR": ("Argentina", "Argentina"), "BR": ("Brasil", "Brazil"), "CL": ("Chile", "Chile"),
    "CO": ("Colombia", "Colombia"), "CR": ("Costa Rica", "Costa Rica"),
    "EC": ("Ecuador", "Ecuador"), "SV": ("El Salvador", "El Salvador"),
    "GT": ("Guatemala", "Guatemala"), "HN": ("Honduras", "Honduras"), "MX": ("México", "Mexico"),
    "PA": ("Panamá", "Panama"), "PY": ("Paraguay", "Paraguay"), "PE": ("Perú", "Peru"),
    "DO": ("República Dominicana", "the Dominican Republic"), "UY": ("Uruguay", "Uruguay"),
    "JM": ("Jamaica", "Jamaica"), "HT": ("Haití", "Haiti"), "BO": ("Bolivia", "Bolivia"),
}
MONTHS = {
    "es": ("enero", "febrero", "marzo", "abril", "mayo", "junio", "julio", "agosto",
           "septiembre", "octubre", "noviembre", "diciembre"),
    "en": ("January", "February", "March", "April", "May", "June", "July", "August",
           "September", "October", "November", "December"),
}

HEADINGS = [
    ("Participación de niñas, niños y adolescentes", "Participation of children and adolescents"),
    ("Cooperación técnica con los Estados", "Technical cooperation with the States"),
    ("Legislación y políticas públicas", "Legislation and public policy"),
    ("La red de enlaces técnicos", "The liaison network"),
    ("Próximos pasos del Observatorio", "The Observatory's next steps"),
    ("Protección en la era digital", "Protection in a digital age"),
    ("Formación de operadores de justicia", "Training for justice officials"),
    ("Campañas de sensibilización en la región", "Awareness campaigns in the region"),
    ("Investigación y datos estadísticos", "Research and statistics"),
    ("Turismo y explotación sexual comercial", "Tourism and commercial sexual exploitation"),
    ("Atención integral a las víctimas", "Comprehensive care for victims"),
    ("Reunión regional: conclusiones", "Regional meeting: conclusions"),
]
SUBHEADINGS = [
    ("Qué cambió este año", "What changed this year"),
    ("Lecciones aprendidas", "Lessons learned"),
    ("Recursos para los equipos técnicos", "Resources for technical teams"),
    ("Opinión de los adolescentes", "What adolescents said"),
]
SENTENCES = [
    ("El Observatorio recopiló {n} documentos nuevos de {country} sobre explotación sexual "
     "comercial de niñas, niños y adolescentes.",
     "The Observatory gathered {n} new documents from {country} on the commercial sexual "
     "exploitation of children and adolescents."),
    ("La comisión nacional de {country} presentó su plan de acción para el período {year}-{year2}.",
     "The national commission of {country} presented its action plan for {year}-{year2}."),
    ("Las y los participantes pidieron \"más información y menos discursos\" a las autoridades.",
     "The participants asked the authorities for \"more information and fewer speeches\"."),
    ("El enlace técnico de {country} destacó la importancia de trabajar con las familias y las "
     "escuelas.",
     "The liaison in {country} stressed how important it is to work with families and schools."),
    ("Según el informe, el {pct} % de los casos denunciados en {year} involucró a adolescentes "
     "de entre 13 y 17 años.",
     "According to the report, {pct}% of the cases reported in {year} involved adolescents "
     "aged 13 to 17."),
    ("La campaña \"Nuestra voz a colores\" llegó a {n} escuelas de la región.",
     "The \"Our Voice in Colors\" campaign reached {n} schools across the region."),
    ("El Consejo Directivo aprobó la resolución en su reunión ordinaria de {month} de {year}.",
     "The Directing Council adopted the resolution at its regular meeting in {month} {year}."),
    ("Los Estados acordaron compartir sus buenas prácticas a través del boletín.",
     "The States agreed to share their good practices through the newsletter."),
    ("La legislación de {country} tipifica la explotación sexual comercial como delito "
     "desde {year}.",
     "The law of {country} has made commercial sexual exploitation a crime since {year}."),
    ("Una adolescente de {country} resumió la jornada así: \"nos escucharon de verdad\".",
     "An adolescent from {country} summed up the day: \"they really listened to us\"."),
    ("El curso virtual contó con {n} operadores de justicia, policía y salud.",
     "The online course had {n} participants from the justice system, the police and health "
     "services."),
    ("La reunión de Viena, \"Protecting Children in a Digital Age\", trató los riesgos de "
     "internet.",
     "The Vienna session, \"Protecting Children in a Digital Age\", dealt with the risks of "
     "the internet."),
    ("El IIN-OEA ofreció asistencia técnica a {country} para revisar su protocolo de atención.",
     "The IIN-OAS gave {country} technical assistance to revise its care protocol."),
    ("Veinte de los treinta y tres Estados Miembros activos ya designaron un enlace técnico.",
     "Twenty of the thirty-three active member states have already appointed a liaison."),
    ("El estudio propone indicadores comunes para medir la respuesta institucional.",
     "The study proposes common indicators to measure the institutional response."),
    ("Las organizaciones de la sociedad civil de {country} colaboraron en la recolección de datos.",
     "Civil-society organisations in {country} helped to collect the data."),
    ("El sector turístico firmó un código de conducta con {n} empresas adheridas.",
     "The tourism sector signed a code of conduct that {n} companies have joined."),
    ("Las autoridades de {country} capacitaron a {n} funcionarios de frontera en {year}.",
     "The authorities of {country} trained {n} border officials in {year}."),
    ("La próxima reunión regional se celebrará en {country} en {month} de {year2}.",
     "The next regional meeting will be held in {country} in {month} {year2}."),
    ("Los materiales están disponibles en español, inglés, portugués y francés.",
     "The materials are available in Spanish, English, Portuguese and French."),
    ("Cada país envió un informe con su situación y los desafíos pendientes.",
     "Each country sent a report on its situation and the challenges ahead."),
    ("La línea de ayuda de {country} recibió {n} consultas durante el último trimestre.",
     "The helpline in {country} received {n} calls during the last quarter."),
    ("El equipo del Observatorio agradece la colaboración de las comisiones nacionales.",
     "The Observatory team thanks the national commissions for their collaboration."),
    ("Las niñas y los niños prepararon dibujos y textos que se publicarán en el sitio web.",
     "The children prepared drawings and texts that will be published on the website."),
]
LINK_TEXTS = [
    ("el informe completo", "the full report"), ("la resolución", "the resolution"),
    ("la guía para docentes", "the teachers' guide"), ("el plan nacional", "the national plan"),
    ("el sitio de la campaña", "the campaign website"), ("las conclusiones", "the conclusions"),
]
QUOTES = [
    ("\"Proteger a la infancia es una responsabilidad compartida entre el Estado, la familia y "
     "la comunidad\", recordó la directora general en la apertura.",
     "\"Protecting children is a responsibility shared by the State, the family and the "
     "community\", the director general said at the opening."),
    ("\"Sin datos confiables no hay políticas públicas eficaces\", señaló el coordinador del "
     "Observatorio.",
     "\"Without reliable data there is no effective public policy\", said the Observatory's "
     "coordinator."),
]
TABLE_HEAD = (("País", "Enlace técnico", "Documentos", "Año"),
              ("Country", "Liaison", "Documents", "Year"))
FOOTNOTES = [
    ("Resolución CD/RES. 10 (82-R/07) del Consejo Directivo del IIN.",
     "Resolution CD/RES. 10 (82-R/07) of the IIN Directing Council."),
    ("Datos enviados por las comisiones nacionales; cifras provisorias.",
     "Data sent by the national commissions; provisional figures."),
    ("Véase el informe anual de {year} del Observatorio.",
     "See the Observatory's {year} annual report."),
]
TITLES = [
    ("Boletín {number}: {topic} en {country}", "Issue {number}: {topic} in {country}"),
]
TOPICS = [
    ("cooperación y participación", "cooperation and participation"),
    ("nuevas leyes y planes nacionales", "new laws and national plans"),
    ("la red de enlaces crece", "the liaison network grows"),
    ("protección en línea", "online protection"),
    ("formación y sensibilización", "training and awareness"),
]


@dataclass(frozen=True)
class Edition:
    """One generated edition: its slug, language, front-matter values and Markdown body."""

    slug: str
    lang: str
    number: int
    title: str
    date: dt.date
    summary: str
    tags: tuple[str, ...]
    countries: tuple[str, ...]
    body: str


def slug_for(number: int) -> str:
    """Issue n is published monthly from January 1984: YYYY-MM."""
    year, month = divmod(number - 1, 12)
    return f"{1984 + year:04d}-{month + 1:02d}"


def date_for(number: int) -> dt.date:
    """The 15th of the issue's month."""
    year, month = divmod(number - 1, 12)
    return dt.date(1984 + year, month + 1, 15)


class _Writer:
    """Realises one plan (a sequence of random choices) in every language at once."""

    def __init__(self, rng: random.Random, number: int) -> None:
        self.rng = rng
        self.number = number
        self.parts: dict[str, list[str]] = {lang: [] for lang in LANGS}
        self.footnotes = 0

    def emit(self, pair: tuple[str, str]) -> None:
        for lang, text in zip(LANGS, pair, strict=True):
            self.parts[lang].append(text)

    def values(self) -> dict[str, tuple[str, str]]:
        r = self.rng
        code = r.choice(sorted(COUNTRIES))
        year = r.randint(1990, 2025)
        month = r.randrange(12)
        same = {"n": str(r.randint(3, 480)), "pct": str(r.randint(5, 95)), "year": str(year),
                "year2": str(year + r.randint(1, 4))}
        return {**{k: (v, v) for k, v in same.items()}, "country": COUNTRIES[code],
                "month": (MONTHS["es"][month], MONTHS["en"][month])}

    def sentence(self) -> tuple[str, str]:
        es, en = self.rng.choice(SENTENCES)
        values = self.values()
        es = es.format(**{k: v[0] for k, v in values.items()})
        en = en.format(**{k: v[1] for k, v in values.items()})
        if self.rng.random() < 0.12:
            self.footnotes += 1
            mark = f"[^{self.footnotes}]"
            es, en = es[:-1] + mark + es[-1], en[:-1] + mark + en[-1]
        if self.rng.random() < 0.15:
            text_es, text_en = self.rng.choice(LINK_TEXTS)
            url = f"https://www.iin.oea.org/documentos/{self.number}-{self.rng.randint(1, 999)}"
            es += f" Consulte [{text_es}]({url})."
            en += f" Read [{text_en}]({url})."
        return es, en

    def paragraph(self, count: int) -> None:
        sentences = [self.sentence() for _ in range(count)]
        self.emit((" ".join(s[0] for s in sentences), " ".join(s[1] for s in sentences)))

    def bullets(self, ordered: bool) -> None:
        items = []
        for i in range(self.rng.randint(3, 5)):
            es, en = self.sentence()
            marker = f"{i + 1}." if ordered else "-"
            items.append((f"{marker} {es}", f"{marker} {en}"))
        self.emit(("\n".join(i[0] for i in items), "\n".join(i[1] for i in items)))

    def table(self) -> None:
        rows_es = ["| " + " | ".join(TABLE_HEAD[0]) + " |", "|---|---|---:|---:|"]
        rows_en = ["| " + " | ".join(TABLE_HEAD[1]) + " |", "|---|---|---:|---:|"]
        for code in self.rng.sample(sorted(COUNTRIES), 6):
            yes = self.rng.random() < 0.7
            docs, year = self.rng.randint(2, 90), self.rng.randint(2005, 2025)
            rows_es.append(f"| {COUNTRIES[code][0]} | {'Sí' if yes else 'No'} | {docs} | {year} |")
            rows_en.append(f"| {COUNTRIES[code][1]} | {'Yes' if yes else 'No'} | {docs} | {year} |")
        self.emit(("\n".join(rows_es), "\n".join(rows_en)))


def plan_issue(number: int, seed: int) -> dict[str, Edition]:
    """Both editions of issue `number`, from one deterministic plan."""
    rng = random.Random(seed * 1_000_003 + number)
    w = _Writer(rng, number)
    slug = slug_for(number)
    if number > 1:
        prev = slug_for(number - 1)
        first = w.sentence()
        w.emit((f"En el [número anterior](../{prev}/es.md) contamos cómo empezó este trabajo. "
                + first[0],
                f"The [previous issue](../{prev}/en.md) told how this work began. " + first[1]))
    w.paragraph(3)
    headings = rng.sample(HEADINGS, len(HEADINGS))
    section = 0
    table_done = False
    while len("\n\n".join(w.parts["es"]).encode()) < TARGET_BYTES - 900:
        es, en = headings[section % len(headings)]
        section += 1
        w.emit((f"## {es}", f"## {en}"))
        w.paragraph(rng.randint(3, 5))
        kind = rng.random()
        if not table_done and section >= 2:
            w.table()
            table_done = True
        elif kind < 0.35:
            w.bullets(ordered=False)
        elif kind < 0.55:
            w.bullets(ordered=True)
        elif kind < 0.75:
            w.emit(tuple("> " + q for q in rng.choice(QUOTES)))  # type: ignore[arg-type]
        else:
            sub_es, sub_en = rng.choice(SUBHEADINGS)
            w.emit((f"### {sub_es}", f"### {sub_en}"))
        w.paragraph(rng.randint(2, 4))
    for i in range(1, w.footnotes + 1):
        es, en = rng.choice(FOOTNOTES)
        year = str(rng.randint(1995, 2025))
        w.emit((f"[^{i}]: " + es.format(year=year), f"[^{i}]: " + en.format(year=year)))

    codes = tuple(sorted(rng.sample(sorted(COUNTRIES), 2)))
    topic = rng.choice(TOPICS)
    country = COUNTRIES[codes[0]]
    editions = {}
    for i, lang in enumerate(LANGS):
        title = TITLES[0][i].format(number=number, topic=topic[i], country=country[i])
        summary = (f"Noticias del Observatorio del IIN-OEA: {topic[0]}, con datos de "
                   f"{COUNTRIES[codes[0]][0]} y {COUNTRIES[codes[1]][0]}." if lang == "es" else
                   f"News from the IIN-OAS Observatory: {topic[1]}, with data from "
                   f"{COUNTRIES[codes[0]][1]} and {COUNTRIES[codes[1]][1]}.")
        editions[lang] = Edition(slug, lang, number, title, date_for(number), summary,
                                 ("observatorio", "cooperación"), codes,
                                 "\n\n".join(w.parts[lang]) + "\n")
    return editions


def ours_markdown(e: Edition) -> str:
    """Our edition file: YAML front matter (JSON strings are YAML strings) and the body."""
    return (
        "---\n"
        f"number: {e.number}\n"
        f"title: {json.dumps(e.title, ensure_ascii=False)}\n"
        f"date: {e.date.isoformat()}\n"
        f"summary: {json.dumps(e.summary, ensure_ascii=False)}\n"
        "status: ready\n"
        f"tags: [{', '.join(e.tags)}]\n"
        f"countries: [{', '.join(e.countries)}]\n"
        "---\n\n" + e.body
    )


def pelican_markdown(e: Edition) -> str:
    """The same edition for Pelican: `Key: value` metadata, links to issues as {filename}."""
    body = e.body.replace("](../", "]({filename}/")
    meta = [
        f"Title: {e.title}",
        f"Date: {e.date.isoformat()}",
        f"Slug: {e.slug}",
        f"Lang: {e.lang}",
        f"Summary: {e.summary}",
        f"Tags: {', '.join(e.tags)}",
        "Category: boletin",
        "Author: Observatorio IIN-OEA",
    ]
    if e.lang != LANGS[0]:
        meta.append("Translation: true")
    return "\n".join(meta) + "\n\n" + body


PELICANCONF = '''\
"""Pelican 4.12 settings for the benchmark corpus: the same Markdown extensions as ours,
one RSS feed per language with full content, pages at /<lang>/<slug>/, and no outputs that
our build does not make either (tag, category, author and archive pages, Atom feeds)."""
from markdown.extensions.toc import slugify_unicode

AUTHOR = "Observatorio IIN-OEA"
SITENAME = "ANNAobserva"
SITEURL = "https://annaobserva.iin.oea.org"
PATH = "content"
OUTPUT_PATH = "output"
CACHE_PATH = "cache"
TIMEZONE = "UTC"
DEFAULT_LANG = "es"
ARTICLE_PATHS = [""]
PAGE_PATHS = []
STATIC_PATHS = []
ARTICLE_URL = "es/{slug}/"
ARTICLE_SAVE_AS = "es/{slug}/index.html"
ARTICLE_LANG_URL = "{lang}/{slug}/"
ARTICLE_LANG_SAVE_AS = "{lang}/{slug}/index.html"
INDEX_SAVE_AS = "es/index.html"
DIRECT_TEMPLATES = ["index"]
DEFAULT_PAGINATION = False
CATEGORY_SAVE_AS = ""
TAG_SAVE_AS = ""
AUTHOR_SAVE_AS = ""
FEED_DOMAIN = SITEURL
FEED_ATOM = None
FEED_ALL_ATOM = None
CATEGORY_FEED_ATOM = None
TRANSLATION_FEED_ATOM = None
AUTHOR_FEED_ATOM = None
AUTHOR_FEED_RSS = None
FEED_RSS = None  # TRANSLATION_FEED_RSS covers every language, the default one too
TRANSLATION_FEED_RSS = "{lang}/feed.xml"
FEED_MAX_ITEMS = 20
RSS_FEED_SUMMARY_ONLY = False
# The cached rebuild the issue compares against (LOAD_CONTENT_CACHE).
CACHE_CONTENT = True
LOAD_CONTENT_CACHE = True
MARKDOWN = {
    "extension_configs": {
        "markdown.extensions.extra": {},
        "markdown.extensions.toc": {"slugify": slugify_unicode, "toc_depth": "2-3"},
        "markdown.extensions.sane_lists": {},
%(smarty)s    },
    "output_format": "html5",
}
'''


def copy_project(dest: Path) -> Path:
    """Our project folder without issues: settings, templates, member states (as tests do)."""
    dest.mkdir(parents=True, exist_ok=True)
    shutil.copy(ROOT / "newsletter.toml", dest / "newsletter.toml")
    shutil.copytree(ROOT / "templates", dest / "templates")
    (dest / "subscribers").mkdir(exist_ok=True)
    shutil.copy(ROOT / "subscribers" / "member-states.toml", dest / "subscribers")
    (dest / "issues").mkdir(exist_ok=True)
    return dest


def make_corpus(
    dest: Path, issues: int = 500, seed: int = 2686, pelican_smarty: bool = False
) -> tuple[Path, Path]:
    """Write both trees under dest (replacing them); return (our project, Pelican's folder)."""
    ours, pelican = dest / "ours", dest / "pelican"
    for folder in (ours, pelican):
        if folder.exists():
            shutil.rmtree(folder)
    copy_project(ours)
    (pelican / "content").mkdir(parents=True)
    for number in range(1, issues + 1):
        editions = plan_issue(number, seed)
        for lang, edition in editions.items():
            for root, text in ((ours / "issues", ours_markdown(edition)),
                               (pelican / "content", pelican_markdown(edition))):
                folder = root / edition.slug
                folder.mkdir(exist_ok=True)
                (folder / f"{lang}.md").write_text(text, encoding="utf-8")
    smarty = '        "markdown.extensions.smarty": {},\n' if pelican_smarty else ""
    (pelican / "pelicanconf.py").write_text(PELICANCONF % {"smarty": smarty}, encoding="utf-8")
    return ours, pelican


def _cli() -> None:
    """Write a corpus and print its size (not `main`: `python -m bench` runs every `main`)."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("dest", type=Path, help="folder to write ours/ and pelican/ into")
    parser.add_argument("--issues", type=int, default=500, help="number of issues (default 500)")
    parser.add_argument("--seed", type=int, default=2686, help="random seed (default 2686)")
    args = parser.parse_args()
    ours, pelican = make_corpus(args.dest, args.issues, args.seed)
    files = sorted((ours / "issues").rglob("*.md"))
    sizes = [f.stat().st_size for f in files]
    print(f"{len(files)} editions in {ours}/issues, mean {sum(sizes) / len(sizes) / 1024:.1f} KB "
          f"(min {min(sizes) / 1024:.1f}, max {max(sizes) / 1024:.1f}); "
          f"Pelican's copy in {pelican}/content")


if __name__ == "__main__":
    _cli()
