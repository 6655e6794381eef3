#ifndef PULSEHOOK_IMPL_POSTGRES_STORE_HPP
#define PULSEHOOK_IMPL_POSTGRES_STORE_HPP

#include <pulsehook/postgres_store.hpp>

#include <pulsehook/detail/endpoint_settings_codec.hpp>
#include <pulsehook/detail/pg_handle.hpp>
#include <pulsehook/detail/pg_schema.hpp>
#include <pulsehook/detail/store_cursor.hpp>

#include <algorithm>
#include <atomic>
#include <bit>
#include <chrono>
#include <condition_variable>
#include <limits>
#include <map>
#include <mutex>
#include <string>
#include <thread>
#include <unordered_map>
#include <unordered_set>

namespace pulsehook {
namespace detail {

// Statements, by number (their SQL is built per store: the schema name is part of it).
enum pg_stmt : std::size_t {
  pg_accept,
  pg_accept_tx,
  pg_claim_candidates,
  pg_claim_candidates_expired,
  pg_claim_try_lock,
  pg_claim_leased,
  pg_claim_push,
  pg_claim_tokens,
  pg_claim_take,
  pg_secrets_of,
  pg_next_due,
  pg_count_due,
  pg_record,
  pg_record_many,
  pg_delivery_state,
  pg_release,
  pg_give_up,
  pg_counts,
  pg_endpoint_ix,
  pg_pause,
  pg_slow_load,
  pg_slow_save,
  pg_log_all,
  pg_log_cls,
  pg_event,
  pg_event_deliveries,
  pg_event_attempts,
  pg_get_delivery,
  pg_resend,
  pg_ep_insert,
  pg_ep_load,
  pg_ep_list,
  pg_ep_update,
  pg_ep_touch,
  pg_ep_lock,
  pg_ep_fail_open,
  pg_ep_mark_deleted,
  pg_ep_disable,
  pg_ep_park,
  pg_ep_enable,
  pg_ep_unpark,
  pg_subs_insert,
  pg_subs_delete,
  pg_secrets_load,
  pg_secrets_delete,
  pg_secrets_insert,
  pg_purge_events,
  pg_purge_bodies,
  pg_purge_endpoints,
  pg_slot,
  pg_outbox_slot,
  pg_audit_insert,
  pg_audit_list,
  pg_resend_event,
  pg_recover_endpoint,
  pg_recover_pick,
  pg_recover_reopen,
  pg_ep_disable_failing,
  pg_erase_lock,
  pg_erase_pick,
  pg_erase_events,
  pg_erase_actor_pick,
  pg_erase_actor_set,
  pg_queue_lock,
  pg_queue_try_lock,
  pg_queue_append,
  pg_queue_heads,
  pg_stmt_count
};

// Whether the open delivery `d` waits in its ordering queue: an earlier one of its key is
// open (an unordered delivery never waits; the subquery runs only for ordered ones).
#define PULSEHOOK_DETAIL_PG_WAITING(d)                                                             \
  "CASE WHEN " #d ".order_key IS NULL THEN false ELSE EXISTS (SELECT 1 FROM {s}.deliveries w "     \
  "WHERE w.endpoint = " #d ".endpoint AND w.order_key = " #d ".order_key AND w.state IN (0, 1) "   \
  "AND w.order_seq < " #d ".order_seq) END "

// The counter columns' update when a row (endpoint, slot) exists already.
#define PULSEHOOK_DETAIL_PG_ADD_COUNTS                                                             \
  " ON CONFLICT (endpoint, slot) DO UPDATE SET pending = k.pending + excluded.pending, "           \
  "retrying = k.retrying + excluded.retrying, sent = k.sent + excluded.sent, "                    \
  "failed = k.failed + excluded.failed"

// The accept statements' common parts (pg_accept, pg_accept_tx): the subscribed endpoints (t);
// after the event (ev) and its delivery ids (ids), the deliveries, their counters, the
// notification and the first three result columns. A delivery's deadline is its endpoint's
// (endpoint_give_up_at): the event's creation plus the span of the endpoint's own retry
// schedule when it has one (retry_span_ms, NULL otherwise), else the one passed in ($9).
#define PULSEHOOK_DETAIL_PG_ACCEPT_TARGETS                                                         \
  "WITH t AS (SELECT s.endpoint, e.ordered, e.retry_span_ms FROM {s}.subscriptions s "             \
  "  JOIN {s}.endpoints e ON e.ix = s.endpoint "                                                   \
  "  WHERE s.org = $2::text AND s.type = $3::text AND e.enabled AND e.deleted_at IS NULL "         \
  "  ORDER BY s.endpoint), "
#define PULSEHOOK_DETAIL_PG_ACCEPT_DELIVERIES                                                      \
  "d AS (INSERT INTO {s}.deliveries(id, event, endpoint, state, cls, next_at, give_up_at, "        \
  "  order_key) SELECT ids.id, ev.ix, ids.endpoint, 0, 0, "                                        \
  "  CASE WHEN NOT ids.ordered THEN $4::bigint END, COALESCE($4::bigint + ids.retry_span_ms, "      \
  "  $9::bigint), "                                                                                \
  "  CASE WHEN ids.ordered THEN $14::text END FROM ids, ev "                                       \
  "  RETURNING id, endpoint, order_key IS NOT NULL AS ordered), "                                  \
  "c AS (INSERT INTO {s}.endpoint_counts AS k(endpoint, slot, pending) "                           \
  "  SELECT endpoint, $10::bigint, 1 FROM d "                                                      \
  "  ON CONFLICT (endpoint, slot) DO UPDATE SET pending = k.pending + 1) "                         \
  "SELECT d.id, (SELECT count(*) FROM (SELECT pg_notify($11::text, '') "                           \
  "  WHERE $11::text IS NOT NULL AND EXISTS (SELECT 1 FROM d)) n), COALESCE(d.ordered, false), "

// The claim candidates' common parts (pg_claim_candidates, pg_claim_candidates_expired): the
// first six columns (the delivery, its endpoint's row and id, its pause, its deadline, whether
// the endpoint spends tokens), and the endpoints that other workers hold at the cap ($3).
#define PULSEHOOK_DETAIL_PG_CLAIM_COLUMNS                                                          \
  "SELECT d.id, d.endpoint, p.id, p.paused_until, d.give_up_at, "                                  \
  "  p.rate_per_second IS NOT NULL OR COALESCE(p.adaptive_rate + p.adaptive_step * "               \
  "    GREATEST(0, $1::bigint - p.adaptive_since) / 1000.0 < p.adaptive_ceiling, false) "
#define PULSEHOOK_DETAIL_PG_CLAIM_AT_CAP                                                           \
  "SELECT l.endpoint FROM {s}.deliveries l "                                                       \
  "    WHERE l.lease_owner IS NOT NULL AND l.lease_owner <> $4::bigint "                           \
  "AND l.next_at > $1::bigint "                                                                    \
  "    GROUP BY l.endpoint HAVING count(*) >= $3::bigint"

inline constexpr char const* pg_statement_sql[pg_stmt_count] = {
    // pg_accept: $1 id, $2 org, $3 type, $4 created_at, $5..$7 actor, $8 payload,
    // $9 give_up_at (of the deliveries to endpoints without their own retry schedule), $10 slot,
    // $11 notification channel (NULL: none), $12 subject ('': none, stored NULL), $13 1 when
    // the statement runs inside a transaction that takes care of the ordering queues
    // (pg_queue_lock, pg_queue_append), $14 the event's ordering key. A delivery to an
    // ordered endpoint gets the key and no due time: its place in the queue is given under
    // the queue's lock, which a statement of its own must take before it reads the queue.
    // Outside such a transaction ($13 = 0) an accept that would make one writes
    // nothing and says so (one row, refused), so the caller runs it again in one: an accept
    // to unordered endpoints only stays one statement. Rows (delivery id, notified, ordered,
    // refused): none when the id was accepted before; else one per delivery (one NULL row
    // when there is none).
    PULSEHOOK_DETAIL_PG_ACCEPT_TARGETS
    "gate AS (SELECT $13::bigint = 0 AND EXISTS (SELECT 1 FROM t WHERE t.ordered) AS refused), "
    "ids AS MATERIALIZED (SELECT nextval('{s}.delivery_ids') AS id, t.endpoint, t.ordered, "
    "  t.retry_span_ms FROM t WHERE NOT (SELECT refused FROM gate)), "
    "ev AS (INSERT INTO {s}.events(id, org, type, created_at, actor_type, actor_id, actor_name, "
    "  delivery_ids, payload, subject) SELECT $1::text, $2::text, $3::text, $4::bigint, $5::bytea, "
    "  $6::bytea, $7::bytea, ARRAY(SELECT id FROM ids ORDER BY id), $8::bytea, NULLIF($12::text, '') "
    "  WHERE NOT (SELECT refused FROM gate) ON CONFLICT (id) DO NOTHING RETURNING ix), "
    PULSEHOOK_DETAIL_PG_ACCEPT_DELIVERIES
    "false "
    "FROM ev LEFT JOIN d ON true "
    "UNION ALL SELECT NULL, 0, false, true FROM gate WHERE refused ORDER BY 1",

    // pg_accept_tx: pg_accept inside a transaction that takes care of the ordering queues
    // (accept_many, a group, the outbox, an accept run again after a refusal): the same
    // parameters and rows, never refused, so without the gate, whose check and UNION make the
    // statement measurably slower (docs/performance.md#ordered-delivery): batched accepts run
    // this one only.
    PULSEHOOK_DETAIL_PG_ACCEPT_TARGETS
    "ids AS MATERIALIZED (SELECT nextval('{s}.delivery_ids') AS id, t.endpoint, t.ordered, "
    "  t.retry_span_ms FROM t), "
    "ev AS (INSERT INTO {s}.events(id, org, type, created_at, actor_type, actor_id, actor_name, "
    "  delivery_ids, payload, subject) VALUES ($1::text, $2::text, $3::text, $4::bigint, $5::bytea, "
    "  $6::bytea, $7::bytea, ARRAY(SELECT id FROM ids ORDER BY id), $8::bytea, NULLIF($12::text, '')) "
    "  ON CONFLICT (id) DO NOTHING RETURNING ix), "
    PULSEHOOK_DETAIL_PG_ACCEPT_DELIVERIES
    "$13::bigint = 0 AND false "
    "FROM ev LEFT JOIN d ON true ORDER BY d.id",

    // pg_claim_candidates: $1 now, $2 endpoint ids to skip, $3 cap, $4 worker, $5 limit.
    // Endpoints that other workers hold at their cap are left out here already (a hint: the
    // exact count is taken under the endpoint's lock).
    PULSEHOOK_DETAIL_PG_CLAIM_COLUMNS
    "FROM {s}.deliveries d JOIN {s}.endpoints p ON p.ix = d.endpoint "
    "WHERE d.next_at IS NOT NULL AND d.next_at <= $1::bigint AND p.id <> ALL($2::text[]) "
    "  AND d.endpoint NOT IN (" PULSEHOOK_DETAIL_PG_CLAIM_AT_CAP ") "
    "ORDER BY d.next_at, d.id LIMIT $5::bigint FOR UPDATE OF d SKIP LOCKED",

    // pg_claim_candidates_expired: pg_claim_candidates for a claim that sets expired_before
    // ($6): a delivery whose deadline is before it passes the skip list and the other
    // workers' caps (law 15), and says so in column 6. The skipped endpoints are excluded by
    // their row numbers, so that every condition is on the delivery alone and is checked as
    // the due index is read: with `p.id` in the OR the planner joins every due row to every
    // endpoint before filtering. A claim without expired_before runs the statement above.
    PULSEHOOK_DETAIL_PG_CLAIM_COLUMNS
    "  , d.give_up_at < $6::bigint "
    "FROM {s}.deliveries d JOIN {s}.endpoints p ON p.ix = d.endpoint "
    "WHERE d.next_at IS NOT NULL AND d.next_at <= $1::bigint "
    "  AND (d.endpoint NOT IN (SELECT k.ix FROM {s}.endpoints k WHERE k.id = ANY($2::text[]) "
    "    UNION ALL " PULSEHOOK_DETAIL_PG_CLAIM_AT_CAP ") OR d.give_up_at < $6::bigint) "
    "ORDER BY d.next_at, d.id LIMIT $5::bigint FOR UPDATE OF d SKIP LOCKED",

    // pg_claim_try_lock: $1 endpoints, $2 lock space. Returns those now locked by us (until
    // the transaction ends); another worker claiming one of them right now keeps it.
    "SELECT e FROM unnest($1::bigint[]) AS e "
    "WHERE pg_try_advisory_xact_lock(($2::bigint << 32) | (e & 4294967295))",

    // pg_claim_leased: $1 endpoints, $2 now, $3 worker: leases other workers hold now.
    "SELECT endpoint, count(*) FROM {s}.deliveries "
    "WHERE lease_owner IS NOT NULL AND lease_owner <> $3::bigint AND next_at > $2::bigint "
    "  AND endpoint = ANY($1::bigint[]) GROUP BY endpoint",

    // pg_claim_push: $1 deliveries of paused endpoints: due when the pause ends, or at their
    // deadline when that comes first (the engine decides then), as memory_store does.
    "UPDATE {s}.deliveries d SET next_at = LEAST(p.paused_until, d.give_up_at), lease_owner = NULL "
    "FROM {s}.endpoints p WHERE p.ix = d.endpoint AND d.id = ANY($1::bigint[])",

    // pg_claim_tokens: $1 rate-limited endpoints (ascending), $2 how many each wants, $3 now.
    // Spends up to that many whole tokens of each bucket (refilled to now) under the row's
    // lock, so workers share one bucket; returns what each may take. The bucket runs at the
    // effective rate (model.hpp effective_rate): the limit, lowered by a running slow-down
    // (`a`: its rate now; over once grown back to its ceiling). An endpoint whose slow-down is
    // over and that has no limit gets all it asks for.
    "WITH w AS (SELECT * FROM unnest($1::bigint[], $2::bigint[]) AS w(ix, want)), "
    "q AS (SELECT e.ix, w.want, e.rate_tokens, e.rate_at, e.rate_per_second, e.rate_burst, "
    "  LEAST(e.adaptive_ceiling, e.adaptive_rate + e.adaptive_step * "
    "    GREATEST(0, $3::bigint - e.adaptive_since) / 1000.0) AS a, e.adaptive_ceiling AS c "
    "  FROM {s}.endpoints e JOIN w ON w.ix = e.ix ORDER BY e.ix FOR UPDATE OF e), "
    "r AS (SELECT q.*, CASE WHEN a < c THEN LEAST(a, COALESCE(rate_per_second, a)) "
    "    ELSE rate_per_second END AS rate, "
    "  CASE WHEN a < c THEN LEAST(GREATEST(1, LEAST(100000, ceil(a))), COALESCE(rate_burst, 100000)) "
    "    ELSE rate_burst END::float8 AS burst FROM q), "
    "b AS (SELECT ix, want, rate, CASE WHEN rate IS NULL THEN want::float8 ELSE LEAST(burst, "
    "  COALESCE(rate_tokens + GREATEST(0, $3::bigint - rate_at) * rate / 1000.0, burst)) END AS avail "
    "  FROM r) "
    "UPDATE {s}.endpoints e SET "
    "  rate_tokens = CASE WHEN b.rate IS NULL THEN e.rate_tokens "
    "    ELSE b.avail - LEAST(b.want, floor(b.avail)) END, "
    "  rate_at = CASE WHEN b.rate IS NULL THEN e.rate_at ELSE $3::bigint END FROM b WHERE e.ix = b.ix "
    "RETURNING e.ix, LEAST(b.want, floor(b.avail))::bigint",

    // pg_claim_take: $1 deliveries, $2 lease end, $3 worker. Column 21 says whether the
    // delivery is in an ordering queue (due_delivery::ordered; the store keeps it with the
    // lease too: a record in a group then knows that its commit moves a queue on); the last
    // three are the endpoint's settings as they are now (NULL when empty).
    "WITH u AS (UPDATE {s}.deliveries d SET next_at = $2::bigint, lease_owner = $3::bigint, "
    "  lease_token = d.lease_token + 1 WHERE d.id = ANY($1::bigint[]) "
    "  RETURNING d.id, d.event, d.endpoint, d.attempts, d.give_up_at, d.manual, d.lease_token, "
    "  d.order_key IS NOT NULL AS ordered) "
    "SELECT u.id, u.event, u.endpoint, u.attempts, u.give_up_at, u.manual, u.lease_token, "
    "  e.id, e.type, e.created_at, e.payload, p.id, p.url, p.failing_since, p.paused_until, "
    "  p.rate_per_second, p.rate_burst, p.adaptive_rate, p.adaptive_ceiling, p.adaptive_step, "
    "  p.adaptive_since, u.ordered, p.headers, p.timeout_ms, p.retry_schedule "
    "FROM u JOIN {s}.events e ON e.ix = u.event JOIN {s}.endpoints p ON p.ix = u.endpoint",

    // pg_secrets_of: $1 endpoints.
    "SELECT endpoint, value, created_at, expires_at FROM {s}.endpoint_secrets "
    "WHERE endpoint = ANY($1::bigint[]) ORDER BY endpoint, seq",

    // pg_next_due
    "SELECT next_at FROM {s}.deliveries WHERE next_at IS NOT NULL ORDER BY next_at LIMIT 1",

    // pg_count_due: $1 now
    "SELECT count(*) FROM {s}.deliveries WHERE next_at IS NOT NULL AND next_at <= $1::bigint",

    // pg_record: $1 delivery, $2 fencing token (NULL: not fenced), $3 new state, $4 its class,
    // $5 next attempt, $6 reason, $7 number (0: next), $8 trigger, $9 started_at, $10 elapsed,
    // $11 status, $12 error, $13 truncated, $14/$15 headers, $16 body, $17 slot. Writes only
    // when the delivery is open and the token matches (checked again on the row's latest
    // version if another transaction changed it meanwhile); one row when it wrote, none when
    // it refused (pg_delivery_state then tells why). $18: 1 when the statement runs inside a
    // transaction that moves the delivery's ordering queue on afterwards (pg_queue_lock,
    // pg_queue_heads); with 0 it refuses to close an ordered delivery, which the caller then
    // records again inside one. Row: the delivery, whether it is ordered.
    "WITH u AS (UPDATE {s}.deliveries d SET prev_state = d.state, state = $3::bigint, cls = $4::bigint, "
    "  attempts = d.attempts + 1, next_at = CASE WHEN $3::bigint = 1 AND e.enabled THEN $5::bigint END, "
    "  manual = false, reason = $6::bytea, lease_owner = NULL FROM {s}.endpoints e "
    "  WHERE d.id = $1::bigint AND e.ix = d.endpoint AND d.state IN (0, 1) "
    "  AND ($2::bigint IS NULL OR d.lease_token = $2::bigint) "
    "  AND ($18::bigint = 1 OR $3::bigint = 1 OR d.order_key IS NULL) "
    "  RETURNING d.id, d.prev_state, d.endpoint, d.attempts, d.order_key IS NOT NULL AS ordered), "
    "a AS (INSERT INTO {s}.attempts(delivery, number, trigger, started_at, elapsed, status, error, "
    "  truncated, request_headers, response_headers, body) "
    "  SELECT u.id, COALESCE(NULLIF($7::bigint, 0), u.attempts), $8::bigint, $9::bigint, "
    "  $10::bigint, $11::bigint, $12::bytea, $13::bigint <> 0, $14::bytea, $15::bytea, $16::bytea FROM u), "
    "c AS (INSERT INTO {s}.endpoint_counts AS k(endpoint, slot, pending, retrying, sent, failed) "
    "  SELECT u.endpoint, $17::bigint, -(u.prev_state = 0)::int, "
    "  ($3::bigint = 1)::int - (u.prev_state = 1)::int, ($3::bigint = 2)::int, ($3::bigint = 3)::int "
    "  FROM u WHERE u.prev_state <> $3::bigint" PULSEHOOK_DETAIL_PG_ADD_COUNTS "), "
    // health: a 2xx clears failing_since, a failure sets it when empty; the row is written
    // only on such a transition
    "h AS (UPDATE {s}.endpoints e SET failing_since = CASE WHEN $3::bigint = 2 THEN NULL "
    "  ELSE $9::bigint END FROM u WHERE e.ix = u.endpoint "
    "  AND ($3::bigint = 2) = (e.failing_since IS NOT NULL)) "
    "SELECT id, ordered FROM u",

    // pg_record_many: a group's records sent ahead, in one statement. $1..$16 arrays, one
    // element per record, of pg_record's $1..$16 ($13 truncated as 0 / 1); $17 slot. Writes
    // the records whose delivery is open and whose token matches, as pg_record does; their
    // counters in one row update per endpoint. One row: how many it wrote.
    "WITH r AS (SELECT * FROM unnest($1::bigint[], $2::bigint[], $3::bigint[], $4::bigint[], "
    "  $5::bigint[], $6::bytea[], $7::bigint[], $8::bigint[], $9::bigint[], $10::bigint[], "
    "  $11::bigint[], $12::bytea[], $13::bigint[], $14::bytea[], $15::bytea[], $16::bytea[]) "
    "  WITH ORDINALITY AS r(id, token, state, cls, next_at, reason, number, trigger, started_at, "
    "  elapsed, status, error, truncated, req_h, resp_h, body, n)), "
    "u AS (UPDATE {s}.deliveries d SET prev_state = d.state, state = r.state, cls = r.cls, "
    "  attempts = d.attempts + 1, next_at = CASE WHEN r.state = 1 AND e.enabled THEN r.next_at END, "
    "  manual = false, reason = r.reason, lease_owner = NULL FROM r, {s}.endpoints e "
    "  WHERE d.id = r.id AND e.ix = d.endpoint AND d.state IN (0, 1) "
    "  AND (r.token IS NULL OR d.lease_token = r.token) "
    "  RETURNING d.id, d.prev_state, d.state, d.endpoint, d.attempts, r.number, r.trigger, "
    "  r.started_at, r.elapsed, r.status, r.error, r.truncated, r.req_h, r.resp_h, r.body, r.n), "
    "a AS (INSERT INTO {s}.attempts(delivery, number, trigger, started_at, elapsed, status, error, "
    "  truncated, request_headers, response_headers, body) "
    "  SELECT id, COALESCE(NULLIF(number, 0), attempts), trigger, started_at, elapsed, status, "
    "  error, truncated <> 0, req_h, resp_h, body FROM u), "
    "c AS (INSERT INTO {s}.endpoint_counts AS k(endpoint, slot, pending, retrying, sent, failed) "
    "  SELECT u.endpoint, $17::bigint, -count(*) FILTER (WHERE u.prev_state = 0), "
    "  count(*) FILTER (WHERE u.state = 1) - count(*) FILTER (WHERE u.prev_state = 1), "
    "  count(*) FILTER (WHERE u.state = 2), count(*) FILTER (WHERE u.state = 3) "
    "  FROM u WHERE u.prev_state <> u.state GROUP BY u.endpoint" PULSEHOOK_DETAIL_PG_ADD_COUNTS "), "
    // health, as pg_record keeps it, in record order: per endpoint, the last 2xx of the batch
    // (k.last_ok) and the first failure after it (f.first_fail); written on a change only
    "k AS (SELECT endpoint, max(n) FILTER (WHERE state = 2) AS last_ok FROM u GROUP BY endpoint), "
    "f AS (SELECT k.endpoint, k.last_ok, (array_agg(u.started_at ORDER BY u.n) FILTER "
    "  (WHERE u.state <> 2 AND u.n > COALESCE(k.last_ok, 0)))[1] AS first_fail "
    "  FROM k JOIN u ON u.endpoint = k.endpoint GROUP BY k.endpoint, k.last_ok), "
    "h AS (UPDATE {s}.endpoints e SET failing_since = CASE WHEN f.last_ok IS NULL "
    "  THEN COALESCE(e.failing_since, f.first_fail) ELSE f.first_fail END FROM f "
    "  WHERE e.ix = f.endpoint AND e.failing_since IS DISTINCT FROM (CASE WHEN f.last_ok IS NULL "
    "  THEN COALESCE(e.failing_since, f.first_fail) ELSE f.first_fail END)) "
    "SELECT count(*) FROM u",

    // pg_delivery_state: $1 delivery (why a write was refused)
    "SELECT state, lease_token, order_key IS NOT NULL FROM {s}.deliveries WHERE id = $1::bigint",

    // pg_release: $1 delivery, $2 due at, $3 fencing token. An ordered delivery waiting in
    // its queue (an earlier one of its key is open) stays waiting.
    "WITH old AS (SELECT d.id, d.state, d.lease_token, e.enabled, " PULSEHOOK_DETAIL_PG_WAITING(d)
    "  AS waiting FROM {s}.deliveries d "
    "  JOIN {s}.endpoints e ON e.ix = d.endpoint WHERE d.id = $1::bigint FOR UPDATE OF d), "
    "u AS (UPDATE {s}.deliveries d SET next_at = $2::bigint, lease_owner = NULL FROM old "
    "  WHERE d.id = old.id AND old.state IN (0, 1) AND old.enabled AND NOT old.waiting "
    "  AND ($3::bigint IS NULL OR old.lease_token = $3::bigint)) "
    "SELECT state, lease_token FROM old",

    // pg_give_up: $1 delivery, $2 reason, $3 fencing token, $4 slot, $5 as pg_record's $18.
    // An ordered delivery with a due time (its queue's head: a waiting one has none) hands
    // its queue on when it closes; with $5 = 0 it is left alone. Row: state, token, whether
    // closing it moves a queue on.
    "WITH old AS (SELECT id, state, endpoint, lease_token, "
    "  order_key IS NOT NULL AND next_at IS NOT NULL AS head FROM {s}.deliveries "
    "  WHERE id = $1::bigint FOR UPDATE), "
    "ok AS (SELECT * FROM old WHERE state IN (0, 1) AND ($3::bigint IS NULL OR lease_token = $3::bigint) "
    "  AND ($5::bigint = 1 OR NOT head)), "
    "u AS (UPDATE {s}.deliveries d SET state = 3, cls = 2, next_at = NULL, manual = false, "
    "  reason = $2::bytea, lease_owner = NULL FROM ok WHERE d.id = ok.id), "
    "c AS (INSERT INTO {s}.endpoint_counts AS k(endpoint, slot, pending, retrying, sent, failed) "
    "  SELECT endpoint, $4::bigint, -(state = 0)::int, -(state = 1)::int, 0, 1 FROM ok"
    PULSEHOOK_DETAIL_PG_ADD_COUNTS ") "
    "SELECT state, lease_token, head FROM old",

    // pg_counts: $1 endpoint id
    "SELECT p.ix, COALESCE(sum(c.pending), 0)::bigint, COALESCE(sum(c.retrying), 0)::bigint, "
    "  COALESCE(sum(c.sent), 0)::bigint, COALESCE(sum(c.failed), 0)::bigint "
    "FROM {s}.endpoints p LEFT JOIN {s}.endpoint_counts c ON c.endpoint = p.ix "
    "WHERE p.id = $1::text GROUP BY p.ix",

    // pg_endpoint_ix: $1 endpoint id
    "SELECT ix, deleted_at IS NOT NULL FROM {s}.endpoints WHERE id = $1::text",

    // pg_pause: $1 endpoint id, $2 until
    "UPDATE {s}.endpoints SET paused_until = GREATEST(paused_until, $2::bigint) "
    "WHERE id = $1::text AND deleted_at IS NULL RETURNING ix",

    // pg_slow_load: $1 endpoint id. Its limit, bucket and slow-down, the row locked until the
    // transaction ends (slow_down_endpoint computes the change: apply_slow_down).
    "SELECT ix, rate_per_second, rate_burst, rate_tokens, rate_at, adaptive_rate, "
    "  adaptive_ceiling, adaptive_step, adaptive_since "
    "FROM {s}.endpoints WHERE id = $1::text AND deleted_at IS NULL FOR UPDATE",

    // pg_slow_save: $1 ix, $2 rate, $3 ceiling, $4 step, $5 since, $6 tokens, $7 at
    "UPDATE {s}.endpoints SET adaptive_rate = $2::double precision, "
    "  adaptive_ceiling = $3::double precision, adaptive_step = $4::double precision, "
    "  adaptive_since = $5::bigint, rate_tokens = $6::double precision, rate_at = $7::bigint "
    "WHERE ix = $1::bigint",

    // pg_log_all: $1 endpoint, $2 before id, $3 limit. The three classes' ranges of
    // deliveries_cls, merged newest first (a Merge Append reading at most $3 rows in all).
    // Each range is a row comparison on the index's columns: with plain equalities on endpoint
    // and class the planner prefers the primary key (its order is the same then) and filters
    // every other endpoint's and class's rows out of a backward scan.
#define PULSEHOOK_DETAIL_PG_LOG_RANGE(cls)                                                         \
  "(SELECT * FROM {s}.deliveries WHERE (endpoint, cls, id) < ($1::bigint, " cls ", $2::bigint) " \
  "AND (endpoint, cls, id) > ($1::bigint, " cls ", 0) "                                           \
  "ORDER BY endpoint DESC, cls DESC, id DESC LIMIT $3::bigint)"
    "SELECT d.id, d.state, d.attempts, d.next_at, d.give_up_at, d.reason, e.id, e.type, "
    "  e.created_at, e.actor_type, e.actor_id, e.actor_name "
    "FROM (" PULSEHOOK_DETAIL_PG_LOG_RANGE("0") " UNION ALL " PULSEHOOK_DETAIL_PG_LOG_RANGE("1")
    " UNION ALL " PULSEHOOK_DETAIL_PG_LOG_RANGE("2") " ORDER BY id DESC LIMIT $3::bigint) d "
    "JOIN {s}.events e ON e.ix = d.event ORDER BY d.id DESC",

    // pg_log_cls: as above, one class ($4)
    "SELECT d.id, d.state, d.attempts, d.next_at, d.give_up_at, d.reason, e.id, e.type, "
    "  e.created_at, e.actor_type, e.actor_id, e.actor_name "
    "FROM " PULSEHOOK_DETAIL_PG_LOG_RANGE("$4::bigint") " d "
    "JOIN {s}.events e ON e.ix = d.event ORDER BY d.id DESC",
#undef PULSEHOOK_DETAIL_PG_LOG_RANGE

    // pg_event: $1 event id
    "SELECT ix, id, org, type, created_at, actor_type, actor_id, actor_name, payload, subject, "
    "  erased_at, erased_by FROM {s}.events WHERE id = $1::text",

    // pg_event_deliveries: $1 event ix
    "SELECT d.id, d.state, d.attempts, d.next_at, d.give_up_at, d.reason, p.id "
    "FROM {s}.deliveries d JOIN {s}.endpoints p ON p.ix = d.endpoint "
    "WHERE d.id IN (SELECT unnest(delivery_ids) FROM {s}.events WHERE ix = $1::bigint) ORDER BY d.id",

    // pg_event_attempts: $1 event ix
    "SELECT delivery, number, trigger, started_at, elapsed, status, error, truncated, "
    "  request_headers, response_headers, body FROM {s}.attempts "
    "WHERE delivery IN (SELECT unnest(delivery_ids) FROM {s}.events WHERE ix = $1::bigint) "
    "ORDER BY delivery, number, ix",

    // pg_get_delivery: $1 delivery
    "SELECT d.id, d.state, d.attempts, d.next_at, d.give_up_at, d.reason, e.id, p.id "
    "FROM {s}.deliveries d JOIN {s}.events e ON e.ix = d.event "
    "JOIN {s}.endpoints p ON p.ix = d.endpoint WHERE d.id = $1::bigint",

    // pg_resend: $1 delivery, $2 now, $3 slot, $4 now + resend_window, $5 as pg_accept's $13.
    // The event's row is share-locked before the delivery's (an erasure locks it before its
    // deliveries): an erasure that committed meanwhile is seen, one under way is waited for.
    // An ordered delivery that is open keeps its place (one waiting behind an earlier one of
    // its key stays without a due time; the head is due now); one that was final goes to the
    // back of its queue: reopened without a due time or a place (pg_queue_append gives both),
    // or, with $5 = 0, left alone. Row: state, enabled, deleted, erased, whether it goes to
    // the back of a queue.
    "WITH v AS (SELECT ix, erased_at IS NOT NULL AS erased FROM {s}.events "
    "  WHERE ix = (SELECT event FROM {s}.deliveries WHERE id = $1::bigint) FOR SHARE), "
    "old AS (SELECT d.id, d.state, d.endpoint, e.enabled, e.deleted_at IS NOT NULL AS deleted, "
    "  v.erased, d.order_key IS NOT NULL AS ordered, d.state IN (0, 1) AND "
    PULSEHOOK_DETAIL_PG_WAITING(d) " AS waiting "
    "  FROM {s}.deliveries d JOIN {s}.endpoints e ON e.ix = d.endpoint "
    "  JOIN v ON v.ix = d.event WHERE d.id = $1::bigint FOR UPDATE OF d), "
    "ok AS (SELECT * FROM old WHERE NOT deleted AND enabled AND NOT erased "
    "  AND ($5::bigint = 1 OR NOT ordered OR state IN (0, 1))), "
    "u AS (UPDATE {s}.deliveries d SET state = 0, cls = 0, manual = true, "
    "  next_at = CASE WHEN ok.ordered AND (ok.state IN (2, 3) OR ok.waiting) THEN NULL ELSE $2::bigint END, "
    "  order_seq = CASE WHEN ok.ordered AND ok.state IN (2, 3) THEN NULL ELSE d.order_seq END, "
    "  give_up_at = GREATEST(d.give_up_at, $4::bigint), lease_owner = NULL FROM ok WHERE d.id = ok.id), "
    "c AS (INSERT INTO {s}.endpoint_counts AS k(endpoint, slot, pending, retrying, sent, failed) "
    "  SELECT endpoint, $3::bigint, 1, -(state = 1)::int, -(state = 2)::int, -(state = 3)::int "
    "  FROM ok WHERE state <> 0" PULSEHOOK_DETAIL_PG_ADD_COUNTS ") "
    "SELECT state, enabled, deleted, erased, ordered AND state IN (2, 3) FROM old",

    // pg_ep_insert: $1 id ... $10 updated_at, $11 rate per second, $12 burst, $13 ordered,
    // $14..$18 the settings (pg_settings_text); no row when the id is taken
    "INSERT INTO {s}.endpoints(id, org, name, url, description, event_types, enabled, "
    "  disabled_reason, created_at, updated_at, disabled_at, rate_per_second, rate_burst, ordered, "
    "  headers, timeout_ms, retry_schedule, retry_span_ms, metadata) "
    "  VALUES ($1::text, $2::text, $3::bytea, "
    "  $4::bytea, $5::bytea, $6::text, $7::bigint <> 0, $8::bytea, $9::bigint, $10::bigint, "
    "  CASE WHEN $7::bigint = 0 THEN $9::bigint END, $11::double precision, $12::bigint, "
    "  $13::bigint <> 0, $14::text, $15::bigint, $16::text, $17::bigint, $18::text) "
    "ON CONFLICT (id) DO NOTHING RETURNING ix",

    // pg_ep_load: $1 ix
    "SELECT id, org, name, url, description, event_types, enabled, disabled_reason, created_at, "
    "  updated_at, failing_since, disabled_at, paused_until, rate_per_second, rate_burst, "
    "  adaptive_rate, adaptive_ceiling, adaptive_step, adaptive_since, ordered, headers, "
    "  timeout_ms, retry_schedule, metadata "
    "FROM {s}.endpoints WHERE ix = $1::bigint",

    // pg_ep_list: $1 org
    "SELECT ix FROM {s}.endpoints WHERE org = $1::text AND deleted_at IS NULL ORDER BY ix",

    // pg_ep_update: $1 ix, $2 name, $3 url, $4 description, $5 types, $6 updated_at,
    // $7 rate per second, $8 burst, $9 ordered (for the events accepted from now on),
    // $10..$14 the settings (pg_settings_text; the retry span for the events accepted from now on)
    "UPDATE {s}.endpoints SET name = $2::bytea, url = $3::bytea, description = $4::bytea, "
    "  event_types = $5::text, updated_at = $6::bigint, rate_per_second = $7::double precision, "
    "  rate_burst = $8::bigint, ordered = $9::bigint <> 0, headers = $10::text, "
    "  timeout_ms = $11::bigint, retry_schedule = $12::text, retry_span_ms = $13::bigint, "
    "  metadata = $14::text, "
    "  rate_tokens = CASE WHEN rate_per_second IS NOT DISTINCT FROM $7::double precision AND "
    "    rate_burst IS NOT DISTINCT FROM $8::bigint THEN rate_tokens END, "
    "  rate_at = CASE WHEN rate_per_second IS NOT DISTINCT FROM $7::double precision AND "
    "    rate_burst IS NOT DISTINCT FROM $8::bigint THEN rate_at END, "
    // A new limit ends a slow-down (a sub-select without a row sets them all NULL).
    "  (adaptive_rate, adaptive_ceiling, adaptive_step, adaptive_since) = (SELECT adaptive_rate, "
    "    adaptive_ceiling, adaptive_step, adaptive_since WHERE rate_per_second IS NOT DISTINCT "
    "    FROM $7::double precision AND rate_burst IS NOT DISTINCT FROM $8::bigint) "
    "WHERE ix = $1::bigint",

    // pg_ep_touch: $1 ix, $2 updated_at
    "UPDATE {s}.endpoints SET updated_at = $2::bigint WHERE ix = $1::bigint",

    // pg_ep_lock: $1 endpoint id (not deleted); locks the row for the step
    "SELECT ix, org, enabled FROM {s}.endpoints WHERE id = $1::text AND deleted_at IS NULL FOR UPDATE",

    // pg_ep_fail_open: $1 ix, $2 slot
    "WITH o AS (SELECT id, state FROM {s}.deliveries WHERE endpoint = $1::bigint "
    "  AND cls IN (0, 2) AND state IN (0, 1) FOR UPDATE), "
    "u AS (UPDATE {s}.deliveries d SET state = 3, cls = 2, next_at = NULL, manual = false, "
    "  reason = convert_to('endpoint deleted', 'UTF8'), lease_owner = NULL FROM o WHERE d.id = o.id), "
    "c AS (INSERT INTO {s}.endpoint_counts AS k(endpoint, slot, pending, retrying, sent, failed) "
    "  SELECT $1::bigint, $2::bigint, -count(*) FILTER (WHERE state = 0), "
    "  -count(*) FILTER (WHERE state = 1), 0, count(*) FROM o HAVING count(*) > 0"
    PULSEHOOK_DETAIL_PG_ADD_COUNTS ") "
    "SELECT count(*) FROM o",

    // pg_ep_mark_deleted: $1 ix, $2 now, $3 org
    "WITH x AS (DELETE FROM {s}.subscriptions WHERE org = $3::text AND endpoint = $1::bigint) "
    "UPDATE {s}.endpoints SET deleted_at = $2::bigint, updated_at = $2::bigint WHERE ix = $1::bigint",

    // pg_ep_disable: $1 ix, $2 reason, $3 now
    "UPDATE {s}.endpoints SET enabled = false, disabled_reason = $2::bytea, updated_at = $3::bigint, "
    "  disabled_at = $3::bigint WHERE ix = $1::bigint",

    // pg_ep_park: $1 ix
    "UPDATE {s}.deliveries SET next_at = NULL WHERE endpoint = $1::bigint AND cls IN (0, 2) "
    "  AND state IN (0, 1) AND next_at IS NOT NULL",

    // pg_ep_enable: $1 ix, $2 now
    "UPDATE {s}.endpoints SET enabled = true, disabled_reason = ''::bytea, updated_at = $2::bigint, "
    "  disabled_at = NULL, failing_since = NULL WHERE ix = $1::bigint",

    // pg_ep_unpark: $1 ix, $2 now. Unordered deliveries only: of an ordering queue only the
    // head becomes due (pg_queue_heads).
    "UPDATE {s}.deliveries SET next_at = $2::bigint WHERE endpoint = $1::bigint AND cls IN (0, 2) "
    "  AND state IN (0, 1) AND next_at IS NULL AND order_key IS NULL",

    // pg_subs_insert: $1 org, $2 ix, $3 types
    "INSERT INTO {s}.subscriptions(org, type, endpoint) "
    "SELECT $1::text, t, $2::bigint FROM unnest($3::text[]) AS t",

    // pg_subs_delete: $1 org, $2 ix
    "DELETE FROM {s}.subscriptions WHERE org = $1::text AND endpoint = $2::bigint",

    // pg_secrets_load: $1 ix
    "SELECT value, created_at, expires_at FROM {s}.endpoint_secrets WHERE endpoint = $1::bigint "
    "ORDER BY seq",

    // pg_secrets_delete: $1 ix
    "DELETE FROM {s}.endpoint_secrets WHERE endpoint = $1::bigint",

    // pg_secrets_insert: $1 ix, $2 values, $3 created_at, $4 expires_at (NULL as min int64)
    "INSERT INTO {s}.endpoint_secrets(endpoint, seq, value, created_at, expires_at) "
    "SELECT $1::bigint, o - 1, v, c, NULLIF(x, -9223372036854775808) "
    "FROM unnest($2::text[], $3::bigint[], $4::bigint[]) WITH ORDINALITY AS u(v, c, x, o)",

    // pg_purge_events: $1 cut, $2 batch, $3 slot, $4 / $5 the (created_at, ix) the previous
    // batch ended at. One batch of old events, in (created_at, ix) order: those whose
    // deliveries are all final go with their deliveries and attempts (the counters follow);
    // those with an open one stay (never dropped unsent; a later purge takes them). Their
    // deliveries are locked first (in id order), so one that a resend or recover reopened
    // meanwhile is seen open. Row: events deleted, deliveries, attempts, events kept, events
    // seen, and the (created_at, ix) of the last one seen (NULL when none).
    "WITH ev AS (SELECT ix, created_at, delivery_ids FROM {s}.events WHERE created_at < $1::bigint "
    "  AND (created_at, ix) > ($4::bigint, $5::bigint) ORDER BY created_at, ix LIMIT $2::bigint "
    "  FOR UPDATE SKIP LOCKED), "
    "dl AS MATERIALIZED (SELECT d.event, d.state FROM {s}.deliveries d "
    "  WHERE d.id IN (SELECT unnest(delivery_ids) FROM ev) ORDER BY d.id FOR UPDATE), "
    "gone AS MATERIALIZED (SELECT ix, delivery_ids FROM ev "
    "  WHERE ix NOT IN (SELECT event FROM dl WHERE state IN (0, 1))), "
    "ids AS MATERIALIZED (SELECT unnest(delivery_ids) AS id FROM gone), "
    "dd AS (DELETE FROM {s}.deliveries d WHERE d.id IN (SELECT id FROM ids) "
    "  RETURNING d.endpoint, d.state), "
    "da AS (DELETE FROM {s}.attempts a WHERE a.delivery IN (SELECT id FROM ids) RETURNING 1), "
    "de AS (DELETE FROM {s}.events e WHERE e.ix IN (SELECT ix FROM gone) RETURNING 1), "
    "c AS (INSERT INTO {s}.endpoint_counts AS k(endpoint, slot, pending, retrying, sent, failed) "
    "  SELECT endpoint, $3::bigint, -count(*) FILTER (WHERE state = 0), "
    "  -count(*) FILTER (WHERE state = 1), -count(*) FILTER (WHERE state = 2), "
    "  -count(*) FILTER (WHERE state = 3) FROM dd GROUP BY endpoint" PULSEHOOK_DETAIL_PG_ADD_COUNTS "), "
    "last AS (SELECT created_at, ix FROM ev ORDER BY created_at DESC, ix DESC LIMIT 1) "
    "SELECT (SELECT count(*) FROM de), (SELECT count(*) FROM dd), (SELECT count(*) FROM da), "
    "  (SELECT count(*) FROM ev) - (SELECT count(*) FROM gone), (SELECT count(*) FROM ev), "
    "  (SELECT created_at FROM last), (SELECT ix FROM last)",

    // pg_purge_bodies: $1 cut, $2 batch
    "WITH b AS (SELECT ctid FROM {s}.attempts WHERE body IS NOT NULL AND started_at < $1::bigint "
    "  LIMIT $2::bigint FOR UPDATE SKIP LOCKED), "
    "u AS (UPDATE {s}.attempts a SET body = NULL WHERE a.ctid = ANY(ARRAY(SELECT ctid FROM b)) RETURNING 1) "
    "SELECT count(*) FROM u",

    // pg_purge_endpoints: $1 cut. Deleted endpoints whose log is empty.
    "WITH gone AS (SELECT e.ix FROM {s}.endpoints e WHERE e.deleted_at IS NOT NULL "
    "  AND e.deleted_at < $1::bigint AND COALESCE((SELECT sum(c.pending + c.retrying + c.sent + c.failed) "
    "  FROM {s}.endpoint_counts c WHERE c.endpoint = e.ix), 0) = 0 FOR UPDATE OF e SKIP LOCKED), "
    "s1 AS (DELETE FROM {s}.endpoint_secrets WHERE endpoint IN (SELECT ix FROM gone)), "
    "s2 AS (DELETE FROM {s}.endpoint_counts WHERE endpoint IN (SELECT ix FROM gone)), "
    "s4 AS (DELETE FROM {s}.audit_log WHERE endpoint IN (SELECT ix FROM gone)), "
    "s3 AS (DELETE FROM {s}.endpoints WHERE ix IN (SELECT ix FROM gone) RETURNING 1) "
    "SELECT count(*) FROM s3",

    // pg_slot: $1 lock space. A counter slot for this connection, held for its session.
    "SELECT s FROM generate_series(1, 4096) AS s WHERE pg_try_advisory_lock($1::bigint::int, s) LIMIT 1",

    // pg_outbox_slot: $1 lock space. A counter slot for a caller's transaction (the outbox),
    // held until it ends; 64 of them, so concurrent outbox transactions do not share a row.
    "SELECT 8192 + (pg_backend_pid() + s) % 64 FROM generate_series(0, 63) AS s "
    "WHERE pg_try_advisory_xact_lock($1::bigint::int, 8192 + (pg_backend_pid() + s) % 64) LIMIT 1",

    // pg_audit_insert: $1 endpoint id, $2 action, $3 actor, $4 at. No row: unknown or deleted.
    "INSERT INTO {s}.audit_log(endpoint, action, actor, at) SELECT ix, $2::text, $3::bytea, "
    "  $4::bigint FROM {s}.endpoints WHERE id = $1::text AND deleted_at IS NULL RETURNING 1",

    // pg_audit_list: $1 endpoint ix, $2 limit
    "SELECT action, actor, at FROM {s}.audit_log WHERE endpoint = $1::bigint "
    "ORDER BY ix DESC LIMIT $2::bigint",

    // pg_resend_event: $1 event id, $2 now, $3 slot, $4 now + resend_window, $5 as pg_accept's
    // $13. One row per delivery (ix, id, enabled, deleted, state before, erased, whether it
    // goes to the back of an ordering queue, refused); one row with a NULL id for an event
    // without any or an erased one (nothing changes then); none for an unknown event.
    // Counters move per endpoint (one row each: ON CONFLICT may touch a row only once). The
    // event's row is share-locked first, as in pg_resend. Ordered deliveries are reopened as
    // pg_resend reopens final ones; with $5 = 0 and one of them among the event's, nothing
    // is reopened (refused: the caller runs it again inside a transaction).
    "WITH ev AS (SELECT ix, delivery_ids, erased_at IS NOT NULL AS erased FROM {s}.events "
    "  WHERE id = $1::text FOR SHARE), "
    "old AS (SELECT d.id, d.state, d.endpoint, e.enabled, e.deleted_at IS NOT NULL AS deleted, "
    "  d.order_key IS NOT NULL AS ordered FROM {s}.deliveries d JOIN {s}.endpoints e ON e.ix = d.endpoint "
    "  WHERE d.id IN (SELECT unnest(delivery_ids) FROM ev WHERE NOT erased) FOR UPDATE OF d), "
    "can AS (SELECT * FROM old WHERE NOT deleted AND enabled AND state IN (2, 3)), "
    "gate AS (SELECT $5::bigint = 0 AND EXISTS (SELECT 1 FROM can WHERE ordered) AS refused), "
    "ok AS (SELECT * FROM can WHERE NOT (SELECT refused FROM gate)), "
    "u AS (UPDATE {s}.deliveries d SET state = 0, cls = 0, manual = true, "
    "  next_at = CASE WHEN ok.ordered THEN NULL ELSE $2::bigint END, "
    "  order_seq = CASE WHEN ok.ordered THEN NULL ELSE d.order_seq END, "
    "  give_up_at = GREATEST(d.give_up_at, $4::bigint), lease_owner = NULL FROM ok WHERE d.id = ok.id), "
    "c AS (INSERT INTO {s}.endpoint_counts AS k(endpoint, slot, pending, retrying, sent, failed) "
    "  SELECT endpoint, $3::bigint, count(*), -count(*) FILTER (WHERE state = 1), "
    "  -count(*) FILTER (WHERE state = 2), -count(*) FILTER (WHERE state = 3) "
    "  FROM ok WHERE state <> 0 GROUP BY endpoint" PULSEHOOK_DETAIL_PG_ADD_COUNTS ") "
    "SELECT ev.ix, old.id, old.enabled, old.deleted, old.state, ev.erased, "
    "  COALESCE(old.ordered, false), (SELECT refused FROM gate) FROM ev LEFT JOIN old ON true "
    "ORDER BY old.id",

    // pg_recover_endpoint: $1 endpoint id. FOR SHARE: a delete or disable waits for the
    // recovery batch, then closes or parks what it reopened.
    "SELECT ix, enabled, deleted_at IS NOT NULL FROM {s}.endpoints WHERE id = $1::text FOR SHARE",

    // pg_recover_pick: $1 endpoint ix, $2 after delivery id, $3 since, $4 limit. Deliveries of
    // erased events are passed over.
    "SELECT d.id FROM {s}.deliveries d JOIN {s}.events v ON v.ix = d.event "
    "WHERE d.endpoint = $1::bigint AND d.cls = 2 AND d.id > $2::bigint AND d.state = 3 "
    "  AND v.created_at >= $3::bigint AND v.erased_at IS NULL ORDER BY d.id LIMIT $4::bigint "
    "  FOR UPDATE OF d",

    // pg_recover_reopen: $1 delivery ids, $2 now, $3 slot, $4 now + resend_window, $5 endpoint
    // ix. Erasure is checked again here: an erasure that held a delivery while pg_recover_pick
    // waited for it committed before this statement's snapshot (the pick saw the event's row
    // as it was). Ordered ones are reopened without a due time or a place, for
    // pg_queue_append. Rows: the reopened deliveries in id order, whether each is ordered.
    "WITH u AS (UPDATE {s}.deliveries d SET state = 0, cls = 0, manual = true, "
    "  next_at = CASE WHEN d.order_key IS NULL THEN $2::bigint END, order_seq = NULL, "
    "  give_up_at = GREATEST(d.give_up_at, $4::bigint), lease_owner = NULL "
    "  WHERE d.id = ANY($1::bigint[]) AND d.state = 3 AND NOT EXISTS (SELECT 1 FROM {s}.events v "
    "  WHERE v.ix = d.event AND v.erased_at IS NOT NULL) RETURNING d.id, d.order_key IS NOT NULL AS ordered), "
    "c AS (INSERT INTO {s}.endpoint_counts AS k(endpoint, slot, pending, retrying, sent, failed) "
    "  SELECT $5::bigint, $3::bigint, count(*), 0, 0, -count(*) FROM u HAVING count(*) > 0"
    PULSEHOOK_DETAIL_PG_ADD_COUNTS ") "
    "SELECT id, ordered FROM u ORDER BY id",

    // pg_ep_disable_failing: $1 endpoint id, $2 reason, $3 now, $4 failing since at the latest.
    // One row (its ix) when it disabled the endpoint.
    "UPDATE {s}.endpoints SET enabled = false, disabled_reason = $2::bytea, updated_at = $3::bigint, "
    "  disabled_at = $3::bigint WHERE id = $1::text AND deleted_at IS NULL AND enabled "
    "  AND failing_since <= $4::bigint RETURNING ix",

    // pg_erase_lock: $1 event id. Locks the event's row, then (unless it was erased before)
    // every delivery of it, in id order, until the transaction ends: the event's row first, as
    // every statement that locks both does. A record, resend or recover on one of them that
    // committed meanwhile is seen by pg_erase_events (a statement of its own, so its snapshot
    // is taken after the locks). Row: ix, erased before, deliveries locked.
    "WITH ev AS (SELECT ix, erased_at IS NOT NULL AS erased, delivery_ids FROM {s}.events "
    "  WHERE id = $1::text FOR UPDATE), "
    "dl AS (SELECT d.id FROM {s}.deliveries d "
    "  WHERE d.id IN (SELECT unnest(delivery_ids) FROM ev WHERE NOT erased) ORDER BY d.id FOR UPDATE) "
    "SELECT ix, erased, (SELECT count(*) FROM dl) FROM ev",

    // pg_erase_pick: $1 org, $2 subject, $3 limit. Up to $3 not yet erased events of the
    // subject (index events_subject) locked in ix order, then their deliveries in id order,
    // as pg_erase_lock does. Concurrent erasures of one subject take turns without a deadlock,
    // and an event another transaction holds is waited for, not passed over: fewer rows than
    // $3 means none is left. Rows: ix, deliveries locked.
    "WITH ev AS (SELECT ix, delivery_ids FROM {s}.events WHERE org = $1::text AND subject = $2::text "
    "  AND erased_at IS NULL ORDER BY ix LIMIT $3::bigint FOR UPDATE), "
    "dl AS (SELECT d.id FROM {s}.deliveries d "
    "  WHERE d.id IN (SELECT unnest(delivery_ids) FROM ev) ORDER BY d.id FOR UPDATE) "
    "SELECT ix, (SELECT count(*) FROM dl) FROM ev",

    // pg_erase_events: $1 event ixs, $2 now, $3 slot, $4 reason, $5 by (who asked: recorded as
    // erased_by with erased_at; an event erased before keeps both); the events' rows and their
    // deliveries' locked by this transaction (pg_erase_lock, pg_erase_pick): nothing adds an
    // attempt or reopens a delivery of theirs meanwhile, and one that a recover waits for is
    // seen erased when it reopens (pg_recover_reopen). Erases those not erased yet: the
    // payload emptied, every attempt's body gone (NULL, as body retention leaves it; an empty
    // body is never stored otherwise), every open delivery given up (as pg_give_up does, its
    // lease dropped: a late result is refused). First row: events erased, bodies emptied,
    // deliveries closed; then one row (NULL, NULL, id) per ordered delivery closed while it
    // had a due time, its queue's head: the queue moves on (pg_queue_heads). One that was
    // waiting (no due time) leaves its queue without changing the head.
    "WITH ev AS (UPDATE {s}.events SET payload = ''::bytea, erased_at = $2::bigint, "
    "  erased_by = $5::bytea WHERE ix = ANY($1::bigint[]) AND erased_at IS NULL "
    "  RETURNING delivery_ids), "
    "ids AS MATERIALIZED (SELECT unnest(delivery_ids) AS id FROM ev), "
    "x AS MATERIALIZED (SELECT d.id, d.state, d.endpoint, "
    "  d.order_key IS NOT NULL AND d.next_at IS NOT NULL AS head FROM {s}.deliveries d "
    "  WHERE d.id IN (SELECT id FROM ids) AND d.state IN (0, 1)), "
    "b AS (UPDATE {s}.attempts a SET body = NULL WHERE a.delivery IN (SELECT id FROM ids) "
    "  AND a.body IS NOT NULL RETURNING 1), "
    "u AS (UPDATE {s}.deliveries d SET state = 3, cls = 2, next_at = NULL, manual = false, "
    "  reason = $4::bytea, lease_owner = NULL FROM x WHERE d.id = x.id), "
    "c AS (INSERT INTO {s}.endpoint_counts AS k(endpoint, slot, pending, retrying, sent, failed) "
    "  SELECT endpoint, $3::bigint, -count(*) FILTER (WHERE state = 0), "
    "  -count(*) FILTER (WHERE state = 1), 0, count(*) FROM x GROUP BY endpoint"
    PULSEHOOK_DETAIL_PG_ADD_COUNTS ") "
    "SELECT (SELECT count(*) FROM ev), (SELECT count(*) FROM b), (SELECT count(*) FROM x) "
    "UNION ALL SELECT NULL, NULL, id FROM x WHERE head ORDER BY 1 NULLS LAST",

    // pg_erase_actor_pick: $1 org, $2 subject (compared as bytea, as actor ids are stored),
    // $3 limit. Up to $3 events of the organisation that the subject triggered (actor_id)
    // whose actor name is not empty yet, locked in ix order; runs after pg_erase_pick /
    // pg_erase_events in the same transaction. Concurrent erasures of one subject take turns,
    // and a row another transaction holds is waited for and checked again, not passed over:
    // fewer than $3 means none is left. No index: a sequential scan of the events per batch,
    // which under MVCC blocks no other writer (only the rows it picks are locked). Rows: ix,
    // actor type, actor name, payload (the caller rewrites the envelope's actor in it:
    // detail::scrub_actor_name, as every store does).
    "SELECT ix, actor_type, actor_name, payload FROM {s}.events WHERE org = $1::text "
    "  AND actor_id = $2::bytea AND actor_name <> ''::bytea ORDER BY ix LIMIT $3::bigint FOR UPDATE",

    // pg_erase_actor_set: $1 event ixs, $2 their payloads (rows locked by pg_erase_actor_pick):
    // the actor name emptied, the payload replaced.
    "UPDATE {s}.events e SET actor_name = ''::bytea, payload = u.p "
    "FROM unnest($1::bigint[], $2::bytea[]) AS u(ix, p) WHERE e.ix = u.ix",

    // ---- ordering queues (law 13; see pg_queue_work) --------------------------------------------
    // A queue is (endpoint, order_key): its open deliveries by order_seq; the first is the head,
    // the only one with a due time (the others wait with none). Whatever reads or changes a
    // queue's membership or head does it under the queue's advisory lock, in statements that
    // start after the lock was taken (under READ COMMITTED each statement sees what committed
    // before it started, so the lock's previous holders' work is seen whole).

    // pg_queue_lock: $1 deliveries, $2 lock space, $3 endpoint ixs (enable). Takes, until
    // the transaction ends, the locks that let it change the queues of the ordered deliveries
    // of $1 and every queue of the endpoints $3: an endpoint's lock (the two-int advisory
    // lock (lock space, -ix)) and a queue's ((endpoint, key): the 64-bit advisory lock of the
    // key's hashtextextended seeded with the lock space and the endpoint; a collision only
    // makes two queues take turns). Every queue change holds its endpoint's lock shared and
    // its queue's lock; the endpoints of $3, and those of which $1 touches more than 64 queues,
    // are locked exclusively instead, which covers all their queues (so a transaction holds
    // few locks: the server's lock table is small). All in one order: endpoints by ix, then
    // queues by key (a volatile function of the select list is evaluated after the sort). A
    // transaction takes all its queue locks with this one statement, after its own row
    // writes: two never wait for each other's in opposite orders.
#define PULSEHOOK_DETAIL_PG_QUEUE_LOCKS                                                            \
  "WITH t AS (SELECT DISTINCT endpoint, order_key FROM {s}.deliveries "                          \
  "  WHERE id = ANY($1::bigint[]) AND order_key IS NOT NULL), "                                   \
  "e AS (SELECT ix, bool_or(excl) AS excl FROM (SELECT endpoint AS ix, count(*) > 64 AS excl "     \
  "  FROM t GROUP BY endpoint UNION ALL SELECT unnest($3::bigint[]), true) x GROUP BY ix), "       \
  "k AS (SELECT ix, excl, NULL::bigint AS h FROM e UNION "                                          \
  "  SELECT NULL, NULL, hashtextextended(t.order_key, ($2::bigint << 32) # t.endpoint) FROM t "    \
  "  JOIN e ON e.ix = t.endpoint WHERE NOT e.excl) "
    PULSEHOOK_DETAIL_PG_QUEUE_LOCKS
    "SELECT CASE WHEN h IS NOT NULL THEN pg_advisory_xact_lock(h) "
    "  WHEN excl THEN pg_advisory_xact_lock($2::bigint::int, -ix::int) "
    "  ELSE pg_advisory_xact_lock_shared($2::bigint::int, -ix::int) END "
    "FROM k ORDER BY ix NULLS LAST, h",

    // pg_queue_try_lock: pg_queue_lock's parameters; the outbox, before pg_queue_lock. The
    // caller's transaction may hold queue locks already (an earlier publish in it): then the
    // locks are only tried, in any order (pg_queue_lock then finds them held); waiting for
    // them could break the order. Row: whether it holds some (an endpoint's lock of this
    // store), how many of those tried another transaction holds.
    PULSEHOOK_DETAIL_PG_QUEUE_LOCKS
    ", held AS (SELECT EXISTS (SELECT 1 FROM pg_locks WHERE locktype = 'advisory' AND objsubid = 2 "
    "  AND classid::bigint = $2::bigint AND objid::bigint >= 2147483648 AND pid = pg_backend_pid() "
    "  AND granted AND database = (SELECT oid FROM pg_database WHERE datname = current_database())) AS h) "
    "SELECT (SELECT h FROM held), count(*) FILTER (WHERE CASE WHEN (SELECT h FROM held) THEN NOT "
    "  CASE WHEN h IS NOT NULL THEN pg_try_advisory_xact_lock(h) "
    "  WHEN excl THEN pg_try_advisory_xact_lock($2::bigint::int, -ix::int) "
    "  ELSE pg_try_advisory_xact_lock_shared($2::bigint::int, -ix::int) END ELSE false END) FROM k",
#undef PULSEHOOK_DETAIL_PG_QUEUE_LOCKS

    // pg_queue_append: $1 deliveries, $2 their due times (after pg_queue_lock). Puts each
    // open ordered delivery of $1 at the back of its queue, in the order of $1: order_seq 1 +
    // the largest of the queue's other open deliveries; due at its time when nothing else of
    // the queue is open (the first of $1 there), else waiting.
    "WITH l AS (SELECT DISTINCT ON (id) id, due, n FROM unnest($1::bigint[], $2::bigint[]) "
    "  WITH ORDINALITY AS l(id, due, n) ORDER BY id, n), "
    "x AS (SELECT d.id, d.endpoint, d.order_key, l.due, l.n, (SELECT o.order_seq "
    "  FROM {s}.deliveries o WHERE o.endpoint = d.endpoint AND o.order_key = d.order_key "
    "  AND o.state IN (0, 1) AND o.order_seq IS NOT NULL AND o.id <> ALL($1::bigint[]) "
    "  ORDER BY o.order_seq DESC LIMIT 1) AS top "
    "  FROM l JOIN {s}.deliveries d ON d.id = l.id WHERE d.order_key IS NOT NULL AND d.state IN (0, 1)), "
    "r AS (SELECT id, due, top, row_number() OVER (PARTITION BY endpoint, order_key ORDER BY n) AS k "
    "  FROM x) "
    "UPDATE {s}.deliveries d SET order_seq = COALESCE(r.top, 0) + r.k, "
    "  next_at = CASE WHEN r.top IS NULL AND r.k = 1 THEN r.due END FROM r WHERE d.id = r.id",

    // pg_queue_heads: $1 deliveries, $2 endpoint ixs, $3 a time per endpoint of $2 (after
    // pg_queue_lock). The head of the queue of each ordered delivery of $1 and of each open
    // queue of the endpoints $2, when it has no due time and its endpoint is enabled, becomes
    // due: at the time $3 gives its endpoint (enable: as unparked deliveries), else at its
    // event's created_at, held back by a pause as claims hold back any delivery of a paused
    // endpoint (to the pause's end, or to its deadline when that comes first). Row: heads
    // found without a due time, heads made due; fewer made due than found means one changed
    // after this statement's snapshot (a transaction holding it closed it: one that closes a
    // waiting delivery takes no queue lock), and the caller runs it again.
    "WITH q AS (SELECT endpoint, order_key, min(at) AS at FROM ("
    "  SELECT endpoint, order_key, NULL::bigint AS at FROM {s}.deliveries "
    "    WHERE id = ANY($1::bigint[]) AND order_key IS NOT NULL "
    "  UNION ALL SELECT d.endpoint, d.order_key, w.at FROM unnest($2::bigint[], $3::bigint[]) AS w(ix, at) "
    "    JOIN {s}.deliveries d ON d.endpoint = w.ix WHERE d.order_key IS NOT NULL AND d.state IN (0, 1)) a "
    "  GROUP BY endpoint, order_key), "
    "h AS (SELECT q.at, (SELECT o.id FROM {s}.deliveries o WHERE o.endpoint = q.endpoint "
    "  AND o.order_key = q.order_key AND o.state IN (0, 1) ORDER BY o.order_seq LIMIT 1) AS id FROM q), "
    "c AS MATERIALIZED (SELECT d.id, COALESCE(h.at, CASE WHEN v.created_at < p.paused_until THEN "
    "  GREATEST(v.created_at, LEAST(p.paused_until, d.give_up_at)) ELSE v.created_at END) AS due "
    "  FROM h JOIN {s}.deliveries d ON d.id = h.id JOIN {s}.endpoints p ON p.ix = d.endpoint "
    "  JOIN {s}.events v ON v.ix = d.event "
    "  WHERE d.next_at IS NULL AND p.enabled AND p.deleted_at IS NULL), "
    "u AS (UPDATE {s}.deliveries d SET next_at = c.due FROM c WHERE d.id = c.id AND d.state IN (0, 1) "
    "  AND d.next_at IS NULL RETURNING 1) "
    "SELECT (SELECT count(*) FROM c), (SELECT count(*) FROM u)",
};

#undef PULSEHOOK_DETAIL_PG_ADD_COUNTS
#undef PULSEHOOK_DETAIL_PG_ACCEPT_TARGETS
#undef PULSEHOOK_DETAIL_PG_ACCEPT_DELIVERIES
#undef PULSEHOOK_DETAIL_PG_WAITING
#undef PULSEHOOK_DETAIL_PG_CLAIM_COLUMNS
#undef PULSEHOOK_DETAIL_PG_CLAIM_AT_CAP

inline constexpr std::int64_t pg_no_time = std::numeric_limits<std::int64_t>::min();

// Filter class of a state: 0 pending, 1 sent, 2 retrying | failed ("Failed").
constexpr std::int64_t pg_cls(delivery_state s) noexcept {
  return s == delivery_state::pending ? 0 : s == delivery_state::sent ? 1 : 2;
}

// A group's records sent ahead (see record_attempt), gathered into one pg_record_many: the
// columns of its unnest, one element per record.
struct pg_record_batch {
  static constexpr auto i = pg_array::int8_oid, b = pg_array::bytea_oid;
  pg_array id{i}, token{i}, state{i}, cls{i}, next_at{i}, reason{b}, number{i}, trigger{i},
      started_at{i}, elapsed{i}, status{i}, error{b}, truncated{i}, req_h{b}, resp_h{b}, body{b};
  std::uint32_t size() const noexcept { return id.size(); }
  void clear() noexcept {
    for (auto* a : {&id, &token, &state, &cls, &next_at, &reason, &number, &trigger, &started_at,
                    &elapsed, &status, &error, &truncated, &req_h, &resp_h, &body})
      a->clear();
  }
};

// What a step did to ordering queues (law 13), for its transaction to finish before it
// commits (pg_move_queues): deliveries to put at the back of their queues, in this order,
// each with the time it is due at if its queue has nothing else open; deliveries that left
// their queue while they were its head (it has a due time: a waiting one leaves without
// changing the head); endpoints enabled, whose queues' heads become due at the time given.
// Inside a group it is gathered until commit_group, so a group takes its queue locks once.
struct pg_queue_work {
  std::vector<std::int64_t> append, append_due, closed, endpoints, endpoints_at;
  bool empty() const noexcept { return append.empty() && closed.empty() && endpoints.empty(); }
  void add(pg_queue_work const& w) {
    append.insert(append.end(), w.append.begin(), w.append.end());
    append_due.insert(append_due.end(), w.append_due.begin(), w.append_due.end());
    closed.insert(closed.end(), w.closed.begin(), w.closed.end());
    endpoints.insert(endpoints.end(), w.endpoints.begin(), w.endpoints.end());
    endpoints_at.insert(endpoints_at.end(), w.endpoints_at.begin(), w.endpoints_at.end());
  }
};

struct pg_group {
  pg_connection* conn = nullptr;
  bool spoiled = false;
  std::vector<std::pair<delivery_id, std::int64_t>> claimed;  // tokens this group handed out
  pg_record_batch records;
  bool claims = false;  // claim_due ran in it: the driver asks next_due_at after the commit
  pg_queue_work queues;  // run just before the COMMIT
};

struct pg_state {
  std::mutex mu;  // the pool, the groups, the rules
  std::condition_variable cv;
  std::vector<std::unique_ptr<pg_connection>> conns;
  std::vector<pg_connection*> idle;
  std::unordered_map<std::thread::id, pg_group> groups;
  std::unordered_set<int> own_pids;  // our connections' backends: their NOTIFYs are ours
  std::vector<std::string> keys, values;  // libpq connection parameters
  endpoint_rules rules;
  postgres_store_options opts;
  std::vector<std::string> sql;  // by pg_stmt, in the schema
  std::int32_t space = 0;        // first key of our advisory locks
  std::int64_t worker = 0;
  std::string db_name, channel;
  bool open = false;

