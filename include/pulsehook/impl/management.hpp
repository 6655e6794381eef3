#ifndef PULSEHOOK_IMPL_MANAGEMENT_HPP
#define PULSEHOOK_IMPL_MANAGEMENT_HPP

#include <pulsehook/management.hpp>

#include <pulsehook/detail/console_assets.hpp>
#include <pulsehook/detail/envelope_reader.hpp>
#include <pulsehook/detail/management_util.hpp>
#include <pulsehook/secret.hpp>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/strand.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/http/error.hpp>
#include <boost/beast/http/read.hpp>
#include <boost/beast/http/string_body.hpp>
#include <boost/beast/http/write.hpp>
#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>
#include <boost/url/parse.hpp>

#include <openssl/crypto.h>

#include <algorithm>
#include <atomic>
#include <charconv>
#include <cmath>
#include <list>
#include <map>
#include <mutex>
#include <set>
#include <stdexcept>

namespace pulsehook {

// ---- attempt_feed -------------------------------------------------------------------------------

namespace detail {

struct feed_subscriber {
  std::string endpoint_id;
  std::function<void()> notify;
  std::vector<attempt_notice> queue;  // guarded by feed_core::mu
  bool dropped = false;
};

struct feed_core {
  mutable std::mutex mu;
  std::size_t max_subscribers;
  std::size_t queue;
  std::vector<std::shared_ptr<feed_subscriber>> subs;
};

} // namespace detail

inline attempt_feed::attempt_feed(std::size_t max_subscribers, std::size_t queue)
    : core_(std::make_shared<detail::feed_core>()) {
  core_->max_subscribers = max_subscribers;
  core_->queue = std::max<std::size_t>(queue, 1);
}

inline void attempt_feed::publish(attempt_finished_event const& e) {
  attempt_notice n;
  n.endpoint_id = std::string(e.endpoint_id);
  n.event_id = std::string(e.event_id);
  n.delivery = e.attempt.delivery;
  n.attempt = e.attempt.number;
  n.status = e.attempt.status;
  n.state = e.update.state;
  n.error = e.attempt.error;
  n.started_at = e.attempt.started_at;
  n.elapsed = e.attempt.elapsed;
  publish(std::move(n));
}

inline void attempt_feed::publish(delivery_outcome const& o) {
  attempt_notice n;
  n.endpoint_id = std::string(o.endpoint_id);
  n.event_id = std::string(o.event_id);
  n.delivery = o.delivery;
  n.attempt = o.attempts;
  n.state = o.state;
  n.error = std::string(o.reason);
  n.started_at = o.at;
  publish(std::move(n));
}

inline void attempt_feed::publish(attempt_notice notice) {
  std::vector<std::function<void()>> wake;
  {
    std::lock_guard lk(core_->mu);
    for (auto const& s : core_->subs) {
      if (s->endpoint_id != notice.endpoint_id || s->dropped) continue;
      if (s->queue.size() >= core_->queue) {
        s->dropped = true;  // a slow reader loses its stream, never our memory
        s->queue.clear();
      } else {
        s->queue.push_back(notice);
      }
      if (s->notify) wake.push_back(s->notify);
    }
  }
  for (auto& w : wake) w();
}

inline std::unique_ptr<attempt_feed::subscription>
attempt_feed::subscribe(std::string endpoint_id, std::function<void()> notify) {
  std::lock_guard lk(core_->mu);
  if (core_->subs.size() >= core_->max_subscribers) return nullptr;
  auto sub = std::make_shared<detail::feed_subscriber>();
  sub->endpoint_id = std::move(endpoint_id);
  sub->notify = std::move(notify);
  core_->subs.push_back(sub);
  return std::unique_ptr<subscription>(new subscription(core_, std::move(sub)));
}

inline std::size_t attempt_feed::subscribers() const {
  std::lock_guard lk(core_->mu);
  return core_->subs.size();
}

inline attempt_feed::subscription::subscription(std::shared_ptr<detail::feed_core> core,
                                                std::shared_ptr<detail::feed_subscriber> sub)
    : core_(std::move(core)), sub_(std::move(sub)) {}

inline attempt_feed::subscription::~subscription() {
  std::lock_guard lk(core_->mu);
  std::erase(core_->subs, sub_);
}

inline void attempt_feed::subscription::take(std::vector<attempt_notice>& out) {
  out.clear();
  std::lock_guard lk(core_->mu);
  out.swap(sub_->queue);
}

inline bool attempt_feed::subscription::dropped() const {
  std::lock_guard lk(core_->mu);
  return sub_->dropped;
}

inline bool attempt_feed::subscription::pending() const {
  std::lock_guard lk(core_->mu);
  return !sub_->queue.empty();
}

// ---- management_api -----------------------------------------------------------------------------

namespace detail {

using mgmt_query = std::vector<std::pair<std::string, std::string>>;

inline management_response mgmt_json(int status, boost::json::value const& v) {
  management_response r;
  r.status = status;
  r.content_type = "application/json";
  r.body = boost::json::serialize(v);
  return r;
}

inline management_response mgmt_answer(mgmt_problem const& p) {
  management_response r;
  r.status = p.status;
  r.content_type = "application/problem+json";
  r.body = p.body();
  return r;
}

inline management_response mgmt_fail(int status, std::string detail) {
  mgmt_problem p;
  p.status = status;
  p.detail = std::move(detail);
  return mgmt_answer(p);
}

inline management_response mgmt_not_found(std::string_view what) {
  return mgmt_fail(404, "no such " + std::string(what));
}

inline management_response mgmt_method_not_allowed(char const* allow) {
  auto r = mgmt_fail(405, std::string("allowed methods: ") + allow);
  r.headers.push_back({"Allow", allow});
  return r;
}

// A store error as a problem. `what` names the object for 404s.
inline management_response mgmt_store_failure(boost::system::error_code const& ec,
                                              std::string_view what) {
  if (ec == error::not_found) return mgmt_not_found(what);
  mgmt_problem p;
  p.detail = ec.message();
  if (ec == error::already_exists || ec == error::endpoint_disabled ||
      ec == error::endpoint_deleted || ec == error::event_erased) {
    p.status = 409;
  } else if (ec == error::storage_busy) {
    p.status = 503;
    auto r = mgmt_answer(p);
    r.headers.push_back({"Retry-After", "1"});
    return r;
  } else if (ec == condition::bad_input) {
    p.status = 422;
    char const* ptr = ec == error::invalid_name ? "/name"
                      : ec == error::invalid_rate_limit ? "/rate_limit"
                      : ec == error::invalid_header ? "/headers"
                      : ec == error::invalid_timeout ? "/timeout_seconds"
                      : ec == error::invalid_retry_schedule ? "/retry_schedule"
                      : ec == error::invalid_metadata ? "/metadata"
                      : ec == error::invalid_url ? "/url"
                      : (ec == error::empty_subscription || ec == error::unknown_event_type ||
                         ec == error::invalid_event_type_pattern)
                          ? "/event_types"
                          : nullptr;
    if (ptr) p.field(ptr, ec, {});
  } else {
    p.status = 500;
    p.detail = "storage failure";
  }
  return mgmt_answer(p);
}

inline boost::json::object mgmt_actor(actor_info const& a) {
  return {{"type", mgmt_utf8(a.type)}, {"id", mgmt_utf8(a.id)}, {"name", mgmt_utf8(a.name)}};
}

// `ep`: the delivery's endpoint. An open delivery of an enabled endpoint with no next attempt
// is waiting behind an earlier one of its ordering key (docs/sending.md#ordered-delivery).
inline boost::json::object mgmt_delivery(delivery_record const& d, endpoint_record const& ep) {
  boost::json::object o;
  o["id"] = d.id;
  o["state"] = to_string(d.state);
  o["attempts"] = d.attempts;
  if (d.next_attempt_at) o["next_attempt_at"] = mgmt_time(*d.next_attempt_at);
  else o["next_attempt_at"] = nullptr;
  o["waiting"] = !d.next_attempt_at && ep.enabled &&
                 (d.state == delivery_state::pending || d.state == delivery_state::retrying);
  o["give_up_at"] = mgmt_time(d.give_up_at);
  o["reason"] = mgmt_utf8(d.reason);
  return o;
}

inline boost::json::array mgmt_headers(std::vector<http_header> const& hs) {
  boost::json::array a;
  for (auto const& h : hs)
    a.push_back(boost::json::object{{"name", mgmt_utf8(h.name)}, {"value", mgmt_utf8(h.value)}});
  return a;
}

inline boost::json::object mgmt_counts(state_counts const& c) {
  return {{"all", c.all()},           {"sent", c.sent},       {"failed", c.count(log_filter::failed)},
          {"pending", c.pending},     {"retrying", c.retrying}};
}

inline boost::json::object mgmt_endpoint(endpoint_record const& ep, state_counts const& c) {
  boost::json::object o;
  o["id"] = ep.id;
  o["name"] = mgmt_utf8(ep.name);
  o["url"] = mgmt_utf8(ep.url);
  o["description"] = mgmt_utf8(ep.description);
  boost::json::array types;
  for (auto const& t : ep.event_types) types.push_back(boost::json::string(mgmt_utf8(t)));
  o["event_types"] = std::move(types);
  o["enabled"] = ep.enabled;
  o["disabled_reason"] = mgmt_utf8(ep.disabled_reason);
  if (ep.disabled_at) o["disabled_at"] = mgmt_time(*ep.disabled_at);
  else o["disabled_at"] = nullptr;
  if (ep.failing_since) o["failing_since"] = mgmt_time(*ep.failing_since);
  else o["failing_since"] = nullptr;
  if (ep.paused_until) o["paused_until"] = mgmt_time(*ep.paused_until);
  else o["paused_until"] = nullptr;
  if (ep.rate_limit)
    o["rate_limit"] = {{"per_second", ep.rate_limit->per_second}, {"burst", ep.rate_limit->burst}};
  else
    o["rate_limit"] = nullptr;
  // The latest slow-down (AIMD, docs/sending.md#throttling): the rate it halved to, the rate it
  // grows back to, and from when to when (it may be over).
  if (ep.adaptive) {
    auto const& a = *ep.adaptive;
    auto const secs = a.step > 0 ? (a.ceiling - a.per_second) / a.step : 0.0;
    o["adaptive"] = {{"per_second", a.per_second}, {"ceiling", a.ceiling},
                     {"since", mgmt_time(a.since)},
                     {"until", mgmt_time(a.since + std::chrono::duration_cast<duration>(
                                                      std::chrono::duration<double>(secs)))}};
  } else {
    o["adaptive"] = nullptr;
  }
  o["ordered"] = ep.ordered;
  // Per-endpoint settings. A sensitive header's value (sensitive_header) is never shown:
  // null stands for it, and a PATCH that sends null back keeps it.
  boost::json::object headers;
  for (auto const& h : ep.headers) {
    if (sensitive_header(h.name)) headers[h.name] = nullptr;
    else headers[h.name] = h.value;
  }
  o["headers"] = std::move(headers);
  if (ep.timeout) o["timeout_seconds"] = static_cast<double>(ep.timeout->count()) / 1000.0;
  else o["timeout_seconds"] = nullptr;
  boost::json::array schedule;
  for (auto const d : ep.retry_schedule) schedule.push_back(static_cast<double>(d.count()) / 1000.0);
  o["retry_schedule"] = std::move(schedule);
  boost::json::object metadata;
  for (auto const& [k, v] : ep.metadata) metadata[k] = mgmt_utf8(v);
  o["metadata"] = std::move(metadata);
  o["created_at"] = mgmt_time(ep.created_at);
  o["updated_at"] = mgmt_time(ep.updated_at);
  if (!ep.secrets.empty()) o["secret_created_at"] = mgmt_time(ep.secrets.front().created_at);
  o["counts"] = mgmt_counts(c);
  return o;
}

// The console's security headers: nothing but our own script and style may run or load.
inline void mgmt_static_headers(management_response& r) {
  r.headers.push_back(
      {"Content-Security-Policy",
       "default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; "
       "img-src 'self'; form-action 'none'; frame-ancestors 'none'; base-uri 'none'"});
  r.headers.push_back({"Cache-Control", "no-cache"});
}

// True when `method` is one of the ", "-separated methods of `allow` (exactly: HTTP methods are
// case-sensitive tokens, and "ET" is not "GET").
inline bool mgmt_allows(std::string_view allow, std::string_view method) noexcept {
  while (!allow.empty()) {
    auto const comma = allow.find(", ");
    if (allow.substr(0, comma) == method) return true;
    if (comma == std::string_view::npos) break;
    allow.remove_prefix(comma + 2);
  }
  return false;
}

inline bool mgmt_segment_id(std::string_view s) noexcept {
  if (s.empty() || s.size() > 128) return false;
  return std::all_of(s.begin(), s.end(), [](char c) { return c > 0x20 && c < 0x7f; });
}

} // namespace detail

template <class Registry, class Store>
management_api<Registry, Store>::management_api(Store& store, management_options options)
    : store_(store), opt_(std::move(options)) {
  auto bad = [](char const* what) {
    throw boost::system::system_error(make_error_code(error::invalid_argument),
                                      std::string("pulsehook: management_options: ") + what);
  };
  for (auto const& t : opt_.tokens) {
    if (t.token.empty()) bad("a token is empty");
    if (!detail::mgmt_segment_id(t.organization_id)) bad("an organization_id is not 1..128 printable ASCII characters");
    audit_entry probe{"ep_probe", "secret.revealed", t.principal, {}};
    boost::system::error_code ec;
    validate_audit_entry(probe, ec);
    if (ec || t.principal.empty()) bad("a principal is empty, longer than 256 bytes or not UTF-8 text");
    detail::mgmt_digest d{};
    if (!detail::mgmt_sha256(t.token, d)) bad("SHA-256 is unavailable");
    token_digests_.push_back(d);
  }
  for (auto const& t : opt_.metrics_tokens) {
    if (t.empty()) bad("a metrics token is empty");
    detail::mgmt_digest d{};
    if (!detail::mgmt_sha256(t, d)) bad("SHA-256 is unavailable");
    metrics_digests_.push_back(d);
  }
  if (opt_.limits.max_page == 0 || opt_.limits.max_page > 1000) bad("limits.max_page must be 1..1000");
  opt_.rules.known_event_type = nullptr;
}

template <class Registry, class Store>
time_point management_api<Registry, Store>::now() const {
  return opt_.clock ? opt_.clock() : system_clock{}.now();
}

// Every configured digest is compared, whatever matched before: the time taken does not depend
// on which token (if any) the request carried.
template <class Registry, class Store>
std::optional<std::size_t> management_api<Registry, Store>::match(
    std::vector<std::array<unsigned char, 32>> const& digests, std::string_view authorization) const {
  constexpr std::string_view scheme = "bearer ";
  if (authorization.size() <= scheme.size()) return std::nullopt;
  for (std::size_t i = 0; i < scheme.size(); ++i) {
    char c = authorization[i];
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
    if (c != scheme[i]) return std::nullopt;
  }
  auto token = authorization.substr(scheme.size());
  while (!token.empty() && token.front() == ' ') token.remove_prefix(1);
  while (!token.empty() && token.back() == ' ') token.remove_suffix(1);
  if (token.empty() || token.size() > 4096) return std::nullopt;
  detail::mgmt_digest got{};
  if (!detail::mgmt_sha256(token, got)) return std::nullopt;
  std::optional<std::size_t> found;
  for (std::size_t i = 0; i < digests.size(); ++i) {
    bool const same = CRYPTO_memcmp(got.data(), digests[i].data(), got.size()) == 0;
    if (same && !found) found = i;
  }
  return found;
}

template <class Registry, class Store>
management_response management_api<Registry, Store>::handle(management_request const& req) {
  management_response res;
  try {
    res = [&]() -> management_response {
      auto parsed = boost::urls::parse_origin_form(req.target);
      if (!parsed || req.target.size() > 8192)
        return detail::mgmt_fail(400, "the request target is not a valid path");
      boost::urls::url_view const u = *parsed;
      std::vector<std::string> segs;
      for (auto s : u.segments()) segs.push_back(std::string(s));
      bool const get = req.method == "GET";

      if (opt_.serve_console && (segs.empty() || (segs.size() == 1 && segs[0].empty()) ||
                                 (segs.size() == 1 && (segs[0] == "console.js" || segs[0] == "console.css")))) {
        if (!get) return detail::mgmt_method_not_allowed("GET");
        std::string_view const path = segs.empty() || segs[0].empty() ? "/" : std::string_view(segs[0]);
        for (auto const& a : detail::console_assets)
          if (a.path == path || (path != "/" && a.path.substr(1) == path)) {
            management_response r;
            r.content_type = std::string(a.content_type);
            r.body = std::string(a.body);
            detail::mgmt_static_headers(r);
            return r;
          }
        return detail::mgmt_not_found("page");
      }
      if (segs.size() == 1 && segs[0] == "healthz") {
        if (!get) return detail::mgmt_method_not_allowed("GET");
        return healthz();
      }
      if (segs.size() == 1 && segs[0] == "metrics") {
        if (!match(metrics_digests_, req.authorization)) {
          auto r = detail::mgmt_fail(401, "a valid bearer token is required");
          r.headers.push_back({"WWW-Authenticate", "Bearer realm=\"pulsehook\""});
          return r;
        }
        if (!get) return detail::mgmt_method_not_allowed("GET");
        return metrics();
      }
      if (segs.size() >= 2 && segs[0] == "api" && segs[1] == "v1") {
        auto const who = match(token_digests_, req.authorization);
        if (!who) {
          // The same answer for a missing, malformed or unknown token, on every path.
          auto r = detail::mgmt_fail(401, "a valid bearer token is required");
          r.headers.push_back({"WWW-Authenticate", "Bearer realm=\"pulsehook\""});
          return r;
        }
        if (req.body.size() > opt_.limits.max_body)
          return detail::mgmt_fail(413, "the body is larger than " + std::to_string(opt_.limits.max_body) + " bytes");
        detail::mgmt_query query;
        for (auto p : u.params()) query.emplace_back(std::string(p.key), std::string(p.value));
        segs.erase(segs.begin(), segs.begin() + 2);
        return route_api(req, opt_.tokens[*who], segs, query);
      }
      return detail::mgmt_not_found("page");
    }();
  } catch (std::bad_alloc const&) {
    res = detail::mgmt_fail(503, "out of memory");
  } catch (std::exception const&) {
    res = detail::mgmt_fail(500, "internal error");
  }
  res.headers.push_back({"X-Content-Type-Options", "nosniff"});
  res.headers.push_back({"Referrer-Policy", "no-referrer"});
  res.headers.push_back({"X-Frame-Options", "DENY"});
  if (std::none_of(res.headers.begin(), res.headers.end(),
                   [](http_header const& h) { return h.name == "Cache-Control"; }))
    res.headers.push_back({"Cache-Control", "no-store"});
  return res;
}

namespace detail {

// Parses a request body into a JSON object whose keys are all in `allowed`. An empty body is
// an empty object when `optional`. On failure, `out` holds the problem.
inline bool mgmt_body(management_request const& req, std::initializer_list<std::string_view> allowed,
                      bool optional, std::size_t max_depth, boost::json::object& obj,
                      management_response& out) {
  if (req.body.empty()) {
    if (optional) return true;
    out = mgmt_fail(400, "a JSON object body is required");
    return false;
  }
  if (mgmt_media_type(req.content_type) != "application/json") {
    out = mgmt_fail(415, "the body must be application/json");
    return false;
  }
  boost::system::error_code ec;
  boost::json::parse_options po;
  po.max_depth = max_depth;
  auto v = boost::json::parse(req.body, ec, {}, po);
  if (ec) {
    out = mgmt_fail(400, make_error_code(error::invalid_json).message() + ": " + ec.message());
    return false;
  }
  if (!v.is_object()) {
    out = mgmt_fail(400, "the body must be a JSON object");
    return false;
  }
  obj = std::move(v.as_object());
  mgmt_problem p;
  p.status = 422;
  for (auto const& kv : obj)
    if (std::find(allowed.begin(), allowed.end(), std::string_view(kv.key())) == allowed.end())
      p.errors.push_back({"#/" + mgmt_pointer_token(kv.key()), {}, "unknown_field",
                          "unknown field (allowed: " + [&] {
                            std::string s;
                            for (auto a : allowed) s += (s.empty() ? "" : ", ") + std::string(a);
                            return s;
                          }() + ")"});
  if (!p.errors.empty()) {
    p.detail = "the body has unknown fields";
    out = mgmt_answer(p);
    return false;
  }
  return true;
}

inline void mgmt_type_error(mgmt_problem& p, std::string ptr, char const* want) {
  p.errors.push_back({"#" + std::move(ptr), {}, "invalid_type", std::string("must be ") + want});
}

} // namespace detail

template <class Registry, class Store>
management_response management_api<Registry, Store>::route_api(
    management_request const& req, access_token const& who, std::vector<std::string> const& segs,
    std::vector<std::pair<std::string, std::string>> const& query) {
  auto const& m = req.method;
  auto const n = segs.size();
  if (n == 1 && segs[0] == "event-types") {
    if (m != "GET") return detail::mgmt_method_not_allowed("GET");
    return event_types();
  }
  if (n == 3 && segs[0] == "events" && (segs[2] == "resend" || segs[2] == "erase")) {
    if (m != "POST") return detail::mgmt_method_not_allowed("POST");
    if (!detail::mgmt_segment_id(segs[1])) return detail::mgmt_not_found("event");
    return segs[2] == "resend" ? resend_event(who, segs[1]) : erase_event(who, segs[1]);
  }
  if (n == 1 && segs[0] == "erasures") {
    if (m != "POST") return detail::mgmt_method_not_allowed("POST");
    return erase_subject(req, who);
  }
  if (n == 0 || segs[0] != "endpoints") return detail::mgmt_not_found("resource");
  if (n == 1) {
    if (m == "GET") return list_endpoints(who);
    if (m == "POST") return create_endpoint(req, who);
    return detail::mgmt_method_not_allowed("GET, POST");
  }
  enum class route { endpoint, disable, enable, reveal, rotate, events, event, resend, recover, stream };
  route r{};
  char const* allow = "POST";
  if (n == 2) r = route::endpoint, allow = "GET, PATCH, DELETE";
  else if (n == 3 && segs[2] == "disable") r = route::disable;
  else if (n == 3 && segs[2] == "enable") r = route::enable;
  else if (n == 4 && segs[2] == "secret" && segs[3] == "reveal") r = route::reveal;
  else if (n == 4 && segs[2] == "secret" && segs[3] == "rotate") r = route::rotate;
  else if (n == 3 && segs[2] == "events") r = route::events, allow = "GET";
  else if (n == 4 && segs[2] == "events") r = route::event, allow = "GET";
  else if (n == 5 && segs[2] == "events" && segs[4] == "resend") r = route::resend;
  else if (n == 3 && segs[2] == "recover") r = route::recover;
  else if (n == 3 && segs[2] == "stream") r = route::stream, allow = "GET";
  else return detail::mgmt_not_found("resource");
  if (!detail::mgmt_allows(allow, m)) return detail::mgmt_method_not_allowed(allow);

  // Unknown, deleted and other organisations' endpoints answer alike.
  if (!detail::mgmt_segment_id(segs[1])) return detail::mgmt_not_found("endpoint");
  endpoint_record ep;
  boost::system::error_code ec;
  store_.get_endpoint(segs[1], ep, ec);
  if (ec == error::not_found || (!ec && ep.organization_id != who.organization_id))
    return detail::mgmt_not_found("endpoint");
  if (ec) return detail::mgmt_store_failure(ec, "endpoint");

  switch (r) {
  case route::endpoint:
    if (m == "GET") return endpoint_answer(ep, 200);
    if (m == "PATCH") return update_endpoint(req, std::move(ep), who);
    if (m == "DELETE") return delete_endpoint(ep, who);
    return detail::mgmt_method_not_allowed(allow);
  case route::disable: return set_enabled(req, ep, false, who);
  case route::enable: return set_enabled(req, ep, true, who);
  case route::reveal: return reveal_secret(ep, who);
  case route::rotate: return rotate_secret(req, ep);
  case route::events: return list_events(ep, query);
  case route::event:
    if (!detail::mgmt_segment_id(segs[3])) return detail::mgmt_not_found("event");
    return event_detail_of(ep, segs[3]);
  case route::resend:
    if (!detail::mgmt_segment_id(segs[3])) return detail::mgmt_not_found("event");
    return resend(ep, segs[3]);
  case route::recover: return recover(req, ep);
  case route::stream: return stream(ep);
  }
  return detail::mgmt_not_found("resource");
}

template <class Registry, class Store>
management_response management_api<Registry, Store>::event_types() {
  boost::json::array a;
  for (auto const& t : Registry::types())
    a.push_back(boost::json::object{{"name", t.name},
                                    {"resource", t.resource},
                                    {"action", t.action},
                                    {"description", t.description}});
  return detail::mgmt_json(200, boost::json::object{{"data", std::move(a)}});
}

template <class Registry, class Store>
management_response management_api<Registry, Store>::list_endpoints(access_token const& who) {
  std::vector<endpoint_record> eps;
  boost::system::error_code ec;
  store_.list_endpoints(who.organization_id, eps, ec);
  if (ec) return detail::mgmt_store_failure(ec, "organization");
  boost::json::array a;
  for (auto const& ep : eps) {
    auto const c = store_.counts(ep.id, ec);
    if (ec) return detail::mgmt_store_failure(ec, "endpoint");
    a.push_back(detail::mgmt_endpoint(ep, c));
  }
  return detail::mgmt_json(200, boost::json::object{{"data", std::move(a)}});
}

template <class Registry, class Store>
management_response management_api<Registry, Store>::endpoint_answer(endpoint_record const& ep,
                                                                     int status) {
  boost::system::error_code ec;
  auto const c = store_.counts(ep.id, ec);
  if (ec) return detail::mgmt_store_failure(ec, "endpoint");
  auto r = detail::mgmt_json(status, detail::mgmt_endpoint(ep, c));
  if (status == 201) r.headers.push_back({"Location", "/api/v1/endpoints/" + ep.id});
  return r;
}

namespace detail {

// Reads the endpoint fields of a create (all required but description) or an update (any),
// checking each with the library's validators; every invalid field gets its own entry.
// The per-endpoint settings of a create or PATCH body (docs/management.md): "headers",
// "timeout_seconds", "retry_schedule", "metadata"; null clears one. Each problem is reported at
// its own pointer, in the words of the rule it breaks.
inline void mgmt_settings_fields(boost::json::object const& o, endpoint_record& ep, mgmt_problem& p) {
  auto const bad = [](error e) { return make_error_code(e); };
  if (auto const* v = o.if_contains("headers")) {
    // {"Name": "value", ...} in order; a null value keeps the stored value of that header (the
    // API never shows a sensitive one, so a client sends back what it was shown).
    if (v->is_null()) {
      ep.headers.clear();
    } else if (!v->is_object()) {
      mgmt_type_error(p, "/headers", "null, or an object of header names and values");
    } else {
      std::vector<http_header> next;
      bool ok = true;
      if (v->as_object().size() > max_custom_headers) {
        p.field("/headers", bad(error::invalid_header),
                "at most " + std::to_string(max_custom_headers) + " headers");
        ok = false;
      }
      for (auto const& kv : v->as_object()) {
        std::string const name(kv.key());
        auto const ptr = "/headers/" + mgmt_pointer_token(name);
        std::string value;
        if (kv.value().is_null()) {
          auto const it = std::find_if(ep.headers.begin(), ep.headers.end(),
                                       [&](http_header const& h) { return detail::iequals_ascii(h.name, name); });
          if (it == ep.headers.end()) {
            p.field(ptr, bad(error::invalid_header), "null keeps a header's stored value; this endpoint has no such header");
            ok = false;
            continue;
          }
          value = it->value;
        } else if (!kv.value().is_string()) {
          mgmt_type_error(p, ptr, "a string, or null to keep the stored value");
          ok = false;
          continue;
        } else {
          value = std::string(kv.value().as_string());
        }
        if (auto const why = header_problem(name, value); !why.empty()) {
          p.field(ptr, bad(error::invalid_header), std::string(why));
          ok = false;
          continue;
        }
        for (auto const& h : next)
          if (detail::iequals_ascii(h.name, name)) {
            p.field(ptr, bad(error::invalid_header), "the same header twice (names ignore case)");
            ok = false;
          }
        next.push_back({name, std::move(value)});
      }
      if (ok) ep.headers = std::move(next);
    }
  }
  if (auto const* v = o.if_contains("timeout_seconds")) {
    static constexpr char const* hint = "null, or a number of seconds, e.g. 5 or 2.5";
    if (v->is_null()) {
      ep.timeout.reset();
    } else if (!v->is_number()) {
      mgmt_type_error(p, "/timeout_seconds", hint);
    } else {
      auto const secs = v->to_number<double>();
      auto const ms = secs * 1000.0;
      if (!(ms >= static_cast<double>(min_endpoint_timeout.count()) &&
            ms <= static_cast<double>(max_endpoint_timeout.count())))
        p.field("/timeout_seconds", bad(error::invalid_timeout), hint);
      else
        ep.timeout = duration{static_cast<duration::rep>(std::llround(ms))};
    }
  }
  if (auto const* v = o.if_contains("retry_schedule")) {
    static constexpr char const* hint =
        "null or [], or the seconds to wait after each failed attempt, e.g. [10, 60, 600]";
    if (v->is_null()) {
      ep.retry_schedule.clear();
    } else if (!v->is_array()) {
      mgmt_type_error(p, "/retry_schedule", hint);
    } else {
      auto const& a = v->as_array();
      std::vector<duration> steps;
      bool ok = true;
      if (a.size() > max_retry_steps) {
        p.field("/retry_schedule", bad(error::invalid_retry_schedule), hint);
        ok = false;
      }
      for (std::size_t i = 0; ok && i < a.size(); ++i) {
        auto const ptr = "/retry_schedule/" + std::to_string(i);
        double const ms = a[i].is_number() ? a[i].to_number<double>() * 1000.0 : -1.0;
        if (!(ms >= static_cast<double>(min_retry_step.count()) &&
              ms <= static_cast<double>(max_retry_step.count()))) {
          p.field(ptr, bad(error::invalid_retry_schedule), "a number of seconds, at most 604800 (7 days)");
          ok = false;
          continue;
        }
        steps.push_back(duration{static_cast<duration::rep>(std::llround(ms))});
      }
      if (ok) {
        endpoint_record probe;
        probe.retry_schedule = steps;
        boost::system::error_code ec;
        validate_endpoint_settings(probe, ec);
        if (ec) p.field("/retry_schedule", ec, hint);
        else ep.retry_schedule = std::move(steps);
      }
    }
  }
  if (auto const* v = o.if_contains("metadata")) {
    static constexpr char const* key_hint = "keys are 1 to 64 characters of A-Z a-z 0-9 _ . : / -";
    if (v->is_null()) {
      ep.metadata.clear();
    } else if (!v->is_object()) {
      mgmt_type_error(p, "/metadata", "null, or an object of labels: {\"team\": \"growth\"}");
    } else {
      std::map<std::string, std::string, std::less<>> next;
      bool ok = true;
      if (v->as_object().size() > max_metadata_labels) {
        p.field("/metadata", bad(error::invalid_metadata),
                "at most " + std::to_string(max_metadata_labels) + " labels");
        ok = false;
      }
      for (auto const& kv : v->as_object()) {
        std::string const key(kv.key());
        auto const ptr = "/metadata/" + mgmt_pointer_token(key);
        if (!kv.value().is_string()) {
          mgmt_type_error(p, ptr, "a string");
          ok = false;
          continue;
        }
        endpoint_record probe;
        probe.metadata.emplace(key, std::string(kv.value().as_string()));
        boost::system::error_code ec;
        validate_endpoint_settings(probe, ec);
        if (ec) {
          p.field(ptr, ec, std::string(key_hint) + "; values at most 512 bytes of text without control characters");
          ok = false;
          continue;
        }
        next.emplace(key, std::string(kv.value().as_string()));
      }
      if (ok) ep.metadata = std::move(next);
    }
  }
}

template <class Registry>
void mgmt_endpoint_fields(boost::json::object const& o, endpoint_record& ep, bool create,
                          endpoint_rules const& rules, mgmt_problem& p) {
  boost::system::error_code ec;
  auto required = [&](char const* key) {
    if (create && !o.contains(key))
      p.errors.push_back({std::string("#/") + key, {}, "required", "is required"});
  };
  required("name");
  required("url");
  required("event_types");
  if (auto const* v = o.if_contains("name")) {
    if (!v->is_string()) mgmt_type_error(p, "/name", "a string");
    else {
      ep.name = std::string(v->as_string());
      validate_endpoint_name(ep.name, rules, ec);
      if (ec)
        p.field("/name", ec, "1 to " + std::to_string(rules.max_name_chars) +
                                 " characters of UTF-8 text, not only spaces, no control characters");
    }
  }
  if (auto const* v = o.if_contains("url")) {
    if (!v->is_string()) mgmt_type_error(p, "/url", "a string");
    else {
      ep.url = std::string(v->as_string());
      validate_endpoint_url(ep.url, rules, ec);
      if (ec == error::egress_denied)
        p.field("/url", ec, "a public destination: loopback, private, link-local and metadata "
                            "addresses are refused unless the service's egress rules allow them");
      else if (ec)
        p.field("/url", ec, "an absolute http:// or https:// URL with a host, without "
                            "user:password@, at most " + std::to_string(rules.max_url_bytes) + " bytes");
    }
  }
  if (auto const* v = o.if_contains("description")) {
    if (!v->is_string()) mgmt_type_error(p, "/description", "a string");
    else {
      ep.description = std::string(v->as_string());
      if (ep.description.size() > rules.max_description_bytes || !is_valid_utf8(ep.description))
        p.field("/description", make_error_code(error::invalid_argument),
                "UTF-8 text of at most " + std::to_string(rules.max_description_bytes) + " bytes");
    }
  }
  if (auto const* v = o.if_contains("event_types")) {
    if (!v->is_array()) mgmt_type_error(p, "/event_types", "an array of event type names");
    else {
      auto const& a = v->as_array();
      ep.event_types.clear();
      if (a.empty())
        p.field("/event_types", make_error_code(error::empty_subscription),
                "choose at least one event type");
      else if (a.size() > rules.max_event_types)
        p.field("/event_types", make_error_code(error::invalid_argument),
                "at most " + std::to_string(rules.max_event_types) + " event types");
      else
        for (std::size_t i = 0; i < a.size(); ++i) {
          auto const ptr = "/event_types/" + std::to_string(i);
          if (!a[i].is_string()) {
            mgmt_type_error(p, ptr, "a string");
            continue;
          }
          std::string t(a[i].as_string());
          validate_event_type_name(t, ec);
          if (ec) {
            p.field(ptr, ec, "lower-case words joined by dots, e.g. \"graph.updated\"");
            continue;
          }
          if (!Registry::find(t)) {
            p.field(ptr, make_error_code(error::unknown_event_type),
                    "\"" + mgmt_utf8(t) + "\" is not one of the " + std::to_string(Registry::size) +
                        " event types (GET /api/v1/event-types)");
            continue;
          }
          ep.event_types.push_back(std::move(t));
        }
    }
  }
  if (auto const* v = o.if_contains("enabled")) {
    if (!v->is_bool()) mgmt_type_error(p, "/enabled", "true or false");
    else ep.enabled = v->as_bool();
  }
  if (auto const* v = o.if_contains("ordered")) {
    if (!v->is_bool()) mgmt_type_error(p, "/ordered", "true or false");
    else ep.ordered = v->as_bool();
  }
  if (auto const* v = o.if_contains("rate_limit")) {
    // null: no limit; else {"per_second": number, "burst": integer (default: per_second
    // rounded up, at least 1)}.
    static constexpr char const* expected =
        "null, or {\"per_second\": a number above 0 and at most 100000, \"burst\": 1 to 100000}";
    static constexpr char const* per_second_hint =
        "a number of requests per second above 0 and at most 100000, e.g. 2 or 0.5";
    static constexpr char const* burst_hint = "a whole number from 1 to 100000";
    if (v->is_null()) {
      ep.rate_limit.reset();
    } else if (!v->is_object()) {
      mgmt_type_error(p, "/rate_limit", expected);
    } else {
      auto const& r = v->as_object();
      request_rate rate;
      bool ok = true;
      for (auto const& kv : r)
        if (kv.key() != "per_second" && kv.key() != "burst") {
          p.field("/rate_limit/" + mgmt_utf8(kv.key()), make_error_code(error::invalid_argument),
                  "unknown member: only per_second and burst");
          ok = false;
        }
      auto const* ps = r.if_contains("per_second");
      if (!ps || !(ps->is_number())) {
        p.field("/rate_limit/per_second", make_error_code(error::invalid_rate_limit), per_second_hint);
        ok = false;
      } else {
        rate = request_rate::with_default_burst(ps->to_number<double>());
      }
      if (auto const* b = r.if_contains("burst")) {
        std::int64_t n = 0;
        if (b->is_int64()) n = b->as_int64();
        else if (b->is_uint64()) n = b->as_uint64() > 100000 ? 100001 : static_cast<std::int64_t>(b->as_uint64());
        else n = -1;
        if (n < 1 || n > 100000) {
          p.field("/rate_limit/burst", make_error_code(error::invalid_rate_limit), burst_hint);
          ok = false;
        } else {
          rate.burst = static_cast<std::uint32_t>(n);
        }
      }
      if (ok) {
        boost::system::error_code ec;
        validate_rate_limit(rate, ec);
        if (ec) p.field("/rate_limit/per_second", ec, per_second_hint);
        else ep.rate_limit = rate;
      }
    }
  }
  mgmt_settings_fields(o, ep, p);
}

} // namespace detail

template <class Registry, class Store>
management_response management_api<Registry, Store>::create_endpoint(management_request const& req,
                                                                     access_token const& who) {
  boost::json::object o;
  management_response bad;
  if (!detail::mgmt_body(req, {"name", "url", "description", "event_types", "enabled", "rate_limit", "ordered",
                          "headers", "timeout_seconds", "retry_schedule", "metadata"}, false,
                         opt_.limits.max_json_depth, o, bad))
    return bad;
  endpoint_record ep;
  detail::mgmt_problem p;
  p.status = 422;
  detail::mgmt_endpoint_fields<Registry>(o, ep, true, opt_.rules, p);
  if (!p.errors.empty()) {
    p.detail = "the endpoint is not valid";
    return detail::mgmt_answer(p);
  }
  auto const t = now();
  boost::system::error_code ec;
  std::string secret = opt_.make_secret ? opt_.make_secret() : generate_secret(ec);
  if (ec || secret.empty()) return detail::mgmt_fail(500, "could not generate a secret");
  ep.organization_id = who.organization_id;
  ep.secrets = {endpoint_secret{std::move(secret), t, std::nullopt}};
  ep.created_at = ep.updated_at = t;
  if (!ep.enabled) ep.disabled_reason = "disabled when created";
  for (int tries = 0; tries < 3; ++tries) {
    ep.id = opt_.make_endpoint_id ? opt_.make_endpoint_id() : detail::mgmt_random_id("ep_", ec);
    if (ec) return detail::mgmt_fail(500, "could not generate an id");
    store_.create_endpoint(ep, ec);
    if (ec != error::already_exists) break;
  }
  if (ec) return detail::mgmt_store_failure(ec, "endpoint");
  endpoint_record stored;
  store_.get_endpoint(ep.id, stored, ec);
  if (ec) return detail::mgmt_store_failure(ec, "endpoint");
  changed(operational::change_kind::created, nullptr, &stored, who);
  return endpoint_answer(stored, 201);
}

template <class Registry, class Store>
void management_api<Registry, Store>::changed(operational::change_kind k, endpoint_record const* before,
                                              endpoint_record const* after, access_token const& who) {
  if (!opt_.on_endpoint_change) return;
  // The change is committed: a hook that throws must not turn it into an error answer.
  try {
    opt_.on_endpoint_change(k, before, after, actor_info{"api_token", who.principal, who.principal}, now());
  } catch (...) {
  }
}

template <class Registry, class Store>
management_response management_api<Registry, Store>::update_endpoint(management_request const& req,
                                                                     endpoint_record ep,
                                                                     access_token const& who) {
  endpoint_record const before = ep;
  boost::json::object o;
  management_response bad;
  if (!detail::mgmt_body(req, {"name", "url", "description", "event_types", "rate_limit", "ordered",
                          "headers", "timeout_seconds", "retry_schedule", "metadata"}, false,
                         opt_.limits.max_json_depth, o, bad))
    return bad;
  detail::mgmt_problem p;
  p.status = 422;
  detail::mgmt_endpoint_fields<Registry>(o, ep, false, opt_.rules, p);
  if (!p.errors.empty()) {
    p.detail = "the endpoint is not valid";
    return detail::mgmt_answer(p);
  }
  ep.updated_at = now();
  boost::system::error_code ec;
  store_.update_endpoint(ep, ec);
  if (ec) return detail::mgmt_store_failure(ec, "endpoint");
  store_.get_endpoint(ep.id, ep, ec);
  if (ec) return detail::mgmt_store_failure(ec, "endpoint");
  changed(operational::change_kind::updated, &before, &ep, who);
  return endpoint_answer(ep, 200);
}

template <class Registry, class Store>
management_response management_api<Registry, Store>::delete_endpoint(endpoint_record const& ep,
                                                                     access_token const& who) {
  boost::system::error_code ec;
  store_.delete_endpoint(ep.id, now(), ec);
  if (ec) return detail::mgmt_store_failure(ec, "endpoint");
  changed(operational::change_kind::deleted, &ep, nullptr, who);
  management_response r;
  r.status = 204;
  return r;
}

template <class Registry, class Store>
management_response management_api<Registry, Store>::set_enabled(management_request const& req,
                                                                 endpoint_record const& ep,
                                                                 bool enable, access_token const& who) {
  boost::json::object o;
  management_response bad;
  if (!detail::mgmt_body(req, enable ? std::initializer_list<std::string_view>{}
                                     : std::initializer_list<std::string_view>{"reason"},
                         true, opt_.limits.max_json_depth, o, bad))
    return bad;
  boost::system::error_code ec;
  if (enable) {
    store_.enable_endpoint(ep.id, now(), ec);
  } else {
    std::string reason = "disabled through the management API";
    if (auto const* v = o.if_contains("reason")) {
      detail::mgmt_problem p;
      p.status = 422;
      if (!v->is_string()) detail::mgmt_type_error(p, "/reason", "a string");
      else if (reason = std::string(v->as_string());
               reason.size() > opt_.rules.max_description_bytes || !is_valid_utf8(reason))
        p.field("/reason", make_error_code(error::invalid_argument),
                "UTF-8 text of at most " + std::to_string(opt_.rules.max_description_bytes) + " bytes");
      if (!p.errors.empty()) return detail::mgmt_answer(p);
    }
    store_.disable_endpoint(ep.id, reason, now(), ec);
  }
  if (ec) return detail::mgmt_store_failure(ec, "endpoint");
  if (enable && opt_.wake) opt_.wake();
  endpoint_record fresh;
  store_.get_endpoint(ep.id, fresh, ec);
  if (ec) return detail::mgmt_store_failure(ec, "endpoint");
  if (ep.enabled != fresh.enabled)
    changed(enable ? operational::change_kind::updated : operational::change_kind::disabled, &ep, &fresh, who);
  return endpoint_answer(fresh, 200);
}

template <class Registry, class Store>
management_response management_api<Registry, Store>::reveal_secret(endpoint_record const& ep,
                                                                   access_token const& who) {
  if constexpr (audit_log_storage<Store>) {
    auto const t = now();
    boost::system::error_code ec;
    // Recorded first: a secret is never shown without its audit entry being durable.
    store_.record_audit(audit_entry{ep.id, "secret.revealed", who.principal, t}, ec);
    if (ec) return detail::mgmt_store_failure(ec, "endpoint");
    endpoint_record fresh;
    store_.get_endpoint(ep.id, fresh, ec);
    if (ec) return detail::mgmt_store_failure(ec, "endpoint");
    if (fresh.secrets.empty()) return detail::mgmt_fail(500, "the endpoint has no secret");
    return detail::mgmt_json(200, boost::json::object{
                                      {"secret", fresh.secrets.front().value},
                                      {"secret_created_at", detail::mgmt_time(fresh.secrets.front().created_at)},
                                      {"revealed_by", detail::mgmt_utf8(who.principal)},
                                      {"revealed_at", detail::mgmt_time(t)}});
  } else {
    (void)ep;
    (void)who;
    return detail::mgmt_fail(501, "revealing a secret needs a store with an audit log "
                                  "(audit_log_storage, storage.hpp)");
  }
}

template <class Registry, class Store>
management_response management_api<Registry, Store>::rotate_secret(management_request const& req,
                                                                   endpoint_record const& ep) {
  boost::json::object o;
  management_response bad;
  if (!detail::mgmt_body(req, {"grace_seconds"}, true, opt_.limits.max_json_depth, o, bad))
    return bad;
  duration grace = opt_.rotation_grace;
  if (auto const* v = o.if_contains("grace_seconds")) {
    constexpr std::int64_t max = 7 * 24 * 3600;
    detail::mgmt_problem p;
    p.status = 422;
    std::int64_t s = -1;
    if (v->is_int64()) s = v->as_int64();
    else if (v->is_uint64() && v->as_uint64() <= static_cast<std::uint64_t>(max)) s = static_cast<std::int64_t>(v->as_uint64());
    if (!v->is_number()) detail::mgmt_type_error(p, "/grace_seconds", "a whole number");
    else if (s < 0 || s > max)
      p.field("/grace_seconds", make_error_code(error::invalid_argument),
              "a whole number of seconds from 0 to " + std::to_string(max));
    if (!p.errors.empty()) return detail::mgmt_answer(p);
    grace = std::chrono::seconds{s};
  }
  auto const t = now();
  boost::system::error_code ec;
  std::string secret = opt_.make_secret ? opt_.make_secret() : generate_secret(ec);
  if (ec || secret.empty()) return detail::mgmt_fail(500, "could not generate a secret");
  store_.rotate_secret(ep.id, endpoint_secret{std::move(secret), t, std::nullopt}, grace, t, ec);
  if (ec) return detail::mgmt_store_failure(ec, "endpoint");
  return detail::mgmt_json(200, boost::json::object{
                                    {"rotated_at", detail::mgmt_time(t)},
                                    {"previous_secrets_expire_at", detail::mgmt_time(t + grace)}});
}

template <class Registry, class Store>
management_response management_api<Registry, Store>::list_events(
    endpoint_record const& ep, std::vector<std::pair<std::string, std::string>> const& query) {
  log_query q;
  q.endpoint_id = ep.id;
  q.limit = std::min<std::size_t>(50, opt_.limits.max_page);
  detail::mgmt_problem p;
  p.status = 400;
  std::set<std::string> seen;
  for (auto const& [k, v] : query) {
    if (!seen.insert(k).second) {
      p.errors.push_back({{}, detail::mgmt_utf8(k), "duplicate_parameter", "given more than once"});
      continue;
    }
    if (k == "filter") {
      if (v == "all") q.filter = log_filter::all;
      else if (v == "sent") q.filter = log_filter::sent;
      else if (v == "failed") q.filter = log_filter::failed;
      else p.errors.push_back({{}, "filter", "invalid_filter", "must be all, sent or failed"});
    } else if (k == "limit") {
      std::size_t n = 0;
      auto const [end, err] = std::from_chars(v.data(), v.data() + v.size(), n);
      if (err != std::errc{} || end != v.data() + v.size() || n == 0 || n > opt_.limits.max_page)
        p.errors.push_back({{}, "limit", "invalid_limit",
                            "must be a whole number from 1 to " + std::to_string(opt_.limits.max_page)});
      else q.limit = n;
    } else if (k == "cursor") {
      q.cursor = v;
    } else {
      p.errors.push_back({{}, detail::mgmt_utf8(k), "unknown_parameter",
                          "unknown parameter (allowed: filter, cursor, limit)"});
    }
  }
  if (!p.errors.empty()) {
    p.detail = "the query is not valid";
    return detail::mgmt_answer(p);
  }
  log_page page;
  boost::system::error_code ec;
  store_.list_log(q, page, ec);
  if (ec == error::invalid_cursor || ec == error::invalid_argument) {
    p.parameter("cursor", ec, "use the next_cursor of a page of this endpoint and filter");
    p.detail = "the query is not valid";
    return detail::mgmt_answer(p);
  }
  if (ec) return detail::mgmt_store_failure(ec, "endpoint");
  auto const c = store_.counts(ep.id, ec);
  if (ec) return detail::mgmt_store_failure(ec, "endpoint");
  boost::json::array a;
  a.reserve(page.entries.size());
  for (auto const& e : page.entries)
    a.push_back(boost::json::object{{"event_id", e.delivery.event_id},
                                    {"event_type", e.event_type},
                                    {"created_at", detail::mgmt_time(e.event_created_at)},
                                    {"actor", detail::mgmt_actor(e.actor)},
                                    {"delivery", detail::mgmt_delivery(e.delivery, ep)}});
  boost::json::object o;
  o["data"] = std::move(a);
  if (page.next_cursor.empty()) o["next_cursor"] = nullptr;
  else o["next_cursor"] = page.next_cursor;
  o["counts"] = detail::mgmt_counts(c);
  return detail::mgmt_json(200, o);
}

// The event `event_id` of organisation `org` into `det`; else the answer to give: 404 for an
// unknown, purged or another organisation's event (exactly alike), 500 / 503 for the store.
template <class Registry, class Store>
std::optional<management_response> management_api<Registry, Store>::load_event(
    std::string_view org, std::string const& event_id, event_detail& det) {
  boost::system::error_code ec;
  store_.get_event(event_id, det, ec);
  if (ec == error::not_found || (!ec && det.event.organization_id != org))
    return detail::mgmt_not_found("event");
  if (ec) return detail::mgmt_store_failure(ec, "event");
  return std::nullopt;
}

template <class Registry, class Store>
management_response management_api<Registry, Store>::event_detail_of(endpoint_record const& ep,
                                                                     std::string const& event_id) {
  event_detail det;
  if (auto bad = load_event(ep.organization_id, event_id, det)) return std::move(*bad);
  auto const d = std::find_if(det.deliveries.begin(), det.deliveries.end(),
                              [&](delivery_record const& x) { return x.endpoint_id == ep.id; });
  if (d == det.deliveries.end()) return detail::mgmt_not_found("event");
  boost::json::array attempts;
  for (auto const& a : det.attempts) {
    if (a.delivery != d->id) continue;
    boost::json::object x;
    x["number"] = a.number;
    x["trigger"] = a.trigger == attempt_trigger::manual ? "manual" : "scheduled";
    x["started_at"] = detail::mgmt_time(a.started_at);
    x["duration_ms"] = a.elapsed.count();
    if (a.status) x["status"] = a.status;
    else x["status"] = nullptr;
    x["error"] = detail::mgmt_utf8(a.error);
    x["response_body"] = detail::mgmt_utf8(a.response_body);
    x["body_truncated"] = a.body_truncated;
    x["request_headers"] = detail::mgmt_headers(a.request_headers);
    x["response_headers"] = detail::mgmt_headers(a.response_headers);
    attempts.push_back(std::move(x));
  }
  boost::json::object ev;
  ev["id"] = det.event.id;
  ev["type"] = det.event.type;
  ev["created_at"] = detail::mgmt_time(det.event.created_at);
  ev["actor"] = detail::mgmt_actor(det.event.actor);
  ev["payload"] = detail::mgmt_utf8(det.event.payload);
  if (det.event.subject.empty()) ev["subject"] = nullptr;
  else ev["subject"] = det.event.subject;
  if (det.erased_at) {
    ev["erased_at"] = detail::mgmt_time(*det.erased_at);
    ev["erased_by"] = det.erased_by;
  } else {
    ev["erased_at"] = nullptr;
    ev["erased_by"] = nullptr;
  }
  return detail::mgmt_json(200, boost::json::object{{"event", std::move(ev)},
                                                    {"delivery", detail::mgmt_delivery(*d, ep)},
                                                    {"attempts", std::move(attempts)}});
}

template <class Registry, class Store>
management_response management_api<Registry, Store>::resend(endpoint_record const& ep,
                                                            std::string const& event_id) {
  event_detail det;
  if (auto bad = load_event(ep.organization_id, event_id, det)) return std::move(*bad);
  boost::system::error_code ec;
  auto const d = std::find_if(det.deliveries.begin(), det.deliveries.end(),
                              [&](delivery_record const& x) { return x.endpoint_id == ep.id; });
  if (d == det.deliveries.end()) return detail::mgmt_not_found("event");
  store_.resend(d->id, now(), ec);
  if (ec) return detail::mgmt_store_failure(ec, "event");
  if (opt_.wake) opt_.wake();
  delivery_record fresh;
  store_.get_delivery(d->id, fresh, ec);
  if (ec) return detail::mgmt_store_failure(ec, "event");
  return detail::mgmt_json(202, boost::json::object{{"delivery", detail::mgmt_delivery(fresh, ep)}});
}

template <class Registry, class Store>
management_response management_api<Registry, Store>::recover(management_request const& req,
                                                             endpoint_record const& ep) {
  if constexpr (bulk_resend_storage<Store>) {
    boost::json::object o;
    management_response bad;
    if (!detail::mgmt_body(req, {"since"}, false, opt_.limits.max_json_depth, o, bad)) return bad;
    auto const t = now();
    std::optional<time_point> since;
    detail::mgmt_problem p;
    p.status = 422;
    auto const want = "an RFC 3339 date-time, e.g. \"2026-12-01T09:00:00Z\", not after now";
    if (auto const* v = o.if_contains("since"); !v)
      p.field("/since", make_error_code(error::invalid_argument), std::string("required: ") + want);
    else if (!v->is_string())
      detail::mgmt_type_error(p, "/since", "an RFC 3339 date-time string");
    else if (since = detail::parse_rfc3339(std::string_view(v->as_string())); !since || *since > t)
      p.field("/since", make_error_code(error::invalid_argument), want);
    if (!p.errors.empty()) return detail::mgmt_answer(p);
    // Batch after batch, each its own short transaction; the sender is woken after each, so
    // the first batch is on its way while the next is reopened.
    recover_request rq;
    rq.endpoint_id = ep.id;
    rq.since = *since;
    rq.now = t;
    std::uint64_t reopened = 0, batches = 0;
    recover_result res;
    boost::system::error_code ec;
    do {
      store_.recover(rq, res, ec);
      if (ec) break;
      ++batches;
      reopened += res.reopened.size();
      if (!res.reopened.empty() && opt_.wake) opt_.wake();
      rq.cursor = std::move(res.next_cursor);
    } while (!rq.cursor.empty());
    // The batches before a failure stay done; running the recovery again finishes it.
    if (ec) return detail::mgmt_store_failure(ec, "endpoint");
    return detail::mgmt_json(202, boost::json::object{{"endpoint_id", ep.id},
                                                      {"since", detail::mgmt_time(*since)},
                                                      {"reopened", reopened},
                                                      {"batches", batches}});
  } else {
    (void)req;
    (void)ep;
    return detail::mgmt_fail(501, "this store cannot recover deliveries in bulk (bulk_resend_storage)");
  }
}

template <class Registry, class Store>
management_response management_api<Registry, Store>::resend_event(access_token const& who,
                                                                  std::string const& event_id) {
  if constexpr (bulk_resend_storage<Store>) {
    event_detail det;
    if (auto bad = load_event(who.organization_id, event_id, det)) return std::move(*bad);
    boost::system::error_code ec;
    resend_event_result res;
    store_.resend_event(event_id, now(), res, ec);
    if (ec) return detail::mgmt_store_failure(ec, "event");
    if (!res.reopened.empty() && opt_.wake) opt_.wake();
    boost::json::array eps;
    for (auto const& d : det.deliveries)
      if (std::binary_search(res.reopened.begin(), res.reopened.end(), d.id))
        eps.push_back(boost::json::string(d.endpoint_id));
    return detail::mgmt_json(
        202, boost::json::object{{"event_id", event_id},
                                 {"reopened", res.reopened.size()},
                                 {"endpoints", std::move(eps)},
                                 {"skipped", boost::json::object{{"deleted", res.skipped_deleted},
                                                                 {"disabled", res.skipped_disabled},
                                                                 {"open", res.already_open}}}});
  } else {
    (void)who;
    (void)event_id;
    return detail::mgmt_fail(501, "this store cannot resend an event in bulk (bulk_resend_storage)");
  }
}

template <class Registry, class Store>
management_response management_api<Registry, Store>::erase_event(access_token const& who,
                                                                 std::string const& event_id) {
  if constexpr (erasure_storage<Store>) {
    event_detail det;
    if (auto bad = load_event(who.organization_id, event_id, det)) return std::move(*bad);
    boost::system::error_code ec;
    erase_result res;
    auto const t = now();
    store_.erase_event(event_id, t, who.principal, res, ec);
    if (ec) return detail::mgmt_store_failure(ec, "event");
    return detail::mgmt_json(
        200, boost::json::object{{"event_id", event_id},
                                 {"erased_at", detail::mgmt_time(det.erased_at ? *det.erased_at : t)},
                                 {"erased_by", det.erased_at ? det.erased_by : who.principal},
                                 {"erased", res.events},
                                 {"bodies", res.bodies},
                                 {"closed", res.closed}});
  } else {
    (void)who;
    (void)event_id;
    return detail::mgmt_fail(501, "this store cannot erase payloads (erasure_storage)");
  }
}

template <class Registry, class Store>
management_response management_api<Registry, Store>::erase_subject(management_request const& req,
                                                                   access_token const& who) {
  if constexpr (erasure_storage<Store>) {
    boost::json::object o;
    management_response bad;
    if (!detail::mgmt_body(req, {"subject"}, false, opt_.limits.max_json_depth, o, bad)) return bad;
    detail::mgmt_problem p;
    p.status = 422;
    auto const want = "1 to 256 printable ASCII characters without spaces, e.g. \"mem_42\"";
    erase_subject_request rq;
    if (auto const* v = o.if_contains("subject"); !v)
      p.field("/subject", make_error_code(error::invalid_argument), std::string("required: ") + want);
    else if (!v->is_string())
      detail::mgmt_type_error(p, "/subject", "a string");
    else if (rq.subject = std::string(v->as_string()); !detail::printable_ascii_id(rq.subject, 256))
      p.field("/subject", make_error_code(error::invalid_argument), want);
    if (!p.errors.empty()) return detail::mgmt_answer(p);
    rq.organization_id = who.organization_id;
    rq.now = now();
    rq.by = who.principal;
    erase_result sum;
    boost::system::error_code ec;
    auto const batches = erase_whole_subject(store_, rq, sum, ec);
    // The batches before a failure stay done; erasing again finishes the rest.
    if (ec) return detail::mgmt_store_failure(ec, "subject");
    return detail::mgmt_json(200, boost::json::object{{"subject", rq.subject},
                                                      {"erased_at", detail::mgmt_time(rq.now)},
                                                      {"erased", sum.events},
                                                      {"bodies", sum.bodies},
                                                      {"closed", sum.closed},
                                                      {"actors", sum.actors},
                                                      {"batches", batches}});
  } else {
    (void)req;
    (void)who;
    return detail::mgmt_fail(501, "this store cannot erase payloads (erasure_storage)");
  }
}

template <class Registry, class Store>
management_response management_api<Registry, Store>::stream(endpoint_record const& ep) {
  if (!opt_.feed)
    return detail::mgmt_fail(501, "live updates need an attempt_feed (management_options::feed)");
  management_response r;
  r.stream_endpoint = ep.id;
  return r;
}

template <class Registry, class Store>
management_response management_api<Registry, Store>::healthz() {
  boost::system::error_code ec;
  (void)store_.next_due_at(ec);
  if (ec) return detail::mgmt_fail(503, "the store does not answer: " + ec.message());
  return detail::mgmt_json(200, boost::json::object{{"status", "ok"}});
}

template <class Registry, class Store>
management_response management_api<Registry, Store>::metrics() {
  std::optional<engine_metrics> m;
  if (opt_.metrics) m = opt_.metrics();
  std::string out;
  auto family = [&](char const* name, char const* type, char const* help) {
    out += "# HELP ";
    out += name;
    out += ' ';
    out += help;
    out += "\n# TYPE ";
    out += name;
    out += ' ';
    out += type;
    out += '\n';
  };
  auto sample = [&](char const* name, std::string_view labels, auto value) {
    out += name;
    if (!labels.empty()) {
      out += '{';
      out += labels;
      out += '}';
    }
    out += ' ';
    if constexpr (std::is_floating_point_v<decltype(value)>) {
      char buf[64];
      auto const [end, err] = std::to_chars(buf, buf + sizeof buf, value);
      out.append(buf, err == std::errc{} ? end : buf);
    } else {
      out += std::to_string(value);
    }
    out += '\n';
  };
  if (m) {
    family("pulsehook_in_flight", "gauge", "Attempts sent and not yet completed.");
    sample("pulsehook_in_flight", {}, static_cast<std::uint64_t>(m->in_flight));
    if (m->due) {
      family("pulsehook_due", "gauge", "Deliveries due now.");
      sample("pulsehook_due", {}, *m->due);
    }
    family("pulsehook_events_published_total", "counter", "Events accepted (duplicates excluded).");
    sample("pulsehook_events_published_total", {}, m->published);
    family("pulsehook_attempts_total", "counter", "Attempts completed.");
    sample("pulsehook_attempts_total", {}, m->attempts);
    family("pulsehook_deliveries_sent_total", "counter", "Deliveries that reached sent.");
    sample("pulsehook_deliveries_sent_total", {}, m->sent);
    family("pulsehook_deliveries_failed_total", "counter", "Deliveries given up.");
    sample("pulsehook_deliveries_failed_total", {}, m->failed);
    family("pulsehook_retries_scheduled_total", "counter", "Failed attempts followed by a retry.");
    sample("pulsehook_retries_scheduled_total", {}, m->retries_scheduled);
  }
  // Endpoints: every endpoint of the configured organisations (the store's counts) and every
  // endpoint the engine has seen (its health), by id.
  struct row {
    std::string org;
    std::optional<state_counts> counts;
    endpoint_metrics const* health = nullptr;
  };
  std::map<std::string, row> rows;
  std::set<std::string> orgs;
  for (auto const& t : opt_.tokens) orgs.insert(t.organization_id);
  boost::system::error_code ec;
  for (auto const& org : orgs) {
    std::vector<endpoint_record> eps;
    store_.list_endpoints(org, eps, ec);
    if (ec) return detail::mgmt_store_failure(ec, "organization");
    for (auto const& ep : eps) rows[ep.id].org = org;
  }
  if (m)
    for (auto const& e : m->endpoints) rows[e.endpoint_id].health = &e;
  for (auto& [id, r] : rows) {
    auto const c = store_.counts(id, ec);
    if (!ec) r.counts = c;
  }
  auto labels = [](std::string const& id, std::string const& org) {
    std::string l = "endpoint=\"";
    detail::mgmt_label(l, id);
    l += '"';
    if (!org.empty()) {
      l += ",organization=\"";
      detail::mgmt_label(l, org);
      l += '"';
    }
    return l;
  };
  family("pulsehook_endpoint_deliveries", "gauge", "Deliveries per endpoint and state (the store's counts).");
  for (auto const& [id, r] : rows) {
    if (!r.counts) continue;
    auto const l = labels(id, r.org);
    sample("pulsehook_endpoint_deliveries", l + ",state=\"pending\"", r.counts->pending);
    sample("pulsehook_endpoint_deliveries", l + ",state=\"retrying\"", r.counts->retrying);
    sample("pulsehook_endpoint_deliveries", l + ",state=\"sent\"", r.counts->sent);
    sample("pulsehook_endpoint_deliveries", l + ",state=\"failed\"", r.counts->failed);
  }
  if (m) {
    family("pulsehook_endpoint_attempts_total", "counter", "Attempts per endpoint and outcome.");
    for (auto const& [id, r] : rows)
      if (r.health) {
        auto const l = labels(id, r.org);
        sample("pulsehook_endpoint_attempts_total", l + ",outcome=\"success\"", r.health->successes);
        sample("pulsehook_endpoint_attempts_total", l + ",outcome=\"failure\"", r.health->failures);
      }
    family("pulsehook_endpoint_latency_seconds", "gauge",
           "Attempt latency quantiles per endpoint (upper bucket edges, at most 19 % high).");
    for (auto const& [id, r] : rows)
      if (r.health) {
        auto const l = labels(id, r.org);
        auto secs = [](duration d) { return static_cast<double>(d.count()) / 1000.0; };
        sample("pulsehook_endpoint_latency_seconds", l + ",quantile=\"0.5\"", secs(r.health->latency.p50));
        sample("pulsehook_endpoint_latency_seconds", l + ",quantile=\"0.9\"", secs(r.health->latency.p90));
        sample("pulsehook_endpoint_latency_seconds", l + ",quantile=\"0.99\"", secs(r.health->latency.p99));
        sample("pulsehook_endpoint_latency_seconds", l + ",quantile=\"1\"", secs(r.health->latency.max));
      }
    family("pulsehook_endpoint_paused", "gauge", "1 while a 429 / 503 answer slows the endpoint down.");
    for (auto const& [id, r] : rows)
      if (r.health)
        sample("pulsehook_endpoint_paused", labels(id, r.org), std::uint64_t{r.health->paused_until.has_value()});
    family("pulsehook_endpoint_failing", "gauge", "1 while consecutive failures are at the threshold.");
    for (auto const& [id, r] : rows)
      if (r.health)
        sample("pulsehook_endpoint_failing", labels(id, r.org), std::uint64_t{r.health->failing});
    family("pulsehook_endpoint_in_flight", "gauge", "Attempts in flight per endpoint.");
    for (auto const& [id, r] : rows)
      if (r.health)
        sample("pulsehook_endpoint_in_flight", labels(id, r.org), static_cast<std::uint64_t>(r.health->in_flight));
  }
  management_response res;
  res.content_type = "text/plain; version=0.0.4; charset=utf-8";
  res.body = std::move(out);
  return res;
}

// ---- management_server --------------------------------------------------------------------------

namespace detail {

// One connection: its stream and the timer a live stream sleeps on (cancelled to wake it, by
// a notice or by stop()).
struct mgmt_conn {
  boost::beast::tcp_stream stream;
  boost::asio::steady_timer wake;
  explicit mgmt_conn(boost::asio::ip::tcp::socket s)
      : stream(std::move(s)), wake(stream.get_executor()) {}
};

template <class Registry, class Store>
struct mgmt_server_state {
  using tcp = boost::asio::ip::tcp;
  boost::asio::any_io_executor ex;
  management_api<Registry, Store> api;
  management_limits limits;
  tcp::acceptor acceptor;
  std::mutex mu;
  std::list<std::weak_ptr<mgmt_conn>> conns;  // guarded by mu
  std::atomic<std::size_t> open{0};
  std::atomic<std::size_t> streams{0};
  std::atomic<bool> stopped{false};

