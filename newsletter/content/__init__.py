"""Issues and their Markdown: load, check, scaffold, convert, and gather partner news into drafts.

Owns the content model (`Issue`, `Edition`, `Corpus`, `Problem`) and everything that reads
`issues/` or turns an edition's Markdown into HTML. Imports only the kernel.
"""
