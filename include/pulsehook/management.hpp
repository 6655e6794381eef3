#ifndef PULSEHOOK_MANAGEMENT_HPP
#define PULSEHOOK_MANAGEMENT_HPP

/// @file
/// The management API and the Settings -> Webhooks console.
///
/// - `management_api<Registry, Store>`: the JSON API as a transport-independent handler
///   (`management_request` in, `management_response` out). Call it from your own HTTP stack.
/// - `management_server<Registry, Store>`: a Beast HTTP/1.1 server that serves the handler, the
///   Server-Sent Events stream and the console (static HTML/CSS/JS at `/`), mounted on your own
///   `io_context` executor, with bounded buffers and deadlines on every connection.
/// - `attempt_feed`: the thread-safe broadcaster behind the live stream. Feed it from the
///   dispatcher's `attempt_finished` callback.
///
/// Both work over any `event_log_storage` (storage.hpp) and any `event_registry`
/// (registry.hpp), and depend on nothing inside the dispatcher: the embedding code passes small
/// hooks (a metrics snapshot, a "wake the sender" call, the feed).
///
/// **Routes** (full table, bodies and errors: docs/management.md). Under `/api/v1`, every route
/// needs `Authorization: Bearer <token>`; a token maps to one organisation (`access_token`).
/// | method | path | answer |
/// |---|---|---|
/// | GET | `/api/v1/event-types` | the registry: name, resource, action, description |
/// | GET, POST | `/api/v1/endpoints` | the organisation's endpoints; create one (server-made id and secret) |
/// | GET, PATCH, DELETE | `/api/v1/endpoints/{id}` | one endpoint with its counts; edit; delete |
/// | POST | `/api/v1/endpoints/{id}/disable`, `/enable` | pause / resume deliveries |
/// | POST | `/api/v1/endpoints/{id}/secret/reveal` | the signing secret (recorded in the audit log) |
/// | POST | `/api/v1/endpoints/{id}/secret/rotate` | a new secret; the old one stays valid for the grace period |
/// | GET | `/api/v1/endpoints/{id}/events?filter=all\|sent\|failed&cursor=&limit=` | a page of the log plus the three counts |
/// | GET | `/api/v1/endpoints/{id}/events/{event_id}` | who, when, the payload, this endpoint's delivery, every attempt |
/// | POST | `/api/v1/endpoints/{id}/events/{event_id}/resend` | a manual resend |
/// | POST | `/api/v1/endpoints/{id}/recover` | `{"since": RFC 3339}`: reopen every failed delivery of the endpoint since then (202 with counts) |
/// | POST | `/api/v1/events/{event_id}/resend` | resend an event to all its endpoints (202 with counts) |
/// | POST | `/api/v1/events/{event_id}/erase` | erase the event's payload and its attempts' response bodies; its open deliveries are given up |
/// | POST | `/api/v1/erasures` | `{"subject": "mem_42"}`: erase every event of the organisation about that subject |
/// | GET | `/api/v1/endpoints/{id}/stream` | Server-Sent Events, one per finished attempt |
/// | GET | `/metrics` | Prometheus text (needs a `metrics_tokens` bearer token) |
/// | GET | `/healthz` | 200 when the store answers |
/// | GET | `/`, `/console.js`, `/console.css` | the console |
///
/// **Errors** are RFC 9457 `application/problem+json`: `{"type":"about:blank","title":...,
/// "status":...,"detail":...,"errors":[{"pointer":"#/url","code":"invalid_url","detail":...}]}`,
/// one `errors` entry per invalid field (`pointer`) or query parameter (`parameter`). A request
/// without a valid token gets 401 before anything else is looked at; another organisation's
/// endpoint or event is 404, exactly as an unknown one.
///
/// @par Example
/// @code
/// boost::asio::io_context io;
/// pulsehook::sqlite_store store{"webhooks.db"};
/// pulsehook::metapulse_dispatcher dispatcher{io.get_executor(), store};
/// auto feed = std::make_shared<pulsehook::attempt_feed>();
/// pulsehook::engine_callbacks cb;
/// cb.attempt_finished = [feed](pulsehook::attempt_finished_event const& e) { feed->publish(e); };
/// cb.delivery_failed = [feed](pulsehook::delivery_outcome const& o) { feed->publish(o); };
/// dispatcher.set_callbacks(std::move(cb));
///
/// pulsehook::management_options opt;
/// opt.tokens = {{"s3cr3t-admin-token", "org_7", "Ada (admin)"}};
/// opt.metrics = [&] { return dispatcher.metrics(); };
/// opt.wake = [&] { dispatcher.wake(); };
/// opt.feed = feed;
/// pulsehook::management_server<pulsehook::metapulse::registry, pulsehook::sqlite_store> console{
///     io.get_executor(), store, std::move(opt)};
/// console.listen({boost::asio::ip::make_address("127.0.0.1"), 8080});
/// dispatcher.start();
/// io.run();
/// @endcode

