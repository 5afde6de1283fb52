"""ANNAobserva: the Inter-American Children's Institute's newsletter publisher.

The pipeline reads top to bottom: load the issues (`content`) → render the archive and its feeds
(`archive`) and the email editions (`mail`) → deliver each edition to the subscribers
(`subscribers` owns who they are, `delivery` records what each one was sent).

Subsystems, one subpackage each, in layers: a layer imports only the layers below it, siblings on
one line never import each other, and a subsystem imports another only through its public names
(`from newsletter.mail import EmailEdition`, never `newsletter.mail.editions`). The layers are
`[tool.importlinter]` in pyproject.toml, which `make lint` checks; docs/architecture.md draws them.

    cli/                     the command line: parses, calls the library, prints (top)
    webapp/ | delivery/      the subscription pages | the send ledger, sending, schedule, bounces
    archive/ | subscribers/  the static site and its preview and deploy | the database and store
    mail/                    email editions, MIME messages, plain text, transports
    content/                 issues and their Markdown: loading, checks, scaffolding, partner news
    the kernel               errors, settings, urls, tokens, states, addresses, templating,
                             wording, exports: the modules directly in this package

The kernel imports no subsystem. Configuration enters once, in `settings` (the secret from the
environment included); what a subsystem needs from it is handed down as values (`tokens.Signer`,
`urls.SiteUrls`, `urls.SubscriptionUrls`), not looked up deep inside.
"""

__version__ = "0.1.0"
