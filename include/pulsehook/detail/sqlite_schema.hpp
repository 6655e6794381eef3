#ifndef PULSEHOOK_DETAIL_SQLITE_SCHEMA_HPP
#define PULSEHOOK_DETAIL_SQLITE_SCHEMA_HPP

// The sqlite_store schema, as forward migrations: migration i takes user_version i to i + 1.
// Never edit a released migration; append one.
//
// Index design (the queries they serve):
// - deliveries_log (endpoint, id)            : log page "All", newest first, keyset on id
// - deliveries_cls (endpoint, cls, id)       : log pages "Sent" (cls 1) / "Failed" (cls 2)
// - deliveries_due (next_at) WHERE NOT NULL  : claim_due / next_due_at; holds open ones only
// - attempts_delivery (delivery)             : attempts of a delivery; purge by delivery range
// - attempts_body_age (started_at) WHERE body: body retention without a scan
// - events_created (created_at)              : event retention
// - events_subject (org, subject)            : erasure by subject
// - audit_log_endpoint (endpoint, ix)        : an endpoint's audit log, newest first
// - order_queue (endpoint, order_key, seq)   : a table, not an index: an ordering queue's head
//                                              and its back (migration 8 says why)
// Per-endpoint settings (migration 9) are JSON text columns of endpoints, NULL when empty
// (detail/endpoint_settings_codec.hpp); the fan-out reads the retry schedule's span from a
// copy in subscriptions, as it reads `ordered`.
// sequences('delivery') holds the next delivery id: ids are never reused after a purge.
// An event's deliveries are consecutive ids [first_delivery, first_delivery + deliveries), so
// no index on deliveries(event) is needed.

namespace pulsehook::detail {

inline constexpr char const* sqlite_migrations[] = {
    // 0 -> 1
    R"sql(
CREATE TABLE endpoints(
  ix INTEGER PRIMARY KEY,
  id TEXT NOT NULL UNIQUE,
  org TEXT NOT NULL,
  name TEXT NOT NULL,
  url TEXT NOT NULL,
  description TEXT NOT NULL,
  event_types TEXT NOT NULL,
  enabled INTEGER NOT NULL,
  disabled_reason TEXT NOT NULL,
  created_at INTEGER NOT NULL,
  updated_at INTEGER NOT NULL,
  deleted_at INTEGER);
CREATE INDEX endpoints_org ON endpoints(org);
CREATE TABLE endpoint_secrets(
  endpoint INTEGER NOT NULL,
  seq INTEGER NOT NULL,
  value TEXT NOT NULL,
  created_at INTEGER NOT NULL,
  expires_at INTEGER,
  PRIMARY KEY(endpoint, seq)) WITHOUT ROWID;
CREATE TABLE subscriptions(
  org TEXT NOT NULL,
  type TEXT NOT NULL,
  endpoint INTEGER NOT NULL,
  PRIMARY KEY(org, type, endpoint)) WITHOUT ROWID;
CREATE TABLE endpoint_counts(
  endpoint INTEGER PRIMARY KEY,
  pending INTEGER NOT NULL DEFAULT 0,
  retrying INTEGER NOT NULL DEFAULT 0,
  sent INTEGER NOT NULL DEFAULT 0,
  failed INTEGER NOT NULL DEFAULT 0);
CREATE TABLE events(
  ix INTEGER PRIMARY KEY,
  id TEXT NOT NULL UNIQUE,
  org TEXT NOT NULL,
  type TEXT NOT NULL,
  created_at INTEGER NOT NULL,
  actor_type TEXT NOT NULL,
  actor_id TEXT NOT NULL,
  actor_name TEXT NOT NULL,
  first_delivery INTEGER NOT NULL,
  deliveries INTEGER NOT NULL,
  payload BLOB NOT NULL);
CREATE INDEX events_created ON events(created_at);
CREATE TABLE deliveries(
  id INTEGER PRIMARY KEY,
  event INTEGER NOT NULL,
  endpoint INTEGER NOT NULL,
  state INTEGER NOT NULL,
  cls INTEGER NOT NULL,
  attempts INTEGER NOT NULL DEFAULT 0,
  next_at INTEGER,
  give_up_at INTEGER NOT NULL,
  manual INTEGER NOT NULL DEFAULT 0,
  reason TEXT NOT NULL DEFAULT '');
CREATE INDEX deliveries_log ON deliveries(endpoint, id);
CREATE INDEX deliveries_cls ON deliveries(endpoint, cls, id);
CREATE INDEX deliveries_due ON deliveries(next_at) WHERE next_at IS NOT NULL;
CREATE TABLE attempts(
  ix INTEGER PRIMARY KEY,
  delivery INTEGER NOT NULL,
  number INTEGER NOT NULL,
  trigger INTEGER NOT NULL,
  started_at INTEGER NOT NULL,
  elapsed INTEGER NOT NULL,
  status INTEGER NOT NULL,
  error TEXT NOT NULL,
  truncated INTEGER NOT NULL,
  request_headers BLOB NOT NULL,
  response_headers BLOB NOT NULL,
  body BLOB);
CREATE INDEX attempts_delivery ON attempts(delivery);
CREATE INDEX attempts_body_age ON attempts(started_at) WHERE body IS NOT NULL;
)sql",
    // 1 -> 2: delivery ids are never reused. MAX(id) + 1 handed out again the ids of the
    // newest deliveries once a purge had removed them; the next id is kept here instead.
    R"sql(
CREATE TABLE sequences(
  name TEXT PRIMARY KEY,
  next INTEGER NOT NULL) WITHOUT ROWID;
INSERT INTO sequences(name, next) SELECT 'delivery', COALESCE(MAX(id), 0) + 1 FROM deliveries;
)sql",
    // 2 -> 3: the audit log (audit_log_storage): who revealed an endpoint's secret, and when.
    // Keyed by the endpoint's row; rows go when purge forgets a deleted endpoint.
    R"sql(