  // Fencing: the lease token (and the lease's end) of every delivery this store claimed and
  // has not finished.
  struct lease {
    std::int64_t token = 0;
    time_point until{};
    bool ordered = false;  // in an ordering queue: closing it moves the queue on
  };
  std::mutex tokens_mu;
  std::unordered_map<delivery_id, lease> tokens;

  // The last claim's instant, when it held back due work (see next_due_at).
  std::atomic<std::int64_t> held_at{pg_no_time};
  // How many claims in a row held work back only because another worker was claiming its
  // endpoint at that moment (0: the last claim did not): next_due_at then answers
  // contended_poll, doubled per claim after the third, at most held_back_poll.
  std::atomic<int> contended_streak{0};

  // next_due_at as a group that claimed saw it just before its COMMIT (sent with the COMMIT),
  // by thread, for that thread's next next_due_at call (one use) if no other call of this
  // store came first (any call clears it). pg_no_time: nothing open.
  std::unordered_map<std::thread::id, std::int64_t> due_after_commit;  // under mu

  std::mutex listen_mu;
  std::unique_ptr<pg_connection> listener;
  bool listener_fresh = false;

  std::vector<char const*> key_ptrs() const {
    std::vector<char const*> v;
    for (auto const& k : keys) v.push_back(k.c_str());
    v.push_back(nullptr);
    return v;
  }
  std::vector<char const*> value_ptrs() const {
    std::vector<char const*> v;
    for (auto const& k : values) v.push_back(k.c_str());
    v.push_back(nullptr);
    return v;
  }

