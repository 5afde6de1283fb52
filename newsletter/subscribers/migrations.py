"""Every migration of the subscribers' database, in order: released ones are never edited.

The database holds the subscribers (their consent record, events and the suppression list) and the
send ledger. `MIGRATIONS[n - 1]` takes a file from schema version n-1 to n; it is an SQL script
(statements separated by `;`) or a callable `(conn) -> None`, and `database.migrate` runs each
inside its own transaction with the version bump.

To change the schema: APPEND a migration with a comment saying what it adds and why; never edit,
reorder or remove a released one (a database migrated by it would then differ from a new one).
Tables that reference `subscribers(id)` say `ON DELETE SET NULL` or `ON DELETE CASCADE`:
`subscribers remove` (erasure) deletes the row.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # the commands read STATUSES at start-up: they need not import sqlite3
    import sqlite3

    Migration = str | Callable[[sqlite3.Connection], None]

# What the subscribers table's CHECK constraints allow.
STATUSES = ("pending", "confirmed", "unsubscribed", "bounced", "complained")
SOURCES = ("form", "import", "admin")


# 1: subscribers with their consent record, status events (append-only), the suppression list,
#    and a per-database salt for the suppression hashes.
_V1_SUBSCRIBERS = """
CREATE TABLE store_meta (
    key   TEXT PRIMARY KEY,
    value TEXT NOT NULL
);
INSERT INTO store_meta (key, value) VALUES ('salt', lower(hex(randomblob(16))));

-- AUTOINCREMENT: an erased subscriber's id is never reused, so an old signed link in an old
-- message can never act on somebody else.
CREATE TABLE subscribers (
    id            INTEGER PRIMARY KEY AUTOINCREMENT,
    email         TEXT NOT NULL UNIQUE COLLATE NOCASE,
    name          TEXT NOT NULL DEFAULT '',
    organisation  TEXT NOT NULL DEFAULT '',
    state         TEXT NOT NULL,
    lang          TEXT NOT NULL,
    status        TEXT NOT NULL
                  CHECK (status IN ('pending', 'confirmed', 'unsubscribed', 'bounced',
                                    'complained')),
    source        TEXT NOT NULL CHECK (source IN ('form', 'import', 'admin')),
    note          TEXT NOT NULL DEFAULT '',
    requested_at  TEXT NOT NULL,
    confirmed_at  TEXT,
    request_ip    TEXT,
    confirm_ip    TEXT,
    updated_at    TEXT NOT NULL
);
CREATE INDEX subscribers_by_status_lang ON subscribers (status, lang, id);

-- Every status change, appended, never updated: the consent history.
CREATE TABLE subscriber_events (
    id             INTEGER PRIMARY KEY,
    subscriber_id  INTEGER NOT NULL REFERENCES subscribers (id) ON DELETE CASCADE,
    at             TEXT NOT NULL,
    old_status     TEXT,
    new_status     TEXT NOT NULL,
    reason         TEXT NOT NULL DEFAULT '',
    source         TEXT NOT NULL,
    ip             TEXT
);
CREATE INDEX subscriber_events_by_subscriber ON subscriber_events (subscriber_id, id);

-- Addresses that must never be mailed again. Looked up by a salted hash of the lower-cased
-- address; `email` is kept for bounces and complaints and is NULL after an erasure.
CREATE TABLE suppressions (
    email_hash  TEXT PRIMARY KEY,
    email       TEXT,
    reason      TEXT NOT NULL,
    at          TEXT NOT NULL
);
"""

# 2: coverage ("which member states receive the newsletter?") counts by state without a scan.
_V2_COVERAGE_INDEX = """
CREATE INDEX subscribers_by_state ON subscribers (state, status, lang);
"""


# 3: the send ledger (campaigns, deliveries, test sends, the send lock, SES events), owned by
#    newsletter.delivery.ledger.
_V3_DELIVERIES = """
CREATE TABLE campaigns (
    issue         TEXT PRIMARY KEY,
    salt          TEXT NOT NULL,
    frozen_at     TEXT NOT NULL,
    audience      INTEGER NOT NULL,
    completed_at  TEXT,
    cancelled_at  TEXT
);

-- One row per issue and subscriber. address_key is a per-campaign salted hash of the normalised
-- address: it deduplicates without keeping a second copy of the address.
CREATE TABLE deliveries (
    id             INTEGER PRIMARY KEY,
    issue          TEXT NOT NULL REFERENCES campaigns (issue) ON DELETE CASCADE,
    subscriber_id  INTEGER REFERENCES subscribers (id) ON DELETE SET NULL,
    address_key    TEXT NOT NULL,
    lang           TEXT NOT NULL,
    edition_lang   TEXT NOT NULL,
    member_state   TEXT NOT NULL,
    state          TEXT NOT NULL CHECK (state IN
                   ('queued', 'sending', 'sent', 'deferred', 'rejected', 'unknown', 'skipped',
                    'cancelled')),
    attempts       INTEGER NOT NULL DEFAULT 0,
    next_attempt   REAL NOT NULL DEFAULT 0,
    provider_id    TEXT,
    error          TEXT NOT NULL DEFAULT '',
    updated_at     TEXT NOT NULL,
    UNIQUE (issue, address_key),
    UNIQUE (issue, subscriber_id)
);
CREATE INDEX deliveries_by_state ON deliveries (issue, state, id);
CREATE INDEX deliveries_by_provider_id ON deliveries (provider_id);

-- `send --to`: test sends, recorded apart from every campaign (masked address only).
CREATE TABLE test_sends (
    id           INTEGER PRIMARY KEY,
    issue        TEXT NOT NULL,
    lang         TEXT NOT NULL,
    recipient    TEXT NOT NULL,
    outcome      TEXT NOT NULL,
    provider_id  TEXT,
    error        TEXT NOT NULL DEFAULT '',
    at           TEXT NOT NULL
);

