// Test doubles for the simulator's checker tests: a store and an engine that forward to the
// real ones and break exactly one invariant when asked, so each checker is seen to fail.
#ifndef PULSEHOOK_TESTS_SIMULATOR_DOUBLES_HPP
#define PULSEHOOK_TESTS_SIMULATOR_DOUBLES_HPP

#include <pulsehook/sim/run.hpp>

#include <pulsehook/engine.hpp>
#include <pulsehook/memory_store.hpp>

#include <functional>
#include <memory>
#include <string>
#include <vector>

namespace pulsehook::sim::test {

using ec_t = boost::system::error_code;

/// Forwards everything to a memory_store; the hooks let a test break one thing.
class faulty_store {
public:
  explicit faulty_store(endpoint_rules rules = sim_endpoint_rules()) : inner_(std::move(rules)) {}

  /// Another worker on the same store (several senders), with the same hooks.
  faulty_store share() {
    faulty_store w{inner_.share(), claims_};
    w.ignore_leases = ignore_leases;
    w.no_fencing = no_fencing;
    return w;
  }

  bool ignore_leases = false;  // one claim also hands out a delivery another worker holds leased
  bool no_fencing = false;     // a late write refused with lease_lost is made anyway, unfenced

  bool lie_about_sent = false;           // counts() reports one more Sent than the log has
  std::string starve_endpoint;           // claim_due never hands out this endpoint's deliveries
  std::string break_secrets_of;          // claim_due hands out this endpoint's work with an unusable secret
  int swallow_event = 0;                 // the n-th accept stores nothing and answers "duplicate"
  bool misreport_sent_as_failed = false; // list_log shows the first sent delivery it meets as failed
  bool forget_health = false;            // claims say every endpoint has failed forever, and
                                         // disable_failing disables whatever it is asked to
  bool never_disable = false;            // disable_failing never disables
  bool drop_rate_limits = false;         // endpoints are stored without their rate limit
  bool erase_nothing = false;            // erase_event / erase_subject answer success and erase nothing
  bool drop_ordering = false;            // endpoints are stored unordered (endpoint_record::ordered)
  bool drop_settings = false;            // claims hand deliveries out without their endpoint's settings