  std::optional<lease> lease_of(delivery_id id) {
    std::lock_guard lk(tokens_mu);
    auto it = tokens.find(id);
    if (it == tokens.end()) return std::nullopt;
    return it->second;
  }
  std::optional<std::int64_t> token_of(delivery_id id) {
    auto const l = lease_of(id);
    return l ? std::optional<std::int64_t>(l->token) : std::nullopt;
  }
  void forget_token(delivery_id id) {
    std::lock_guard lk(tokens_mu);
    tokens.erase(id);
  }

  // Makes `c` usable: connects it (or reconnects it if the server closed it), sets the
  // statement timeout and takes a counter slot.
  void ready(pg_connection& c, boost::system::error_code& ec) {
    int const old_pid = c ? c.backend_pid() : 0;
    if (!c) {
      auto const k = key_ptrs();
      auto const v = value_ptrs();
      c.connect(k.data(), v.data(), ec);
    } else if (!c.alive()) {
      c.reset(ec);
    } else if (c.slot >= 0) {
      return;  // the common case: connected and set up
    }
    {
      std::lock_guard lk(mu);
      own_pids.erase(old_pid);
      if (!ec) own_pids.insert(c.backend_pid());
    }
    if (ec) return;
    // Short statements only: no JIT compilation (tens of milliseconds) and no parallel workers
    // for a generic plan that overestimates, whatever the server's defaults.
    std::string const set = "SET statement_timeout = " + std::to_string(std::max<std::int64_t>(opts.statement_timeout.count(), 0)) +
                            "; SET jit = off; SET max_parallel_workers_per_gather = 0";
    c.command(set.c_str(), ec);
    if (ec) return;
    pg_params p;
    p.i64(space);
    auto rows = c.run(pg_slot, sql[pg_slot], p, ec);
    if (ec) return;
    if (rows.empty()) {
      ec = error::storage_busy;  // 4,096 connections hold every slot
      return;
    }
    c.slot = static_cast<int>(rows.i64(0, 0));
  }
};

// Sends the group's gathered records as one pg_record_many, without waiting: when its result
// is read, fewer rows written than records sent count as a refusal (the group rolls back).
inline void pg_flush_records(pg_state& s, pg_group& g, boost::system::error_code& ec) {
  auto& b = g.records;
  if (b.size() == 0 || !g.conn) return;
  pg_params p;
  p.array(b.id).array(b.token).array(b.state).array(b.cls).array(b.next_at).array(b.reason)
      .array(b.number).array(b.trigger).array(b.started_at).array(b.elapsed).array(b.status)
      .array(b.error).array(b.truncated).array(b.req_h).array(b.resp_h).array(b.body)
      .i64(g.conn->slot);
  g.conn->send_deferred(
      pg_record_many, s.sql[pg_record_many], p,
      [](pg_rows const& rows, std::int64_t n) { return !rows.empty() && rows.i64(0, 0) == n; },
      static_cast<std::int64_t>(b.size()), ec);
  b.clear();
}

// The connection for one call: the thread's group connection, or one of the pool's.
class pg_lease {
public:
  pg_lease(pg_state& s, boost::system::error_code& ec) : s_(s) {
    std::unique_lock lk(s.mu);
    if (!s.due_after_commit.empty()) s.due_after_commit.clear();  // it may change what is due
    if (!s.open) {
      ec = error::storage_failure;
      return;
    }
    if (auto it = s.groups.find(std::this_thread::get_id()); it != s.groups.end()) {
      c_ = it->second.conn;
      group_ = &it->second;
      return;
    }
    auto const deadline = std::chrono::steady_clock::now() + s.opts.pool_wait;
    for (;;) {
      if (!s.idle.empty()) {
        c_ = s.idle.back();
        s.idle.pop_back();
        break;
      }
      if (s.conns.size() < std::max<std::size_t>(s.opts.pool_size, 1)) {
        s.conns.push_back(std::make_unique<pg_connection>());
        c_ = s.conns.back().get();
        break;
      }
      if (s.cv.wait_until(lk, deadline) == std::cv_status::timeout && s.idle.empty()) {
        ec = error::storage_busy;
        return;
      }
      if (!s.open) {
        ec = error::storage_failure;
        return;
      }
    }
    lk.unlock();
    s.ready(*c_, ec);
    if (ec) {
      give_back();
      c_ = nullptr;
    }
  }
  pg_lease(pg_lease const&) = delete;
  pg_lease& operator=(pg_lease const&) = delete;
  ~pg_lease() {
    if (c_ && !group_) give_back();
  }

