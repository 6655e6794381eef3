#ifndef PULSEHOOK_DETAIL_PG_SCHEMA_HPP
#define PULSEHOOK_DETAIL_PG_SCHEMA_HPP

// The postgres_store schema, as forward migrations: migration i takes version i to i + 1 (the
// version is the largest row of {s}.schema_version). Never edit a released migration; append
// one. `{s}` stands for the store's schema name (validated: [a-z_][a-z0-9_]*).
//
// Design (docs/storage.md, "postgres_store"):
// - times are bigint Unix milliseconds, like sqlite_store; free text a peer or a user supplied
//   (names, reasons, actors, error texts) is bytea, so every byte round-trips;
// - deliveries carry their lease: lease_owner (the claiming store's worker id, NULL when not
//   claimed), lease_token (the fencing token, +1 per claim) and next_at (= the lease's end while
//   claimed), so an expired lease is simply due again;
// - per-endpoint counters live in endpoint_counts rows keyed (endpoint, slot): each connection
//   writes only its own slot (held with a session advisory lock), and counts() sums an
//   endpoint's rows. No row is shared by all writers;
// - an event lists its delivery ids (delivery_ids): no index on deliveries(event) to maintain;
// - prev_state: an attempt's UPDATE stores the state it replaced there (SET sees the old row),
//   so its RETURNING gives the counters' delta without a separate locking read;
// - an endpoint's settings (schema 8) are JSON text columns, NULL when empty
//   (detail/endpoint_settings_codec.hpp), with the span of its own retry schedule beside it
//   (retry_span_ms), so accept gives a delivery its deadline in SQL without parsing anything.
//
// Indexes (the queries they serve). Deliveries are updated several times each (claim, attempt),
// and no update is HOT (next_at is indexed), so every index costs an insert per update: there
// are as few as the queries allow.
// - deliveries_cls (endpoint, cls, id)         : log pages "Sent" (cls 1) / "Failed" (cls 2),
//                                                and "All" as the merge of its three classes
// - deliveries_due (next_at, id) WHERE NOT NULL: claims (oldest due first) and next_due_at
// - deliveries_leased (endpoint) WHERE leased  : in-flight per endpoint across processes
// - attempts_delivery (delivery)               : attempts of a delivery; purge (attempts have
//                                                no primary key index: nothing looks one up by ix)
// - attempts_body_age (started_at) WHERE body  : body retention without a scan
// - events_created (created_at)                : event retention
// - events_subject (org, subject) WHERE subject: erasure by subject
// - audit_log_endpoint (endpoint, ix)          : an endpoint's audit log, newest first
// - deliveries_order (endpoint, order_key, order_seq) WHERE ordered and open
//                                              : an ordering queue's head and its back; the
//                                                unordered deliveries never enter it

#include <cstdint>
#include <string>
#include <string_view>

