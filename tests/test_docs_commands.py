"""The README and docs/ are tested documentation: every command they show runs as a user runs it.

Every fenced `sh`/`bash`/`shell`/`console` block of README.md and docs/**/*.md (and every cron line
in any block) is a command. They run in document order — the order a newcomer follows — each as a
subprocess in one fresh copy of the project (its git-tracked and new files, nothing ignored), with
its own outbox, a temporary `ANNAOBSERVA_SECRET`, and S3/SQS pointed at the moto server. A
command added to the docs later is run without touching this file; one that fails (an exit code
other than the expected one, a traceback, or missing key output) fails here, named.

How the docs' shorthand becomes a command (`expand`):
- `.venv/bin/python` is this interpreter; `make TARGET` runs the Makefile against this `.venv`
  (`make test`, `bench`, `golden` and `lint` are checked with `make -n`: the suite cannot run
  itself, the benchmarks take ten minutes, lint has its own CI step);
- PLACEHOLDERS (ADDRESS, FILE, URL, SLUG, YYYY-MM-DD…) become values that exist in the copy; an
  upper-case word left over is an error naming it, so a new placeholder gets a value here;
- a command with `[--option …]` parts runs without them, then with the last, the last two…
  (`report 2011-07 [--csv]` is two runs; in `gather [--issue SLUG] [--since …] [--force]` the
  `--force` comes with every variant, as a user re-running gather would pass it);
- `preview` and `serve` run until they answer over HTTP, are probed, then stopped with Ctrl-C;
- a cron line runs its command from the project folder.
"""

from __future__ import annotations

import os
import re
import secrets
import shlex
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.conftest import REPO
from tests.plugins.servers import free_port

SHELL_LANGUAGES = ("sh", "bash", "shell", "console")
FENCE = re.compile(r"^```([\w-]*)[^\n]*\n(.*?)^```", re.MULTILINE | re.DOTALL)
CRON = re.compile(r"^\s*(?:@\w+|(?:\S+\s+){5})(?P<command>cd \S+ && .+)$")
OPTIONAL = re.compile(r"\s*\[([^\[\]]+)\]")
LEFT_OVER = re.compile(r"(?<![\w./-])(?:[A-Z][A-Z0-9_]{2,}|YYYY-MM-DD)(?![\w-])")

PLACEHOLDERS = {
    "ADDRESS": "enlace@mides.gub.uy",  # the address the README's `subscribers add` added
    "FILE": "liaisons.csv",
    "ISSUE": "2011-07",
    "SLUG": "2011-05",
    "YYYY-MM-DD": "2011-01-01",
    "BUCKET": "annaobserva-docs",  # the bucket the fixture creates on moto (backups go there too)
    # URL is the SQS queue the fixture creates (see `newcomer`).
}
# What a newcomer brings that the docs assume: the liaison list the README imports.
PROVIDED = {
    "liaisons.csv": "email,name,organisation,state,lang\n"
                    "ana.perez@inau.gub.uy,Ana Pérez,INAU,UY,es\n"
                    "liaison@gov.bb,Jo Smith,Child Care Board,BB,en\n",
}
DRY_RUN_TARGETS = {
    "test": "the suite cannot run itself",
    "bench": "the benchmarks take ten minutes (`make bench`)",
    "golden": "it rewrites the golden files",
    "lint": "CI runs it on its own",
}
LONG_RUNNING = ("preview", "serve")
# Key output of commands, by the words after `publish.py`; any other command must exit 0
# without a traceback (and may say anything).
KEY_OUTPUT = {
    "demo": "publish.py preview` (then http://127.0.0.1:8000/",
    "new": "created issues/",
    "check": " 0 error(s)",
    "build": "publish.py preview` (then http://127.0.0.1:8000/).",
    "subscribers import": "imported 2 of 2 rows as confirmed",
    "subscribers add": "as pending; confirmation email sent",
    "subscribers list": "subscriber(s)",
    "subscribers coverage": "report: ",
    "subscribers remove": "suppression list",
    "send 2011-07 --dry-run": "dry run, nothing sent",
    "send 2011-07 --to": "test to me***@example.org: sent",
    "report 2011-07": "sent",
    "bounces": "",
    "deploy": "s3://annaobserva-docs/",
    "gather": "Gathered",
    "approve": "Approved issues/2011-07/es.md for sending: by Ana Pérez on ",
    "backup --quiet": "",
    "backup": "Backed up subscribers/subscribers.db to ",
    "restore": "Restored subscribers/subscribers.db from s3://annaobserva-docs/annaobserva/"
               "annaobserva-subscribers-",
    "status --json": '"ok": true',
    "status": "Nothing needs a person.",
}