#include <pulsehook/operational.hpp>
#include <pulsehook/callbacks.hpp>
#include <pulsehook/endpoint.hpp>
#include <pulsehook/error.hpp>
#include <pulsehook/metrics.hpp>
#include <pulsehook/model.hpp>
#include <pulsehook/registry.hpp>
#include <pulsehook/storage.hpp>
#include <pulsehook/time.hpp>

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/system/error_code.hpp>

#include <array>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace pulsehook {

/// A bearer token and what it grants: one organisation's endpoints, acting as `principal`.
struct access_token {
  std::string token;            ///< the secret text a client sends as `Bearer <token>`
  std::string organization_id;  ///< the organisation it manages
  std::string principal;        ///< who it speaks for, recorded as "who" in audit entries
};

/// Bounds of the server and the handler. Every buffer fed by a client has one of these limits,
/// every wait one of these deadlines.
struct management_limits {
  std::size_t max_body = 64 * 1024;          ///< request body bytes; larger: 413
  std::size_t max_header_bytes = 8 * 1024;   ///< request line + headers; larger: 431
  std::size_t max_connections = 256;         ///< open connections; beyond: closed at accept
  duration header_timeout{std::chrono::seconds{10}};  ///< idle + request head, per request
  duration body_timeout{std::chrono::seconds{10}};    ///< request body
  duration write_timeout{std::chrono::seconds{10}};   ///< one response (or one stream write)
  std::size_t max_stream_clients = 64;       ///< concurrent event streams; beyond: 503
  std::size_t stream_queue = 256;            ///< notices queued per stream; beyond: dropped
  duration stream_heartbeat{std::chrono::seconds{15}};  ///< a comment line when idle
  std::size_t max_json_depth = 8;            ///< nesting of a request body
  std::size_t max_page = 100;                ///< the `limit` query parameter, 1..max_page
};

class attempt_feed;

/// What a management API serves, and the hooks into the embedding service.
struct management_options {
  /// The bearer tokens, each bound to an organisation. Compared in constant time.
  std::vector<access_token> tokens;
  /// Bearer tokens accepted on `/metrics` only (a Prometheus scraper's). None: `/metrics` is 401.
  std::vector<std::string> metrics_tokens;
  /// "Now", for timestamps the API writes. Empty: `system_clock`.
  std::function<time_point()> clock;
  /// The delivery engine's metrics for `/metrics` (e.g. `dispatcher.metrics()`). Empty: only
  /// the store's counts are exported.
  std::function<engine_metrics()> metrics;
  /// Called after a resend or an enable made deliveries due (e.g. `dispatcher.wake()`).
  std::function<void()> wake;
  /// The broadcaster behind `/stream`. Null: `/stream` answers 501.
  std::shared_ptr<attempt_feed> feed;
  /// New endpoint ids. Empty: "ep_" + 24 hex digits from OpenSSL `RAND_bytes`.
  std::function<std::string()> make_endpoint_id;
  /// New signing secrets. Empty: `generate_secret()` (secret.hpp).
  std::function<std::string()> make_secret;
  /// How long the previous secret stays valid after a rotation.
  duration rotation_grace{std::chrono::hours{24}};
  /// Field rules for endpoints (name length, URL size, ...). `known_event_type` is ignored:
  /// the registry decides. `egress` decides which literal addresses a URL may name (default:
  /// public ones only); give it the guard your transport uses (`http_transport_options::egress`).
  endpoint_rules rules;
  /// Serve the console at `/` (`management_server` and `management_api::handle`).
  bool serve_console = true;
  management_limits limits;
  /// Called after an endpoint was created, edited or deleted through the API, e.g.
  /// `operational::emitter::management_hook()` (operational events): the kind, the endpoint
  /// before (edited, deleted) and after (created, edited; null otherwise), who (the token's
  /// principal, as an actor of type "api_token") and when.
  std::function<void(operational::change_kind, endpoint_record const* before,
                     endpoint_record const* after, actor_info const& by, time_point now)>
      on_endpoint_change;
};