CREATE TABLE audit_log(
  ix INTEGER PRIMARY KEY,
  endpoint INTEGER NOT NULL,
  action TEXT NOT NULL,
  actor TEXT NOT NULL,
  at INTEGER NOT NULL);
CREATE INDEX audit_log_endpoint ON audit_log(endpoint, ix);
)sql",
    // 3 -> 4: endpoint health (endpoint_health_storage): the start of the current run of failed
    // attempts (NULL after a 2xx), and when the endpoint was disabled. Written only when they
    // change, not on every attempt.
    R"sql(
ALTER TABLE endpoints ADD COLUMN failing_since INTEGER;
ALTER TABLE endpoints ADD COLUMN disabled_at INTEGER;
UPDATE endpoints SET disabled_at = updated_at WHERE enabled = 0;
)sql",
    // 4 -> 5: throttling. Endpoint pauses (shared_pause_storage): a 429 / 503 holds the
    // endpoint's work back until then; claims move what they meet of it to the pause's end.
    // The endpoint's rate limit (both NULL: none) and its token bucket: tokens left at
    // rate_at (NULL: a full bucket), spent by claims.
    R"sql(
ALTER TABLE endpoints ADD COLUMN paused_until INTEGER NOT NULL DEFAULT 0;
ALTER TABLE endpoints ADD COLUMN rate_per_second REAL;
ALTER TABLE endpoints ADD COLUMN rate_burst INTEGER;
ALTER TABLE endpoints ADD COLUMN rate_tokens REAL;
ALTER TABLE endpoints ADD COLUMN rate_at INTEGER;
)sql",
    // 5 -> 6: AIMD (adaptive_rate_storage): the endpoint's latest slow-down (all NULL: none),
    // written only when a 429 / 503 slows it down.
    R"sql(
