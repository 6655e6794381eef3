#ifndef PULSEHOOK_DISPATCHER_HPP
#define PULSEHOOK_DISPATCHER_HPP

/// @file
/// `basic_dispatcher`: the Asio driver of the delivery engine, and `metapulse_dispatcher`, the
/// ready alias (MetaPulse registry, `sqlite_store`, `http_transport`, `metapulse_scheme`,
/// `default_retry`, `system_clock`).
///
/// The dispatcher decides nothing about deliveries: the sans-I/O `delivery_engine`
/// (engine.hpp) does, and the simulator drives the very same engine in virtual time. The
/// dispatcher feeds it its inputs (publishes, transport results, the clock) on a strand of the
/// executor and carries out what `delivery_engine::advance` answers: each request goes to
/// `transport.async_send`, the turn's notices go to the callbacks, one `steady_timer` waits for
/// the next wake-up. Everything the engine promises holds: durable publishing, deadline-bounded
/// retries, fair sharing between endpoints, leases, group commit.
///
/// **Lifecycle.** `start()` resumes from storage: due deliveries go out at once, and claims
/// left by a process that died come back by themselves when their lease runs out (at-least-once).
/// `async_stop()` stops claiming new work, lets attempts in flight finish for at most
/// `engine_options::shutdown_timeout` (on the dispatcher's clock), then hands the rest back to
/// the store (due at once, for the next process) and completes. Destroying a running
/// dispatcher abandons its claims: they come back after their lease.
///
/// **Threads.** The engine runs on a strand of the executor. `publish`, `async_publish`,
/// `wake`, `start`, `stop`, `metrics`, `set_callbacks` may be called from any thread:
/// publishing writes through the store directly, so the storage policy must be thread-safe
/// (`memory_store` and `sqlite_store` are). Callbacks run on the strand, after the turn that
/// produced them is committed, and outside the dispatcher's lock (a callback may publish or
/// take metrics, and `metrics()` never waits for a callback).
///
/// **Group commit.** With a store modelling `group_commit_storage` (`sqlite_store`), each turn
/// (the results that came in, their records, the next claim) is one transaction and one sync,
/// and nothing of it is announced before it is committed. See
/// `engine_options::group_commit_window`.
///
/// @par Example
/// @code
/// boost::asio::io_context io;
/// pulsehook::sqlite_store store{"webhooks.db"};
/// pulsehook::metapulse_dispatcher d{io.get_executor(), store};
/// d.start();
/// pulsehook::envelope_context ctx{pulsehook::make_event_id(now, rng), "org_7", now,
///                                 {"member", "mem_42", "Ada"}};
/// d.publish(ctx, pulsehook::metapulse::objective_updated, objective, before);  // durable
/// io.run();
/// @endcode

#include <pulsehook/callbacks.hpp>
#include <pulsehook/engine.hpp>
#include <pulsehook/envelope.hpp>
#include <pulsehook/error.hpp>
#include <pulsehook/http_transport.hpp>
#include <pulsehook/metapulse/registry.hpp>
#include <pulsehook/metrics.hpp>
#include <pulsehook/model.hpp>
#include <pulsehook/options.hpp>
#include <pulsehook/registry.hpp>
#include <pulsehook/retry.hpp>
#include <pulsehook/schemes/metapulse.hpp>
#include <pulsehook/sqlite_store.hpp>
#include <pulsehook/storage.hpp>
#include <pulsehook/time.hpp>
#include <pulsehook/transport.hpp>

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/async_result.hpp>
#include <boost/system/error_code.hpp>

#include <chrono>
#include <concepts>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>