  mgmt_server_state(boost::asio::any_io_executor e, Store& store, management_options o)
      : ex(e), api(store, std::move(o)), limits(api.options().limits),
        acceptor(boost::asio::make_strand(e)) {}
};

inline std::string mgmt_notice_json(attempt_notice const& n) {
  boost::json::object o;
  o["endpoint_id"] = n.endpoint_id;
  o["event_id"] = n.event_id;
  o["delivery_id"] = n.delivery;
  o["attempt"] = n.attempt;
  if (n.status) o["status"] = n.status;
  else o["status"] = nullptr;
  o["state"] = to_string(n.state);
  o["error"] = mgmt_utf8(n.error);
  o["started_at"] = mgmt_time(n.started_at);
  o["duration_ms"] = n.elapsed.count();
  return boost::json::serialize(o);
}

inline boost::beast::http::response<boost::beast::http::string_body>
mgmt_beast_response(management_response&& r, unsigned version, bool keep_alive) {
  namespace http = boost::beast::http;
  http::response<http::string_body> out{static_cast<http::status>(r.status), version};
  out.set(http::field::server, "pulsehook");
  if (!r.content_type.empty()) out.set(http::field::content_type, r.content_type);
  for (auto const& h : r.headers) out.insert(h.name, h.value);
  out.body() = std::move(r.body);
  out.keep_alive(keep_alive);
  out.prepare_payload();
  return out;
}

template <class Registry, class Store>
boost::asio::awaitable<void> mgmt_write(mgmt_server_state<Registry, Store>& st, mgmt_conn& c,
                                        management_response&& r, unsigned version, bool keep,
                                        boost::system::error_code& ec) {
  auto res = mgmt_beast_response(std::move(r), version, keep);
  c.stream.expires_after(st.limits.write_timeout);
  auto [e, n] = co_await boost::beast::http::async_write(
      c.stream, res, boost::asio::as_tuple(boost::asio::use_awaitable));
  (void)n;
  ec = e;
}

// Server-Sent Events for one endpoint until the client goes, falls behind or the server stops.
template <class Registry, class Store>
boost::asio::awaitable<void> mgmt_stream(std::shared_ptr<mgmt_server_state<Registry, Store>> st,
                                         std::shared_ptr<mgmt_conn> c, std::string endpoint,
                                         unsigned version) {
  using boost::asio::as_tuple;
  using boost::asio::use_awaitable;
  auto const& feed = st->api.options().feed;
  std::unique_ptr<attempt_feed::subscription> sub;
  if (st->streams.fetch_add(1) < st->limits.max_stream_clients) {
    std::weak_ptr<mgmt_conn> wc = c;
    auto ex = c->stream.get_executor();
    sub = feed->subscribe(endpoint, [wc, ex] {
      boost::asio::post(ex, [wc] {
        if (auto c = wc.lock()) c->wake.cancel();
      });
    });
  }
  struct release {
    std::atomic<std::size_t>& n;
    ~release() { --n; }
  } counted{st->streams};
  boost::system::error_code ec;
  if (!sub) {
    co_await mgmt_write(*st, *c, mgmt_fail(503, "too many live streams; try again later"),
                        version, false, ec);
    co_return;
  }
  std::string out =
      "HTTP/1.1 200 OK\r\nServer: pulsehook\r\nContent-Type: text/event-stream\r\n"
      "Cache-Control: no-store\r\nX-Content-Type-Options: nosniff\r\nX-Accel-Buffering: no\r\n"
      "Connection: close\r\n\r\nretry: 2000\n\n";
  std::vector<attempt_notice> batch;
  for (;;) {
    if (!out.empty()) {
      c->stream.expires_after(st->limits.write_timeout);
      auto [we, wn] = co_await boost::asio::async_write(c->stream, boost::asio::buffer(out),
                                                        as_tuple(use_awaitable));
      (void)wn;
      if (we) co_return;  // gone, or too slow to take a write within write_timeout
      out.clear();
    }
    if (st->stopped || sub->dropped()) co_return;  // dropped: it fell a whole queue behind
    if (sub->pending()) {
      sub->take(batch);
      for (auto const& n : batch) {
        out += "event: attempt\ndata: ";
        out += mgmt_notice_json(n);
        out += "\n\n";
      }
      continue;
    }
    // Notices post a cancel of this timer to this strand: none can slip in between the
    // pending() check above and the wait below.
    c->wake.expires_after(st->limits.stream_heartbeat);
    auto [te] = co_await c->wake.async_wait(as_tuple(use_awaitable));
    if (!te) out = ": keep-alive\n\n";
  }
}

template <class Registry, class Store>
boost::asio::awaitable<void> mgmt_session(std::shared_ptr<mgmt_server_state<Registry, Store>> st,
                                          boost::asio::ip::tcp::socket sock) {
  namespace http = boost::beast::http;
  using boost::asio::as_tuple;
  using boost::asio::use_awaitable;
  auto c = std::make_shared<mgmt_conn>(std::move(sock));
  std::list<std::weak_ptr<mgmt_conn>>::iterator me;
  {
    std::lock_guard lk(st->mu);
    me = st->conns.insert(st->conns.end(), c);
  }
  struct unregister {
    mgmt_server_state<Registry, Store>& st;
    std::list<std::weak_ptr<mgmt_conn>>::iterator me;
    ~unregister() {
      std::lock_guard lk(st.mu);
      st.conns.erase(me);
      --st.open;
    }
  } reg{*st, me};
  auto const& lim = st->limits;
  boost::beast::flat_buffer buf(lim.max_header_bytes + lim.max_body + 4096);
  boost::system::error_code ec;
  while (!st->stopped) {
    http::request_parser<http::string_body> p;
    p.header_limit(static_cast<std::uint32_t>(std::min<std::size_t>(lim.max_header_bytes, 0xffffffffu)));
    p.body_limit(lim.max_body);
    c->stream.expires_after(lim.header_timeout);
    auto [he, hn] = co_await http::async_read_header(c->stream, buf, p, as_tuple(use_awaitable));
    (void)hn;
    if (he == http::error::header_limit || he == http::error::buffer_overflow) {
      co_await mgmt_write(*st, *c, mgmt_fail(431, "the request head is larger than " +
                                                      std::to_string(lim.max_header_bytes) + " bytes"),
                          11, false, ec);
      break;
    }
    if (he == http::error::body_limit) {
      co_await mgmt_write(*st, *c, mgmt_fail(413, "the body is larger than " + std::to_string(lim.max_body) + " bytes"),
                          11, false, ec);
      break;
    }
    if (he) break;  // closed, timed out, or not HTTP
    auto const version = p.get().version();
    if (!p.is_done()) {
      if (boost::beast::iequals(p.get()[http::field::expect], "100-continue")) {
        static constexpr std::string_view cont = "HTTP/1.1 100 Continue\r\n\r\n";
        c->stream.expires_after(lim.write_timeout);
        auto [ce, cn] = co_await boost::asio::async_write(c->stream, boost::asio::buffer(cont),
                                                          as_tuple(use_awaitable));
        (void)cn;
        if (ce) break;
      }
      c->stream.expires_after(lim.body_timeout);
      auto [be, bn] = co_await http::async_read(c->stream, buf, p, as_tuple(use_awaitable));
      (void)bn;
      if (be == http::error::body_limit || be == http::error::buffer_overflow) {
        co_await mgmt_write(*st, *c, mgmt_fail(413, "the body is larger than " + std::to_string(lim.max_body) + " bytes"),
                            version, false, ec);
        break;
      }
      if (be) break;
    }
    auto& req = p.get();
    management_request mr;
    mr.method = std::string(req.method_string());
    mr.target = std::string(req.target());
    mr.authorization = std::string(req[http::field::authorization]);
    mr.content_type = std::string(req[http::field::content_type]);
    mr.body = std::move(req.body());
    auto res = st->api.handle(mr);
    if (!res.stream_endpoint.empty()) {
      co_await mgmt_stream(st, c, std::move(res.stream_endpoint), version);
      break;
    }
    bool const keep = req.keep_alive() && !st->stopped;
    co_await mgmt_write(*st, *c, std::move(res), version, keep, ec);
    if (ec || !keep) break;
  }
  c->stream.socket().shutdown(boost::asio::ip::tcp::socket::shutdown_both, ec);
  c->stream.close();
}

template <class Registry, class Store>
boost::asio::awaitable<void> mgmt_accept(std::shared_ptr<mgmt_server_state<Registry, Store>> st) {
  using boost::asio::as_tuple;
  using boost::asio::use_awaitable;
  for (;;) {
    boost::asio::any_io_executor strand = boost::asio::make_strand(st->ex);
    auto [ec, sock] = co_await st->acceptor.async_accept(strand, as_tuple(use_awaitable));
    if (st->stopped || ec == boost::asio::error::operation_aborted || !st->acceptor.is_open())
      co_return;
    if (ec) {
      // Out of descriptors or similar: breathe instead of spinning.
      boost::asio::steady_timer t(st->acceptor.get_executor(), std::chrono::milliseconds{50});
      co_await t.async_wait(as_tuple(use_awaitable));
      continue;
    }
    if (st->open.load() >= st->limits.max_connections) {
      boost::system::error_code ignored;
      sock.close(ignored);
      continue;
    }
    ++st->open;
    boost::asio::co_spawn(sock.get_executor(), mgmt_session(st, std::move(sock)),
                          boost::asio::detached);
  }
}

} // namespace detail

template <class Registry, class Store>
management_server<Registry, Store>::management_server(executor_type ex, Store& store,
                                                       management_options options)
    : state_(std::make_shared<detail::mgmt_server_state<Registry, Store>>(ex, store,
                                                                           std::move(options))) {}

template <class Registry, class Store>
management_server<Registry, Store>::~management_server() {
  stop();
}

template <class Registry, class Store>
void management_server<Registry, Store>::listen(boost::asio::ip::tcp::endpoint const& at,
                                                boost::system::error_code& ec) {
  auto& a = state_->acceptor;
  ec = {};
  if (a.is_open()) {
    ec = make_error_code(error::invalid_argument);
    return;
  }
  a.open(at.protocol(), ec);
  if (!ec) a.set_option(boost::asio::socket_base::reuse_address(true), ec);
  if (!ec) a.bind(at, ec);
  if (!ec) a.listen(boost::asio::socket_base::max_listen_connections, ec);
  if (ec) {
    boost::system::error_code ignored;
    a.close(ignored);
    return;
  }
  boost::asio::co_spawn(a.get_executor(), detail::mgmt_accept(state_), boost::asio::detached);
}

template <class Registry, class Store>
void management_server<Registry, Store>::listen(boost::asio::ip::tcp::endpoint const& at) {
  boost::system::error_code ec;
  listen(at, ec);
  throw_if(ec, "pulsehook: management_server listen");
}

template <class Registry, class Store>
boost::asio::ip::tcp::endpoint management_server<Registry, Store>::local_endpoint() const {
  boost::system::error_code ec;
  return state_->acceptor.local_endpoint(ec);
}

template <class Registry, class Store>
void management_server<Registry, Store>::stop() {
  auto st = state_;
  if (st->stopped.exchange(true)) return;
  boost::asio::post(st->acceptor.get_executor(), [st] {
    boost::system::error_code ignored;
    st->acceptor.close(ignored);
  });
  std::lock_guard lk(st->mu);
  for (auto const& w : st->conns)
    if (auto c = w.lock())
      boost::asio::post(c->stream.get_executor(), [c] {
        c->stream.close();
        c->wake.cancel();
      });
}

template <class Registry, class Store>
std::size_t management_server<Registry, Store>::connections() const noexcept {
  return state_->open.load();
}

template <class Registry, class Store>
management_api<Registry, Store>& management_server<Registry, Store>::api() noexcept {
  return state_->api;
}

} // namespace pulsehook

#endif