ALTER TABLE endpoints ADD COLUMN adaptive_rate REAL;
ALTER TABLE endpoints ADD COLUMN adaptive_ceiling REAL;
ALTER TABLE endpoints ADD COLUMN adaptive_step REAL;
ALTER TABLE endpoints ADD COLUMN adaptive_since INTEGER;
)sql",
    // 6 -> 7: erasure (erasure_storage). What an event is about (NULL: nothing in particular),
    // found by organisation and subject for an erasure by subject, and when its payload was
    // erased (NULL: never) and by whom. The events a subject triggered (actor_id) have no index: one on
    // actor ids slows every accept noticeably (its inserts land all over the tree), for a
    // call made now and then; erase_subject scans for them instead (docs/storage.md#erasure).
    R"sql(
ALTER TABLE events ADD COLUMN subject TEXT;
ALTER TABLE events ADD COLUMN erased_at INTEGER;
ALTER TABLE events ADD COLUMN erased_by TEXT;
CREATE INDEX events_subject ON events(org, subject) WHERE subject IS NOT NULL;
)sql",
    // 7 -> 8: ordered delivery (law 13, docs/concepts/Storage.md). An endpoint's `ordered` flag;
    // a delivery accepted while it was set keeps its event's ordering key (order_key, '' for an
    // event without one: NULL means unordered) and its place in that key's queue (order_seq,
    // 1 + the largest of the key's open deliveries). order_queue holds the open ordered
    // deliveries by (endpoint, key, place): its first row of a key is the head, its last the
    // back. It is a table rather than a partial index on deliveries because SQLite opens and
    // tests every index of a table on each insert, and a partial index whose WHERE names
    // `state` on each update of the state: every unordered delivery would pay for it. The
    // fan-out reads the flag from subscriptions.ordered, a copy written with the endpoint's
    // subscriptions: there it sits beside the endpoint id the fan-out reads anyway, while
    // endpoints.ordered is the last of many columns, costly to reach for every delivery.
    R"sql(
ALTER TABLE endpoints ADD COLUMN ordered INTEGER NOT NULL DEFAULT 0;
ALTER TABLE subscriptions ADD COLUMN ordered INTEGER NOT NULL DEFAULT 0;
ALTER TABLE deliveries ADD COLUMN order_key TEXT;
ALTER TABLE deliveries ADD COLUMN order_seq INTEGER;
CREATE TABLE order_queue(
  endpoint INTEGER NOT NULL,
  order_key TEXT NOT NULL,
  seq INTEGER NOT NULL,
  delivery INTEGER NOT NULL,
  PRIMARY KEY(endpoint, order_key, seq)) WITHOUT ROWID;
)sql",
    // 8 -> 9: per-endpoint settings (law 14, docs/concepts/Storage.md). Each is one column of
    // endpoints, NULL when the endpoint does not have it, so an endpoint without settings is
    // read as before and nothing is parsed for it: headers, retry_schedule and metadata as
    // JSON text (detail/endpoint_settings_codec.hpp), timeout_ms in milliseconds. retry_span_ms
    // is the retry schedule's deadline span (schedule_span with endpoint_schedule_jitter),
    // kept beside it so that accept adds it to the event's creation without parsing the
    // schedule. The fan-out reads it from subscriptions.retry_span_ms, a copy written with the
    // endpoint's subscriptions like subscriptions.ordered (migration 8 says why). Endpoints
    // from before have no settings: every new column starts NULL.
    R"sql(
ALTER TABLE endpoints ADD COLUMN headers TEXT;
ALTER TABLE endpoints ADD COLUMN timeout_ms INTEGER;
ALTER TABLE endpoints ADD COLUMN retry_schedule TEXT;
ALTER TABLE endpoints ADD COLUMN retry_span_ms INTEGER;
ALTER TABLE endpoints ADD COLUMN metadata TEXT;
ALTER TABLE subscriptions ADD COLUMN retry_span_ms INTEGER;
)sql",
};

inline constexpr int sqlite_schema_version =
    static_cast<int>(sizeof(sqlite_migrations) / sizeof(sqlite_migrations[0]));

} // namespace pulsehook::detail

#endif