/// One request, as any HTTP stack can fill it.
struct management_request {
  std::string method;         ///< "GET", "POST", "PATCH", "DELETE", ...
  std::string target;         ///< origin-form: "/api/v1/endpoints?x=1"
  std::string authorization;  ///< the Authorization header's value ("Bearer ...")
  std::string content_type;   ///< the Content-Type header's value
  std::string body;
};

/// One answer. `headers` are to be added to the response as they are.
struct management_response {
  int status = 200;
  std::string content_type;
  std::string body;
  std::vector<http_header> headers;
  /// Set (status 200, empty body) on `GET .../stream` once the request is authorised: the
  /// caller streams this endpoint's notices from `attempt_feed::subscribe` as Server-Sent
  /// Events (`management_server` does).
  std::string stream_endpoint;
};

/// What the live stream says about one finished attempt. No response body or header: the
/// console fetches those through the API, where access is checked.
struct attempt_notice {
  std::string endpoint_id;
  std::string event_id;
  delivery_id delivery = 0;
  std::uint32_t attempt = 0;
  int status = 0;
  delivery_state state = delivery_state::pending;  ///< the state the delivery moved to
  std::string error;
  time_point started_at{};
  duration elapsed{};
};

namespace detail {
struct feed_core;
struct feed_subscriber;
} // namespace detail

/// A thread-safe broadcaster of finished attempts to live streams. Publishing never blocks on
/// a subscriber: each has a bounded queue, and one that falls behind by more than its queue is
/// marked dropped (its stream is closed; the console reconnects and reloads).
///
/// @par Thread safety
/// Every member may be called from any thread.
class attempt_feed {
public:
  /// @param max_subscribers streams at once; `subscribe` refuses more
  /// @param queue notices kept per subscriber before it is dropped
  explicit attempt_feed(std::size_t max_subscribers = 64, std::size_t queue = 256);

  /// Publishes a notice to the subscribers of its endpoint. Wire it to the dispatcher:
  /// `cb.attempt_finished = [feed](attempt_finished_event const& e) { feed->publish(e); };`
  void publish(attempt_finished_event const& e);
  /// Publishes a delivery that ended without a last attempt of its own (its deadline passed
  /// first, or its endpoint was deleted): wire `delivery_failed` too, so pages update then.
  /// `cb.delivery_failed = [feed](delivery_outcome const& o) { feed->publish(o); };`
  void publish(delivery_outcome const& outcome);
  /// As above, from a notice.
  void publish(attempt_notice notice);

  /// One subscriber's side.
  class subscription {
  public:
    ~subscription();
    subscription(subscription const&) = delete;
    subscription& operator=(subscription const&) = delete;
    /// Moves the queued notices (oldest first) into `out` (cleared first).
    void take(std::vector<attempt_notice>& out);
    /// True when notices were lost because the queue was full: close the stream.
    bool dropped() const;
    /// True when notices are queued.
    bool pending() const;

  private:
    friend class attempt_feed;
    subscription(std::shared_ptr<detail::feed_core> core, std::shared_ptr<detail::feed_subscriber> sub);
    std::shared_ptr<detail::feed_core> core_;
    std::shared_ptr<detail::feed_subscriber> sub_;
  };

  /// Subscribes to one endpoint's notices. `notify` is called (from the publishing thread,
  /// without locks held) whenever a notice is queued; it must only schedule work.
  /// @return null when `max_subscribers` are subscribed already
  std::unique_ptr<subscription> subscribe(std::string endpoint_id, std::function<void()> notify);

  /// Subscribers right now.
  std::size_t subscribers() const;

private:
  std::shared_ptr<detail::feed_core> core_;
};

/// The management API as a handler: `management_request` in, `management_response` out.
///
/// @tparam Registry the event registry (`event_registry`): the event types endpoints may
///         subscribe to, with the descriptions the console shows.
/// @tparam Store a model of `event_log_storage`; with `audit_log_storage` (both shipped stores)
///         secret reveals are recorded, without it the reveal route answers 501.
///
/// @par Thread safety
/// `handle` may be called from several threads at once (the store must be thread-safe, as
/// the shipped stores are).
template <class Registry, class Store>
class management_api {
  static_assert(detail::check_event_registry<Registry>());
  static_assert(event_log_storage<Store>,
                "pulsehook: management_api needs a Store modelling event_log_storage "
                "(storage.hpp), e.g. memory_store or sqlite_store");

public:
  /// @param store the store; must outlive the handler
  /// @param options tokens, hooks and limits
  management_api(Store& store, management_options options);

