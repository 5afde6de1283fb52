"""A deterministic multilingual corpus for the build benchmarks, written for us and for Pelican.

`make_corpus(dest, issues=500, seed=2686, translate_every=10)` writes two trees from one plan:

- `dest/ours/`: a project folder (newsletter.toml, templates/, subscribers/member-states.toml from
  this repository: four offered languages, es and en required) with `issues/<slug>/{es,en}.md`,
  and `pt.md` and `fr.md` in one issue in ten, in our format (YAML front matter);
- `dest/pelican/`: `content/<slug>/<lang>.md` with Pelican's `Key: value` metadata
  (`Lang:`, `Slug:`, `Translation: true` on every edition but the Spanish) and `pelicanconf.py`.

Each edition is about 9 KB of Markdown: accented headings, paragraphs with "quotes", bulleted and
numbered lists, external links and a link to the previous issue (to its Spanish edition from a
pt or fr one when that issue was not translated), a table, a block quote, footnotes. Every
language follows one plan, so the translations never drift apart (the build's checks pass), both
tools convert the same text, and the es and en editions are the same with or without pt and fr.

Run: `.venv/bin/python -m bench.corpus DEST [--issues 500] [--seed 2686] [--translate-every 10]`.
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
LANGS = ("es", "en", "pt", "fr")
REQUIRED = ("es", "en")  # every issue; pt and fr on one issue in TRANSLATE_EVERY
TRANSLATE_EVERY = 10
TARGET_BYTES = 9000
TODAY = dt.date(2026, 11, 28)

COUNTRIES = {  # es, en, pt, fr (pt and fr sentences name a country as a dateline: no article)
    "AR": ("Argentina", "Argentina", "Argentina", "Argentine"),
    "BR": ("Brasil", "Brazil", "Brasil", "Brésil"),
    "CL": ("Chile", "Chile", "Chile", "Chili"),
    "CO": ("Colombia", "Colombia", "Colômbia", "Colombie"),
    "CR": ("Costa Rica", "Costa Rica", "Costa Rica", "Costa Rica"),
    "EC": ("Ecuador", "Ecuador", "Equador", "Équateur"),
    "SV": ("El Salvador", "El Salvador", "El Salvador", "El Salvador"),
    "GT": ("Guatemala", "Guatemala", "Guatemala", "Guatemala"),
    "HN": ("Honduras", "Honduras", "Honduras", "Honduras"),
    "MX": ("México", "Mexico", "México", "Mexique"),
    "PA": ("Panamá", "Panama", "Panamá", "Panama"),
    "PY": ("Paraguay", "Paraguay", "Paraguai", "Paraguay"),
    "PE": ("Perú", "Peru", "Peru", "Pérou"),
    "DO": ("República Dominicana", "the Dominican Republic", "República Dominicana",
           "République dominicaine"),
    "UY": ("Uruguay", "Uruguay", "Uruguai", "Uruguay"),
    "JM": ("Jamaica", "Jamaica", "Jamaica", "Jamaïque"),
    "HT": ("Haití", "Haiti", "Haiti", "Haïti"),
    "BO": ("Bolivia", "Bolivia", "Bolívia", "Bolivie"),
}
MONTHS = {
    "es": ("enero", "febrero", "marzo", "abril", "mayo", "junio", "julio", "agosto",
           "septiembre", "octubre", "noviembre", "diciembre"),
    "en": ("January", "February", "March", "April", "May", "June", "July", "August",
           "September", "October", "November", "December"),
    "pt": ("janeiro", "fevereiro", "março", "abril", "maio", "junho", "julho", "agosto",
           "setembro", "outubro", "novembro", "dezembro"),
    "fr": ("janvier", "février", "mars", "avril", "mai", "juin", "juillet", "août",
           "septembre", "octobre", "novembre", "décembre"),
}

# Every text below in es, en, pt, fr: one plan is realised in each language at once.
HEADINGS = [
    ("Participación de niñas, niños y adolescentes", "Participation of children and adolescents",
     "Participação de crianças e adolescentes", "Participation des enfants et des adolescents"),
    ("Cooperación técnica con los Estados", "Technical cooperation with the States",
     "Cooperação técnica com os Estados", "Coopération technique avec les États"),
    ("Legislación y políticas públicas", "Legislation and public policy",
     "Legislação e políticas públicas", "Législation et politiques publiques"),
    ("La red de enlaces técnicos", "The liaison network", "A rede de pontos focais",
     "Le réseau des points focaux"),
    ("Próximos pasos del Observatorio", "The Observatory's next steps",
     "Próximos passos do Observatório", "Les prochaines étapes de l'Observatoire"),
    ("Protección en la era digital", "Protection in a digital age", "Proteção na era digital",
     "La protection à l'ère numérique"),
    ("Formación de operadores de justicia", "Training for justice officials",
     "Formação de operadores da justiça", "Formation des acteurs de la justice"),
    ("Campañas de sensibilización en la región", "Awareness campaigns in the region",
     "Campanhas de sensibilização na região", "Campagnes de sensibilisation dans la région"),
    ("Investigación y datos estadísticos", "Research and statistics",
     "Pesquisa e dados estatísticos", "Recherche et statistiques"),
    ("Turismo y explotación sexual comercial", "Tourism and commercial sexual exploitation",
     "Turismo e exploração sexual comercial", "Tourisme et exploitation sexuelle commerciale"),
    ("Atención integral a las víctimas", "Comprehensive care for victims",
     "Atenção integral às vítimas", "Prise en charge globale des victimes"),
    ("Reunión regional: conclusiones", "Regional meeting: conclusions",
     "Reunião regional: conclusões", "Réunion régionale : conclusions"),
]
SUBHEADINGS = [
    ("Qué cambió este año", "What changed this year", "O que mudou este ano",
     "Ce qui a changé cette année"),
    ("Lecciones aprendidas", "Lessons learned", "Lições aprendidas", "Enseignements tirés"),
    ("Recursos para los equipos técnicos", "Resources for technical teams",
     "Recursos para as equipes técnicas", "Ressources pour les équipes techniques"),
    ("Opinión de los adolescentes", "What adolescents said", "A opinião dos adolescentes",
     "L'avis des adolescents"),
]
SENTENCES = [
    ("El Observatorio recopiló {n} documentos nuevos de {country} sobre explotación sexual "
     "comercial de niñas, niños y adolescentes.",
     "The Observatory gathered {n} new documents from {country} on the commercial sexual "
     "exploitation of children and adolescents.",
     "{country}: o Observatório reuniu {n} novos documentos sobre a exploração sexual comercial "
     "de crianças e adolescentes.",
     "{country} : l'Observatoire a rassemblé {n} nouveaux documents sur l'exploitation sexuelle "
     "commerciale des enfants et des adolescents."),
    ("La comisión nacional de {country} presentó su plan de acción para el período {year}-{year2}.",
     "The national commission of {country} presented its action plan for {year}-{year2}.",
     "{country}: a comissão nacional apresentou o seu plano de ação para {year}-{year2}.",
     "{country} : la commission nationale a présenté son plan d'action pour {year}-{year2}."),
    ("Las y los participantes pidieron \"más información y menos discursos\" a las autoridades.",
     "The participants asked the authorities for \"more information and fewer speeches\".",
     "Os participantes pediram às autoridades \"mais informação e menos discursos\".",
     "Les participants ont demandé aux autorités \"plus d'information et moins de discours\"."),
    ("El enlace técnico de {country} destacó la importancia de trabajar con las familias y las "
     "escuelas.",
     "The liaison in {country} stressed how important it is to work with families and schools.",
     "{country}: o ponto focal destacou a importância de trabalhar com as famílias e as escolas.",
     "{country} : le point focal a souligné l'importance de travailler avec les familles et les "
     "écoles."),
    ("Según el informe, el {pct} % de los casos denunciados en {year} involucró a adolescentes "
     "de entre 13 y 17 años.",
     "According to the report, {pct}% of the cases reported in {year} involved adolescents "
     "aged 13 to 17.",
     "Segundo o relatório, {pct} % dos casos denunciados em {year} envolveram adolescentes de "
     "13 a 17 anos.",
     "Selon le rapport, {pct} % des cas signalés en {year} concernaient des adolescents de 13 à "
     "17 ans."),
    ("La campaña \"Nuestra voz a colores\" llegó a {n} escuelas de la región.",
     "The \"Our Voice in Colors\" campaign reached {n} schools across the region.",
     "A campanha \"Nossa voz em cores\" chegou a {n} escolas da região.",
     "La campagne \"Notre voix en couleurs\" a atteint {n} écoles de la région."),
    ("El Consejo Directivo aprobó la resolución en su reunión ordinaria de {month} de {year}.",
     "The Directing Council adopted the resolution at its regular meeting in {month} {year}.",
     "O Conselho Diretor aprovou a resolução na sua reunião ordinária de {month} de {year}.",
     "Le Conseil de direction a adopté la résolution lors de sa réunion ordinaire de {month} "
     "{year}."),
    ("Los Estados acordaron compartir sus buenas prácticas a través del boletín.",
     "The States agreed to share their good practices through the newsletter.",
     "Os Estados concordaram em compartilhar as suas boas práticas por meio do boletim.",
     "Les États sont convenus de partager leurs bonnes pratiques grâce au bulletin."),
    ("La legislación de {country} tipifica la explotación sexual comercial como delito "
     "desde {year}.",
     "The law of {country} has made commercial sexual exploitation a crime since {year}.",
     "{country}: a legislação tipifica a exploração sexual comercial como crime desde {year}.",
     "{country} : la législation érige l'exploitation sexuelle commerciale en infraction depuis "
     "{year}."),
    ("Una adolescente de {country} resumió la jornada así: \"nos escucharon de verdad\".",
     "An adolescent from {country} summed up the day: \"they really listened to us\".",
     "{country}: uma adolescente resumiu o dia assim: \"escutaram-nos de verdade\".",
     "{country} : une adolescente a résumé la journée ainsi : \"ils nous ont vraiment "
     "écoutés\"."),
    ("El curso virtual contó con {n} operadores de justicia, policía y salud.",
     "The online course had {n} participants from the justice system, the police and health "
     "services.",
     "O curso virtual contou com {n} profissionais da justiça, da polícia e da saúde.",
     "Le cours en ligne a réuni {n} professionnels de la justice, de la police et de la santé."),
    ("La reunión de Viena, \"Protecting Children in a Digital Age\", trató los riesgos de "
     "internet.",
     "The Vienna session, \"Protecting Children in a Digital Age\", dealt with the risks of "
     "the internet.",
     "A reunião de Viena, \"Protecting Children in a Digital Age\", tratou dos riscos da "
     "internet.",
     "La session de Vienne, \"Protecting Children in a Digital Age\", a porté sur les risques "
     "d'internet."),
    ("El IIN-OEA ofreció asistencia técnica a {country} para revisar su protocolo de atención.",
     "The IIN-OAS gave {country} technical assistance to revise its care protocol.",
     "{country}: o IIN-OEA prestou assistência técnica para revisar o protocolo de atendimento.",
     "{country} : l'IIN-OEA a apporté une assistance technique pour réviser le protocole de "
     "prise en charge."),
    ("Veinte de los treinta y tres Estados Miembros activos ya designaron un enlace técnico.",
     "Twenty of the thirty-three active member states have already appointed a liaison.",
     "Vinte dos trinta e três Estados membros ativos já designaram um ponto focal técnico.",
     "Vingt des trente-trois États membres actifs ont déjà désigné un point focal technique."),
    ("El estudio propone indicadores comunes para medir la respuesta institucional.",
     "The study proposes common indicators to measure the institutional response.",
     "O estudo propõe indicadores comuns para medir a resposta institucional.",
     "L'étude propose des indicateurs communs pour mesurer la réponse institutionnelle."),
    ("Las organizaciones de la sociedad civil de {country} colaboraron en la recolección de datos.",
     "Civil-society organisations in {country} helped to collect the data.",
     "{country}: as organizações da sociedade civil colaboraram na coleta de dados.",
     "{country} : les organisations de la société civile ont contribué à la collecte des "
     "données."),
    ("El sector turístico firmó un código de conducta con {n} empresas adheridas.",
     "The tourism sector signed a code of conduct that {n} companies have joined.",
     "O setor de turismo assinou um código de conduta ao qual aderiram {n} empresas.",
     "Le secteur du tourisme a signé un code de conduite auquel {n} entreprises ont adhéré."),
    ("Las autoridades de {country} capacitaron a {n} funcionarios de frontera en {year}.",
     "The authorities of {country} trained {n} border officials in {year}.",
     "{country}: as autoridades capacitaram {n} funcionários de fronteira em {year}.",
     "{country} : les autorités ont formé {n} agents des frontières en {year}."),
    ("La próxima reunión regional se celebrará en {country} en {month} de {year2}.",
     "The next regional meeting will be held in {country} in {month} {year2}.",
     "{country}: a próxima reunião regional acontecerá em {month} de {year2}.",
     "{country} : la prochaine réunion régionale se tiendra en {month} {year2}."),
    ("Los materiales están disponibles en español, inglés, portugués y francés.",
     "The materials are available in Spanish, English, Portuguese and French.",
     "Os materiais estão disponíveis em espanhol, inglês, português e francês.",
     "Les documents sont disponibles en espagnol, en anglais, en portugais et en français."),
    ("Cada país envió un informe con su situación y los desafíos pendientes.",
     "Each country sent a report on its situation and the challenges ahead.",
     "Cada país enviou um relatório sobre a sua situação e os desafios pendentes.",
     "Chaque pays a envoyé un rapport sur sa situation et les défis à relever."),
    ("La línea de ayuda de {country} recibió {n} consultas durante el último trimestre.",
     "The helpline in {country} received {n} calls during the last quarter.",
     "{country}: a linha de ajuda recebeu {n} chamadas no último trimestre.",
     "{country} : la ligne d'assistance a reçu {n} appels au cours du dernier trimestre."),
    ("El equipo del Observatorio agradece la colaboración de las comisiones nacionales.",
     "The Observatory team thanks the national commissions for their collaboration.",
     "A equipe do Observatório agradece a colaboração das comissões nacionais.",
     "L'équipe de l'Observatoire remercie les commissions nationales de leur collaboration."),
    ("Las niñas y los niños prepararon dibujos y textos que se publicarán en el sitio web.",
     "The children prepared drawings and texts that will be published on the website.",
     "As crianças prepararam desenhos e textos que serão publicados no site.",
     "Les enfants ont préparé des dessins et des textes qui seront publiés sur le site."),
]
LINK_TEXTS = [
    ("el informe completo", "the full report", "o relatório completo", "le rapport complet"),
    ("la resolución", "the resolution", "a resolução", "la résolution"),
    ("la guía para docentes", "the teachers' guide", "o guia para professores",
     "le guide pour les enseignants"),
    ("el plan nacional", "the national plan", "o plano nacional", "le plan national"),
    ("el sitio de la campaña", "the campaign website", "o site da campanha",
     "le site de la campagne"),
    ("las conclusiones", "the conclusions", "as conclusões", "les conclusions"),
]
READ = ("Consulte", "Read", "Veja", "Voir")  # what introduces a link after a sentence
PREVIOUS = (  # the previous issue in the same language
    "En el [número anterior](../{prev}/{lang}.md) contamos cómo empezó este trabajo. ",
    "The [previous issue](../{prev}/{lang}.md) told how this work began. ",
    "A [edição anterior](../{prev}/{lang}.md) contou como começou este trabalho. ",
    "Le [numéro précédent](../{prev}/{lang}.md) racontait le début de ce travail. ",
)
PREVIOUS_FALLBACK = (  # …or in Spanish, when it was not translated
    "", "",
    "A [edição anterior](../{prev}/{lang}.md) (em espanhol) contou como começou este trabalho. ",
    "Le [numéro précédent](../{prev}/{lang}.md) (en espagnol) racontait le début de ce travail. ",
)
QUOTES = [
    ("\"Proteger a la infancia es una responsabilidad compartida entre el Estado, la familia y "
     "la comunidad\", recordó la directora general en la apertura.",
     "\"Protecting children is a responsibility shared by the State, the family and the "
     "community\", the director general said at the opening.",
     "\"Proteger a infância é uma responsabilidade compartilhada entre o Estado, a família e a "
     "comunidade\", lembrou a diretora-geral na abertura.",
     "\"Protéger l'enfance est une responsabilité partagée entre l'État, la famille et la "
     "communauté\", a rappelé la directrice générale à l'ouverture."),
    ("\"Sin datos confiables no hay políticas públicas eficaces\", señaló el coordinador del "
     "Observatorio.",
     "\"Without reliable data there is no effective public policy\", said the Observatory's "
     "coordinator.",
     "\"Sem dados confiáveis não há políticas públicas eficazes\", afirmou o coordenador do "
     "Observatório.",
     "\"Sans données fiables, il n'y a pas de politiques publiques efficaces\", a souligné le "
     "coordinateur de l'Observatoire."),
]
TABLE_HEAD = (("País", "Enlace técnico", "Documentos", "Año"),
              ("Country", "Liaison", "Documents", "Year"),
              ("País", "Ponto focal", "Documentos", "Ano"),
              ("Pays", "Point focal", "Documents", "Année"))
YES_NO = (("Sí", "No"), ("Yes", "No"), ("Sim", "Não"), ("Oui", "Non"))
FOOTNOTES = [
    ("Resolución CD/RES. 10 (82-R/07) del Consejo Directivo del IIN.",
     "Resolution CD/RES. 10 (82-R/07) of the IIN Directing Council.",
     "Resolução CD/RES. 10 (82-R/07) do Conselho Diretor do IIN.",
     "Résolution CD/RES. 10 (82-R/07) du Conseil de direction de l'IIN."),
    ("Datos enviados por las comisiones nacionales; cifras provisorias.",
     "Data sent by the national commissions; provisional figures.",
     "Dados enviados pelas comissões nacionais; números provisórios.",
     "Données transmises par les commissions nationales ; chiffres provisoires."),
    ("Véase el informe anual de {year} del Observatorio.",
     "See the Observatory's {year} annual report.",
     "Veja o relatório anual de {year} do Observatório.",
     "Voir le rapport annuel {year} de l'Observatoire."),
]
TITLES = ("Boletín {number}: {topic} en {country}", "Issue {number}: {topic} in {country}",
          "Boletim {number}: {topic} ({country})", "Bulletin {number} : {topic} ({country})")
TOPICS = [
    ("cooperación y participación", "cooperation and participation", "cooperação e participação",
     "coopération et participation"),
    ("nuevas leyes y planes nacionales", "new laws and national plans",
     "novas leis e planos nacionais", "nouvelles lois et plans nationaux"),
    ("la red de enlaces crece", "the liaison network grows", "a rede de pontos focais cresce",
     "le réseau des points focaux s'agrandit"),
    ("protección en línea", "online protection", "proteção na internet", "protection en ligne"),
    ("formación y sensibilización", "training and awareness", "formação e sensibilização",
     "formation et sensibilisation"),
]
SUMMARIES = (
    "Noticias del Observatorio del IIN-OEA: {topic}, con datos de {a} y {b}.",
    "News from the IIN-OAS Observatory: {topic}, with data from {a} and {b}.",
    "Notícias do Observatório do IIN-OEA: {topic}; dados de {a} e {b}.",
    "Nouvelles de l'Observatoire de l'IIN-OEA : {topic} ; données : {a} et {b}.",
)


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

    def emit(self, texts: tuple[str, ...]) -> None:
        for lang, text in zip(LANGS, texts, strict=True):
            self.parts[lang].append(text)

    def values(self) -> dict[str, tuple[str, ...]]:
        r = self.rng
        code = r.choice(sorted(COUNTRIES))
        year = r.randint(1990, 2025)
        month = r.randrange(12)
        same = {"n": str(r.randint(3, 480)), "pct": str(r.randint(5, 95)), "year": str(year),
                "year2": str(year + r.randint(1, 4))}
        return {**{k: (v,) * len(LANGS) for k, v in same.items()}, "country": COUNTRIES[code],
                "month": tuple(MONTHS[lang][month] for lang in LANGS)}

    def sentence(self) -> tuple[str, ...]:
        texts = self.rng.choice(SENTENCES)
        values = self.values()
        out = [text.format(**{k: v[i] for k, v in values.items()})
               for i, text in enumerate(texts)]
        if self.rng.random() < 0.12:
            self.footnotes += 1
            mark = f"[^{self.footnotes}]"
            out = [text[:-1] + mark + text[-1] for text in out]
        if self.rng.random() < 0.15:
            link = self.rng.choice(LINK_TEXTS)
            url = f"https://www.iin.oea.org/documentos/{self.number}-{self.rng.randint(1, 999)}"
            out = [f"{text} {READ[i]} [{link[i]}]({url})." for i, text in enumerate(out)]
        return tuple(out)

    def paragraph(self, count: int) -> None:
        sentences = [self.sentence() for _ in range(count)]
        self.emit(tuple(" ".join(s[i] for s in sentences) for i in range(len(LANGS))))

    def bullets(self, ordered: bool) -> None:
        items = []
        for i in range(self.rng.randint(3, 5)):
            marker = f"{i + 1}." if ordered else "-"
            items.append(tuple(f"{marker} {text}" for text in self.sentence()))
        self.emit(tuple("\n".join(item[i] for item in items) for i in range(len(LANGS))))

    def table(self) -> None:
        rows = [["| " + " | ".join(head) + " |", "|---|---|---:|---:|"] for head in TABLE_HEAD]
        for code in self.rng.sample(sorted(COUNTRIES), 6):
            yes = self.rng.random() < 0.7
            docs, year = self.rng.randint(2, 90), self.rng.randint(2005, 2025)
            for i, lines in enumerate(rows):
                answer = YES_NO[i][0 if yes else 1]
                lines.append(f"| {COUNTRIES[code][i]} | {answer} | {docs} | {year} |")
        self.emit(tuple("\n".join(lines) for lines in rows))


def plan_issue(number: int, seed: int, translated: bool = False,
               previous_translated: bool = False) -> dict[str, Edition]:
    """The editions of issue `number` from one deterministic plan: es and en, and pt and fr when
    `translated` (the random choices are the same either way, so es and en do not change)."""
    rng = random.Random(seed * 1_000_003 + number)
    w = _Writer(rng, number)
    slug = slug_for(number)
    if number > 1:
        prev = slug_for(number - 1)
        first = w.sentence()
        own = {lang: lang if lang in REQUIRED or previous_translated else "es" for lang in LANGS}
        w.emit(tuple(
            (PREVIOUS[i] if own[lang] == lang or lang in REQUIRED else PREVIOUS_FALLBACK[i])
            .format(prev=prev, lang=own[lang]) + first[i]
            for i, lang in enumerate(LANGS)))
    w.paragraph(3)
    headings = rng.sample(HEADINGS, len(HEADINGS))
    section = 0
    table_done = False
    while len("\n\n".join(w.parts["es"]).encode()) < TARGET_BYTES - 900:
        heading = headings[section % len(headings)]
        section += 1
        w.emit(tuple(f"## {text}" for text in heading))
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
            w.emit(tuple("> " + q for q in rng.choice(QUOTES)))
        else:
            w.emit(tuple(f"### {text}" for text in rng.choice(SUBHEADINGS)))
        w.paragraph(rng.randint(2, 4))
    for i in range(1, w.footnotes + 1):
        texts = rng.choice(FOOTNOTES)
        year = str(rng.randint(1995, 2025))
        w.emit(tuple(f"[^{i}]: " + text.format(year=year) for text in texts))

    codes = tuple(sorted(rng.sample(sorted(COUNTRIES), 2)))
    topic = rng.choice(TOPICS)
    editions = {}
    for i, lang in enumerate(LANGS):
        if lang not in REQUIRED and not translated:
            continue
        title = TITLES[i].format(number=number, topic=topic[i], country=COUNTRIES[codes[0]][i])
        summary = SUMMARIES[i].format(topic=topic[i], a=COUNTRIES[codes[0]][i],
                                      b=COUNTRIES[codes[1]][i])
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


def translated(number: int, every: int = TRANSLATE_EVERY) -> bool:
    """Whether issue `number` also has pt and fr editions (every `every`th issue; 0: none)."""
    return every > 0 and number % every == 0


def make_corpus(
    dest: Path, issues: int = 500, seed: int = 2686, pelican_smarty: bool = False,
    translate_every: int = TRANSLATE_EVERY,
) -> tuple[Path, Path]:
    """Write both trees under dest (replacing them); return (our project, Pelican's folder).

    Every issue is in es and en; one in `translate_every` (default ten; 0: none) is in pt and
    fr too, the languages the project's settings offer without requiring them."""
    ours, pelican = dest / "ours", dest / "pelican"
    for folder in (ours, pelican):
        if folder.exists():
            shutil.rmtree(folder)
    copy_project(ours)
    (pelican / "content").mkdir(parents=True)
    for number in range(1, issues + 1):
        editions = plan_issue(number, seed, translated(number, translate_every),
                              translated(number - 1, translate_every))
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
    parser.add_argument("--translate-every", type=int, default=TRANSLATE_EVERY,
                        help="one issue in N also in pt and fr (default 10; 0: none)")
    args = parser.parse_args()
    ours, pelican = make_corpus(args.dest, args.issues, args.seed,
                                translate_every=args.translate_every)
    files = sorted((ours / "issues").rglob("*.md"))
    sizes = [f.stat().st_size for f in files]
    print(f"{len(files)} editions in {ours}/issues, mean {sum(sizes) / len(sizes) / 1024:.1f} KB "
          f"(min {min(sizes) / 1024:.1f}, max {max(sizes) / 1024:.1f}); "
          f"Pelican's copy in {pelican}/content")


if __name__ == "__main__":
    _cli()