@dataclass(frozen=True)
class Command:
    """One command of the docs, as written and as it runs."""

    source: str  # file:line where the docs show it
    written: str
    argv: tuple[str, ...]
    long_running: bool = False

    @property
    def words(self) -> str:
        """What follows `publish.py` (or the make target): the key of KEY_OUTPUT."""
        args = list(self.argv)
        if "publish.py" in " ".join(args):
            args = args[next(i for i, a in enumerate(args) if a.endswith("publish.py")) + 1:]
        return " ".join(args)


def documents() -> list[Path]:
    """README.md and every Markdown file under docs/, in that order."""
    return [REPO / "README.md", *sorted((REPO / "docs").rglob("*.md"))]


def shown_commands(path: Path) -> list[tuple[int, str]]:
    """(line, command) of every command a document shows, in order."""
    text = path.read_text(encoding="utf-8")
    found: list[tuple[int, str]] = []
    for block in FENCE.finditer(text):
        language, body = block.group(1).lower(), block.group(2)
        first = text.count("\n", 0, block.start(2)) + 1
        pending = ""
        for offset, raw in enumerate(body.split("\n")):
            line = raw.rstrip()
            if language in SHELL_LANGUAGES:
                line = re.sub(r"^\$ ", "", line)
                if not line.strip() or line.lstrip().startswith("#"):
                    continue
                line = re.sub(r"\s+#\s.*$", "", line)  # a comment after the command
                if line.endswith("\\"):
                    pending += line[:-1].strip() + " "
                    continue
                found.append((first + offset, (pending + line.strip()).strip()))
                pending = ""
            else:
                cron = CRON.match(line)
                if cron:
                    found.append((first + offset, cron.group("command")))
    return found


def expand(written: str, source: str, values: dict[str, str]) -> list[Command]:
    """The runs one written command stands for (see the module docstring)."""
    base = OPTIONAL.sub("", written)
    options = OPTIONAL.findall(written)
    # Each optional part with the ones after it: a last `[--force]` applies to every variant.
    variants = [base] + [" ".join([base, *options[i:]]) for i in range(len(options) - 1, -1, -1)]
    commands = []
    for variant in variants:
        text = re.sub(r"^cd \S+ && ", "", variant)
        for name, value in values.items():
            text = re.sub(rf"(?<![\w-]){re.escape(name)}(?![\w-])", value, text)
        left = LEFT_OVER.findall(text)
        assert not left, f"{source}: {written!r}: no value for {left}: add it to PLACEHOLDERS"
        argv = shlex.split(text)
        if argv[0] == ".venv/bin/python":
            argv[0] = sys.executable
        elif argv[0] == "make":
            target = argv[1]
            venv = str(Path(sys.executable).parent.parent)
            make = ["make", f"VENV={venv}", "-o", f"{venv}/.installed"]
            argv = [*make, "-n", target] if target in DRY_RUN_TARGETS else [*make, target]
        else:
            pytest.fail(f"{source}: {written!r}: the docs should run commands as "
                        ".venv/bin/python publish.py … or make …")
        words = " ".join(argv)
        commands.append(Command(source, written, tuple(argv),
                                any(f"publish.py {name}" in words for name in LONG_RUNNING)))
    return commands


def all_commands(values: dict[str, str]) -> list[Command]:
    """Every run of every command of the docs, in document order."""
    runs = []
    for path in documents():
        for line, written in shown_commands(path):
            runs += expand(written, f"{path.relative_to(REPO)}:{line}", values)
    return runs