namespace pulsehook {

/// Run-time settings of a `basic_dispatcher`.
struct dispatcher_settings {
  /// The engine's tuning: caps and fair sharing, timeout, lease, group-commit window,
  /// shutdown timeout, storage retry delay, seed ... (engine.hpp). If
  /// `engine.known_event_type` is empty, the dispatcher fills it with its registry's lookup.
  engine_options engine;
  /// Errors of the background loop (storage failures, a throwing callback), with where they
  /// happened. Called on the strand. Empty: ignored (the engine retries by itself).
  std::function<void(boost::system::error_code const&, std::string_view where)> on_error;
  /// Endpoint validation rules the dispatcher installs on its store (when the store offers
  /// `set_endpoint_rules`). If `known_event_type` is empty, the dispatcher fills it with its
  /// registry's lookup, so endpoints subscribing to a type the registry does not have are
  /// refused with `error::unknown_event_type`. Replaces rules set on the store before.
  endpoint_rules endpoints;
};

namespace detail {
struct dispatcher_defaults {
  using retry_type = default_retry;
  using storage_type = sqlite_store;
  using transport_type = http_transport;
  using scheme_type = metapulse_scheme;
  using clock_type = system_clock;
};

template <class Registry, class Resolved>
struct dispatcher_state;
} // namespace detail

/// Sends a registry's events: the Asio driver of `delivery_engine`, composed from named options.
///
/// @tparam Registry the event registry (e.g. `metapulse::registry`): typed `publish` checks
///         event types and payloads against it at compile time.
/// @tparam Options any of `retry<P>`, `storage<S>`, `transport<T>`, `signature<S>`,
///         `clock<C>` (options.hpp), in any order; each replaces one default.
template <class Registry, class... Options>
class basic_dispatcher {
  static_assert(detail::check_dispatcher_options<Options...>());
  using resolved = typename detail::pack_options<detail::dispatcher_defaults, Options...>::type;

public:
  using registry_type = Registry;
  using retry_type = typename resolved::retry_type;
  using storage_type = typename resolved::storage_type;
  using transport_type = typename resolved::transport_type;
  using scheme_type = typename resolved::scheme_type;
  using clock_type = typename resolved::clock_type;
  using engine_type = delivery_engine<storage_type, retry_type, scheme_type>;
  using executor_type = boost::asio::any_io_executor;

private:
  static_assert(check_retry_policy<retry_type>());
  static_assert(check_storage_policy<storage_type>());
  static_assert(check_transport_policy<transport_type>());
  static_assert(check_signature_scheme<scheme_type>());
  static_assert(detail::check_clock_source<clock_type>());

public:
  /// @param ex        the executor the delivery loop runs on (a strand of it).
  /// @param store     the storage; must outlive the dispatcher; thread-safe (see above).
  /// @param transport the transport, moved in.
  /// @param settings  run-time settings.
  /// @param retry     the retry policy.
  /// @param scheme    the signature scheme.
  /// @param clock     the clock ("now" for attempts and timestamps).
  basic_dispatcher(executor_type ex, storage_type& store, transport_type transport,
                   dispatcher_settings settings = {}, retry_type retry = retry_type(),
                   scheme_type scheme = scheme_type(), clock_type clock = clock_type());

  /// As above, with a transport constructed from the executor (e.g. `http_transport`).
  basic_dispatcher(executor_type ex, storage_type& store, dispatcher_settings settings = {})
    requires std::constructible_from<transport_type, executor_type>
      : basic_dispatcher(ex, store, transport_type(ex), std::move(settings)) {}

  basic_dispatcher(basic_dispatcher const&) = delete;
  basic_dispatcher& operator=(basic_dispatcher const&) = delete;

  /// Abandons the loop without waiting: claims in flight come back after their lease.
  ~basic_dispatcher();

  /// Starts (or restarts after a stop) the delivery loop: resumes from storage at once.
  void start();

  /// Stops claiming work; attempts in flight finish within `shutdown_timeout`, the rest are
  /// handed back to the store. Completes with `void()` once stopped.
  template <class CompletionToken>
  auto async_stop(CompletionToken&& token);

  /// `async_stop` without waiting for it.
  void stop();

  /// Looks for due work now instead of at the next wake-up: after moving a `manual_clock`
  /// forward, or after work was made due behind the dispatcher's back (a resend or an enabled
  /// endpoint through the store, an event committed by another process). Any thread.
  void wake();

  /// Publishes an accepted event record through the engine: checks its type against the
  /// registry, stores it and its fan-out (one transaction), then wakes the loop. Durable when it
  /// returns without error.
  /// @param ec `unknown_event_type` when `event.type` is not in the registry; the store's
  ///        error otherwise
  void publish(event_record const& event, accept_result& result, boost::system::error_code& ec);
  /// As above. @throws boost::system::system_error on failure.
  accept_result publish(event_record const& event);