  pg_connection& conn() const noexcept { return *c_; }
  pg_group* group() const noexcept { return group_; }
  pg_state& state() const noexcept { return s_; }
  std::int64_t slot() const noexcept { return c_->slot; }

  // Inside a group the records gathered so far go first: statements run in call order.
  pg_rows run(pg_stmt st, pg_params const& p, boost::system::error_code& ec) {
    if (group_) pg_flush_records(s_, *group_, ec);
    if (ec) return {};
    return c_->run(st, s_.sql[st], p, ec);
  }

  // Two statements in one round trip inside a group (see pg_connection::run_two).
  void run_two(pg_stmt st1, pg_params const& p1, pg_rows& r1, pg_stmt st2, pg_params const& p2,
               pg_rows& r2, boost::system::error_code& ec) {
    if (group_) pg_flush_records(s_, *group_, ec);
    if (ec) return;
    c_->run_two(st1, s_.sql[st1], p1, r1, st2, s_.sql[st2], p2, r2, ec);
  }

  // Keeps the connection out of the pool (begin_group).
  pg_connection* detach() noexcept {
    auto* c = c_;
    c_ = nullptr;
    return c;
  }

private:
  void give_back() {
    std::lock_guard lk(s_.mu);
    s_.idle.push_back(c_);
    s_.cv.notify_one();
  }
  pg_state& s_;
  pg_connection* c_ = nullptr;
  pg_group* group_ = nullptr;
};

// One logical step, all or nothing. Outside a group: a transaction of its own when it takes
// several statements (`multi`), else the one statement commits by itself. Inside a group: it
// writes into the group's transaction; a step that ends without `commit` or `unchanged` after
// it may have written (or whose statement failed) spoils the group.
class pg_step {
public:
  pg_step(pg_lease& l, bool multi, boost::system::error_code& ec) : l_(l) {
    if (auto* g = l.group()) {
      if (g->spoiled || l.conn().transaction_failed() || l.conn().refused() > 0) {
        g->spoiled = true;
        ec = error::storage_failure;
        return;
      }
      active_ = true;
    } else if (multi) {
      l.conn().command("BEGIN", ec);
      began_ = active_ = !ec;
    } else {
      active_ = true;
    }
  }
  pg_step(pg_step const&) = delete;
  pg_step& operator=(pg_step const&) = delete;
  ~pg_step() {
    if (!active_) return;
    if (auto* g = l_.group()) {
      g->spoiled = true;
      return;
    }
    if (began_) {
      boost::system::error_code ignored;
      l_.conn().command("ROLLBACK", ignored);
    }
  }
  void commit(boost::system::error_code& ec) {
    if (began_) l_.conn().command("COMMIT", ec);
    if (!ec) active_ = false;
  }
  // The step refused before it wrote anything: nothing to undo (a group goes on).
  void unchanged() {
    if (l_.group() && !l_.conn().transaction_failed()) active_ = false;
  }

private:
  pg_lease& l_;
  bool began_ = false, active_ = false;
};

inline std::string pg_join_types(std::vector<std::string> const& ts) {
  std::string out;
  for (auto const& t : ts) {
    if (!out.empty()) out += '\n';
    out += t;
  }
  return out;
}

inline std::vector<std::string> pg_split_types(std::string_view s) {
  std::vector<std::string> out;
  while (!s.empty()) {
    auto const n = s.find('\n');
    out.emplace_back(s.substr(0, n));
    if (n == std::string_view::npos) break;
    s.remove_prefix(n + 1);
  }
  return out;
}

// Headers as (u32 little-endian length, bytes) pairs, like sqlite_store.
inline std::string pg_encode_headers(std::vector<http_header> const& hs) {
  std::string out;
  auto put = [&out](std::string const& s) {
    auto const n = static_cast<std::uint32_t>(s.size());
    for (int i = 0; i < 4; ++i) out += static_cast<char>((n >> (8 * i)) & 0xff);
    out += s;
  };
  for (auto const& h : hs) {
    put(h.name);
    put(h.value);
  }
  return out;
}

inline std::vector<http_header> pg_decode_headers(std::string_view in) {
  std::vector<http_header> out;
  auto get = [&](std::string& s) {
    if (in.size() < 4) return false;
    std::uint32_t n = 0;
    for (int i = 0; i < 4; ++i) n |= std::uint32_t{static_cast<unsigned char>(in[static_cast<std::size_t>(i)])} << (8 * i);
    in.remove_prefix(4);
    if (in.size() < n) return false;
    s.assign(in.substr(0, n));
    in.remove_prefix(n);
    return true;
  };
  while (!in.empty()) {
    http_header h;
    if (!get(h.name) || !get(h.value)) break;
    out.push_back(std::move(h));
  }
  return out;
}

// Columns from c: id, state, attempts, next_at, give_up_at, reason.
inline void pg_read_delivery(pg_rows const& r, int row, int c, delivery_record& d) {
  d.id = static_cast<delivery_id>(r.i64(row, c));
  d.state = static_cast<delivery_state>(r.i64(row, c + 1));
  d.attempts = static_cast<std::uint32_t>(r.i64(row, c + 2));
  d.next_attempt_at.reset();
  if (!r.is_null(row, c + 3)) d.next_attempt_at = from_unix_millis(r.i64(row, c + 3));
  d.give_up_at = from_unix_millis(r.i64(row, c + 4));
  d.reason = r.str(row, c + 5);
}

// (ix, deleted) of an endpoint; deleted ones only when asked.
inline std::optional<std::int64_t> pg_find_endpoint(pg_lease& l, std::string_view id,
                                                  bool with_deleted, boost::system::error_code& ec) {
  pg_params p;
  p.bytes(id);
  auto r = l.run(pg_endpoint_ix, p, ec);
  if (ec) return std::nullopt;
  if (r.empty() || (r.i64(0, 1) && !with_deleted)) {
    ec = error::not_found;
    return std::nullopt;
  }
  return r.i64(0, 0);
}

inline void pg_load_secrets(pg_lease& l, std::int64_t ix, std::vector<endpoint_secret>& out,
                            boost::system::error_code& ec) {
  out.clear();
  pg_params p;
  p.i64(ix);
  auto r = l.run(pg_secrets_load, p, ec);
  if (ec) return;
  for (int i = 0; i < r.size(); ++i) {
    endpoint_secret sec;
    sec.value = r.str(i, 0);
    sec.created_at = from_unix_millis(r.i64(i, 1));
    if (!r.is_null(i, 2)) sec.expires_at = from_unix_millis(r.i64(i, 2));
    out.push_back(std::move(sec));
  }
}

inline void pg_store_secrets(pg_lease& l, std::int64_t ix, std::vector<endpoint_secret> const& secrets,
                             boost::system::error_code& ec) {
  {
    pg_params p;
    p.i64(ix);
    l.run(pg_secrets_delete, p, ec);
    if (ec) return;
  }
  std::vector<std::string> values;
  std::vector<std::int64_t> created, expires;
  for (auto const& s : secrets) {
    values.push_back(s.value);
    created.push_back(to_unix_millis(s.created_at));
    expires.push_back(s.expires_at ? to_unix_millis(*s.expires_at) : pg_no_time);
  }
  pg_params p;
  p.i64(ix).text_array(values).i64_array(created).i64_array(expires);
  l.run(pg_secrets_insert, p, ec);
}

// An endpoint's rate limit from its two columns (binary float8, int8); none when NULL.
inline std::optional<request_rate> pg_rate(pg_rows const& r, int row, int col) {
  if (r.is_null(row, col) || r.is_null(row, col + 1)) return std::nullopt;
  return request_rate{std::bit_cast<double>(r.i64(row, col)),
                      static_cast<std::uint32_t>(r.i64(row, col + 1))};
}

// An endpoint's slow-down from four columns from `col` on (rate, ceiling, step, since).
inline std::optional<adaptive_rate> pg_adaptive(pg_rows const& r, int row, int col) {
  for (int c = col; c < col + 4; ++c)
    if (r.is_null(row, c)) return std::nullopt;
  return adaptive_rate{std::bit_cast<double>(r.i64(row, col)), std::bit_cast<double>(r.i64(row, col + 1)),
                       std::bit_cast<double>(r.i64(row, col + 2)), from_unix_millis(r.i64(row, col + 3))};
}

// Two parameters: the rate per second and the burst; both NULL for no limit.
inline void pg_put_rate(pg_params& p, std::optional<request_rate> const& rate) {
  if (rate) p.f64(rate->per_second).i64(rate->burst);
  else p.null().null();
}

// An endpoint's settings as pg_ep_insert and pg_ep_update take them: five parameters
// (headers, timeout_ms, retry_schedule, retry_span_ms, metadata), NULL for an empty one. The
// parameters view the JSON texts, which live here until the statement has run.
struct pg_settings_text {
  std::string headers, schedule, metadata;
  explicit pg_settings_text(endpoint_record const& ep)
      : headers(encode_headers(ep.headers)), schedule(encode_schedule(ep.retry_schedule)),
        metadata(encode_metadata(ep.metadata)) {}
  void put(pg_params& p, endpoint_record const& ep) const {
    auto text = [&p](std::string const& t) {
      if (t.empty()) p.null();
      else p.bytes(t);
    };
    text(headers);
    p.opt_i64(ep.timeout.has_value(), ep.timeout ? ep.timeout->count() : 0);
    text(schedule);
    std::int64_t span = 0;
    bool const has_span = schedule_span_ms(ep.retry_schedule, span);
    p.opt_i64(has_span, span);
    text(metadata);
  }
};

// A text column of settings: empty for NULL (the decoders read "" as "none" without parsing).
inline std::string_view pg_setting(pg_rows const& r, int row, int col) noexcept {
  return r.is_null(row, col) ? std::string_view{} : r.bytes(row, col);
}

// `settings`: read the endpoint's settings too (update_endpoint replaces them all, so it does
// not decode what it overwrites). A stored setting that does not decode is storage_failure.
inline void pg_load_endpoint(pg_lease& l, std::int64_t ix, endpoint_record& out,
                             boost::system::error_code& ec, bool settings = true) {
  {
    pg_params p;
    p.i64(ix);
    auto r = l.run(pg_ep_load, p, ec);
    if (ec) return;
    if (r.empty()) {
      ec = error::not_found;
      return;
    }
    out.id = r.str(0, 0);
    out.organization_id = r.str(0, 1);
    out.name = r.str(0, 2);
    out.url = r.str(0, 3);
    out.description = r.str(0, 4);
    out.event_types = pg_split_types(r.bytes(0, 5));
    out.enabled = r.i64(0, 6) != 0;
    out.disabled_reason = r.str(0, 7);
    out.created_at = from_unix_millis(r.i64(0, 8));
    out.updated_at = from_unix_millis(r.i64(0, 9));
    out.failing_since.reset();
    if (!r.is_null(0, 10)) out.failing_since = from_unix_millis(r.i64(0, 10));
    out.disabled_at.reset();
    if (!r.is_null(0, 11)) out.disabled_at = from_unix_millis(r.i64(0, 11));
    out.paused_until.reset();
    if (r.i64(0, 12) != 0) out.paused_until = from_unix_millis(r.i64(0, 12));
    out.rate_limit = pg_rate(r, 0, 13);
    out.adaptive = pg_adaptive(r, 0, 15);
    out.ordered = r.i64(0, 19) != 0;
    out.timeout.reset();
    if (!r.is_null(0, 21)) out.timeout = duration{r.i64(0, 21)};
    if (!settings) {
      out.headers.clear();
      out.retry_schedule.clear();
      out.metadata.clear();
    } else if (!decode_headers(pg_setting(r, 0, 20), out.headers) ||
               !decode_schedule(pg_setting(r, 0, 22), out.retry_schedule) ||
               !decode_metadata(pg_setting(r, 0, 23), out.metadata)) {
      ec = error::storage_failure;  // a corrupt row
      return;
    }
  }
  pg_load_secrets(l, ix, out.secrets, ec);
}

// The parameters of pg_accept for one event; `queues`: the caller's transaction moves the
// ordering queues on afterwards (else an accept that would queue a delivery is refused).
inline void pg_accept_params(pg_params& p, event_record const& ev, time_point give_up_at,
                             std::int64_t slot, std::string const* channel, bool queues) {
  p.bytes(ev.id).bytes(ev.organization_id).bytes(ev.type).i64(to_unix_millis(ev.created_at))
      .bytes(ev.actor.type).bytes(ev.actor.id).bytes(ev.actor.name).bytes(ev.payload)
      .i64(to_unix_millis(give_up_at)).i64(slot);
  if (channel) p.bytes(*channel);
  else p.null();
  p.bytes(ev.subject).i64(queues ? 1 : 0).bytes(ev.effective_ordering_key());
}

// Reads pg_accept's rows for `ev` into `result`; its ordered deliveries go to the back of
// their queues (`work`), due at the event's creation when first there. False when the accept
// was refused (nothing written: it would queue a delivery and `work` is null).
inline bool pg_accept_result(pg_rows const& r, event_record const& ev, accept_result& result,
                             pg_queue_work* work) {
  result = {};
  if (r.empty()) {
    result.duplicate = true;
    return true;
  }
  if (r.i64(0, 3)) return false;
  for (int i = 0; i < r.size(); ++i) {
    if (r.is_null(i, 0)) continue;
    result.deliveries.push_back(static_cast<delivery_id>(r.i64(i, 0)));
    if (r.i64(i, 2) && work) {
      work->append.push_back(r.i64(i, 0));
      work->append_due.push_back(to_unix_millis(ev.created_at));
    }
  }
  return true;
}

// The state and fencing token a write step saw, and what they mean.
inline void pg_check_open(pg_rows const& r, std::optional<std::int64_t> token,
                          boost::system::error_code& ec) {
  if (r.empty()) {
    ec = error::not_found;
    return;
  }
  auto const state = r.i64(0, 0);
  if (state != 0 && state != 1) {
    ec = error::invalid_argument;  // final is final
    return;
  }
  if (token && r.i64(0, 1) != *token) ec = error::lease_lost;
}

// Erases the events `ixs` (pg_erase_events; their rows and their deliveries' locked by the
// step's transaction, with pg_erase_lock or pg_erase_pick), recording `by` (validated by the
// caller) as their erased_by, and adds what it did to `out`; the queue heads it closed to
// `work`.
inline void pg_erase(pg_lease& l, std::span<std::int64_t const> ixs, std::int64_t now,
                     std::string_view by, erase_result& out, pg_queue_work& work,
                     boost::system::error_code& ec) {
  pg_params p;
  p.i64_array(ixs).i64(now).i64(l.slot()).bytes(erased_reason).bytes(by);
  auto r = l.run(pg_erase_events, p, ec);
  if (ec) return;
  if (r.empty()) {
    ec = error::storage_failure;  // one row, always
    return;
  }
  out.events += static_cast<std::uint64_t>(r.i64(0, 0));
  out.bodies += static_cast<std::uint64_t>(r.i64(0, 1));
  out.closed += static_cast<std::uint64_t>(r.i64(0, 2));
  for (int i = 1; i < r.size(); ++i) work.closed.push_back(r.i64(i, 2));
}

// Finishes `w` in the transaction that `run(statement, params, ec)` runs statements in, as
// its last step before the commit: the queue locks (pg_queue_lock, one statement), then, in
// statements that start after them, the appends and the heads. The heads' statement runs
// again while a head it found changed meanwhile (bounded: storage_busy after many).
//
// Lock order: a transaction first writes its own rows (the deliveries it closes, reopens or
// inserts, their counters, the endpoint or event rows its step locks), then takes all its
// queue locks at once, in one order (pg_queue_lock), then writes only rows of the queues it
// holds: its own appended deliveries, and heads that have no due time. A transaction waiting
// for queue locks holds, of those queues, only rows that had a due time (a closed head) or
// that nobody else can see (reopened, new), so the holder never waits for it: claims, records,
// accepts and groups never deadlock over queues. Claims take no queue lock and skip locked
// rows; closing a waiting delivery (no due time: erase_event, give_up) takes none at all, the
// heads' statement finding it closed once it waited for it. Left: a transaction that closes
// several queues' deliveries of one event at once (an erasure) or an enable that waits for
// a parked head whose result is being recorded can still meet one that waits for it; the
// server then aborts one of them (storage_busy, nothing changed). Inside a group the work is
// gathered and done once, at commit_group.
template <class Run>
void pg_move_queues(Run&& run, std::int32_t space, pg_queue_work const& w,
                    boost::system::error_code& ec) {
  if (w.empty()) return;
  {
    std::vector<std::int64_t> ids = w.append;
    ids.insert(ids.end(), w.closed.begin(), w.closed.end());
    pg_params p;
    p.i64_array(ids).i64(space).i64_array(w.endpoints);
    run(pg_queue_lock, p, ec);
    if (ec) return;
  }
  if (!w.append.empty()) {
    pg_params p;
    p.i64_array(w.append).i64_array(w.append_due);
    run(pg_queue_append, p, ec);
    if (ec) return;
  }
  if (w.closed.empty() && w.endpoints.empty()) return;
  for (int round = 0;; ++round) {
    pg_params p;
    p.i64_array(w.closed).i64_array(w.endpoints).i64_array(w.endpoints_at);
    auto r = run(pg_queue_heads, p, ec);
    if (ec) return;
    if (r.empty()) {
      ec = error::storage_failure;  // one row, always
      return;
    }
    if (r.i64(0, 1) >= r.i64(0, 0)) return;
    if (round == 100) {
      ec = error::storage_busy;
      return;
    }
  }
}

// pg_move_queues on the step's connection.
inline void pg_move_queues(pg_lease& l, pg_queue_work const& w, boost::system::error_code& ec) {
  pg_move_queues([&l](pg_stmt st, pg_params const& p, boost::system::error_code& e) { return l.run(st, p, e); },
                 l.state().space, w, ec);
}

// The step's queue work: inside a group it waits for commit_group, else it is done now.
inline void pg_finish_queues(pg_lease& l, pg_queue_work const& w, boost::system::error_code& ec) {
  if (w.empty()) return;
  if (auto* g = l.group()) g->queues.add(w);
  else pg_move_queues(l, w, ec);
}

} // namespace detail

inline postgres_store::postgres_store() : s_(std::make_unique<detail::pg_state>()) {}

inline postgres_store::postgres_store(std::string const& conninfo, endpoint_rules rules,
                                      postgres_store_options options)
    : postgres_store() {
  boost::system::error_code ec;
  open(conninfo, std::move(rules), std::move(options), ec);
  throw_if(ec, "pulsehook: postgres_store open");
}

inline postgres_store::postgres_store(postgres_store&&) noexcept = default;
inline postgres_store& postgres_store::operator=(postgres_store&&) noexcept = default;
inline postgres_store::~postgres_store() { close(); }

inline void postgres_store::open(std::string const& conninfo, endpoint_rules rules,
                                 postgres_store_options options, boost::system::error_code& ec) {
  ec = {};
  close();
  if (!s_) s_ = std::make_unique<detail::pg_state>();
  auto& s = *s_;
  if (!detail::pg_valid_schema(options.schema)) {
    ec = error::invalid_argument;
    return;
  }
  s.rules = std::move(rules);
  s.opts = std::move(options);
  s.groups.clear();
  s.space = detail::pg_lock_space(s.opts.schema);
  s.channel = s.opts.schema + "_work";
  s.sql.clear();
  for (auto const* q : detail::pg_statement_sql) s.sql.push_back(detail::pg_in_schema(q, s.opts.schema));
  auto const secs = std::max<std::int64_t>(1, (s.opts.connect_timeout.count() + 999) / 1000);
  s.keys = {"dbname", "connect_timeout"};
  s.values = {conninfo, std::to_string(secs)};
  s.held_at = detail::pg_no_time;
  {
    std::lock_guard lk(s.tokens_mu);
    s.tokens.clear();
  }

  // The first connection migrates, under a session advisory lock on (space, 0): processes
  // starting at once take turns, and each finds the schema as the previous one left it.
  auto first = std::make_unique<detail::pg_connection>();
  {
    auto const k = s.key_ptrs();
    auto const v = s.value_ptrs();
    first->connect(k.data(), v.data(), ec);
    if (ec) return;
  }
  auto& c = *first;
  auto cmd = [&](std::string const& sql) {
    detail::pg_command(c.get(), sql.c_str(), ec);
  };
  std::string const sp = std::to_string(s.space);
  cmd("SET statement_timeout = 0");  // a migration of a large database may take long
  if (!ec) cmd("SELECT pg_advisory_lock(" + sp + ", 0)");
  if (ec) return;
  auto unlock = [&] {
    boost::system::error_code ignored;
    detail::pg_command(c.get(), ("SELECT pg_advisory_unlock(" + sp + ", 0)").c_str(), ignored);
  };
  cmd("CREATE SCHEMA IF NOT EXISTS " + s.opts.schema);
  if (!ec) cmd("CREATE TABLE IF NOT EXISTS " + s.opts.schema + ".schema_version(version int NOT NULL)");
  int version = 0;
  if (!ec) {
    detail::pg_params none;
    auto r = detail::pg_exec_params(
        c.get(), "SELECT COALESCE(max(version), 0) FROM " + s.opts.schema + ".schema_version", none, ec);
    if (!ec) version = static_cast<int>(r.i64(0, 0));
  }
  if (!ec && version > detail::pg_schema_version) ec = error::schema_mismatch;
  for (int v = version; !ec && v < detail::pg_schema_version; ++v) {
    cmd("BEGIN");
    if (!ec) cmd(detail::pg_in_schema(detail::pg_migrations[v], s.opts.schema));
    if (!ec)
      cmd("INSERT INTO " + s.opts.schema + ".schema_version(version) VALUES (" + std::to_string(v + 1) + ")");
    if (!ec) cmd("COMMIT");
    if (ec) {
      boost::system::error_code ignored;
      detail::pg_command(c.get(), "ROLLBACK", ignored);
    }
  }
  unlock();
  if (ec) return;
  {
    detail::pg_params none;
    auto r = detail::pg_exec_params(c.get(), "SELECT nextval('" + s.opts.schema + ".workers')", none, ec);
    if (ec) return;
    s.worker = r.i64(0, 0);
    s.db_name = PQdb(c.get());
  }
  cmd("RESET statement_timeout");
  if (ec) return;
  std::lock_guard lk(s.mu);
  s.open = true;
  s.conns.push_back(std::move(first));  // the pool's first connection (ready() sets it up)
  s.idle.push_back(s.conns.back().get());
}

inline void postgres_store::close() noexcept {
  if (!s_) return;
  auto& s = *s_;
  {
    std::lock_guard lk(s.mu);
    s.open = false;
    s.idle.clear();
    for (auto& [thread, g] : s.groups) g.conn = nullptr;  // commit_group then says so
    s.due_after_commit.clear();
    s.conns.clear();
    s.own_pids.clear();
    s.cv.notify_all();
  }
  std::lock_guard lk(s.listen_mu);
  s.listener.reset();
}

inline bool postgres_store::is_open() const noexcept {
  if (!s_) return false;
  std::lock_guard lk(s_->mu);
  return s_->open;
}

inline void postgres_store::set_endpoint_rules(endpoint_rules rules) {
  std::lock_guard lk(s_->mu);
  s_->rules = std::move(rules);
}

inline std::int64_t postgres_store::worker_id() const noexcept { return s_ ? s_->worker : 0; }

static_assert(postgres_store::schema_version == detail::pg_schema_version,
              "postgres_store::schema_version must name the last migration in pg_schema.hpp");

#define PULSEHOOK_DETAIL_PG_READY(...)                                                             \
  if (!s_) {                                                                                       \
    ec = error::storage_failure;                                                                   \
    return __VA_ARGS__;                                                                            \
  }                                                                                                \
  auto& s = *s_;                                                                                   \
  detail::pg_lease l(s, ec);                                                                       \
  if (ec) return __VA_ARGS__

inline void postgres_store::begin_group(boost::system::error_code& ec) {
  ec = {};
  if (!s_) {
    ec = error::storage_failure;
    return;
  }
  auto& s = *s_;
  {
    std::lock_guard lk(s.mu);
    if (s.groups.contains(std::this_thread::get_id())) {
      ec = error::invalid_argument;  // groups do not nest
      return;
    }
  }
  detail::pg_lease l(s, ec);
  if (ec) return;
  // The group's statements go out without waiting (pipeline mode), the BEGIN with the first.
  l.conn().enter_pipeline(ec);
  if (ec) return;
  l.conn().command_deferred("BEGIN", ec);
  if (ec) {
    boost::system::error_code ignored;
    l.conn().end_pipeline(false, ignored);
    return;
  }
  detail::pg_group g;
  g.conn = l.detach();
  std::lock_guard lk(s.mu);
  s.groups[std::this_thread::get_id()] = std::move(g);
}

inline void postgres_store::commit_group(boost::system::error_code& ec) {
  ec = {};
  if (!s_) {
    ec = error::invalid_argument;
    return;
  }
  auto& s = *s_;
  detail::pg_group g;
  {
    std::lock_guard lk(s.mu);
    auto it = s.groups.find(std::this_thread::get_id());
    if (it == s.groups.end()) {
      ec = error::invalid_argument;
      return;
    }
    g = std::move(it->second);
    s.groups.erase(it);
    if (!s.open || !g.conn) {  // closed inside the group: nothing was committed
      ec = error::storage_failure;
      return;
    }
  }
  auto& c = *g.conn;
  if (!g.spoiled) detail::pg_flush_records(s, g, ec);
  // The ordering queues the group's steps changed move on last, under queue locks the group
  // takes once (the records sent ahead are read first: a refused one rolls it all back).
  boost::system::error_code queue_ec;
  if (!g.spoiled && !ec)
    detail::pg_move_queues(
        [&](detail::pg_stmt st, detail::pg_params const& p, boost::system::error_code& e) {
          return c.run(st, s.sql[st], p, e);
        },
        s.space, g.queues, queue_ec);
  // After a claim the driver asks next_due_at: its answer is read in the COMMIT's round trip.
  detail::pg_params none;
  detail::pg_rows due;
  detail::pg_connection::last_statement const next_due{detail::pg_next_due, s.sql[detail::pg_next_due],
                                                       none, due};
  bool const ask_due = g.claims && !ec && !queue_ec;
  // COMMIT, or ROLLBACK when spoiled or a record was refused
  c.end_pipeline(!g.spoiled && !ec && !queue_ec, ec, ask_due ? &next_due : nullptr);
  if (queue_ec) ec = queue_ec;
  if (!ec && ask_due && due.get()) {
    std::lock_guard lk(s.mu);
    s.due_after_commit[std::this_thread::get_id()] = due.empty() ? detail::pg_no_time : due.i64(0, 0);
  }
  if (ec) {
    // The group's claims were not recorded: their tokens are the ones before.
    std::lock_guard lk(s.tokens_mu);
    for (auto const& [id, token] : g.claimed)
      if (auto t = s.tokens.find(id); t != s.tokens.end() && t->second.token == token)
        t->second.token = token - 1;
  }
  std::lock_guard lk(s.mu);
  s.idle.push_back(&c);
  s.cv.notify_one();
}

inline int postgres_store::notification_fd(boost::system::error_code& ec) {
  ec = {};
  if (!s_ || !is_open()) {
    ec = error::storage_failure;
    return -1;
  }
  auto& s = *s_;
  std::lock_guard lk(s.listen_mu);
  if (!s.listener || !s.listener->alive()) {
    if (!s.listener) s.listener = std::make_unique<detail::pg_connection>();
    auto& c = *s.listener;
    if (!c) {
      auto const k = s.key_ptrs();
      auto const v = s.value_ptrs();
      c.connect(k.data(), v.data(), ec);
    } else {
      c.reset(ec);
    }
    if (!ec) c.command(("LISTEN " + s.channel).c_str(), ec);
    if (ec) {
      s.listener.reset();
      return -1;
    }
    s.listener_fresh = true;  // whatever was sent while nobody listened: say "maybe"
  }
  return PQsocket(s.listener->get());
}

inline bool postgres_store::consume_notifications(boost::system::error_code& ec) {
  ec = {};
  if (!s_) {
    ec = error::storage_failure;
    return false;
  }
  auto& s = *s_;
  std::unique_lock lk(s.listen_mu);
  bool any = std::exchange(s.listener_fresh, false);
  if (!s.listener || !s.listener->alive()) {
    lk.unlock();
    notification_fd(ec);  // reconnects and listens again
    return true;
  }
  std::vector<int> from;
  while (PGnotify* n = PQnotifies(s.listener->get())) {
    from.push_back(n->be_pid);
    PQfreemem(n);
  }
  lk.unlock();
  std::lock_guard g(s.mu);
  for (int pid : from)
    if (!s.own_pids.contains(pid)) any = true;  // our own accepts already woke our dispatcher
  return any;
}

inline void postgres_store::pause_endpoint(std::string_view endpoint_id, time_point until,
                                           boost::system::error_code& ec) {
  ec = {};
  PULSEHOOK_DETAIL_PG_READY();
  detail::pg_step st(l, false, ec);
  if (ec) return;
  detail::pg_params p;
  p.bytes(endpoint_id).i64(to_unix_millis(until));
  auto r = l.run(detail::pg_pause, p, ec);
  if (ec) return;
  if (r.empty()) {
    ec = error::not_found;
    return st.unchanged();
  }
  st.commit(ec);
}

inline void postgres_store::pause_endpoint(std::string_view endpoint_id, time_point until) {
  boost::system::error_code ec;
  pause_endpoint(endpoint_id, until, ec);
  throw_if(ec, "pulsehook: pause_endpoint");
}

inline std::optional<adaptive_rate> postgres_store::slow_down_endpoint(std::string_view endpoint_id,
                                                                       slow_down const& sd,
                                                                       boost::system::error_code& ec) {
  ec = {};
  PULSEHOOK_DETAIL_PG_READY(std::nullopt);
  detail::pg_step st(l, true, ec);
  if (ec) return std::nullopt;
  detail::pg_params p;
  p.bytes(endpoint_id);
  auto r = l.run(detail::pg_slow_load, p, ec);
  if (ec) return std::nullopt;
  if (r.empty()) {
    ec = error::not_found;
    st.unchanged();
    return std::nullopt;
  }
  auto const now = to_unix_millis(sd.now);
  auto const limit = detail::pg_rate(r, 0, 1);
  auto slowed = detail::pg_adaptive(r, 0, 5);
  // The bucket keeps at most one token from before (no burst right after a 429).
  double tokens = 1;
  if (auto const e = effective_rate(limit, slowed, sd.now); e && !r.is_null(0, 3) && !r.is_null(0, 4))
    tokens = std::min(1.0, detail::bucket_tokens(std::bit_cast<double>(r.i64(0, 3)), r.i64(0, 4), now, *e));
  if (!apply_slow_down(slowed, limit, sd)) {
    st.commit(ec);
    return slowed;
  }
  detail::pg_params q;
  q.i64(r.i64(0, 0)).f64(slowed->per_second).f64(slowed->ceiling).f64(slowed->step)
      .i64(to_unix_millis(slowed->since)).f64(tokens).i64(now);
  l.run(detail::pg_slow_save, q, ec);
  if (ec) return std::nullopt;
  st.commit(ec);
  if (ec) return std::nullopt;
  return slowed;
}

inline std::optional<adaptive_rate> postgres_store::slow_down_endpoint(std::string_view endpoint_id,
                                                                       slow_down const& sd) {
  boost::system::error_code ec;
  auto r = slow_down_endpoint(endpoint_id, sd, ec);
  throw_if(ec, "pulsehook: slow_down_endpoint");
  return r;
}

inline void postgres_store::accept(pg_conn* tx, event_record const& ev, time_point give_up_at,
                                   accept_result& result, boost::system::error_code& ec) {
  result = {};
  validate_event(ev, ec);
  if (ec) return;
  if (!s_ || !is_open()) {
    ec = error::storage_failure;
    return;
  }
  auto& s = *s_;
  {
    std::lock_guard lk(s.mu);
    s.due_after_commit.clear();  // see pg_lease
  }
  if (!tx || PQstatus(tx) != CONNECTION_OK || PQtransactionStatus(tx) != PQTRANS_INTRANS ||
      s.db_name != PQdb(tx)) {
    ec = error::invalid_argument;  // publish inside your open transaction, on this database
    return;
  }
  detail::pg_command(tx, "SAVEPOINT pulsehook_outbox", ec);
  if (ec) return;
  std::int64_t slot = 8192;
  {
    detail::pg_params p;
    p.i64(s.space);
    auto r = detail::pg_exec_params(tx, s.sql[detail::pg_outbox_slot], p, ec);
    if (!ec && !r.empty()) slot = r.i64(0, 0);
  }
  if (!ec) {
    detail::pg_params p;
    detail::pg_accept_params(p, ev, give_up_at, slot, s.opts.notify ? &s.channel : nullptr, true);
    auto r = detail::pg_exec_params(tx, s.sql[detail::pg_accept_tx], p, ec);
    // The queue locks of an ordered accept are taken here, inside the caller's transaction,
    // and held until it ends: a queue's order is the order in which such transactions
    // commit. After an earlier publish of the same transaction took some, the locks are
    // only tried, for a while, never waited for (pg_queue_try_lock): a transaction that
    // publishes to several queues cannot deadlock with another (or with a dispatcher) over
    // them; it gets storage_busy instead, and should roll back.
    detail::pg_queue_work work;
    if (!ec) detail::pg_accept_result(r, ev, result, &work);
    auto run = [&](detail::pg_stmt st, detail::pg_params const& q, boost::system::error_code& e) {
      return detail::pg_exec_params(tx, s.sql[st], q, e);
    };
    for (int round = 0; !ec && !work.append.empty(); ++round) {
      detail::pg_params q;
      q.i64_array(work.append).i64(s.space).i64_array(std::span<std::int64_t const>{});
      auto taken = run(detail::pg_queue_try_lock, q, ec);
      if (ec || taken.empty() || !taken.i64(0, 0) || taken.i64(0, 1) == 0) break;
      if (round == 100) ec = error::storage_busy;
      else std::this_thread::sleep_for(std::chrono::milliseconds{5});
    }
    if (!ec) detail::pg_move_queues(run, s.space, work, ec);
  }
  boost::system::error_code end_ec;
  if (ec) {
    result = {};
    detail::pg_command(tx, "ROLLBACK TO SAVEPOINT pulsehook_outbox", end_ec);
  }
  detail::pg_command(tx, "RELEASE SAVEPOINT pulsehook_outbox", end_ec);
  if (!ec && end_ec) {
    ec = end_ec;
    result = {};
  }
}

inline void postgres_store::accept(pg_conn* tx, event_record const& ev, time_point give_up_at,
                                   accept_result& result) {
  boost::system::error_code ec;
  accept(tx, ev, give_up_at, result, ec);
  throw_if(ec, "pulsehook: accept (outbox)");
}

inline void postgres_store::accept(event_record const& ev, time_point give_up_at,
                                   accept_result& result, boost::system::error_code& ec) {
  result = {};
  validate_event(ev, ec);
  if (ec) return;
  PULSEHOOK_DETAIL_PG_READY();
  auto const* channel = s.opts.notify ? &s.channel : nullptr;
  {
    // One statement that commits by itself, unless an endpoint it fans out to is ordered
    // (then it writes nothing: below). Inside a group, the group's commit moves the queues.
    auto* g = l.group();
    detail::pg_step st(l, false, ec);
    if (ec) return;
    detail::pg_params p;
    detail::pg_accept_params(p, ev, give_up_at, l.slot(), channel, g != nullptr);
    auto r = l.run(g ? detail::pg_accept_tx : detail::pg_accept, p, ec);
    if (ec) return;
    detail::pg_queue_work work;
    if (detail::pg_accept_result(r, ev, result, &work)) {
      if (result.duplicate) return st.unchanged();
      if (g) g->queues.add(work);
      st.commit(ec);
      if (ec) result = {};
      return;
    }
    st.unchanged();
  }
  // An ordered accept: one transaction with the queue work.
  detail::pg_step st(l, true, ec);
  if (ec) return;
  detail::pg_params p;
  detail::pg_accept_params(p, ev, give_up_at, l.slot(), channel, true);
  auto r = l.run(detail::pg_accept_tx, p, ec);
  if (ec) return;
  detail::pg_queue_work work;
  detail::pg_accept_result(r, ev, result, &work);
  if (result.duplicate) return st.unchanged();
  detail::pg_move_queues(l, work, ec);
  if (!ec) st.commit(ec);
  if (ec) result = {};
}

inline void postgres_store::accept_many(std::span<event_record const> events,
                                        std::span<time_point const> give_up_at,
                                        std::vector<accept_result>& results,
                                        boost::system::error_code& ec) {
  results.clear();
  ec = {};
  if (events.size() != give_up_at.size()) {
    ec = error::invalid_argument;
    return;
  }
  for (auto const& ev : events) {
    validate_event(ev, ec);
    if (ec) return;
  }
  PULSEHOOK_DETAIL_PG_READY();
  std::vector<accept_result> out(events.size());
  auto const* channel = s.opts.notify ? &s.channel : nullptr;
  if (auto* g = l.group()) {  // inside a group: one statement after the other, into the group
    detail::pg_step st(l, false, ec);
    if (ec) return;
    detail::pg_queue_work work;
    for (std::size_t i = 0; i < events.size(); ++i) {
      detail::pg_params p;
      detail::pg_accept_params(p, events[i], give_up_at[i], l.slot(), channel, true);
      auto r = l.run(detail::pg_accept_tx, p, ec);
      if (ec) return;
      detail::pg_accept_result(r, events[i], out[i], &work);
    }
    g->queues.add(work);
    st.commit(ec);
    if (!ec) results = std::move(out);
    return;
  }
  // One transaction, every accept sent without waiting for the one before (pipeline mode):
  // one round trip and one WAL flush for the whole group.
  auto& c = l.conn();
  c.command("BEGIN", ec);
  if (!ec) c.enter_pipeline(ec);
  if (ec) {
    boost::system::error_code ignored;
    c.command("ROLLBACK", ignored);
    return;
  }
  std::vector<detail::pg_rows> rows;
  rows.reserve(events.size());
  for (std::size_t i = 0; i < events.size() && !ec; ++i) {
    detail::pg_params p;
    detail::pg_accept_params(p, events[i], give_up_at[i], l.slot(), channel, true);
    c.send_deferred(detail::pg_accept_tx, s.sql[detail::pg_accept_tx], p, nullptr, 0, ec, true, &rows);
  }
  if (!ec) c.resolve(ec, &rows);
  bool const whole = !ec && rows.size() == events.size();
  // The batch's ordered deliveries go to the back of their queues in the batch's order, under
  // the queue locks taken once for all of them.
  detail::pg_queue_work work;
  boost::system::error_code queue_ec;
  if (whole) {
    for (std::size_t i = 0; i < events.size(); ++i)
      detail::pg_accept_result(rows[i], events[i], out[i], &work);
    detail::pg_move_queues(l, work, queue_ec);
  }
  c.end_pipeline(whole && !queue_ec, ec);  // COMMIT only when every accept ran
  if (queue_ec) ec = queue_ec;
  if (ec) return;
  results = std::move(out);
}

inline void postgres_store::claim_due(claim_request const& req, std::vector<due_delivery>& out,
                                      boost::system::error_code& ec) {
  ec = {};
  if (req.max == 0) return;
  PULSEHOOK_DETAIL_PG_READY();
  if (auto* g = l.group()) g->claims = true;
  detail::pg_step st(l, true, ec);
  if (ec) return;
  auto const now = to_unix_millis(req.now);
  std::int64_t const cap = req.max_per_endpoint
                               ? static_cast<std::int64_t>(req.max_per_endpoint)
                               : std::numeric_limits<std::int64_t>::max() / 4;
  s.held_at = detail::pg_no_time;
  bool held = false, contended = false;

  // Expired work (law 15): due deliveries whose deadline is before expired_before are handed
  // out whatever the skip list, the rooms and the caps (other workers' leases too) say, and
  // spend no room and no token; the engine gives them up at once. Only a claim that sets
  // expired_before runs the statement that finds them beyond the skip list and the caps.
  bool const lapses = req.expired_before != time_point{};
  auto const expired_before = to_unix_millis(req.expired_before);

  struct candidate {
    std::int64_t id, endpoint;
    std::string endpoint_id;
    bool paused, limited, expired;
  };
  std::vector<candidate> cands;
  bool pushed = false;
  // A paused endpoint's deliveries met here move to the pause's end. While a whole page of
  // candidates is nothing but those, the next page is read at once (up to 8), so a paused
  // backlog is moved in bulk instead of costing the claim its room, one page per poll.
  auto const page = static_cast<std::int64_t>(std::min<std::size_t>(req.max + 32, 8192));
  for (int round = 0; round < 8; ++round) {
    cands.clear();
    detail::pg_params p;
    p.i64(now).text_array(req.skip_endpoints).i64(cap).i64(s.worker).i64(page);
    if (lapses) p.i64(expired_before);
    auto const stmt = lapses ? detail::pg_claim_candidates_expired : detail::pg_claim_candidates;
    auto r = l.run(stmt, p, ec);
    if (ec) return;
    std::vector<std::int64_t> push;
    for (int i = 0; i < r.size(); ++i) {
      bool const paused = r.i64(i, 3) > now && r.i64(i, 4) > now;  // at its deadline: out
      bool const expired = lapses && !paused && r.i64(i, 6) != 0;
      cands.push_back({r.i64(i, 0), r.i64(i, 1), r.str(i, 2), paused, r.i64(i, 5) != 0, expired});
      if (paused) push.push_back(r.i64(i, 0));
    }
    if (push.empty()) break;
    detail::pg_params pp;
    pp.i64_array(push);
    l.run(detail::pg_claim_push, pp, ec);
    if (ec) return;
    pushed = true;
    if (push.size() < cands.size() || r.size() < page) break;
  }
  if (cands.empty() && !pushed) {
    s.contended_streak = 0;
    return st.unchanged();
  }

  // Per endpoint: how many this claim may take. The request's room (this process's own
  // in-flight), less what other workers hold leased now, counted under the endpoint's lock.
  struct budget {
    std::int64_t allowed = 0, taken = 0;
    bool others = false, listed = false;  // listed: in `eps` below
    bool contended = false;               // another worker holds its lock: it is claiming it
  };
  std::unordered_map<std::int64_t, budget> per;
  std::vector<std::int64_t> endpoints;  // locked and counted: expired work needs neither
  for (auto const& c : cands) {
    if (c.paused || c.expired || per.contains(c.endpoint)) continue;
    std::int64_t room = cap;
    for (auto const& r : req.endpoint_rooms)
      if (r.endpoint_id == c.endpoint_id) room = std::min(room, static_cast<std::int64_t>(r.room));
    per[c.endpoint].allowed = room;
    endpoints.push_back(c.endpoint);
  }
  if (req.max_per_endpoint != 0 && !endpoints.empty()) {
    // The leases are counted by a statement that starts after the locks were taken (its own
    // snapshot then sees every claim committed under them); in a group both statements go out
    // at once. Counts of endpoints we did not lock are ignored.
    std::unordered_set<std::int64_t> locked;
    detail::pg_rows lock_rows, leased_rows;
    detail::pg_params p1, p2;
    p1.i64_array(endpoints).i64(s.space);
    p2.i64_array(endpoints).i64(now).i64(s.worker);
    l.run_two(detail::pg_claim_try_lock, p1, lock_rows, detail::pg_claim_leased, p2, leased_rows, ec);
    if (ec) return;
    for (int i = 0; i < lock_rows.size(); ++i) locked.insert(lock_rows.i64(i, 0));
    for (auto e : endpoints)
      if (!locked.contains(e)) {
        per[e].allowed = 0;  // another worker is claiming it right now
        per[e].others = true;
        per[e].contended = true;
      }
    for (int i = 0; i < leased_rows.size(); ++i) {
      if (!locked.contains(leased_rows.i64(i, 0))) continue;
      auto& b = per[leased_rows.i64(i, 0)];
      b.allowed = std::min(b.allowed, cap) - leased_rows.i64(i, 1);
      b.others = true;
    }
  }
  {
    // Rate limits (docs/sending.md#throttling): a token per delivery handed out. Each limited
    // endpoint asks its bucket for what it could take here; a token granted but not used (the
    // claim filled up first) is lost, never overspent.
    std::map<std::int64_t, std::int64_t> want;  // ordered: rows are locked in ascending order
    std::size_t room_left = req.max;
    for (auto const& c : cands) {
      if (c.expired && room_left > 0) --room_left;  // taken before whatever follows it
      if (c.paused || c.expired || !c.limited) continue;
      auto& w = want[c.endpoint];
      if (room_left == 0 || w >= per[c.endpoint].allowed) continue;
      ++w;
      --room_left;
    }
    for (auto const& [ix, n] : want) per[ix].allowed = 0;  // unless its bucket grants some
    std::erase_if(want, [](auto const& kv) { return kv.second == 0; });
    if (!want.empty()) {
      std::vector<std::int64_t> ixs, counts;
      for (auto const& [ix, n] : want) {
        ixs.push_back(ix);
        counts.push_back(n);
      }
      detail::pg_params p;
      p.i64_array(ixs).i64_array(counts).i64(now);
      auto r = l.run(detail::pg_claim_tokens, p, ec);
      if (ec) return;
      for (int i = 0; i < r.size(); ++i) per[r.i64(i, 0)].allowed = r.i64(i, 1);
    }
  }

  std::vector<std::int64_t> take, eps;  // eps: the endpoints of `take`
  for (auto const& c : cands) {
    if (c.paused) continue;  // moved above
    if (take.size() >= req.max) continue;
    auto& b = per[c.endpoint];
    if (!c.expired) {
      if (b.taken >= b.allowed) {
        held = held || b.others;
        contended = contended || b.contended;
        continue;
      }
      ++b.taken;
    }
    if (!b.listed) eps.push_back(c.endpoint);
    b.listed = true;
    take.push_back(c.id);
  }
  std::vector<due_delivery> claimed;
  std::vector<std::pair<delivery_id, std::int64_t>> tokens;
  std::vector<char> ordered;  // by index of `tokens`
  if (!take.empty()) {
    std::unordered_map<std::int64_t, std::size_t> order;
    for (std::size_t i = 0; i < take.size(); ++i) order[take[i]] = i;
    claimed.resize(take.size());
    tokens.resize(take.size());
    ordered.resize(take.size());
    std::unordered_map<std::int64_t, std::shared_ptr<std::string const>> payloads;
    // The headers and retry schedules of the endpoints that have some, decoded once per claim.
    struct endpoint_settings {
      std::vector<http_header> headers;
      std::vector<duration> retry_schedule;
    };
    std::unordered_map<std::int64_t, endpoint_settings> settings;
    std::vector<std::int64_t> ep_of(take.size());
    detail::pg_rows r, secret_rows;  // in a group: both statements in one round trip
    {
      detail::pg_params p1, p2;
      p1.i64_array(take).i64(to_unix_millis(req.lease_until)).i64(s.worker);
      p2.i64_array(eps);
      l.run_two(detail::pg_claim_take, p1, r, detail::pg_secrets_of, p2, secret_rows, ec);
      if (ec) return;
      if (static_cast<std::size_t>(r.size()) != take.size()) {
        ec = error::storage_failure;  // rows we hold locked cannot vanish
        return;
      }
      for (int i = 0; i < r.size(); ++i) {
        auto const k = order.at(r.i64(i, 0));
        auto& d = claimed[k];
        d.id = static_cast<delivery_id>(r.i64(i, 0));
        auto& payload = payloads[r.i64(i, 1)];
        if (!payload) payload = std::make_shared<std::string const>(r.bytes(i, 10));
        d.payload = payload;
        ep_of[k] = r.i64(i, 2);
        d.attempts = static_cast<std::uint32_t>(r.i64(i, 3));
        d.give_up_at = from_unix_millis(r.i64(i, 4));
        d.trigger = r.i64(i, 5) ? attempt_trigger::manual : attempt_trigger::scheduled;
        tokens[k] = {d.id, r.i64(i, 6)};
        d.ordered = r.i64(i, 21) != 0;
        ordered[k] = d.ordered;
        d.event_id = r.str(i, 7);
        d.event_type = r.str(i, 8);
        d.event_created_at = from_unix_millis(r.i64(i, 9));
        d.endpoint_id = r.str(i, 11);
        d.url = r.str(i, 12);
        d.endpoint_failing_since.reset();
        if (!r.is_null(i, 13)) d.endpoint_failing_since = from_unix_millis(r.i64(i, 13));
        d.endpoint_paused_until.reset();
        if (r.i64(i, 14) != 0) d.endpoint_paused_until = from_unix_millis(r.i64(i, 14));
        d.endpoint_rate_limit = detail::pg_rate(r, i, 15);
        d.endpoint_adaptive = detail::pg_adaptive(r, i, 17);
        // The settings as the endpoint's row has them now; every one is set or cleared.
        d.endpoint_timeout.reset();
        if (!r.is_null(i, 23)) d.endpoint_timeout = duration{r.i64(i, 23)};
        if (r.is_null(i, 22) && r.is_null(i, 24)) {
          d.endpoint_headers.clear();
          d.endpoint_retry_schedule.clear();
          continue;
        }
        auto [it, fresh] = settings.try_emplace(ep_of[k]);
        if (fresh && (!detail::decode_headers(detail::pg_setting(r, i, 22), it->second.headers) ||
                      !detail::decode_schedule(detail::pg_setting(r, i, 24), it->second.retry_schedule))) {
          ec = error::storage_failure;  // a corrupt endpoint row: the claim is rolled back
          return;
        }
        d.endpoint_headers = it->second.headers;
        d.endpoint_retry_schedule = it->second.retry_schedule;
      }
    }
    std::unordered_map<std::int64_t, std::vector<endpoint_secret>> secrets;
    {
      auto const& r = secret_rows;
      for (int i = 0; i < r.size(); ++i) {
        endpoint_secret sec;
        sec.value = r.str(i, 1);
        sec.created_at = from_unix_millis(r.i64(i, 2));
        if (!r.is_null(i, 3)) sec.expires_at = from_unix_millis(r.i64(i, 3));
        secrets[r.i64(i, 0)].push_back(std::move(sec));
      }
    }
    for (std::size_t k = 0; k < claimed.size(); ++k)
      claimed[k].secrets = active_secrets(secrets[ep_of[k]], req.now);
  }
  st.commit(ec);
  if (ec) return;
  {
    std::lock_guard lk(s.tokens_mu);
    for (std::size_t k = 0; k < tokens.size(); ++k)
      s.tokens[tokens[k].first] = {tokens[k].second, req.lease_until, ordered[k] != 0};
  }
  if (auto* g = l.group()) g->claimed.insert(g->claimed.end(), tokens.begin(), tokens.end());
  s.contended_streak = held && contended ? std::min(s.contended_streak.load() + 1, 16) : 0;
  if (held) s.held_at = now;
  for (auto& d : claimed) out.push_back(std::move(d));
}

inline std::optional<time_point> postgres_store::next_due_at(boost::system::error_code& ec) {
  ec = {};
  std::int64_t due = detail::pg_no_time;
  bool known = false;
  if (s_) {
    std::lock_guard lk(s_->mu);
    if (auto it = s_->due_after_commit.find(std::this_thread::get_id()); it != s_->due_after_commit.end()) {
      due = it->second;
      known = s_->open;
      s_->due_after_commit.erase(it);
    }
  }
  if (!known) {
    PULSEHOOK_DETAIL_PG_READY(std::nullopt);
    detail::pg_params none;
    auto r = l.run(detail::pg_next_due, none, ec);
    if (ec || r.empty()) return std::nullopt;
    due = r.i64(0, 0);
  } else if (due == detail::pg_no_time) {
    return std::nullopt;
  }
  auto const held = s_->held_at.load();
  if (held != detail::pg_no_time && due <= held) {
    auto poll = s_->opts.held_back_poll;
    if (auto const streak = s_->contended_streak.load(); streak > 0)
      poll = std::min(poll, s_->opts.contended_poll * (std::int64_t{1} << std::clamp(streak - 3, 0, 10)));
    return from_unix_millis(held) + poll;
  }
  return from_unix_millis(due);
}

inline std::uint64_t postgres_store::count_due(time_point now, boost::system::error_code& ec) {
  ec = {};
  PULSEHOOK_DETAIL_PG_READY(0);
  detail::pg_params p;
  p.i64(to_unix_millis(now));
  auto r = l.run(detail::pg_count_due, p, ec);
  if (ec || r.empty()) return 0;
  return static_cast<std::uint64_t>(r.i64(0, 0));
}

inline void postgres_store::record_attempt(attempt_record const& a, delivery_update const& u,
                                           boost::system::error_code& ec) {
  ec = {};
  if (a.delivery != u.id || u.state == delivery_state::pending ||
      static_cast<unsigned>(u.state) > 3 ||
      (u.state == delivery_state::retrying && !u.next_attempt_at) || u.reason.size() > 4096) {
    ec = error::invalid_argument;
    return;
  }
  PULSEHOOK_DETAIL_PG_READY();
  auto const lease = s.lease_of(u.id);
  auto const token = lease ? std::optional<std::int64_t>(lease->token) : std::nullopt;
  bool const closes = u.state != delivery_state::retrying;
  std::string_view body = a.response_body;
  bool truncated = a.body_truncated;
  if (body.size() > s.opts.max_response_body) {
    body = body.substr(0, s.opts.max_response_body);
    truncated = true;
  }
  std::string_view err = a.error;
  if (err.size() > 4096) err = err.substr(0, 4096);
  auto const req_h = detail::pg_encode_headers(a.request_headers);
  auto const resp_h = detail::pg_encode_headers(a.response_headers);
  // Inside a group, a result that finished well within this worker's lease goes out without
  // waiting (pipelined with the group's other records): nobody else can hold the delivery
  // then, so the database accepts it unless an administrator closed the delivery meanwhile
  // (delete_endpoint, resend); such a refusal, read later, rolls the whole group back (no
  // notification of it is given; the claims come back after their lease). A result near or
  // past the lease's end is recorded and checked at once: lease_lost is reported exactly.
  // Such records are gathered and go out as one statement (pg_record_many) before the group's
  // next statement or its commit: one statement and one counter update per endpoint for a
  // whole burst, instead of one each.
  if (l.group() && lease && a.started_at + a.elapsed + std::chrono::seconds{1} < lease->until) {
    detail::pg_step st(l, false, ec);
    if (ec) return;
    auto& b = l.group()->records;
    b.id.i64(static_cast<std::int64_t>(u.id));
    b.token.i64(lease->token);
    b.state.i64(static_cast<std::int64_t>(u.state));
    b.cls.i64(detail::pg_cls(u.state));
    b.next_at.opt_i64(u.next_attempt_at.has_value(),
                      u.next_attempt_at ? to_unix_millis(*u.next_attempt_at) : 0);
    b.reason.bytes(u.reason);
    b.number.i64(a.number);
    b.trigger.i64(static_cast<std::int64_t>(a.trigger));
    b.started_at.i64(to_unix_millis(a.started_at));
    b.elapsed.i64(static_cast<std::int64_t>(a.elapsed.count()));
    b.status.i64(a.status);
    b.error.bytes(err);
    b.truncated.i64(truncated ? 1 : 0);
    b.req_h.bytes(req_h);
    b.resp_h.bytes(resp_h);
    if (body.empty()) b.body.null();
    else b.body.bytes(body);
    s.forget_token(u.id);
    // the claim said whether it is ordered: the group's commit moves its queue on
    if (lease->ordered && closes) l.group()->queues.closed.push_back(static_cast<std::int64_t>(u.id));
    if (b.size() >= 512) detail::pg_flush_records(s, *l.group(), ec);  // bounded
    if (ec) return;
    return st.commit(ec);
  }
  // Closing an ordered delivery moves its queue on in the same transaction (outside a group,
  // one of the step's own; a single statement commits by itself). A delivery this store
  // claimed said at the claim whether it is ordered; for another one, the statement refuses
  // to close an ordered delivery outside such a transaction, and it is recorded again in one.
  for (int pass = 0; pass < 2; ++pass) {
    bool const queues = l.group() || pass == 1 || (closes && lease && lease->ordered);
    detail::pg_step st(l, queues && !l.group(), ec);
    if (ec) return;
    detail::pg_params p;
    p.i64(static_cast<std::int64_t>(u.id)).opt_i64(token.has_value(), token.value_or(0))
        .i64(static_cast<std::int64_t>(u.state)).i64(detail::pg_cls(u.state))
        .opt_i64(u.next_attempt_at.has_value(), u.next_attempt_at ? to_unix_millis(*u.next_attempt_at) : 0)
        .bytes(u.reason).i64(a.number).i64(static_cast<std::int64_t>(a.trigger))
        .i64(to_unix_millis(a.started_at)).i64(static_cast<std::int64_t>(a.elapsed.count()))
        .i64(a.status).bytes(err).i64(truncated ? 1 : 0).bytes(req_h).bytes(resp_h);
    if (body.empty()) p.null();
    else p.bytes(body);
    p.i64(l.slot()).i64(queues ? 1 : 0);
    auto r = l.run(detail::pg_record, p, ec);
    if (ec) return;
    if (r.empty()) {  // refused, nothing written: why?
      detail::pg_params q;
      q.i64(static_cast<std::int64_t>(u.id));
      auto why = l.run(detail::pg_delivery_state, q, ec);
      if (ec) return;
      detail::pg_check_open(why, token, ec);
      if (!ec && !queues && closes && why.i64(0, 2)) continue;  // ordered: in a transaction
      if (!ec) ec = error::storage_busy;  // it changed again since: try again
    }
    // This claim is over, unless its lease was lost: then the token stays, so that every
    // later call of this worker on the delivery stays fenced until it claims it again.
    if (token && ec != error::lease_lost) s.forget_token(u.id);
    if (ec) return st.unchanged();
    if (closes && r.i64(0, 1)) {
      detail::pg_queue_work w;
      w.closed.push_back(static_cast<std::int64_t>(u.id));
      detail::pg_finish_queues(l, w, ec);
      if (ec) return;
    }
    return st.commit(ec);
  }
}

inline void postgres_store::give_up(delivery_id id, std::string_view reason,
                                    boost::system::error_code& ec) {
  ec = {};
  if (reason.size() > 4096) {
    ec = error::invalid_argument;
    return;
  }
  PULSEHOOK_DETAIL_PG_READY();
  auto const lease = s.lease_of(id);
  auto const token = lease ? std::optional<std::int64_t>(lease->token) : std::nullopt;
  // As record_attempt: a queue's head closes in a transaction that moves the queue on.
  for (int pass = 0; pass < 2; ++pass) {
    bool const queues = l.group() || pass == 1 || (lease && lease->ordered);
    detail::pg_step st(l, queues && !l.group(), ec);
    if (ec) return;
    detail::pg_params p;
    p.i64(static_cast<std::int64_t>(id)).bytes(reason).opt_i64(token.has_value(), token.value_or(0))
        .i64(l.slot()).i64(queues ? 1 : 0);
    auto r = l.run(detail::pg_give_up, p, ec);
    if (ec) return;
    detail::pg_check_open(r, token, ec);
    bool const head = !ec && r.i64(0, 2);
    if (head && !queues) continue;  // refused, nothing written: in a transaction
    if (token && ec != error::lease_lost) s.forget_token(id);
    if (ec) return st.unchanged();
    if (head) {
      detail::pg_queue_work w;
      w.closed.push_back(static_cast<std::int64_t>(id));
      detail::pg_finish_queues(l, w, ec);
      if (ec) return;
    }
    return st.commit(ec);
  }
}

inline void postgres_store::release(delivery_id id, time_point next_attempt_at,
                                    boost::system::error_code& ec) {
  ec = {};
  PULSEHOOK_DETAIL_PG_READY();
  detail::pg_step st(l, false, ec);
  if (ec) return;
  auto const token = s.token_of(id);
  detail::pg_params p;
  p.i64(static_cast<std::int64_t>(id)).i64(to_unix_millis(next_attempt_at))
      .opt_i64(token.has_value(), token.value_or(0));
  auto r = l.run(detail::pg_release, p, ec);
  if (ec) return;
  detail::pg_check_open(r, token, ec);
  if (token && ec != error::lease_lost) s.forget_token(id);
  if (ec) return st.unchanged();
  st.commit(ec);
}

inline state_counts postgres_store::counts(std::string_view endpoint_id,
                                           boost::system::error_code& ec) {
  ec = {};
  PULSEHOOK_DETAIL_PG_READY({});
  detail::pg_params p;
  p.bytes(endpoint_id);
  auto r = l.run(detail::pg_counts, p, ec);
  if (ec) return {};
  if (r.empty()) {
    ec = error::not_found;
    return {};
  }
  state_counts c;
  c.pending = static_cast<std::uint64_t>(r.i64(0, 1));
  c.retrying = static_cast<std::uint64_t>(r.i64(0, 2));
  c.sent = static_cast<std::uint64_t>(r.i64(0, 3));
  c.failed = static_cast<std::uint64_t>(r.i64(0, 4));
  return c;
}

inline void postgres_store::create_endpoint(endpoint_record const& endpoint,
                                            boost::system::error_code& ec) {
  ec = {};
  endpoint_record ep = endpoint;
  {
    if (!s_) {
      ec = error::storage_failure;
      return;
    }
    std::unique_lock lk(s_->mu);
    auto const rules = s_->rules;
    lk.unlock();
    validate_endpoint(ep, rules, ec);
    if (ec) return;
  }
  normalize_event_types(ep.event_types);
  if (ep.enabled) ep.disabled_reason.clear();
  PULSEHOOK_DETAIL_PG_READY();
  detail::pg_step st(l, true, ec);
  if (ec) return;
  std::int64_t ix = 0;
  {
    auto const types = detail::pg_join_types(ep.event_types);
    detail::pg_params p;
    p.bytes(ep.id).bytes(ep.organization_id).bytes(ep.name).bytes(ep.url).bytes(ep.description)
        .bytes(types).i64(ep.enabled ? 1 : 0).bytes(ep.disabled_reason)
        .i64(to_unix_millis(ep.created_at)).i64(to_unix_millis(ep.updated_at));
    detail::pg_put_rate(p, ep.rate_limit);
    p.i64(ep.ordered ? 1 : 0);
    detail::pg_settings_text const settings(ep);
    settings.put(p, ep);
    auto r = l.run(detail::pg_ep_insert, p, ec);
    if (ec) return;
    if (r.empty()) {
      ec = error::already_exists;
      return st.unchanged();
    }
    ix = r.i64(0, 0);
  }
  {
    detail::pg_params p;
    p.bytes(ep.organization_id).i64(ix).text_array(ep.event_types);
    l.run(detail::pg_subs_insert, p, ec);
    if (ec) return;
  }
  detail::pg_store_secrets(l, ix, ep.secrets, ec);
  if (ec) return;
  st.commit(ec);
}

inline void postgres_store::update_endpoint(endpoint_record const& endpoint,
                                            boost::system::error_code& ec) {
  ec = {};
  PULSEHOOK_DETAIL_PG_READY();
  endpoint_rules rules;
  {
    std::lock_guard lk(s.mu);
    rules = s.rules;
  }
  detail::pg_step st(l, true, ec);
  if (ec) return;
  std::int64_t ix = 0;
  {
    detail::pg_params p;
    p.bytes(endpoint.id);
    auto r = l.run(detail::pg_ep_lock, p, ec);
    if (ec) return;
    if (r.empty()) {
      ec = error::not_found;
      return st.unchanged();
    }
    ix = r.i64(0, 0);
  }
  endpoint_record merged;
  detail::pg_load_endpoint(l, ix, merged, ec, false);
  if (ec) return;
  if (merged.organization_id != endpoint.organization_id) {
    ec = error::invalid_argument;
    return st.unchanged();
  }
  merged.name = endpoint.name;
  merged.url = endpoint.url;
  merged.description = endpoint.description;
  merged.event_types = endpoint.event_types;
  merged.rate_limit = endpoint.rate_limit;
  merged.ordered = endpoint.ordered;
  merged.headers = endpoint.headers;
  merged.timeout = endpoint.timeout;
  merged.retry_schedule = endpoint.retry_schedule;
  merged.metadata = endpoint.metadata;
  merged.updated_at = endpoint.updated_at;
  validate_endpoint(merged, rules, ec);
  if (ec) return st.unchanged();
  normalize_event_types(merged.event_types);
  {
    auto const types = detail::pg_join_types(merged.event_types);
    detail::pg_params p;
    p.i64(ix).bytes(merged.name).bytes(merged.url).bytes(merged.description).bytes(types)
        .i64(to_unix_millis(merged.updated_at));
    detail::pg_put_rate(p, merged.rate_limit);
    p.i64(merged.ordered ? 1 : 0);
    detail::pg_settings_text const settings(merged);
    settings.put(p, merged);
    l.run(detail::pg_ep_update, p, ec);
    if (ec) return;
  }
  {
    detail::pg_params p;
    p.bytes(merged.organization_id).i64(ix);
    l.run(detail::pg_subs_delete, p, ec);
    if (ec) return;
  }
  {
    detail::pg_params p;
    p.bytes(merged.organization_id).i64(ix).text_array(merged.event_types);
    l.run(detail::pg_subs_insert, p, ec);
    if (ec) return;
  }
  st.commit(ec);
}

inline void postgres_store::delete_endpoint(std::string_view id, time_point now,
                                            boost::system::error_code& ec) {
  ec = {};
  PULSEHOOK_DETAIL_PG_READY();
  detail::pg_step st(l, true, ec);
  if (ec) return;
  std::int64_t ix = 0;
  std::string org;
  {
    detail::pg_params p;
    p.bytes(id);
    auto r = l.run(detail::pg_ep_lock, p, ec);
    if (ec) return;
    if (r.empty()) {
      ec = error::not_found;
      return st.unchanged();
    }
    ix = r.i64(0, 0);
    org = r.str(0, 1);
  }
  {
    detail::pg_params p;
    p.i64(ix).i64(l.slot());
    l.run(detail::pg_ep_fail_open, p, ec);
    if (ec) return;
  }
  {
    detail::pg_params p;
    p.i64(ix).i64(to_unix_millis(now)).bytes(org);
    l.run(detail::pg_ep_mark_deleted, p, ec);
    if (ec) return;
  }
  st.commit(ec);
}

inline void postgres_store::get_endpoint(std::string_view id, endpoint_record& out,
                                         boost::system::error_code& ec) {
  ec = {};
  PULSEHOOK_DETAIL_PG_READY();
  auto const ix = detail::pg_find_endpoint(l, id, false, ec);
  if (ec) return;
  endpoint_record r;
  detail::pg_load_endpoint(l, *ix, r, ec);
  if (!ec) out = std::move(r);
}

inline void postgres_store::list_endpoints(std::string_view organization_id,
                                           std::vector<endpoint_record>& out,
                                           boost::system::error_code& ec) {
  ec = {};
  out.clear();
  PULSEHOOK_DETAIL_PG_READY();
  std::vector<std::int64_t> ixs;
  {
    detail::pg_params p;
    p.bytes(organization_id);
    auto r = l.run(detail::pg_ep_list, p, ec);
    if (ec) return;
    for (int i = 0; i < r.size(); ++i) ixs.push_back(r.i64(i, 0));
  }
  for (auto ix : ixs) {
    endpoint_record r;
    detail::pg_load_endpoint(l, ix, r, ec);
    if (ec) {
      out.clear();
      return;
    }
    out.push_back(std::move(r));
  }
}

inline void postgres_store::rotate_secret(std::string_view id, endpoint_secret const& fresh,
                                          duration grace, time_point now,
                                          boost::system::error_code& ec) {
  ec = {};
  validate_secret(fresh.value, ec);
  if (ec) return;
  if (grace.count() < 0) {
    ec = error::invalid_argument;
    return;
  }
  PULSEHOOK_DETAIL_PG_READY();
  detail::pg_step st(l, true, ec);
  if (ec) return;
  std::int64_t ix = 0;
  {
    detail::pg_params p;
    p.bytes(id);
    auto r = l.run(detail::pg_ep_lock, p, ec);
    if (ec) return;
    if (r.empty()) {
      ec = error::not_found;
      return st.unchanged();
    }
    ix = r.i64(0, 0);
  }
  std::vector<endpoint_secret> secrets;
  detail::pg_load_secrets(l, ix, secrets, ec);
  if (ec) return;
  rotate_secrets(secrets, fresh, grace, now);
  if (secrets.size() > 16) secrets.resize(16);
  detail::pg_store_secrets(l, ix, secrets, ec);
  if (ec) return;
  {
    detail::pg_params p;
    p.i64(ix).i64(to_unix_millis(now));
    l.run(detail::pg_ep_touch, p, ec);
    if (ec) return;
  }
  st.commit(ec);
}

inline void postgres_store::disable_endpoint(std::string_view id, std::string_view reason,
                                             time_point now, boost::system::error_code& ec) {
  ec = {};
  PULSEHOOK_DETAIL_PG_READY();
  {
    std::lock_guard lk(s.mu);
    if (reason.size() > s.rules.max_description_bytes || !is_valid_utf8(reason)) {
      ec = error::invalid_argument;
      return;
    }
  }
  detail::pg_step st(l, true, ec);
  if (ec) return;
  std::int64_t ix = 0;
  {
    detail::pg_params p;
    p.bytes(id);
    auto r = l.run(detail::pg_ep_lock, p, ec);
    if (ec) return;
    if (r.empty()) {
      ec = error::not_found;
      return st.unchanged();
    }
    ix = r.i64(0, 0);
  }
  {
    detail::pg_params p;
    p.i64(ix).bytes(reason).i64(to_unix_millis(now));
    l.run(detail::pg_ep_disable, p, ec);
    if (ec) return;
  }
  {
    detail::pg_params p;
    p.i64(ix);
    l.run(detail::pg_ep_park, p, ec);
    if (ec) return;
  }
  st.commit(ec);
}

inline bool postgres_store::disable_failing(std::string_view id, time_point failing_since_by,
                                            std::string_view reason, time_point now,
                                            boost::system::error_code& ec) {
  ec = {};
  PULSEHOOK_DETAIL_PG_READY(false);
  {
    std::lock_guard lk(s.mu);
    if (reason.size() > s.rules.max_description_bytes || !is_valid_utf8(reason)) {
      ec = error::invalid_argument;
      return false;
    }
  }
  detail::pg_step st(l, true, ec);
  if (ec) return false;
  detail::pg_params p;
  p.bytes(id).bytes(reason).i64(to_unix_millis(now)).i64(to_unix_millis(failing_since_by));
  auto r = l.run(detail::pg_ep_disable_failing, p, ec);
  if (ec) return false;
  if (r.empty()) {  // healthy, disabled already, deleted, or unknown: which?
    detail::pg_params q;
    q.bytes(id);
    auto known = l.run(detail::pg_endpoint_ix, q, ec);
    if (ec) return false;
    if (known.empty()) ec = error::not_found;
    st.unchanged();
    return false;
  }
  detail::pg_params q;
  q.i64(r.i64(0, 0));
  l.run(detail::pg_ep_park, q, ec);
  if (ec) return false;
  st.commit(ec);
  return !ec;
}

inline void postgres_store::enable_endpoint(std::string_view id, time_point now,
                                            boost::system::error_code& ec) {
  ec = {};
  PULSEHOOK_DETAIL_PG_READY();
  detail::pg_step st(l, true, ec);
  if (ec) return;
  std::int64_t ix = 0;
  {
    detail::pg_params p;
    p.bytes(id);
    auto r = l.run(detail::pg_ep_lock, p, ec);
    if (ec) return;
    if (r.empty()) {
      ec = error::not_found;
      return st.unchanged();
    }
    if (r.i64(0, 2)) return st.unchanged();  // enabled already
    ix = r.i64(0, 0);
  }
  for (auto stmt : {detail::pg_ep_enable, detail::pg_ep_unpark}) {
    detail::pg_params p;
    p.i64(ix).i64(to_unix_millis(now));
    l.run(stmt, p, ec);
    if (ec) return;
  }
  // Of its ordering queues, only the heads become due.
  detail::pg_queue_work w;
  w.endpoints.push_back(ix);
  w.endpoints_at.push_back(to_unix_millis(now));
  detail::pg_finish_queues(l, w, ec);
  if (ec) return;
  st.commit(ec);
}

inline void postgres_store::list_log(log_query const& qy, log_page& page,
                                     boost::system::error_code& ec) {
  ec = {};
  page.entries.clear();
  page.next_cursor.clear();
  if (qy.limit == 0 || qy.limit > 1000 || static_cast<unsigned>(qy.filter) > 2) {
    ec = error::invalid_argument;
    return;
  }
  std::uint64_t before = static_cast<std::uint64_t>(std::numeric_limits<std::int64_t>::max());
  if (!qy.cursor.empty() && !detail::decode_cursor(qy.cursor, qy.endpoint_id, qy.filter, before)) {
    ec = error::invalid_cursor;
    return;
  }
  PULSEHOOK_DETAIL_PG_READY();
  auto const ix = detail::pg_find_endpoint(l, qy.endpoint_id, true, ec);
  if (ec) return;
  detail::pg_params p;
  p.i64(*ix).i64(static_cast<std::int64_t>(before)).i64(static_cast<std::int64_t>(qy.limit + 1));
  if (qy.filter != log_filter::all) p.i64(qy.filter == log_filter::sent ? 1 : 2);
  auto r = l.run(qy.filter == log_filter::all ? detail::pg_log_all : detail::pg_log_cls, p, ec);
  if (ec) return;
  bool const more = static_cast<std::size_t>(r.size()) > qy.limit;
  int const n = std::min(r.size(), static_cast<int>(qy.limit));
  for (int i = 0; i < n; ++i) {
    log_entry le;
    detail::pg_read_delivery(r, i, 0, le.delivery);
    le.delivery.endpoint_id = qy.endpoint_id;
    le.delivery.event_id = r.str(i, 6);
    le.event_type = r.str(i, 7);
    le.event_created_at = from_unix_millis(r.i64(i, 8));
    le.actor = {r.str(i, 9), r.str(i, 10), r.str(i, 11)};
    page.entries.push_back(std::move(le));
  }
  if (more)
    page.next_cursor =
        detail::encode_cursor(qy.endpoint_id, qy.filter, page.entries.back().delivery.id);
}

inline void postgres_store::get_event(std::string_view event_id, event_detail& out,
                                      boost::system::error_code& ec) {
  ec = {};
  PULSEHOOK_DETAIL_PG_READY();
  event_detail det;
  std::int64_t ix = 0;
  {
    detail::pg_params p;
    p.bytes(event_id);
    auto r = l.run(detail::pg_event, p, ec);
    if (ec) return;
    if (r.empty()) {
      ec = error::not_found;
      return;
    }
    ix = r.i64(0, 0);
    det.event.id = r.str(0, 1);
    det.event.organization_id = r.str(0, 2);
    det.event.type = r.str(0, 3);
    det.event.created_at = from_unix_millis(r.i64(0, 4));
    det.event.actor = {r.str(0, 5), r.str(0, 6), r.str(0, 7)};
    det.event.payload = r.str(0, 8);
    if (!r.is_null(0, 9)) det.event.subject = r.str(0, 9);
    if (!r.is_null(0, 10)) det.erased_at = from_unix_millis(r.i64(0, 10));
    det.erased_by = r.str(0, 11);  // '' when not erased
  }
  {
    detail::pg_params p;
    p.i64(ix);
    auto r = l.run(detail::pg_event_deliveries, p, ec);
    if (ec) return;
    for (int i = 0; i < r.size(); ++i) {
      delivery_record d;
      detail::pg_read_delivery(r, i, 0, d);
      d.event_id = det.event.id;
      d.endpoint_id = r.str(i, 6);
      det.deliveries.push_back(std::move(d));
    }
  }
  {
    detail::pg_params p;
    p.i64(ix);
    auto r = l.run(detail::pg_event_attempts, p, ec);
    if (ec) return;
    for (int i = 0; i < r.size(); ++i) {
      attempt_record a;
      a.delivery = static_cast<delivery_id>(r.i64(i, 0));
      a.number = static_cast<std::uint32_t>(r.i64(i, 1));
      a.trigger = static_cast<attempt_trigger>(r.i64(i, 2));
      a.started_at = from_unix_millis(r.i64(i, 3));
      a.elapsed = duration{r.i64(i, 4)};
      a.status = static_cast<int>(r.i64(i, 5));
      a.error = r.str(i, 6);
      a.body_truncated = r.i64(i, 7) != 0;
      a.request_headers = detail::pg_decode_headers(r.bytes(i, 8));
      a.response_headers = detail::pg_decode_headers(r.bytes(i, 9));
      if (!r.is_null(i, 10)) a.response_body = r.str(i, 10);
      det.attempts.push_back(std::move(a));
    }
  }
  out = std::move(det);
}

inline void postgres_store::get_delivery(delivery_id id, delivery_record& out,
                                         boost::system::error_code& ec) {
  ec = {};
  PULSEHOOK_DETAIL_PG_READY();
  detail::pg_params p;
  p.i64(static_cast<std::int64_t>(id));
  auto r = l.run(detail::pg_get_delivery, p, ec);
  if (ec) return;
  if (r.empty()) {
    ec = error::not_found;
    return;
  }
  delivery_record d;
  detail::pg_read_delivery(r, 0, 0, d);
  d.event_id = r.str(0, 6);
  d.endpoint_id = r.str(0, 7);
  out = std::move(d);
}

inline void postgres_store::resend(delivery_id id, time_point now, boost::system::error_code& ec) {
  ec = {};
  PULSEHOOK_DETAIL_PG_READY();
  // One statement, unless the delivery was final and is ordered: it goes to the back of its
  // queue in a transaction that appends it (the statement refuses it outside one).
  for (int pass = 0; pass < 2; ++pass) {
    bool const queues = l.group() || pass == 1;
    detail::pg_step st(l, queues && !l.group(), ec);
    if (ec) return;
    detail::pg_params p;
    p.i64(static_cast<std::int64_t>(id)).i64(to_unix_millis(now)).i64(l.slot()).i64(
        to_unix_millis(now + resend_window)).i64(queues ? 1 : 0);
    auto r = l.run(detail::pg_resend, p, ec);
    if (ec) return;
    if (r.empty()) ec = error::not_found;
    else if (r.i64(0, 2)) ec = error::endpoint_deleted;
    else if (!r.i64(0, 1)) ec = error::endpoint_disabled;
    else if (r.i64(0, 3)) ec = error::event_erased;
    if (ec) return st.unchanged();
    if (r.i64(0, 4)) {
      if (!queues) continue;  // refused, nothing written
      detail::pg_queue_work w;
      w.append.push_back(static_cast<std::int64_t>(id));
      w.append_due.push_back(to_unix_millis(now));
      detail::pg_finish_queues(l, w, ec);
      if (ec) return;
    }
    return st.commit(ec);
  }
}

inline void postgres_store::resend_event(std::string_view event_id, time_point now,
                                         resend_event_result& out, boost::system::error_code& ec) {
  ec = {};
  out = {};
  PULSEHOOK_DETAIL_PG_READY();
  // As resend: ordered deliveries go to the back of their queues, in a transaction.
  for (int pass = 0; pass < 2; ++pass) {
    bool const queues = l.group() || pass == 1;
    detail::pg_step st(l, queues && !l.group(), ec);
    if (ec) return;
    detail::pg_params p;
    p.bytes(event_id).i64(to_unix_millis(now)).i64(l.slot()).i64(to_unix_millis(now + resend_window))
        .i64(queues ? 1 : 0);
    auto r = l.run(detail::pg_resend_event, p, ec);
    if (ec) return;
    if (r.empty()) {
      ec = error::not_found;
      return st.unchanged();
    }
    if (r.i64(0, 5)) {
      ec = error::event_erased;  // nothing was reopened
      return st.unchanged();
    }
    if (r.i64(0, 7)) continue;  // refused, nothing written
    resend_event_result done;
    detail::pg_queue_work w;
    for (int i = 0; i < r.size(); ++i) {
      if (r.is_null(i, 1)) continue;  // an event without deliveries
      if (r.i64(i, 3)) ++done.skipped_deleted;
      else if (!r.i64(i, 2)) ++done.skipped_disabled;
      else if (r.i64(i, 4) <= 1) ++done.already_open;  // pending or retrying
      else {
        done.reopened.push_back(static_cast<delivery_id>(r.i64(i, 1)));
        if (r.i64(i, 6)) {
          w.append.push_back(r.i64(i, 1));
          w.append_due.push_back(to_unix_millis(now));
        }
      }
    }
    detail::pg_finish_queues(l, w, ec);
    if (ec) return;
    st.commit(ec);
    if (!ec) out = std::move(done);
    return;
  }
}

inline void postgres_store::recover(recover_request const& req, recover_result& out,
                                    boost::system::error_code& ec) {
  std::int64_t since = 0;
  std::uint64_t after = 0;
  if (!detail::start_recover(req, out, since, after, ec)) return;
  PULSEHOOK_DETAIL_PG_READY();
  detail::pg_step st(l, true, ec);
  if (ec) return;
  std::int64_t endpoint = 0;
  {
    detail::pg_params p;
    p.bytes(req.endpoint_id);
    auto r = l.run(detail::pg_recover_endpoint, p, ec);
    if (ec) return;
    if (r.empty()) ec = error::not_found;
    else if (r.i64(0, 2)) ec = error::endpoint_deleted;
    else if (!r.i64(0, 1)) ec = error::endpoint_disabled;
    if (ec) return st.unchanged();
    endpoint = r.i64(0, 0);
  }
  // One row more than the batch says whether anything is left after it.
  std::vector<std::int64_t> ids;
  {
    detail::pg_params p;
    p.i64(endpoint).i64(static_cast<std::int64_t>(after)).i64(since).i64(
        static_cast<std::int64_t>(req.batch) + 1);
    auto r = l.run(detail::pg_recover_pick, p, ec);
    if (ec) return;
    for (int i = 0; i < r.size(); ++i) ids.push_back(r.i64(i, 0));
  }
  bool const more = ids.size() > req.batch;
  if (more) ids.pop_back();
  std::vector<std::int64_t> done;
  if (!ids.empty()) {
    detail::pg_params p;
    p.i64_array(ids).i64(to_unix_millis(req.now)).i64(l.slot()).i64(
        to_unix_millis(req.now + resend_window)).i64(endpoint);
    auto r = l.run(detail::pg_recover_reopen, p, ec);
    if (ec) return;
    detail::pg_queue_work w;  // the ordered ones to the back of their queues, in id order
    for (int i = 0; i < r.size(); ++i) {
      done.push_back(r.i64(i, 0));
      if (r.i64(i, 1)) {
        w.append.push_back(r.i64(i, 0));
        w.append_due.push_back(to_unix_millis(req.now));
      }
    }
    detail::pg_finish_queues(l, w, ec);
    if (ec) return;
  }
  st.commit(ec);
  if (ec) return;
  for (auto id : done) out.reopened.push_back(static_cast<delivery_id>(id));
  if (more)
    out.next_cursor = detail::encode_recover_cursor(req.endpoint_id, since,
                                                    static_cast<std::uint64_t>(ids.back()));
}

inline void postgres_store::erase_event(std::string_view event_id, time_point now,
                                        std::string_view by, erase_result& out,
                                        boost::system::error_code& ec) {
  out = {};
  if (!detail::valid_erased_by(by, ec)) return;
  PULSEHOOK_DETAIL_PG_READY();
  detail::pg_step st(l, true, ec);
  if (ec) return;
  std::int64_t ix = 0;
  {
    detail::pg_params p;
    p.bytes(event_id);
    auto r = l.run(detail::pg_erase_lock, p, ec);
    if (ec) return;
    if (r.empty()) {
      ec = error::not_found;
      return st.unchanged();
    }
    if (r.i64(0, 1)) return st.unchanged();  // erased before: nothing to do, nothing counted
    ix = r.i64(0, 0);
  }
  erase_result done;
  detail::pg_queue_work w;
  detail::pg_erase(l, std::span<std::int64_t const>(&ix, 1), to_unix_millis(now), by, done, w, ec);
  if (ec) return;
  detail::pg_finish_queues(l, w, ec);
  if (ec) return;
  st.commit(ec);
  if (!ec) out = done;
}

inline void postgres_store::erase_subject(erase_subject_request const& req, erase_result& out,
                                          boost::system::error_code& ec) {
  out = {};
  if (!detail::start_erase_subject(req, ec)) return;
  PULSEHOOK_DETAIL_PG_READY();
  detail::pg_step st(l, true, ec);
  if (ec) return;
  std::vector<std::int64_t> ixs;
  {
    detail::pg_params p;
    p.bytes(req.organization_id).bytes(req.subject).i64(static_cast<std::int64_t>(req.batch));
    auto r = l.run(detail::pg_erase_pick, p, ec);
    if (ec) return;
    for (int i = 0; i < r.size(); ++i) ixs.push_back(r.i64(i, 0));
  }
  erase_result done;
  detail::pg_queue_work w;
  if (!ixs.empty()) {
    detail::pg_erase(l, ixs, to_unix_millis(req.now), req.by, done, w, ec);
    if (ec) return;
  }
  // Then the actor names, with the room the events left, in the same transaction: the name
  // and the envelope's actor in the payload.
  if (done.events < req.batch) {
    detail::pg_params p;
    p.bytes(req.organization_id).bytes(req.subject).i64(
        static_cast<std::int64_t>(req.batch - done.events));
    auto r = l.run(detail::pg_erase_actor_pick, p, ec);
    if (ec) return;
    if (r.size() > 0) {
      detail::pg_array ix{detail::pg_array::int8_oid}, payload{detail::pg_array::bytea_oid};
      for (int i = 0; i < r.size(); ++i) {
        ix.i64(r.i64(i, 0));
        payload.bytes(detail::scrub_actor_name(r.bytes(i, 3), {r.str(i, 1), req.subject, r.str(i, 2)}));
      }
      detail::pg_params q;
      q.array(ix).array(payload);
      l.run(detail::pg_erase_actor_set, q, ec);
      if (ec) return;
      done.actors = static_cast<std::uint64_t>(r.size());
    }
  }
  if (done.events == 0 && done.actors == 0) return st.unchanged();  // none of either left
  detail::pg_finish_queues(l, w, ec);
  if (ec) return;
  st.commit(ec);
  if (!ec) out = done;
}

inline void postgres_store::record_audit(audit_entry const& e, boost::system::error_code& ec) {
  validate_audit_entry(e, ec);
  if (ec) return;
  PULSEHOOK_DETAIL_PG_READY();
  detail::pg_step st(l, false, ec);
  if (ec) return;
  detail::pg_params p;
  p.bytes(e.endpoint_id).bytes(e.action).bytes(e.actor).i64(to_unix_millis(e.at));
  auto r = l.run(detail::pg_audit_insert, p, ec);
  if (ec) return;
  if (r.empty()) {
    ec = error::not_found;
    return st.unchanged();
  }
  st.commit(ec);
}

inline void postgres_store::list_audit(std::string_view endpoint_id, std::size_t limit,
                                       std::vector<audit_entry>& out,
                                       boost::system::error_code& ec) {
  ec = {};
  out.clear();
  if (limit == 0 || limit > 1000) {
    ec = error::invalid_argument;
    return;
  }
  PULSEHOOK_DETAIL_PG_READY();
  auto const ix = detail::pg_find_endpoint(l, endpoint_id, true, ec);
  if (ec) return;
  detail::pg_params p;
  p.i64(*ix).i64(static_cast<std::int64_t>(limit));
  auto r = l.run(detail::pg_audit_list, p, ec);
  if (ec) return;
  for (int i = 0; i < r.size(); ++i) {
    audit_entry a;
    a.endpoint_id = std::string(endpoint_id);
    a.action = r.str(i, 0);
    a.actor = r.str(i, 1);
    a.at = from_unix_millis(r.i64(i, 2));
    out.push_back(std::move(a));
  }
}

inline void postgres_store::purge(purge_request const& req, purge_result& out,
                                  boost::system::error_code& ec) {
  ec = {};
  out = {};
  if (req.batch == 0 || req.events_older_than.count() < 0 || req.bodies_older_than.count() < 0) {
    ec = error::invalid_argument;
    return;
  }
  auto const ev_cut = to_unix_millis(req.now - req.events_older_than);
  auto const body_cut = to_unix_millis(req.now - req.bodies_older_than);
  auto const batch = static_cast<std::int64_t>(std::min<std::size_t>(req.batch, 100000));
  // One short transaction per batch (each statement commits by itself), the connection
  // handed back in between. The scan goes on after the last event a batch saw: events kept
  // (a delivery still open) are passed over, each counted once.
  std::int64_t after_at = detail::pg_no_time, after_ix = 0;
  for (;;) {
    PULSEHOOK_DETAIL_PG_READY();
    detail::pg_step st(l, false, ec);
    if (ec) return;
    detail::pg_params p;
    p.i64(ev_cut).i64(batch).i64(l.slot()).i64(after_at).i64(after_ix);
    auto r = l.run(detail::pg_purge_events, p, ec);
    if (ec) return;
    st.commit(ec);
    if (ec) return;
    out.events += static_cast<std::uint64_t>(r.i64(0, 0));
    out.deliveries += static_cast<std::uint64_t>(r.i64(0, 1));
    out.attempts += static_cast<std::uint64_t>(r.i64(0, 2));
    out.kept_open += static_cast<std::uint64_t>(r.i64(0, 3));
    if (r.i64(0, 4) < batch || r.is_null(0, 5)) break;
    after_at = r.i64(0, 5);
    after_ix = r.i64(0, 6);
  }
  for (;;) {
    PULSEHOOK_DETAIL_PG_READY();
    detail::pg_step st(l, false, ec);
    if (ec) return;
    detail::pg_params p;
    p.i64(body_cut).i64(batch);
    auto r = l.run(detail::pg_purge_bodies, p, ec);
    if (ec) return;
    st.commit(ec);
    if (ec) return;
    auto const n = r.i64(0, 0);
    out.bodies += static_cast<std::uint64_t>(n);
    if (n < batch) break;
  }
  {
    PULSEHOOK_DETAIL_PG_READY();
    detail::pg_step st(l, false, ec);
    if (ec) return;
    detail::pg_params p;
    p.i64(ev_cut);
    auto r = l.run(detail::pg_purge_endpoints, p, ec);
    if (ec) return;
    st.commit(ec);
    if (ec) return;
    out.endpoints = static_cast<std::uint64_t>(r.i64(0, 0));
  }
}

#undef PULSEHOOK_DETAIL_PG_READY

} // namespace pulsehook

#endif