@dataclass
class Newcomer:
    """The fresh copy a newcomer works in, and what its commands run with."""

    root: Path
    env: dict[str, str]
    values: dict[str, str]


def tracked_files() -> list[str]:
    """The repository's files as a clone has them, plus new files not yet committed."""
    listed = subprocess.run(["git", "ls-files", "--cached", "--others", "--exclude-standard"],
                            cwd=REPO, capture_output=True, text=True, check=True).stdout
    return [name for name in listed.splitlines() if (REPO / name).is_file()]


@pytest.fixture(scope="module")
def newcomer(tmp_path_factory: pytest.TempPathFactory, moto_server: str) -> Iterator[Newcomer]:
    import boto3

    root = tmp_path_factory.mktemp("newcomer") / "annaobserva"
    for name in tracked_files():
        target = root / name
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes((REPO / name).read_bytes())
        target.chmod((REPO / name).stat().st_mode & 0o777)
    for name, text in PROVIDED.items():
        (root / name).write_text(text, encoding="utf-8")
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith(("ANNAOBSERVA_", "AWS_"))},
        "ANNAOBSERVA_SECRET": secrets.token_urlsafe(32),
        "AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_DEFAULT_REGION": "us-east-1", "PYTHONDONTWRITEBYTECODE": "1",
    }
    aws = {"endpoint_url": moto_server, "region_name": "us-east-1",
           "aws_access_key_id": "testing", "aws_secret_access_key": "testing"}
    urllib.request.urlopen(urllib.request.Request(  # noqa: S310 - loopback only
        moto_server + "/moto-api/reset", method="POST"), timeout=10)
    boto3.client("s3", **aws).create_bucket(Bucket="annaobserva-docs")
    queue = boto3.client("sqs", **aws).create_queue(QueueName="ses-notifications")["QueueUrl"]
    # The operator's configuration: the bucket, and SES/SQS, at moto; partner feeds read from
    # the test fixtures rather than the internet.
    config = root / "newsletter.toml"
    text = config.read_text(encoding="utf-8")
    text = text.replace('bucket = ""', 'bucket = "annaobserva-docs"')
    text = text.replace('endpoint_url = ""', f'endpoint_url = "{moto_server}"')
    if "[ses]" not in text:
        text += f'\n[ses]\nregion = "us-east-1"\nendpoint_url = "{moto_server}"\n'
    config.write_text(text, encoding="utf-8")
    (root / "feeds.toml").write_text(
        '[[feed]]\nname = "Network"\npath = "tests/fixtures/feeds/rss2.xml"\nlanguage = "en"\n'
        '[[feed]]\nname = "Rede"\npath = "tests/fixtures/feeds/portuguese.xml"\n'
        'language = "pt"\n', encoding="utf-8")
    yield Newcomer(root, env, {**PLACEHOLDERS, "URL": queue})


def run_long(command: Command, newcomer: Newcomer) -> subprocess.CompletedProcess[str]:
    """Start a server command, wait until it answers over HTTP, probe it, stop it (Ctrl-C)."""
    port = free_port()
    argv = [*command.argv, "--port", str(port)]
    if "serve" in command.argv:
        argv += ["--host", "127.0.0.1"]
    probe = f"http://127.0.0.1:{port}/es/"
    with subprocess.Popen(argv, cwd=newcomer.root, env=newcomer.env, text=True,
                          stdout=subprocess.PIPE, stderr=subprocess.PIPE) as proc:
        deadline = time.monotonic() + 120
        status = None
        while status is None and proc.poll() is None and time.monotonic() < deadline:
            try:
                with urllib.request.urlopen(probe, timeout=5) as response:  # noqa: S310
                    status = response.status
                    page = response.read().decode("utf-8", "replace")
            except urllib.error.HTTPError as exc:
                status, page = exc.code, ""
            except OSError:
                time.sleep(0.2)
        proc.send_signal(signal.SIGINT)
        try:
            out, err = proc.communicate(timeout=60)
        except subprocess.TimeoutExpired:
            proc.kill()  # the suite goes on; the command did not stop on Ctrl-C
            out, err = proc.communicate()
            raise AssertionError(f"{command.source}: Ctrl-C did not stop it in 60 s\n{out}\n{err}"
                                 ) from None
    assert status == 200, f"{command.source}: {probe} answered {status}\n{out}\n{err}"
    assert '<html lang="es"' in page, f"{command.source}: {probe} is not the Spanish page"
    # Stopped by Ctrl-C: preview says so and exits 0; serve exits as interrupted.
    code = 0 if proc.returncode in (0, 130) else proc.returncode
    return subprocess.CompletedProcess(argv, code, out, err)


