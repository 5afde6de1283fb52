"""The subscribers' database: every migration, the subscriber store, imports, coverage, consent.

Owns the SQLite file (`database`, `migrations`) and every statement on the subscriber tables.
Imports `mail` (to send confirmation emails) and the kernel.
"""