  /// Answers one request. Never throws for bad input; storage failures become 500 / 503.
  management_response handle(management_request const& request);

  /// The options in force.
  management_options const& options() const noexcept { return opt_; }
  Store& store() noexcept { return store_; }

private:
  Store& store_;
  management_options opt_;
  std::vector<std::array<unsigned char, 32>> token_digests_;
  std::vector<std::array<unsigned char, 32>> metrics_digests_;

  time_point now() const;
  std::optional<std::size_t> match(std::vector<std::array<unsigned char, 32>> const& digests,
                                   std::string_view authorization) const;
  management_response route_api(management_request const& req, access_token const& who,
                                std::vector<std::string> const& segments,
                                std::vector<std::pair<std::string, std::string>> const& query);
  management_response event_types();
  management_response list_endpoints(access_token const& who);
  management_response create_endpoint(management_request const& req, access_token const& who);
  management_response endpoint_answer(endpoint_record const& ep, int status);
  management_response update_endpoint(management_request const& req, endpoint_record ep,
                                      access_token const& who);
  management_response delete_endpoint(endpoint_record const& ep, access_token const& who);
  void changed(operational::change_kind k, endpoint_record const* before,
               endpoint_record const* after, access_token const& who);
  management_response set_enabled(management_request const& req, endpoint_record const& ep, bool enable,
                                  access_token const& who);
  management_response reveal_secret(endpoint_record const& ep, access_token const& who);
  management_response rotate_secret(management_request const& req, endpoint_record const& ep);
  management_response list_events(endpoint_record const& ep,
                                  std::vector<std::pair<std::string, std::string>> const& query);
  management_response event_detail_of(endpoint_record const& ep, std::string const& event_id);
  management_response resend(endpoint_record const& ep, std::string const& event_id);
  management_response recover(management_request const& req, endpoint_record const& ep);
  management_response resend_event(access_token const& who, std::string const& event_id);
  management_response erase_event(access_token const& who, std::string const& event_id);
  std::optional<management_response> load_event(std::string_view org, std::string const& event_id,
                                                event_detail& det);
  management_response erase_subject(management_request const& req, access_token const& who);
  management_response stream(endpoint_record const& ep);
  management_response metrics();
  management_response healthz();
};

namespace detail {
template <class Registry, class Store>
struct mgmt_server_state;
} // namespace detail

/// A Beast HTTP/1.1 server for `management_api`, the live stream and the console.
///
/// Each connection runs on its own strand of the executor; reads and writes have the deadlines
/// of `management_limits`, request heads and bodies their size limits, and at most
/// `max_connections` connections are open (more are closed at accept). A stream client that
/// reads too slowly (its queue fills, or one write takes longer than `write_timeout`) is
/// disconnected rather than buffered for.
///
/// @par Thread safety
/// The executor may be run by several threads. `listen`, `stop` and the accessors may be called
/// from any thread. The store must outlive the server and every handler it left on the
/// executor (run the `io_context` until it returns after `stop`).
template <class Registry, class Store>
class management_server {
public:
  using executor_type = boost::asio::any_io_executor;

  /// @param ex the executor connections run on (each on a strand of it)
  /// @param store the store; must be thread-safe and outlive the server
  /// @param options tokens, hooks and limits
  management_server(executor_type ex, Store& store, management_options options);
  management_server(management_server const&) = delete;
  management_server& operator=(management_server const&) = delete;
  /// Stops (see `stop`).
  ~management_server();

  /// Binds, listens and starts accepting.
  /// @param ec the bind / listen error (e.g. address in use)
  void listen(boost::asio::ip::tcp::endpoint const& at, boost::system::error_code& ec);
  /// As above. @throws boost::system::system_error on failure.
  void listen(boost::asio::ip::tcp::endpoint const& at);

  /// The bound address (port 0 in `listen` picks a free port: read it here).
  boost::asio::ip::tcp::endpoint local_endpoint() const;

  /// Stops accepting and closes every connection (streams included). Idempotent.
  void stop();

  /// Connections open right now.
  std::size_t connections() const noexcept;

  /// The handler the server calls.
  management_api<Registry, Store>& api() noexcept;

private:
  std::shared_ptr<detail::mgmt_server_state<Registry, Store>> state_;
};

} // namespace pulsehook

#include <pulsehook/impl/management.hpp>

#endif
