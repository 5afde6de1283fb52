"""ANNAobserva: the Inter-American Children's Institute's newsletter publisher.

The pipeline reads top to bottom: load the issues (`content`) → render the archive and its feeds
(`archive`) and the email editions (`mail`) → deliver each edition to the subscribers
(`subscribers` owns who they are, `delivery` records what each one was sent).

Subsystems, each a subpackage that says what it owns and what it may import:

    cli/          the command line (top: may import everything below)
    webapp/       the subscription pages (WSGI)
    delivery/     the send ledger, sending, schedule, bounces, reports
    archive/      the static site: build, cache, pages, feeds, preview, deploy
    subscribers/  the database (every migration), the subscriber store, import, confirmations
    mail/         email editions, MIME messages, plain text, transports
    content/      issues and their Markdown: loading, checks, scaffolding, partner news

The modules directly in this package are the shared kernel (errors, settings, URLs, tokens,
member states, addresses, templating, wording); they import no subsystem.
"""

__version__ = "0.1.0"