namespace pulsehook::detail {

inline constexpr char const* pg_migrations[] = {
    // 0 -> 1
    R"sql(
CREATE SEQUENCE {s}.delivery_ids;
CREATE SEQUENCE {s}.workers;
CREATE TABLE {s}.endpoints(
  ix bigserial PRIMARY KEY,
  id text NOT NULL UNIQUE,
  org text NOT NULL,
  name bytea NOT NULL,
  url bytea NOT NULL,
  description bytea NOT NULL,
  event_types text NOT NULL,
  enabled boolean NOT NULL,
  disabled_reason bytea NOT NULL,
  created_at bigint NOT NULL,
  updated_at bigint NOT NULL,
  deleted_at bigint,
  paused_until bigint NOT NULL DEFAULT 0);
CREATE INDEX endpoints_org ON {s}.endpoints(org, ix);
CREATE TABLE {s}.endpoint_secrets(
  endpoint bigint NOT NULL,
  seq int NOT NULL,
  value text NOT NULL,
  created_at bigint NOT NULL,
  expires_at bigint,
  PRIMARY KEY(endpoint, seq));
CREATE TABLE {s}.subscriptions(
  org text NOT NULL,
  type text NOT NULL,
  endpoint bigint NOT NULL,
  PRIMARY KEY(org, type, endpoint));
CREATE TABLE {s}.endpoint_counts(
  endpoint bigint NOT NULL,
  slot int NOT NULL,
  pending bigint NOT NULL DEFAULT 0,
  retrying bigint NOT NULL DEFAULT 0,
  sent bigint NOT NULL DEFAULT 0,
  failed bigint NOT NULL DEFAULT 0,
  PRIMARY KEY(endpoint, slot));
CREATE TABLE {s}.events(
  ix bigserial PRIMARY KEY,
  id text NOT NULL UNIQUE,
  org text NOT NULL,
  type text NOT NULL,
  created_at bigint NOT NULL,
  actor_type bytea NOT NULL,
  actor_id bytea NOT NULL,
  actor_name bytea NOT NULL,
  delivery_ids bigint[] NOT NULL,
  payload bytea NOT NULL);
CREATE INDEX events_created ON {s}.events(created_at);
CREATE TABLE {s}.deliveries(
  id bigint PRIMARY KEY,
  event bigint NOT NULL,
  endpoint bigint NOT NULL,
  state smallint NOT NULL,
  cls smallint NOT NULL,
  attempts int NOT NULL DEFAULT 0,
  next_at bigint,
  give_up_at bigint NOT NULL,
  manual boolean NOT NULL DEFAULT false,
  reason bytea NOT NULL DEFAULT '',
  lease_owner bigint,
  lease_token bigint NOT NULL DEFAULT 0,
  prev_state smallint NOT NULL DEFAULT 0);
CREATE INDEX deliveries_cls ON {s}.deliveries(endpoint, cls, id);
CREATE INDEX deliveries_due ON {s}.deliveries(next_at, id) WHERE next_at IS NOT NULL;
CREATE INDEX deliveries_leased ON {s}.deliveries(endpoint) WHERE lease_owner IS NOT NULL;
CREATE TABLE {s}.attempts(
  ix bigserial NOT NULL,
  delivery bigint NOT NULL,
  number int NOT NULL,
  trigger smallint NOT NULL,
  started_at bigint NOT NULL,
  elapsed bigint NOT NULL,
  status int NOT NULL,
  error bytea NOT NULL,
  truncated boolean NOT NULL,
  request_headers bytea NOT NULL,
  response_headers bytea NOT NULL,
  body bytea);
CREATE INDEX attempts_delivery ON {s}.attempts(delivery);
CREATE INDEX attempts_body_age ON {s}.attempts(started_at) WHERE body IS NOT NULL;
)sql",
    // 1 -> 2: the audit log (audit_log_storage): who revealed an endpoint's secret, and when.
    // Keyed by the endpoint's row; rows go when purge forgets a deleted endpoint.
    R"sql(
CREATE TABLE {s}.audit_log(
  ix bigserial PRIMARY KEY,
  endpoint bigint NOT NULL,
  action text NOT NULL,
  actor bytea NOT NULL,
  at bigint NOT NULL);
CREATE INDEX audit_log_endpoint ON {s}.audit_log(endpoint, ix);
)sql",
    // 2 -> 3: endpoint health (endpoint_health_storage): the start of the current run of failed
    // attempts (NULL after a 2xx), and when the endpoint was disabled. Written only when they
    // change (a record's statement updates the row on a transition only), so the endpoint row
    // does not become a hot row that serialises every worker's records.
    R"sql(
ALTER TABLE {s}.endpoints ADD COLUMN failing_since bigint;
ALTER TABLE {s}.endpoints ADD COLUMN disabled_at bigint;
UPDATE {s}.endpoints SET disabled_at = updated_at WHERE NOT enabled;
)sql",
    // 3 -> 4: the endpoint's rate limit (both NULL: none) and its token bucket: tokens left at
    // rate_at (NULL: a full bucket), spent by claims under the endpoint row's lock.
    R"sql(
ALTER TABLE {s}.endpoints ADD COLUMN rate_per_second double precision;
ALTER TABLE {s}.endpoints ADD COLUMN rate_burst bigint;
ALTER TABLE {s}.endpoints ADD COLUMN rate_tokens double precision;
ALTER TABLE {s}.endpoints ADD COLUMN rate_at bigint;
)sql",
    // 4 -> 5: AIMD (adaptive_rate_storage): the endpoint's latest slow-down (all NULL: none),
    // written under the endpoint row's lock when a 429 / 503 slows it down.
    R"sql(