def commands_for_ids() -> list[Command]:
    return all_commands({**PLACEHOLDERS, "URL": "https://sqs.example/queue"})


@pytest.mark.server
@pytest.mark.parametrize("index", range(len(commands_for_ids())),
                         ids=[" ".join(c.written.split()[:6]) for c in commands_for_ids()])
def test_every_documented_command_runs_as_shown(newcomer: Newcomer, index: int) -> None:
    command = all_commands(newcomer.values)[index]
    if command.long_running:
        result = run_long(command, newcomer)
    else:
        result = subprocess.run(command.argv, cwd=newcomer.root, env=newcomer.env, text=True,
                                capture_output=True, timeout=600)
    said = result.stdout + result.stderr
    where = f"{command.source}: `{command.written}` ({' '.join(command.argv[1:])})"
    assert result.returncode == 0, f"{where} exited {result.returncode}:\n{said}"
    assert "Traceback" not in said, f"{where}:\n{said}"
    key = next((v for k, v in sorted(KEY_OUTPUT.items(), key=lambda kv: -len(kv[0]))
                if command.words.startswith(k)), "")
    assert key in said, f"{where} did not say {key!r}:\n{said}"


def test_the_docs_show_commands_and_every_placeholder_has_a_value() -> None:
    runs = all_commands({**PLACEHOLDERS, "URL": "https://sqs.example/queue"})
    words = [run.words for run in runs]
    assert any(run.argv[0] == "make" and run.argv[-1] == "run" for run in runs)
    for expected in ("new", "check", "build", "subscribers add enlace@mides.gub.uy --state UY "
                     "--lang es", "report 2011-07", "report 2011-07 --csv",
                     "send --due --quiet --no-progress"):
        assert expected in words, (expected, words)
    # preview and serve in the README; preview in each editors' guide
    assert sum(run.long_running for run in runs) == 4
    guides = {run.source.split(":")[0] for run in runs if run.source.startswith("docs/editors")}
    assert guides == {"docs/editors.en.md", "docs/editors.es.md"}


def test_extraction_follows_new_docs(tmp_path: Path) -> None:
    doc = tmp_path / "editors.es.md"
    doc.write_text("Texto.\n\n```sh\n.venv/bin/python publish.py check   # revisa\n"
                   ".venv/bin/python publish.py report ISSUE \\\n    [--csv]\n```\n\n"
                   "```\n0 6 * * 1 cd /srv/x && .venv/bin/python publish.py send --due\n```\n"
                   "```yaml\ntitle: no es un comando\n```\n", encoding="utf-8")
    shown = shown_commands(doc)
    assert shown == [(4, ".venv/bin/python publish.py check"),
                     (6, ".venv/bin/python publish.py report ISSUE [--csv]"),
                     (10, "cd /srv/x && .venv/bin/python publish.py send --due")]
    runs = [run.words for _, written in shown for run in expand(written, "doc", PLACEHOLDERS)]
    assert runs == ["check", "report 2011-07", "report 2011-07 --csv", "send --due"]
    gather = [run.words for run in expand(".venv/bin/python publish.py gather [--since DATE] "
                                          "[--force]", "doc", {"DATE": "2011-01-01"})]
    assert gather == ["gather", "gather --force", "gather --since 2011-01-01 --force"]
    with pytest.raises(AssertionError, match=r"no value for \['QUEUE'\]"):
        expand(".venv/bin/python publish.py bounces --queue-url QUEUE", "doc", PLACEHOLDERS)