  /// Builds the event with `make_event<Registry>` (checked at compile time: the type must be in
  /// the registry and `data` its payload type) and publishes it.
  /// @throws boost::system::system_error on a storage failure.
  template <fixed_string Name, class Payload>
  accept_result publish(envelope_context const& ctx, event_tag<Name> tag, Payload const& data);
  /// The ".updated" form: `previous` is the resource before the change.
  template <fixed_string Name, class Payload>
  accept_result publish(envelope_context const& ctx, event_tag<Name> tag, Payload const& data,
                        Payload const& previous);

  /// The outbox: publishes inside the transaction the caller has open on `conn`, its own
  /// connection to the store's database (`PGconn*` with `postgres_store`, `sqlite3*` with
  /// `sqlite_store`: any `Connection` for which the store models `outbox_storage`). Nothing is
  /// sent unless the caller commits, and a rollback leaves nothing. The loop picks the event up
  /// after the commit: woken by the store's notification when it has them
  /// (`notifying_storage`: postgres_store's LISTEN/NOTIFY, in every process on the database),
  /// otherwise by a turn posted now, whose claim waits for the caller's transaction to end
  /// (sqlite_store: SQLite's write lock, up to its `busy_timeout`; after that, the loop tries
  /// again `storage_retry_delay` later). `metrics().published` counts the call, committed or not.
  /// @param ec `unknown_event_type` when `event.type` is not in the registry; the store's error
  ///        otherwise (`invalid_argument` when `conn` has no transaction open)
  template <class Connection>
  void publish(Connection conn, event_record const& event, accept_result& result,
               boost::system::error_code& ec)
    requires outbox_storage<storage_type, Connection>
  {
    publish_outbox(conn, event, result, ec);
  }
  /// As above. @throws boost::system::system_error on failure.
  template <class Connection>
  accept_result publish(Connection conn, event_record const& event)
    requires outbox_storage<storage_type, Connection>
  {
    accept_result r;
    boost::system::error_code ec;
    publish_outbox(conn, event, r, ec);
    throw_if(ec, "pulsehook::basic_dispatcher::publish (outbox)");
    return r;
  }
  /// The typed `publish` (checked at compile time), inside the caller's transaction on `conn`.
  template <class Connection, fixed_string Name, class Payload>
  accept_result publish(Connection conn, envelope_context const& ctx, event_tag<Name> tag,
                        Payload const& data)
    requires outbox_storage<storage_type, Connection>
  {
    return publish(conn, make_event<Registry>(ctx, tag, data));
  }
  /// The ".updated" form, inside the caller's transaction on `conn`.
  template <class Connection, fixed_string Name, class Payload>
  accept_result publish(Connection conn, envelope_context const& ctx, event_tag<Name> tag,
                        Payload const& data, Payload const& previous)
    requires outbox_storage<storage_type, Connection>
  {
    return publish(conn, make_event<Registry>(ctx, tag, data, previous));
  }

  /// Publishes asynchronously: the store call runs on the executor, and the token completes
  /// with `void(boost::system::error_code, accept_result)` once the event is durable.
  template <class CompletionToken>
  auto async_publish(event_record event, CompletionToken&& token);

  /// Manual resend of one delivery (the "Resend" button): the store reopens it, due now with
  /// a deadline of at least `now + resend_window` (storage.hpp), and the loop looks at once, so
  /// it gets a real attempt however old it is. Any thread.
  /// @param ec the store's: `not_found`, `endpoint_deleted`, `endpoint_disabled`
  void resend(delivery_id id, boost::system::error_code& ec)
    requires event_log_storage<storage_type>
  {
    store().resend(id, now_locked(), ec);
    if (!ec) wake();
  }
  /// As above. @throws boost::system::system_error on failure.
  void resend(delivery_id id)
    requires event_log_storage<storage_type>
  {
    boost::system::error_code ec;
    resend(id, ec);
    throw_if(ec, "pulsehook::basic_dispatcher::resend");
  }