  void accept(event_record const& e, time_point t, accept_result& r, ec_t& ec) {
    if (++accepts_ == swallow_event) {
      ec = {};
      r = accept_result{};
      r.duplicate = true;
      return;
    }
    inner_.accept(e, t, r, ec);
  }
  void claim_due(claim_request const& c, std::vector<due_delivery>& out, ec_t& ec) {
    if (drop_settings) {
      auto const first = out.size();
      claim_due_inner(c, out, ec);
      for (auto i = first; i < out.size(); ++i) {
        out[i].endpoint_headers.clear();
        out[i].endpoint_timeout.reset();
        out[i].endpoint_retry_schedule.clear();
      }
      return;
    }
    claim_due_inner(c, out, ec);
  }
  void claim_due_inner(claim_request const& c, std::vector<due_delivery>& out, ec_t& ec) {
    if (ignore_leases) {
      auto const first = out.size();
      inner_.claim_due(c, out, ec);
      if (ec) return;
      for (auto i = first; i < out.size(); ++i) claims_->push_back({inner_.worker_id(), c.lease_until, out[i]});
      if (double_claimed_) return;
      // The newest delivery another worker holds under a live lease, still open: handed out
      // again, as a store that forgot its leases would.
      for (auto it = claims_->rbegin(); it != claims_->rend(); ++it) {
        if (it->worker == inner_.worker_id() || it->until <= c.now) continue;
        delivery_record d;
        ec_t e;
        inner_.get_delivery(it->delivery.id, d, e);
        if (e || (d.state != delivery_state::pending && d.state != delivery_state::retrying)) continue;
        out.push_back(it->delivery);
        double_claimed_ = true;
        break;
      }
      return;
    }
    if (!break_secrets_of.empty()) {
      auto const first = out.size();
      inner_.claim_due(c, out, ec);
      for (auto i = first; i < out.size(); ++i)
        if (out[i].endpoint_id == break_secrets_of)
          for (auto& s : out[i].secrets) s.value = "not a\nsecret";
      return;
    }
    if (forget_health) {
      auto const first = out.size();
      inner_.claim_due(c, out, ec);
      for (auto i = first; i < out.size(); ++i) out[i].endpoint_failing_since = time_point{};
      return;
    }
    if (starve_endpoint.empty()) return inner_.claim_due(c, out, ec);
    claim_request c2 = c;
    c2.skip_endpoints.push_back(starve_endpoint);
    c2.expired_before = {};  // not even its expired work (law 15) comes out
    inner_.claim_due(c2, out, ec);
  }
  std::optional<time_point> next_due_at(ec_t& ec) { return inner_.next_due_at(ec); }
  void record_attempt(attempt_record const& a, delivery_update const& u, ec_t& ec) {
    inner_.record_attempt(a, u, ec);
    if (no_fencing && ec == error::lease_lost) inner_.share().record_attempt(a, u, ec);
  }
  void release(delivery_id id, time_point t, ec_t& ec) {
    inner_.release(id, t, ec);
    if (no_fencing && ec == error::lease_lost) inner_.share().release(id, t, ec);
  }
  void give_up(delivery_id id, std::string_view r, ec_t& ec) {
    inner_.give_up(id, r, ec);
    if (no_fencing && ec == error::lease_lost) inner_.share().give_up(id, r, ec);
  }
  state_counts counts(std::string_view ep, ec_t& ec) {
    auto c = inner_.counts(ep, ec);
    if (lie_about_sent) ++c.sent;
    return c;
  }
  void create_endpoint(endpoint_record const& e, ec_t& ec) {
    auto copy = e;
    if (drop_rate_limits) copy.rate_limit.reset();
    if (drop_ordering) copy.ordered = false;
    inner_.create_endpoint(copy, ec);
  }
  void update_endpoint(endpoint_record const& e, ec_t& ec) { inner_.update_endpoint(e, ec); }
  void delete_endpoint(std::string_view id, time_point t, ec_t& ec) { inner_.delete_endpoint(id, t, ec); }
  void get_endpoint(std::string_view id, endpoint_record& out, ec_t& ec) { inner_.get_endpoint(id, out, ec); }
  void list_endpoints(std::string_view org, std::vector<endpoint_record>& out, ec_t& ec) {
    inner_.list_endpoints(org, out, ec);
  }
  void rotate_secret(std::string_view id, endpoint_secret const& s, duration g, time_point t, ec_t& ec) {
    inner_.rotate_secret(id, s, g, t, ec);
  }
  void disable_endpoint(std::string_view id, std::string_view why, time_point t, ec_t& ec) {
    inner_.disable_endpoint(id, why, t, ec);
  }
  void enable_endpoint(std::string_view id, time_point t, ec_t& ec) { inner_.enable_endpoint(id, t, ec); }
  bool disable_failing(std::string_view id, time_point by, std::string_view why, time_point t, ec_t& ec) {
    if (never_disable) {
      ec = {};
      return false;
    }
    return inner_.disable_failing(id, forget_health ? time_point::max() : by, why, t, ec);
  }
  void list_log(log_query const& q, log_page& p, ec_t& ec) {
    inner_.list_log(q, p, ec);
    if (!misreport_sent_as_failed || misreported_) return;
    for (auto& e : p.entries)
      if (e.delivery.state == delivery_state::sent) {
        e.delivery.state = delivery_state::failed;
        misreported_ = true;
        break;
      }
  }
  void get_delivery(delivery_id id, delivery_record& out, ec_t& ec) { inner_.get_delivery(id, out, ec); }
  void get_event(std::string_view id, event_detail& out, ec_t& ec) { inner_.get_event(id, out, ec); }
  void resend(delivery_id id, time_point t, ec_t& ec) { inner_.resend(id, t, ec); }
  void resend_event(std::string_view id, time_point t, resend_event_result& out, ec_t& ec) {
    inner_.resend_event(id, t, out, ec);
  }
  void recover(recover_request const& r, recover_result& out, ec_t& ec) { inner_.recover(r, out, ec); }
  void purge(purge_request const& r, purge_result& out, ec_t& ec) { inner_.purge(r, out, ec); }
  void erase_event(std::string_view id, time_point t, std::string_view by, erase_result& out, ec_t& ec) {
    if (erase_nothing) { ec = {}; out = {}; return; }
    inner_.erase_event(id, t, by, out, ec);
  }
  void erase_subject(erase_subject_request const& r, erase_result& out, ec_t& ec) {
    if (erase_nothing) { ec = {}; out = {}; return; }
    inner_.erase_subject(r, out, ec);
  }

private:
  struct claim_seen {
    std::uint32_t worker = 0;
    time_point until{};
    due_delivery delivery;
  };
  faulty_store(memory_store inner, std::shared_ptr<std::vector<claim_seen>> claims)
      : inner_(std::move(inner)), claims_(std::move(claims)) {}

