"""The command line: parses arguments, calls the library, turns its errors into `Error: …`.

Each group of commands lives in its own module with a `register(subparsers)` function; a command
is a function `(args, settings) -> exit code`. Only this package prints or exits, and it decides
nothing the library should: which checks a build runs, who may be added as confirmed, what a
schedule decision means are the library's.

May import: every subsystem, through its public names (`from newsletter.delivery import
run_send`), and the kernel. Nothing imports it but `publish.py` and the `annaobserva` script.
"""

from __future__ import annotations

import argparse
import logging
import os
import sys
from collections.abc import Callable, Sequence
from pathlib import Path

from newsletter.errors import NewsletterError
from newsletter.settings import SETTINGS_FILE, Settings, load_settings

# Each group imports what its commands need only when one of them runs: registering is cheap.
from . import delivery, editorial, hosting, mail, operations, subscribers

Command = Callable[[argparse.Namespace, Settings], int]

EXIT_OK = 0
EXIT_ERROR = 1
EXIT_USAGE = 2
EXIT_INTERRUPTED = 130
EXIT_BROKEN_PIPE = 141  # 128 + SIGPIPE: what a Unix tool whose reader went away exits with


def build_parser() -> argparse.ArgumentParser:
    """The argument parser with every command registered."""
    parser = argparse.ArgumentParser(
        prog="publish.py",
        description="Publish ANNAobserva: write issues, check them, build the bilingual archive "
        "and feeds, and deliver each issue to its subscribers in their language.",
    )
    parser.add_argument(
        "--config", default=SETTINGS_FILE, metavar="FILE",
        help=f"the settings file (default: {SETTINGS_FILE} in the current folder)",
    )
    parser.add_argument("-v", "--verbose", action="store_true", help="log what happens")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    for group in (editorial, mail, subscribers, delivery, hosting, operations):
        group.register(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run one command; return its exit code (0 ok, 1 error, 2 usage, 130 interrupted, 141 the
    reader of the output went away, as in `publish.py report ISSUE | head`)."""
    try:
        code = _run(argv)
        sys.stdout.flush()  # inside the try: a closed pipe fails here, not at exit
        return code
    except BrokenPipeError:
        # The reader (head, less) stopped reading: stop quietly. Standard output is pointed at
        # /dev/null so that the interpreter's last flush does not fail again on the way out.
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        os.close(devnull)
        return EXIT_BROKEN_PIPE


def _run(argv: Sequence[str] | None) -> int:
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as exc:  # argparse exits on --help and on usage errors
        return int(exc.code or 0)
    logging.basicConfig(
        level=logging.INFO if args.verbose else logging.WARNING,
        format="%(levelname)s %(name)s: %(message)s",
    )
    command: Command = args.handler
    root: Path | None = None  # known once the settings are read
    try:
        settings = load_settings(Path(args.config))
        root = settings.root
        return command(args, settings)
    except NewsletterError as exc:
        message = str(exc) if root is None else relative_to_project(str(exc), root)
        print(f"Error: {message}", file=sys.stderr)
        return EXIT_ERROR
    except KeyboardInterrupt:
        print("Interrupted.", file=sys.stderr)
        return EXIT_INTERRUPTED


def relative_to_project(message: str, root: Path) -> str:
    """A message with every path inside the project written relative to it, as editors see
    files (the library names files by their full path where it has nothing shorter)."""
    prefix = str(root).rstrip(os.sep) + os.sep
    return message.replace(prefix, "")