ALTER TABLE {s}.endpoints ADD COLUMN adaptive_rate double precision;
ALTER TABLE {s}.endpoints ADD COLUMN adaptive_ceiling double precision;
ALTER TABLE {s}.endpoints ADD COLUMN adaptive_step double precision;
ALTER TABLE {s}.endpoints ADD COLUMN adaptive_since bigint;
)sql",
    // 5 -> 6: erasure (erasure_storage): what an event is about (NULL: nothing in particular),
    // when its payload was erased (NULL: not erased) and who asked for it (the erasure's `by`,
    // free text: bytea; '' when not erased or when `by` was empty). Erasure by subject finds an
    // organisation's events by the partial index, which events without a subject stay out of.
    R"sql(
ALTER TABLE {s}.events ADD COLUMN subject text;
ALTER TABLE {s}.events ADD COLUMN erased_at bigint;
ALTER TABLE {s}.events ADD COLUMN erased_by bytea NOT NULL DEFAULT '';
CREATE INDEX events_subject ON {s}.events(org, subject) WHERE subject IS NOT NULL;
)sql",
    // 6 -> 7: ordered delivery (law 13, docs/concepts/Storage.md). The endpoint's `ordered`
    // flag (it decides for the events accepted while it is set). A delivery accepted while it
    // was set keeps the event's ordering key (order_key, '' included; NULL: unordered) and its
    // place in that key's queue (order_seq: 1 + the largest of the key's open deliveries,
    // given under the queue's advisory lock). Adding the columns rewrites no row (a constant
    // default stays in the catalog). The partial index holds only open ordered deliveries, so
    // unordered ones never pay for it.
    R"sql(
ALTER TABLE {s}.endpoints ADD COLUMN ordered boolean NOT NULL DEFAULT false;
ALTER TABLE {s}.deliveries ADD COLUMN order_key text;
ALTER TABLE {s}.deliveries ADD COLUMN order_seq bigint;
CREATE INDEX deliveries_order ON {s}.deliveries(endpoint, order_key, order_seq)
  WHERE order_key IS NOT NULL AND state IN (0, 1);
)sql",
    // 7 -> 8: per-endpoint settings (law 14, docs/concepts/Storage.md): custom headers, the
    // request timeout, the endpoint's own retry schedule with its span (the deadline accept
    // gives its deliveries: created_at + retry_span_ms) and metadata labels. NULL when the
    // setting is empty, so the endpoints before it have none, their deliveries keep the
    // deadlines they were given, and claims of endpoints without settings read only NULLs.
    // Nullable columns without a default: adding them rewrites no row.
    R"sql(
ALTER TABLE {s}.endpoints ADD COLUMN headers text;
ALTER TABLE {s}.endpoints ADD COLUMN timeout_ms bigint;
ALTER TABLE {s}.endpoints ADD COLUMN retry_schedule text;
ALTER TABLE {s}.endpoints ADD COLUMN retry_span_ms bigint;
ALTER TABLE {s}.endpoints ADD COLUMN metadata text;
)sql",
};

inline constexpr int pg_schema_version =
    static_cast<int>(sizeof(pg_migrations) / sizeof(pg_migrations[0]));

// `sql` with every "{s}" replaced by the schema name.
inline std::string pg_in_schema(std::string_view sql, std::string_view schema) {
  std::string out;
  out.reserve(sql.size() + 64);
  for (std::size_t i = 0; i < sql.size();) {
    if (sql.compare(i, 3, "{s}") == 0) {
      out += schema;
      i += 3;
    } else {
      out += sql[i++];
    }
  }
  return out;
}

// A schema name pulsehook accepts: 1..48 of [a-z0-9_], not starting with a digit. Used
// unquoted in SQL and in the notification channel name, so nothing needs escaping.
inline bool pg_valid_schema(std::string_view s) noexcept {
  if (s.empty() || s.size() > 48 || (s[0] >= '0' && s[0] <= '9')) return false;
  for (char c : s)
    if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_')) return false;
  return s != "pg_catalog" && s != "information_schema" && !s.starts_with("pg_");
}

// FNV-1a of the schema name: the first key of the store's advisory locks, so stores in
// different schemas of one database do not share locks.
inline std::int32_t pg_lock_space(std::string_view schema) noexcept {
  std::uint32_t h = 2166136261u;
  for (char c : schema) h = (h ^ static_cast<unsigned char>(c)) * 16777619u;
  return static_cast<std::int32_t>(h & 0x7fffffff);
}

} // namespace pulsehook::detail

#endif
