"""Email: each edition rendered once per language, personalised cheaply, sent through a transport.

Owns the email editions, the MIME message, the plain-text alternative and the transports (outbox,
SMTP, SES). Imports `content` and the kernel; knows nothing of subscribers or the ledger.
"""