  /// Resends a whole event (the "Resend to all endpoints" action): the store reopens every
  /// delivery of it whose endpoint is live and enabled, as `resend` reopens one
  /// (`bulk_resend_storage`, storage.hpp), and the loop looks at once. Deliveries to deleted or
  /// disabled endpoints are left alone and counted in `out`. Any thread.
  /// @param ec the store's: `not_found` (unknown or purged event)
  void resend_event(std::string_view event_id, resend_event_result& out,
                    boost::system::error_code& ec)
    requires bulk_resend_storage<storage_type>
  {
    store().resend_event(event_id, now_locked(), out, ec);
    if (!ec && !out.reopened.empty()) wake();
  }
  /// As above. @throws boost::system::system_error on failure.
  resend_event_result resend_event(std::string_view event_id)
    requires bulk_resend_storage<storage_type>
  {
    resend_event_result r;
    boost::system::error_code ec;
    resend_event(event_id, r, ec);
    throw_if(ec, "pulsehook::basic_dispatcher::resend_event");
    return r;
  }

  /// One batch of a recovery, resumable: the store reopens up to `req.batch` `failed`
  /// deliveries of `req.endpoint_id` whose event was created at or after `req.since`, after
  /// `req.cursor` (`req.now` is ignored: the dispatcher's clock is used), and the loop looks at
  /// once, so the batch is being sent while the next one is prepared. Keep
  /// `out.next_cursor` somewhere durable to resume after a crash; empty: done. Any thread.
  /// @param ec the store's: `not_found`, `endpoint_deleted`, `endpoint_disabled`,
  ///        `invalid_cursor`, `invalid_argument`
  void recover(recover_request req, recover_result& out, boost::system::error_code& ec)
    requires bulk_resend_storage<storage_type>
  {
    req.now = now_locked();
    store().recover(req, out, ec);
    if (!ec && !out.reopened.empty()) wake();
  }
  /// As above. @throws boost::system::system_error on failure.
  recover_result recover(recover_request const& req)
    requires bulk_resend_storage<storage_type>
  {
    recover_result r;
    boost::system::error_code ec;
    recover(req, r, ec);
    throw_if(ec, "pulsehook::basic_dispatcher::recover");
    return r;
  }

  /// Recovers every `failed` delivery of an endpoint whose event was created at or after
  /// `since` (the "Recover failed messages" action): runs the batches of `recover` above one
  /// after the other (each its own short transaction, `batch` deliveries each) and wakes the
  /// loop after each. Idempotent: running it again reopens only deliveries that have failed
  /// since. On an error the batches before it stay done (run it again to finish).
  /// @return how many deliveries were reopened (also on error: those reopened before it)
  /// @param ec as for `recover` above
  std::uint64_t recover(std::string_view endpoint_id, time_point since,
                        boost::system::error_code& ec, std::size_t batch = 500)
    requires bulk_resend_storage<storage_type>
  {
    recover_request req;
    req.endpoint_id = std::string(endpoint_id);
    req.since = since;
    req.batch = batch;
    std::uint64_t n = 0;
    recover_result r;
    do {
      recover(req, r, ec);
      if (ec) break;
      n += r.reopened.size();
      req.cursor = std::move(r.next_cursor);
    } while (!req.cursor.empty());
    return n;
  }
  /// As above. @throws boost::system::system_error on failure.
  std::uint64_t recover(std::string_view endpoint_id, time_point since, std::size_t batch = 500)
    requires bulk_resend_storage<storage_type>
  {
    boost::system::error_code ec;
    auto const n = recover(endpoint_id, since, ec, batch);
    throw_if(ec, "pulsehook::basic_dispatcher::recover");
    return n;
  }

  /// Erases an event's payload and its attempts' response bodies, and gives up its open
  /// deliveries ("payload erased"): the right to be forgotten for one event
  /// (`erasure_storage`, storage.hpp). Idempotent. An attempt already in flight may still reach
  /// its receiver; its result is not recorded. Any thread.
  /// @param by who asks (kept as `event_detail::erased_by`): <= 256 bytes of UTF-8, no controls
  /// @param ec the store's: `not_found` (unknown or purged event), `invalid_argument` (`by`)
  void erase_event(std::string_view event_id, std::string_view by, erase_result& out,
                   boost::system::error_code& ec)
    requires erasure_storage<storage_type>
  {
    store().erase_event(event_id, now_locked(), by, out, ec);
  }
  /// As above. @throws boost::system::system_error on failure.
  erase_result erase_event(std::string_view event_id, std::string_view by = {})
    requires erasure_storage<storage_type>
  {
    erase_result r;
    boost::system::error_code ec;
    erase_event(event_id, by, r, ec);
    throw_if(ec, "pulsehook::basic_dispatcher::erase_event");
    return r;
  }