  memory_store inner_;
  // Every worker's claims (ignore_leases), shared by the workers of one store.
  std::shared_ptr<std::vector<claim_seen>> claims_ = std::make_shared<std::vector<claim_seen>>();
  bool double_claimed_ = false;
  int accepts_ = 0;
  bool misreported_ = false;
};

/// Wraps the real engine and speaks its driver protocol; `misroute` sends one request to
/// another endpoint, `fake_success` reports a 2xx for one request the receiver never gets,
/// `overshoot` sends one request twice (an engine that breaks its in-flight cap),
/// `deaf_to_pauses` hands the engine every 429 / 503 as a plain 500 (an engine that never
/// pauses an endpoint).
// A run of `sc` on a faulty_store that `breaks` sets up (one flag, usually): each checker's
// proof that it catches the store fault it is about.
template <class Breaks>
run_result run_faulty_store(scenario const& sc, Breaks breaks) {
  faulty_store s;
  breaks(s);
  run_options o;
  return run(sc, s, o);
}

template <class Store>
class faulty_engine {
public:
  using inner_type = delivery_engine<Store, scenario_retry>;
  faulty_engine(Store& s, engine_config const& c)
      : inner_(s, to_engine_options(c), scenario_retry{c.engine}) {}

  bool misroute = false;
  bool fake_success = false;
  bool overshoot = false;
  bool deaf_to_pauses = false;
  bool mute_give_ups = false;  // announces no delivery_failed (nor endpoint_disabled) notice

  void publish(event_record const& e, accept_result& r, ec_t& ec) { inner_.publish(e, r, ec); }
  void request_poll() noexcept { inner_.request_poll(); }
  void start(time_point now) { inner_.start(now); }
  void begin_stop(time_point now) { inner_.begin_stop(now); }
  bool running() const noexcept { return inner_.running(); }
  void add_result(delivery_id id, transport_result r, time_point now) {
    if (deaf_to_pauses && (r.status == 429 || r.status == 503)) {
      r.status = 500;
      r.retry_after.reset();
    }
    inner_.add_result(id, std::move(r), now);
  }
  void advance(time_point now, engine_actions& out) {
    inner_.advance(now, out);
    if (mute_give_ups) {
      notice_buffer kept;
      for (auto const& n : out.notices)
        if (n.kind != notice_kind::delivery_failed && n.kind != notice_kind::endpoint_disabled) kept.push() = n;
      out.notices.swap(kept);
    }
    if (out.requests.empty() || done_) return;
    auto& first = out.requests.front();
    if (misroute) {
      done_ = true;
      first.endpoint_id = first.endpoint_id == "ep_0000" ? "ep_0001" : "ep_0000";
    } else if (fake_success) {
      done_ = true;
      transport_result ok;
      ok.status = 200;
      inner_.add_result(first.delivery, ok, now);
      out.requests.erase(out.requests.begin());
      inner_.request_poll();  // record it at the next turn
    } else if (overshoot) {
      done_ = true;
      auto const copy = first;  // pushing may move the vector's elements
      for (int i = 0; i < 300; ++i) out.requests.push_back(copy);
    }
  }
  void recycle(std::vector<outgoing_request>& spent) { inner_.recycle(spent); }
  void set_notice_mask(notice_mask m) noexcept { inner_.set_notice_mask(m); }
  std::size_t in_flight() const noexcept { return inner_.in_flight(); }

private:
  inner_type inner_;
  bool done_ = false;
};

} // namespace pulsehook::sim::test

#endif