-- At most one send runs at a time; a dead holder's row is taken over.
CREATE TABLE send_lock (
    name         TEXT PRIMARY KEY,
    issue        TEXT NOT NULL,
    host         TEXT NOT NULL,
    pid          INTEGER NOT NULL,
    acquired_at  TEXT NOT NULL,
    heartbeat    REAL NOT NULL
);

-- SES notifications (bounce, complaint, delivery), each kept raw, applied once.
CREATE TABLE delivery_events (
    id                INTEGER PRIMARY KEY,
    queue_message_id  TEXT UNIQUE,
    received_at       TEXT NOT NULL,
    kind              TEXT NOT NULL,
    subtype           TEXT NOT NULL DEFAULT '',
    provider_id       TEXT,
    delivery_id       INTEGER REFERENCES deliveries (id) ON DELETE SET NULL,
    subscriber_id     INTEGER REFERENCES subscribers (id) ON DELETE SET NULL,
    raw               TEXT NOT NULL
);
CREATE INDEX delivery_events_by_delivery ON delivery_events (delivery_id, kind);
CREATE INDEX delivery_events_by_subscriber ON delivery_events (subscriber_id, kind, subtype);

-- An erasure must not leave the address behind in a raw notification.
CREATE TRIGGER delivery_events_erase BEFORE DELETE ON subscribers BEGIN
    UPDATE delivery_events SET raw = '{"erased": true}' WHERE subscriber_id = OLD.id;
END;
"""


# 4: the subscription pages' two durable queues, owned by the subscriber store. A sign-up from
#    the form is one insert into `sign_up_requests` whatever the address (new, pending, confirmed
#    or suppressed: the answer waits for the same work), decided later by the app's mailer. The
#    confirmation emails to send wait in `confirmation_emails`, an outbox: a crash or a restart
#    loses none, and each keeps the Message-ID it was given, so a resend after a crash in
#    mid-send is recognisably the same message. `queued_at` also spaces the emails to one
#    address (one per cooldown).
_V4_CONFIRMATION_OUTBOX = """
CREATE TABLE sign_up_requests (
    id            INTEGER PRIMARY KEY,
    email         TEXT NOT NULL,
    name          TEXT NOT NULL DEFAULT '',
    organisation  TEXT NOT NULL DEFAULT '',
    state         TEXT NOT NULL,
    lang          TEXT NOT NULL,
    ip            TEXT,
    received_at   TEXT NOT NULL
);

CREATE TABLE confirmation_emails (
    id             INTEGER PRIMARY KEY,
    subscriber_id  INTEGER NOT NULL REFERENCES subscribers (id) ON DELETE CASCADE,
    message_token  TEXT NOT NULL UNIQUE,  -- random: the Message-ID says nothing of the address
    state          TEXT NOT NULL DEFAULT 'queued'
                   CHECK (state IN ('queued', 'sending', 'sent', 'failed', 'skipped')),
    queued_at      TEXT NOT NULL,
    attempts       INTEGER NOT NULL DEFAULT 0,
    next_attempt   REAL NOT NULL DEFAULT 0,
    claimed_by     TEXT,
    claimed_at     REAL,
    provider_id    TEXT,
    sent_at        TEXT,
    error          TEXT NOT NULL DEFAULT ''
);
CREATE INDEX confirmation_emails_due ON confirmation_emails (state, next_attempt, id);
CREATE INDEX confirmation_emails_by_subscriber ON confirmation_emails (subscriber_id, queued_at);
"""


# 5: what `status` answers and a restore relies on: each send run and how it ended (owned by
#    newsletter.delivery.ledger), and the file's own log of the backups taken of it and the
#    restores that produced it (owned by newsletter.subscribers.database). `send --due` never
#    starts or resumes, on its own, an issue a restored file may already have mailed.
_V5_RUNS_AND_BACKUPS = """
CREATE TABLE send_runs (
    id          INTEGER PRIMARY KEY,
    issue       TEXT NOT NULL,
    host        TEXT NOT NULL,
    pid         INTEGER NOT NULL,
    started_at  TEXT NOT NULL,
    ended_at    TEXT,
    -- running | complete | paused | stopped | interrupted | failed
    outcome     TEXT NOT NULL DEFAULT 'running',
    detail      TEXT NOT NULL DEFAULT '',
    sent        INTEGER NOT NULL DEFAULT 0,
    deferred    INTEGER NOT NULL DEFAULT 0,
    rejected    INTEGER NOT NULL DEFAULT 0,
    unknown     INTEGER NOT NULL DEFAULT 0
);

CREATE TABLE backups (
    id              INTEGER PRIMARY KEY,
    at              TEXT NOT NULL,
    location        TEXT NOT NULL,
    name            TEXT NOT NULL,
    bytes           INTEGER NOT NULL,
    sha256          TEXT NOT NULL,
    schema_version  INTEGER NOT NULL
);

CREATE TABLE restores (
    id              INTEGER PRIMARY KEY,
    at              TEXT NOT NULL,
    source          TEXT NOT NULL,
    taken_at        TEXT,
    schema_version  INTEGER NOT NULL
);
"""


MIGRATIONS: list[Migration] = [
    _V1_SUBSCRIBERS,
    _V2_COVERAGE_INDEX,
    _V3_DELIVERIES,
    _V4_CONFIRMATION_OUTBOX,
    _V5_RUNS_AND_BACKUPS,
    # Append new migrations here (see the module docstring).
]

# The schema version this program writes: a file whose version is higher came from a newer
# ANNAobserva (a restore refuses it; opening it says to upgrade).
SCHEMA_VERSION = len(MIGRATIONS)