  /// Erases every event of an organisation about `subject` (`event_record::subject`, by
  /// default the resource id: "mem_42"), as `erase_event` erases one, and the subject's name
  /// as the actor of the events it triggered (`actor.id == subject`; type and id stay): batch
  /// after batch of the store's `erase_subject`, each its own short transaction. On an error the batches before it
  /// stay done (run it again to finish: it is idempotent).
  /// @return the sums over the batches (also on error: those before it)
  /// @param by who asks, as for `erase_event`
  /// @param ec the store's: `invalid_argument` (subject not 1..256 printable ASCII bytes, `by`)
  erase_result erase_subject(std::string_view organization_id, std::string_view subject,
                             std::string_view by, boost::system::error_code& ec,
                             std::size_t batch = 500)
    requires erasure_storage<storage_type>
  {
    erase_subject_request req;
    req.organization_id = std::string(organization_id);
    req.subject = std::string(subject);
    req.now = now_locked();
    req.batch = batch;
    req.by = std::string(by);
    erase_result sum;
    erase_whole_subject(store(), req, sum, ec);
    return sum;
  }
  /// As above. @throws boost::system::system_error on failure.
  erase_result erase_subject(std::string_view organization_id, std::string_view subject,
                             std::string_view by = {}, std::size_t batch = 500)
    requires erasure_storage<storage_type>
  {
    boost::system::error_code ec;
    auto const r = erase_subject(organization_id, subject, by, ec, batch);
    throw_if(ec, "pulsehook::basic_dispatcher::erase_subject");
    return r;
  }

  /// Enables a disabled endpoint: its parked deliveries are due at once, and the loop looks at
  /// once. Any thread.
  /// @param ec the store's: `not_found`, `endpoint_deleted`
  void enable_endpoint(std::string_view endpoint_id, boost::system::error_code& ec)
    requires event_log_storage<storage_type>
  {
    store().enable_endpoint(endpoint_id, now_locked(), ec);
    if (!ec) wake();
  }
  /// As above. @throws boost::system::system_error on failure.
  void enable_endpoint(std::string_view endpoint_id)
    requires event_log_storage<storage_type>
  {
    boost::system::error_code ec;
    enable_endpoint(endpoint_id, ec);
    throw_if(ec, "pulsehook::basic_dispatcher::enable_endpoint");
  }

  /// Replaces the callbacks (callbacks.hpp). They run on the strand after each turn's commit;
  /// the engine produces only the notices whose callbacks are set.
  void set_callbacks(engine_callbacks callbacks);

  /// A snapshot of the engine's metrics (metrics.hpp).
  engine_metrics metrics() const;

  /// True between `start()` and the end of a stop.
  bool running() const noexcept;

  executor_type get_executor() const noexcept;
  storage_type& store() noexcept;
  transport_type& get_transport() noexcept;
  /// The clock; a `manual_clock` is moved through this (then call `wake()`).
  clock_type& get_clock() noexcept;

private:
  // Bodies of the constrained members sit in the class: clang 14 does not find member types in
  // the requires-clause of an out-of-line definition.
  time_point now_locked();
  template <class Connection>
  void publish_outbox(Connection conn, event_record const& event, accept_result& result,
                      boost::system::error_code& ec);

  using state_type = detail::dispatcher_state<Registry, resolved>;
  std::shared_ptr<state_type> state_;
};

/// The ready dispatcher for MetaPulse: `metapulse::registry`, `sqlite_store`, `http_transport`,
/// `metapulse_scheme`, `default_retry` (72 h), `system_clock`.
using metapulse_dispatcher = basic_dispatcher<metapulse::registry>;

} // namespace pulsehook

#include <pulsehook/impl/dispatcher.hpp>

#endif
