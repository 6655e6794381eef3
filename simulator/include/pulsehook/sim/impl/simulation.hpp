#ifndef PULSEHOOK_SIM_IMPL_SIMULATION_HPP
#define PULSEHOOK_SIM_IMPL_SIMULATION_HPP

#include <pulsehook/encoding.hpp>

#include <type_traits>

#include <algorithm>
#include <charconv>
#include <cmath>
#include <cstdio>
#include <map>
#include <string_view>
#include <utility>

namespace pulsehook::sim {
namespace detail {

enum class act : std::uint8_t {
  publish, endpoint_action, log_action, random_action, result, wake, crash, restart, stop, resume,
  freeze, thaw, random_erasure
};

struct action {
  act kind = act::wake;
  std::uint32_t index = 0;
};

struct sim_endpoint {
  std::string id;
  std::size_t org = 0;
  std::vector<std::string> types;
  bool enabled = true;
  bool deleted = false;
  bool ever_disabled = false;  // disabled or deleted at some point: its deliveries may end unattempted
  std::int64_t enabled_at = -1; // ms since start of the last re-enable: parked work is due at once
  time_point deleted_at{};
  std::uint32_t secrets = 0;
  receiver rx;
  // Whether `types` holds the event type of that number (driver::type_ix_): 0 not known yet,
  // 1 no, 2 yes; emptied when `types` changes.
  std::vector<std::uint8_t> subscribed{};
  std::uint32_t in_flight = 0;                  // sent, result not yet in
  std::vector<std::int64_t> time_to_delivery{}; // ms, per delivery this endpoint got (2xx)
  std::optional<duration> request_timeout{};    // the endpoint's own, else the engine's
  std::vector<http_header> headers{};           // endpoint_record::headers (settings checker)
  std::vector<duration> retry_schedule{};       // endpoint_record::retry_schedule (retry-law)
  bool ordered = false;                         // endpoint_record::ordered (the order checker)
  // The auto-disable checker's view of the endpoint's health, from the recorded attempts:
  // the start of the current run of failures (ms since start; -1: its last attempt
  // succeeded, or it was enabled since), whether the last answer was 410, and how many failed
  // attempts started once the run was disable_after long.
  std::int64_t failing_since = -1;
  bool last_gone = false;
  std::uint32_t fails_past_due = 0;
  std::int64_t last_fail_started = -1;
  std::optional<duration> expect_p99{};         // the fairness checker's bound
  // The pause checker's view: the windows [from, to) (ms since start, merged, in order) in
  // which the receiver's 429 / 503 answers asked the sender to leave it alone, each from the
  // engine's turn that took the answer, as long as Retry-After (or the default pause) says,
  // clamped to max_pause.
  std::vector<std::pair<std::int64_t, std::int64_t>> pauses{};
  // When each request to a rate-limited endpoint, or one with its own retry schedule, was sent
  // (ms since start, in order): the starvation checker's evidence that a limit or a short
  // deadline, not a store or engine fault, left a delivery untried (its endpoint was being
  // sent to all the while).
  std::vector<std::int64_t> sent_at{};
  // The rate checker's own token bucket over the requests sent (full at the start).
  std::optional<request_rate> rate{};
  double tokens = -1;  // -1: full
  std::int64_t tokens_at = 0;
  // Whether a pause window overlaps [from, to].
  bool paused_within(std::int64_t from, std::int64_t to) const noexcept {
    for (auto const& [a, b] : pauses)
      if (a <= to && b >= from) return true;
    return false;
  }
  bool paused_at(std::int64_t t) const noexcept {
    for (auto it = pauses.rbegin(); it != pauses.rend(); ++it) {
      if (t >= it->second) return false;
      if (t >= it->first) return true;
    }
    return false;
  }
};

struct sim_event {
  std::string id;
  time_point created{};
  time_point deadline{};
  std::uint32_t expected_begin = 0, expected_end = 0;
  bool purged = false;       // removed from the store by a retention purge
  std::uint32_t org = 0;     // the organisation's index
  std::string subject;       // event_record::subject (the resource id)
  std::int64_t erased = -1;  // ms since start: when an erasure by its subject took its payload
  bool operational = false;  // an operational event (pulsehook::operational), not the workload's
};

struct delivery_track {
  static constexpr std::uint32_t none = 0xffffffffu;
  std::uint32_t endpoint = none, event = none;
  std::uint32_t attempts = 0;
  std::int64_t last_end = -1;         // ms since start of the previous attempt's completion
  std::int64_t retry_after = -1;
  std::uint8_t final_state = 0;       // 0 open, 2 sent, 3 failed (delivery_state values)
  bool received_2xx = false;
  std::uint32_t slot = none;          // the attempt whose result waits for the engine's turn
  std::int64_t resent_until = -1;     // ms since start: a manual resend's deadline
  std::uint32_t recorded = 0;         // attempts the store recorded (the policy saw)
  // The lease checkers (several senders): the sender whose claim is the delivery's newest
  // (none after a resend or a stop handed it back), when that claim's lease ends (ms since
  // start), and whether the holder has written it since (its claim is over).
  std::uint32_t holder = none;
  std::int64_t lease_end = -1;
  bool holder_done = false;
  // Ordered delivery (the order checker): the delivery's queue (driver::order_queues_; none:
  // not ordered), and since when it has been the queue's head (ms since start; -1: not yet).
  std::uint32_t queue = none;
  std::int64_t head_at = -1;
};

struct inflight {
  delivery_id id = 0;
  std::uint32_t endpoint = 0;
  std::uint32_t attempt = 0;
  time_point started{};
  time_point answered{};
  std::uint32_t epoch = 0;            // the sender's epoch that sent it (see sender::epoch)
  std::uint32_t sender = 0;           // which sender sent it
  bool open = false;                  // sent, its answer not yet back
  transport_result result;
};

inline std::string_view event_id_of(std::string const& body) {
  // The envelope starts {"id":"evt_..."; fall back to a search for robustness.
  constexpr std::string_view key = "\"id\":\"";
  auto p = body.find(key);
  if (p == std::string::npos) return {};
  p += key.size();
  auto const q = body.find('"', p);
  if (q == std::string::npos) return {};
  return std::string_view(body).substr(p, q - p);
}

inline std::string fmt_ms(std::int64_t ms) {
  char buf[48];
  if (ms < 1000) std::snprintf(buf, sizeof buf, "%lldms", static_cast<long long>(ms));
  else if (ms < 120000) std::snprintf(buf, sizeof buf, "%.1fs", static_cast<double>(ms) / 1000.0);
  else if (ms < 7200000) std::snprintf(buf, sizeof buf, "%.1fm", static_cast<double>(ms) / 60000.0);
  else std::snprintf(buf, sizeof buf, "%.1fh", static_cast<double>(ms) / 3600000.0);
  return buf;
}

template <class Store, class Engine>
class driver {
public:
  using engine_factory =
      std::function<std::unique_ptr<Engine>(fault_store<Store>&, engine_config const&)>;

  driver(scenario const& sc, Store& store, run_options const& opts, engine_config cfg,
         engine_factory make_engine, prng rng)
      : sc_(sc), store_(store), opts_(opts), cfg_(std::move(cfg)),
        make_engine_(std::move(make_engine)), rng_(rng) {
    // One sender runs on the store itself; several each get a worker of their own on it
    // (Store::share(): leases and fencing across them, as processes on one database).
    auto n = std::max<std::size_t>(1, opts.senders_override.value_or(sc.senders));
    if constexpr (!requires { store.share(); }) {
      if (n > 1)
        violate("scenario", std::to_string(n) + " senders need a store with workers "
                            "(memory_store::share); this store serves one sender");
      n = 1;
    }
    senders_.resize(n);
    res_.senders = n;
    for (std::size_t i = 0; i < n; ++i) {
      auto& sd = senders_[i];
      if constexpr (requires { store.share(); }) {
        if (n > 1) sd.handle = std::make_unique<Store>(store.share());
      }
      sd.fs = std::make_unique<fault_store<Store>>(sd.handle ? *sd.handle : store);
      sd.engine = make_engine_(*sd.fs, engine_config_of(i));
    }
    lease_ = std::max<duration>(cfg_.engine.lease.value_or(sc.engine.request_timeout * 4),
                                std::max(sc.engine.request_timeout,
                                         sc.engine.max_request_timeout.value_or(sc.engine.request_timeout)) +
                                    engine_options{}.min_lease_margin);
    duration_ = opts.duration_override.value_or(sc.duration_);
    grace_ = sc.engine.final_attempt_grace.value_or(sc.engine.request_timeout);
    retry_steps_ = opts.retry_steps.value_or(sc.engine.retry_steps);
    retry_jitter_ = opts.retry_jitter.value_or(sc.engine.retry_jitter);
    retry_window_ = opts.retry_window.value_or(sc.engine.deadline);
    events_total_ = opts.events_override.value_or(sc.events);
    t0_ = sc.start;
    clock_.set(t0_);
    res_.scenario = sc.name;
    res_.seed = opts.seed;
    res_.store = opts.store_name;
    // Buckets: about 120 over the workload plus the settle time.
    auto const span = duration_ + retry_window_ + std::chrono::hours{24};
    res_.series.bucket = std::max<duration>(duration{60000}, span / 120);
  }

  run_result run();

private:
  duration since(time_point t) const noexcept { return t - t0_; }
  void violate(std::string_view checker, std::string msg) {
    if (++violation_counts_[std::string(checker)] <= 20)
      res_.violations.push_back({std::string(checker), std::move(msg)});
  }
  void trace(time_point t, std::string_view kind, std::int64_t ep, std::uint64_t dl,
             std::uint32_t att, std::string_view detail) {
    if (tr_) tr_->line(since(t), kind, ep, dl, att, detail);
  }
  std::size_t bucket(time_point t) {
    auto const i = static_cast<std::size_t>(std::max<std::int64_t>(0, since(t).count()) /
                                            res_.series.bucket.count());
    res_.series.grow(i);
    return i;
  }
  std::string new_secret();
  void create_endpoint(endpoint_spec const& spec, time_point now);
  void do_action(endpoint_action const& a, time_point now);
  void random_action(time_point now);
  void publish(time_point now);
  void publish_event(event_record const& ev, time_point now, bool operational);
  // The operational checker's view of the events the emitter published.
  void note_operational(event_record const& ev) {
    if (ev.type == "endpoint.disabled") {
      ++ops_disabled_;
    } else if (ev.type == "delivery.exhausted") {
      // Its data's id is "dlv_<delivery id>".
      auto const at = ev.payload.find("\"dlv_");
      if (at == std::string::npos) return;
      delivery_id id = 0;
      auto const* p = ev.payload.data() + at + 5;
      std::from_chars(p, ev.payload.data() + ev.payload.size(), id);
      ++ops_exhausted_[id];
    }
  }
  void send(std::uint32_t who, outgoing_request& req, time_point now);
  void on_result(std::uint32_t slot, time_point now);
  void on_notice(std::uint32_t who, notice const& n);
  void auto_disabled(notice const& n);
  void step(std::uint32_t who, time_point now);
  void do_log_action(log_action const& a, time_point now);
  void erase_subject_of(std::size_t event, time_point now);
  void resend(delivery_id id, time_point now);
  void note_resent(delivery_id id, time_point now);
  void note_final(delivery_id id, time_point now);
  void queue_deliveries(event_record const& ev, std::size_t first_expected, time_point now);
  void crash(std::uint32_t who, time_point now);
  void restart(std::uint32_t who, time_point now);
  void freeze(std::uint32_t who, time_point now, duration length);
  void thaw(std::uint32_t who, time_point now);
  void new_epoch(std::uint32_t who, bool released);
  void configure_faults(std::uint32_t who) {
    if (!sc_.faults.store.any()) return;
    senders_[who].fs->configure(sc_.faults.store, fault_rng_.fork(), &clock_, t0_, duration_);
  }
  // Every sender takes its turn; with several, who goes first rotates from instant to
  // instant, so that they race for due work as processes on one database do.
  void step_all(time_point now) {
    auto const n = static_cast<std::uint32_t>(senders_.size());
    if (n > 1 && ++first_ == n) first_ = 0;
    for (std::uint32_t k = 0; k < n; ++k) step((first_ + k) % n, now);
  }
  void poll_all() {  // a change every sender must see (LISTEN/NOTIFY on a shared database)
    for (auto& sd : senders_)
      if (sd.up) sd.engine->request_poll();
  }
  // The seed of sender `i`'s engine: the run's for the first (as with one sender), a fork of
  // it for the others (each process has its own jitter stream).
  engine_config engine_config_of(std::size_t i) const {
    auto c = cfg_;
    c.seed += 1000003ull * i;
    return c;
  }
  std::size_t in_flight_total() const {
    std::size_t n = 0;
    for (auto const& sd : senders_)
      if (sd.up) n += sd.engine->in_flight();
    return n;
  }
  // Attempts to endpoint `e` open now under a live lease (several senders: a frozen sender's
  // attempts whose lease ran out no longer hold a place).
  std::uint32_t live_in_flight(std::uint32_t e, time_point now) const {
    std::uint32_t n = 0;
    for (auto const& s : slots_)
      if (s.open && s.endpoint == e && s.epoch == senders_[s.sender].epoch &&
          now < s.started + lease_)
        ++n;
    return n;
  }
  // A 429 / 503 answer, taken by the engine at `at`, asks for a pause (the pause checker).
  void note_pause(sim_endpoint& ep, transport_result const& r, time_point at) {
    if ((r.status != 429 && r.status != 503) || (r.error && r.error != error::http_status)) return;
    auto d = r.retry_after.value_or(cfg_.engine.default_pause);
    d = std::min(d, cfg_.engine.max_pause);
    if (d.count() <= 0) return;
    auto const from = since(at).count(), to = from + d.count();
    if (!ep.pauses.empty() && from <= ep.pauses.back().second)
      ep.pauses.back().second = std::max(ep.pauses.back().second, to);
    else
      ep.pauses.emplace_back(from, to);
  }
  std::int64_t deadline_ms(delivery_track const& tk) const {
    auto const& ev = events_[tk.event];
    // An endpoint's own schedule sets its deliveries' deadline (endpoint_give_up_at).
    auto const d = tk.endpoint != delivery_track::none && !eps_[tk.endpoint].retry_schedule.empty()
                       ? since(ev.created + schedule_span(eps_[tk.endpoint].retry_schedule,
                                                          endpoint_schedule_jitter)).count()
                       : since(ev.deadline).count();
    return std::max(d, tk.resent_until);
  }
  // The timeout a request to endpoint `e` must carry: its own (up to the engine's
  // max_request_timeout), else the engine's.
  // Keeps `outages_`: the windows in which no sender was serving (all crashed, frozen or
  // stopped).
  void note_serving(time_point now) {
    bool any = false;
    for (auto const& sd : senders_) any = any || (sd.up && !sd.frozen && !stopped_);
    auto const t = since(now).count();
    if (serving_ && !any) outages_.emplace_back(t, std::numeric_limits<std::int64_t>::max());
    else if (!serving_ && any) outages_.back().second = t;
    serving_ = any;
  }
  bool outage_within(std::int64_t from, std::int64_t to) const noexcept {
    for (auto const& [a, b] : outages_)
      if (a <= to && b >= from) return true;
    return false;
  }
  duration timeout_of(std::uint32_t e) const {
    auto const cap = sc_.engine.max_request_timeout.value_or(sc_.engine.request_timeout);
    return eps_[e].request_timeout ? std::min(*eps_[e].request_timeout, cap) : sc_.engine.request_timeout;
  }
  void finish(time_point now);
  delivery_track& track(delivery_id id) {
    if (id >= tracks_.size()) tracks_.resize(std::max<std::size_t>(id + 1, tracks_.size() * 2));
    return tracks_[id];
  }
  // Endpoint ids are "ep_NNNN" (the index): parse, then confirm; a map is the fallback.
  std::uint32_t endpoint_of(std::string const& id) const {
    if (id.size() > 3 && id.compare(0, 3, "ep_") == 0) {
      std::uint32_t n = 0;
      auto [p, e] = std::from_chars(id.data() + 3, id.data() + id.size(), n);
      if (e == std::errc{} && p == id.data() + id.size() && n < eps_.size() && eps_[n].id == id)
        return n;
    }
    auto const it = ep_index_.find(id);
    return it == ep_index_.end() ? delivery_track::none : it->second;
  }
  // Event ids end with the publication counter (1-based, 8 hex digits): parse, then confirm.
  std::uint32_t event_of(std::string_view id) const {
    if (id.size() >= 8) {
      std::uint64_t n = 0;
      auto const tail = id.substr(id.size() - 8);
      auto [p, e] = std::from_chars(tail.data(), tail.data() + 8, n, 16);
      if (e == std::errc{} && p == tail.data() + 8 && n >= 1 && n <= events_.size() &&
          events_[n - 1].id == id)
        return static_cast<std::uint32_t>(n - 1);
    }
    auto const it = event_index_.find(std::string(id));
    return it == event_index_.end() ? delivery_track::none : it->second;
  }
  bool expected(sim_event const& ev, std::uint32_t ep) const {
    auto const b = expected_.begin() + ev.expected_begin, e = expected_.begin() + ev.expected_end;
    return std::binary_search(b, e, ep);
  }
  void store_error(char const* what, boost::system::error_code const& ec) {
    // Inside the fault window the wrapper fails calls on purpose; the engine retries them.
    if (sc_.faults.store.active(since(clock_.now()), duration_)) return;
    violate("store", std::string(what) + " failed: " + ec.message());
  }

  // One sender process: its engine on its storage (the store, or its own worker on it,
  // wrapped to fail on purpose), and what the driver knows of it.
  struct sender {
    std::unique_ptr<Store> handle;        // several senders: this one's worker on the store
    std::unique_ptr<fault_store<Store>> fs;
    std::unique_ptr<Engine> engine;
    std::unique_ptr<Engine> standby;      // publishes while the sender is down (crashed)
    std::uint32_t epoch = 0;              // bumped when its open attempts stop being its own
    bool up = true;                       // false between a crash and its restart
    bool frozen = false;                  // takes no turn (a stalled process)
    std::uint32_t restarts = 0;
    std::size_t in_flight = 0;            // sent, answer not yet back (this epoch)
    std::optional<time_point> wake_at;
    time_point idle_at{};                 // the instant of the last steps that did nothing
    std::uint32_t idle_steps = 0;         // steps in a row at idle_at that did nothing
  };

  scenario const& sc_;
  Store& store_;              // endpoint management and the log: the product's and the UI's
  run_options const& opts_;
  engine_config cfg_;
  engine_factory make_engine_;
  std::vector<sender> senders_;
  duration lease_{};          // the engines' effective lease
  std::uint32_t next_publisher_ = 0;
  std::uint32_t first_ = 0;   // the sender that takes the first turn at this instant
  prng rng_;
  prng fault_rng_{0};
  std::vector<pulsehook::sim::crash> crashes_, freezes_;
  std::vector<std::uint32_t> crash_who_, freeze_who_;
  std::vector<duration> retry_steps_;
  // Operational events (scenario.operational_organization): the library's emitter, fed the
  // committed notices, publishing through publish_event; what it published, for the checker.
  std::unique_ptr<operational::emitter> ops_;
  engine_callbacks ops_cb_;
  std::unordered_map<delivery_id, std::uint32_t> ops_exhausted_;
  std::uint64_t ops_disabled_ = 0;
  bool ops_published_ = false;  // during a step: the emitter published (wake the senders)
  std::vector<std::pair<std::int64_t, std::int64_t>> outages_;  // see note_serving
  bool serving_ = true;
  bool stopped_ = false;  // between a stop action and its resume
  double retry_jitter_ = 0.2;
  duration retry_window_{};
  manual_clock clock_;        // virtual time: moved only by the agenda
  trace_writer* tr_ = nullptr;
  duration duration_{};
  duration grace_{};
  std::size_t events_total_ = 0;
  time_point t0_{};
  event_queue<action> q_;
  std::optional<workload_generator> gen_;
  prng action_rng_{0};
  prng erase_rng_{0};        // random erasures' own stream (forked only when there are any)
  // (organisation, subject) -> when it was first erased (ms since start): the events it
  // triggered before then must no longer name it.
  std::map<std::pair<std::uint32_t, std::string>, std::int64_t> erased_subjects_;
  std::vector<std::int64_t> arrivals_;
  std::size_t next_arrival_ = 0;
  std::vector<sim_endpoint> eps_;
  std::unordered_map<std::string, std::uint32_t> ep_index_;
  std::vector<sim_event> events_;
  std::unordered_map<std::string, std::uint32_t> event_index_;
  std::vector<std::uint32_t> expected_;
  std::unordered_map<std::string, std::uint32_t> type_ix_;  // event type -> number
  std::vector<delivery_track> tracks_;
  // Ordered delivery: the open deliveries of each (endpoint, ordering key) in the order the
  // store must hand them out (publish order, a resend of a final one at the back).
  std::vector<std::vector<delivery_id>> order_queues_;  // short: a vector, freed when emptied
  std::map<std::pair<std::uint32_t, std::string>, std::uint32_t> order_queue_ix_;
  std::vector<inflight> slots_;
  std::vector<std::uint32_t> free_slots_;
  engine_actions act_;
  std::map<std::string, std::uint64_t> violation_counts_;
  std::uint64_t actions_done_ = 0;
  std::uint64_t requested_events_ = 0; // arrivals the workload asked to publish
  run_result res_;
};

template <class Store, class Engine>
std::string driver<Store, Engine>::new_secret() {
  // Deterministic secrets (from the run's seed) in the shipped format: whsec_ + base64 of 32
  // bytes (secret.hpp draws those bytes from RAND_bytes; a simulation must not).
  unsigned char bytes[32];
  for (auto& b : bytes) b = static_cast<unsigned char>(action_rng_.uniform(0, 255));
  return "whsec_" + to_base64(bytes);
}

template <class Store, class Engine>
void driver<Store, Engine>::create_endpoint(endpoint_spec const& given, time_point now) {
  endpoint_spec spec = given;  // a swarm endpoint draws some of it
  auto const idx = static_cast<std::uint32_t>(eps_.size());
  char id[32];
  std::snprintf(id, sizeof id, "ep_%04u", idx);
  receiver_profile prof = spec.profile;
  auto rate = spec.rate_limit;
  bool ordered = spec.ordered;
  if (spec.swarm) {
    prof = draw_profile(action_rng_, duration_);
    // One swarm endpoint in four has a rate limit: from one request a minute to 20 a second.
    if (action_rng_.chance(0.25))
      rate = request_rate{std::exp(std::log(1.0 / 60) + action_rng_.uniform01() * std::log(1200.0)),
                          static_cast<std::uint32_t>(action_rng_.uniform(1, 20))};
    // And one in five is ordered.
    ordered = action_rng_.chance(0.2);
    // One in five has settings of its own: a header and a timeout from 2 s to the engine's;
    // one in eight its own retry schedule of 2 to 6 steps from 5 s to 2 h.
    if (action_rng_.chance(0.2)) {
      spec.headers = {{"X-Sim-Tenant", "t" + std::to_string(idx)}};
      auto const top = std::max<std::uint64_t>(2000, static_cast<std::uint64_t>(sc_.engine.request_timeout.count()));
      spec.request_timeout = duration{static_cast<std::int64_t>(action_rng_.uniform(2000, top))};
    }
    if (action_rng_.chance(0.125)) {
      auto const n = action_rng_.uniform(2, 6);
      for (std::uint64_t i = 0; i < n; ++i)
        spec.retry_schedule.push_back(duration{static_cast<std::int64_t>(
            std::exp(std::log(5000.0) + action_rng_.uniform01() * std::log(7200000.0 / 5000.0)))});
    }
  }
  sim_endpoint ep{.id = id,
                  .org = spec.organization,
                  .types = spec.event_types,
                  .secrets = 1,
                  .rx = receiver(prof, rng_.fork(), t0_),
                  .request_timeout = spec.request_timeout,
                  .headers = spec.headers,
                  .retry_schedule = spec.retry_schedule,
                  .ordered = ordered,
                  .expect_p99 = spec.expect_p99,
                  .rate = rate};
  endpoint_record rec;
  rec.id = id;
  rec.organization_id = gen_->organizations()[spec.organization].id;
  rec.name = spec.name.empty() ? prof.name + " receiver " + std::to_string(idx) : spec.name;
  rec.url = "https://e" + std::to_string(idx) + ".receivers.example/webhooks";
  rec.description = "simulated receiver, profile " + prof.name;
  rec.event_types = spec.event_types;
  rec.rate_limit = rate;
  rec.ordered = ordered;
  rec.headers = spec.headers;
  rec.timeout = spec.request_timeout;
  rec.retry_schedule = spec.retry_schedule;
  auto const secret = new_secret();
  rec.secrets.push_back(endpoint_secret{secret, now, std::nullopt});
  rec.created_at = rec.updated_at = now;
  boost::system::error_code ec;
  store_.create_endpoint(rec, ec);
  if (ec) { store_error("create_endpoint", ec); return; }
  ep.rx.learn_secret(secret);
  ep_index_.emplace(ep.id, idx);
  trace(now, "EP+", idx, 0, 0,
        rec.organization_id + " " + prof.name + " types=" + std::to_string(rec.event_types.size()) +
            (ordered ? " ordered" : "") +
            (rec.timeout ? " timeout=" + fmt_ms(rec.timeout->count()) : std::string()) +
            (rec.headers.empty() ? std::string() : " headers=" + std::to_string(rec.headers.size())) +
            (rec.retry_schedule.empty() ? std::string()
                                        : " schedule=" + std::to_string(rec.retry_schedule.size()) + " steps, " +
                                              fmt_ms(schedule_span(rec.retry_schedule, endpoint_schedule_jitter).count())));
  eps_.push_back(std::move(ep));
  ++res_.endpoint_actions;
}

template <class Store, class Engine>
void driver<Store, Engine>::do_action(endpoint_action const& a, time_point now) {
  if (a.kind == action_kind::create) { create_endpoint(a.spec, now); return; }
  if (a.endpoint >= eps_.size()) {
    violate("scenario", "action " + std::string(to_string(a.kind)) + " names endpoint #" +
                            std::to_string(a.endpoint) + " which does not exist yet");
    return;
  }
  auto& ep = eps_[a.endpoint];
  auto const i = static_cast<std::int64_t>(a.endpoint);
  if (ep.deleted) return;
  boost::system::error_code ec;
  ++res_.endpoint_actions;
  switch (a.kind) {
  case action_kind::create: break;
  case action_kind::edit_subscriptions: {
    endpoint_record rec;
    store_.get_endpoint(ep.id, rec, ec);
    if (ec) { store_error("get_endpoint", ec); return; }
    rec.event_types = a.spec.event_types;
    rec.updated_at = now;
    store_.update_endpoint(rec, ec);
    if (ec) { store_error("update_endpoint", ec); return; }
    ep.types = a.spec.event_types;
    ep.subscribed.clear();
    trace(now, "EPSUB", i, 0, 0, "types=" + std::to_string(ep.types.size()));
    break;
  }
  case action_kind::rotate_secret: {
    auto const secret = new_secret();
    store_.rotate_secret(ep.id, endpoint_secret{secret, now, std::nullopt}, a.grace, now, ec);
    if (ec) { store_error("rotate_secret", ec); return; }
    ep.rx.learn_secret(secret, now);  // the owner may paste it in late, or never
    ++ep.secrets;
    trace(now, "EPROT", i, 0, 0, "secret #" + std::to_string(ep.secrets) + " grace=" + fmt_ms(a.grace.count()));
    break;
  }
  case action_kind::disable:
    store_.disable_endpoint(ep.id, "disabled by the simulated user", now, ec);
    if (ec) { store_error("disable_endpoint", ec); return; }
    ep.enabled = false;
    ep.ever_disabled = true;
    trace(now, "EPOFF", i, 0, 0, "disabled");
    break;
  case action_kind::enable:
    store_.enable_endpoint(ep.id, now, ec);
    if (ec) { store_error("enable_endpoint", ec); return; }
    ep.enabled = true;
    ep.enabled_at = since(now).count();
    ep.failing_since = -1;  // enabling starts the run afresh, in the store too
    ep.fails_past_due = 0;
    trace(now, "EPON", i, 0, 0, "enabled");
    break;
  case action_kind::remove:
    store_.delete_endpoint(ep.id, now, ec);
    if (ec) { store_error("delete_endpoint", ec); return; }
    ep.deleted = true;
    ep.enabled = false;
    ep.deleted_at = now;
    trace(now, "EPDEL", i, 0, 0, "deleted");
    break;
  }
}

template <class Store, class Engine>
void driver<Store, Engine>::random_action(time_point now) {
  endpoint_action a;
  double const x = action_rng_.uniform01();
  a.kind = x < 0.35 ? action_kind::rotate_secret
         : x < 0.6  ? action_kind::edit_subscriptions
         : x < 0.72 ? action_kind::disable
         : x < 0.84 ? action_kind::enable
         : x < 0.92 ? action_kind::create
                    : action_kind::remove;
  a.endpoint = static_cast<std::size_t>(action_rng_.uniform(0, eps_.size() - 1));
  auto const& all = all_event_types();
  if (a.kind == action_kind::edit_subscriptions || a.kind == action_kind::create) {
    std::vector<std::string> pick;
    for (auto const& t : all)
      if (action_rng_.chance(0.5)) pick.push_back(t);
    if (pick.empty()) pick.push_back(all[action_rng_.uniform(0, all.size() - 1)]);
    a.spec.event_types = std::move(pick);
    a.spec.organization = static_cast<std::size_t>(
        action_rng_.uniform(0, gen_->organizations().size() - 1));
    a.spec.swarm = true;
  }
  // Never delete or disable the last live endpoint: the run would have nothing to deliver to.
  if (a.kind == action_kind::remove || a.kind == action_kind::disable) {
    std::size_t live = 0;
    for (auto const& e : eps_) live += e.enabled && !e.deleted;
    if (live <= 1) a.kind = action_kind::rotate_secret;
  }
  if (a.kind == action_kind::enable && (eps_[a.endpoint].enabled || eps_[a.endpoint].deleted))
    a.kind = action_kind::rotate_secret;
  do_action(a, now);
}

template <class Store, class Engine>
void driver<Store, Engine>::publish(time_point now) {
  publish_event(gen_->step(now), now, false);
}

// Publishes one event through the senders in turn and records what the checkers expect of it.
// `operational`: one of the library's own (operational::emitter), not the workload's.
template <class Store, class Engine>
void driver<Store, Engine>::publish_event(event_record const& ev, time_point now, bool operational) {
  sim_event se;
  se.operational = operational;
  se.id = ev.id;
  se.created = ev.created_at;
  se.deadline = ev.created_at + retry_window_;
  se.expected_begin = static_cast<std::uint32_t>(expected_.size());
  se.subject = ev.subject;
  for (std::uint32_t o = 0; o < gen_->organizations().size(); ++o)
    if (gen_->organizations()[o].id == ev.organization_id) se.org = o;
  auto const type =
      type_ix_.try_emplace(ev.type, static_cast<std::uint32_t>(type_ix_.size())).first->second;
  for (std::uint32_t i = 0; i < eps_.size(); ++i) {
    auto& ep = eps_[i];
    if (!ep.enabled || ep.deleted) continue;
    if (gen_->organizations()[ep.org].id != ev.organization_id) continue;
    if (type >= ep.subscribed.size()) ep.subscribed.resize(type + 1, 0);
    if (ep.subscribed[type] == 0)
      ep.subscribed[type] =
          std::binary_search(ep.types.begin(), ep.types.end(), ev.type) ? 2 : 1;
    if (ep.subscribed[type] == 2) expected_.push_back(i);
  }
  se.expected_end = static_cast<std::uint32_t>(expected_.size());
  accept_result ar;
  boost::system::error_code ec;
  // The product publishes through the senders in turn. While a sender is down, the product
  // keeps publishing (another process of it, as with a shared store): through an engine that
  // only publishes.
  auto& from = senders_[next_publisher_];
  if (++next_publisher_ == senders_.size()) next_publisher_ = 0;
  auto& publisher = from.up ? *from.engine : *from.standby;
  publisher.publish(ev, ar, ec);
  // Refused by a store failing on purpose: nothing was accepted, and the product tries again,
  // as a caller of publish should.
  for (int again = 0; ec && again < 100 && sc_.faults.store.active(since(now), duration_); ++again)
    publisher.publish(ev, ar, ec);
  if (ec) {
    store_error("publish", ec);
    expected_.resize(se.expected_begin);
    return;
  }
  if (ar.duplicate) {  // a fresh id: the store lost it or mistook it (see the "published" checker)
    expected_.resize(se.expected_begin);
    return;
  }
  if (senders_.size() > 1) poll_all();  // the other senders hear of it (LISTEN/NOTIFY)
  auto const idx = static_cast<std::uint32_t>(events_.size());
  event_index_.emplace(ev.id, idx);
  events_.push_back(se);
  if (operational) {
    ++res_.operational;
    ops_published_ = true;
    note_operational(ev);
  } else {
    ++res_.events;
  }
  res_.deliveries += ar.deliveries.size();
  ++res_.series.published[bucket(now)];
  if (ar.deliveries.size() != se.expected_end - se.expected_begin)
    violate("subscription", ev.id + " (" + ev.type + ") fanned out to " +
                                std::to_string(ar.deliveries.size()) + " deliveries, but " +
                                std::to_string(se.expected_end - se.expected_begin) +
                                " endpoints were subscribed at publish time");
  if (tr_)
    trace(now, "PUB", -1, 0, 0,
          ev.id + " " + ev.type + " " + ev.organization_id + " by " + ev.actor.id + " fanout=" +
              std::to_string(ar.deliveries.size()));
  queue_deliveries(ev, se.expected_begin, now);
}

// The deliveries of a published event to ordered endpoints join their queues (the order
// checker's model of law 13). Which delivery went to which endpoint is read back from the
// store, only when an ordered endpoint got one.
template <class Store, class Engine>
void driver<Store, Engine>::queue_deliveries(event_record const& ev, std::size_t first_expected,
                                             time_point now) {
  bool any = false;
  for (auto i = first_expected; i < expected_.size(); ++i) any |= eps_[expected_[i]].ordered;
  if (!any) return;
  event_detail det;
  boost::system::error_code ec;
  store_.get_event(ev.id, det, ec);
  if (ec) { store_error("get_event", ec); return; }
  auto const idx = static_cast<std::uint32_t>(events_.size() - 1);
  for (auto const& d : det.deliveries) {
    auto const e = endpoint_of(d.endpoint_id);
    if (e == delivery_track::none || !eps_[e].ordered) continue;
    auto const [it, fresh] = order_queue_ix_.try_emplace(
        {e, ev.effective_ordering_key()}, static_cast<std::uint32_t>(order_queues_.size()));
    if (fresh) order_queues_.emplace_back();
    auto& q = order_queues_[it->second];
    auto& tk = track(d.id);
    tk.event = idx;
    tk.endpoint = e;
    tk.queue = it->second;
    if (q.empty()) tk.head_at = since(now).count();
    q.push_back(d.id);
  }
}

// A delivery became final: it leaves its ordering queue, and the next one is the head.
template <class Store, class Engine>
void driver<Store, Engine>::note_final(delivery_id id, time_point now) {
  auto const& tk = track(id);
  if (tk.queue == delivery_track::none) return;
  auto& q = order_queues_[tk.queue];
  auto const it = std::find(q.begin(), q.end(), id);
  if (it == q.end()) return;
  bool const head = it == q.begin();
  q.erase(it);
  if (q.empty()) std::vector<delivery_id>{}.swap(q);
  else if (head) track(q.front()).head_at = since(now).count();
}

template <class Store, class Engine>
void driver<Store, Engine>::send(std::uint32_t who, outgoing_request& req, time_point now) {
  ++res_.attempts;
  auto const b = bucket(now);
  ++res_.series.attempts[b];
  std::uint32_t const e = endpoint_of(req.endpoint_id);
  if (e == delivery_track::none) {
    violate("subscription", "delivery " + std::to_string(req.delivery) +
                                " was sent to unknown endpoint \"" + req.endpoint_id + "\"");
    return;
  }
  auto& ep = eps_[e];
  auto& tk = track(req.delivery);
  if (tk.event == delivery_track::none) {
    tk.event = event_of(req.body ? event_id_of(*req.body) : std::string_view{});
    tk.endpoint = e;
  }
  if (tk.attempts > 0) ++res_.series.retries[b];
  std::int64_t const now_ms = since(now).count();
  if (tk.event != delivery_track::none) {
    auto const& ev = events_[tk.event];
    if (!expected(ev, e))
      violate("subscription", "delivery " + std::to_string(req.delivery) + " went to " + ep.id +
                                  ", which was not subscribed when its event was published");
    // The last attempt is due AT the deadline; one the endpoint could not take then may start
    // within the grace (the engine reports it as overload), never later.
    if (since(now).count() > deadline_ms(tk) + grace_.count())
      violate("deadline", "delivery " + std::to_string(req.delivery) + " to " + ep.id +
                              ": attempt " + std::to_string(tk.attempts + 1) + " at " +
                              fmt_ms(since(now).count()) + ", " +
                              fmt_ms((now - ev.deadline).count()) + " after its deadline");
    // Re-enabling an endpoint makes its parked deliveries due at once (a user's decision, not
    // the policy's), so the law restarts from there.
    // The law counts the attempts the policy saw: the recorded ones (an attempt lost to a crash
    // or to a failed store call is attempted again after its lease, not by the policy).
    if (tk.recorded > 0 && tk.last_end >= 0 && ep.enabled_at < tk.last_end) {
      // An endpoint's own schedule replaces the scenario's steps; past its end it allows no
      // scheduled attempt (a resend's are manual).
      auto const& own = ep.retry_schedule;
      auto const& steps = own.empty() ? retry_steps_ : own;
      auto const jitter = own.empty() ? retry_jitter_ : endpoint_schedule_jitter;
      if (!own.empty() && tk.recorded > own.size() && tk.resent_until < 0)
        violate("retry-law", "delivery " + std::to_string(req.delivery) + " to " + ep.id +
                                 ": attempt " + std::to_string(tk.attempts + 1) + " after its "
                                 "endpoint's own schedule of " + std::to_string(own.size()) +
                                 " retries was exhausted");
      auto const n = std::min<std::size_t>(tk.recorded, steps.size());
      auto const step = n > 0 ? steps[n - 1].count() : 0;
      std::int64_t lower = tk.last_end + static_cast<std::int64_t>(
                                             std::floor(static_cast<double>(step) * (1.0 - jitter)));
      if (tk.retry_after >= 0) lower = std::max(lower, tk.last_end + tk.retry_after);
      lower = std::min(lower, deadline_ms(tk));
      if (now_ms + 1 < lower)
        violate("retry-law", "delivery " + std::to_string(req.delivery) + " to " + ep.id +
                                 ": attempt " + std::to_string(tk.attempts + 1) + " came " +
                                 fmt_ms(now_ms - tk.last_end) + " after the last recorded one ended; "
                                 "the policy allows no sooner than " + fmt_ms(lower - tk.last_end));
    }
  } else {
    violate("subscription", "delivery " + std::to_string(req.delivery) +
                                " carries an event the simulator never published");
  }
  if (ep.deleted && now >= ep.deleted_at)
    violate("deleted", "delivery " + std::to_string(req.delivery) + " was sent to " + ep.id +
                           " after it was deleted");
  // Erasure: once an event's payload is erased, no request carries it any more (one that was
  // in flight then may still arrive: it started before).
  if (tk.event != delivery_track::none && events_[tk.event].erased >= 0 &&
      now_ms > events_[tk.event].erased)
    violate("erasure", "delivery " + std::to_string(req.delivery) + " of " + events_[tk.event].id +
                           " (subject " + events_[tk.event].subject + ") was sent to " + ep.id +
                           " at " + fmt_ms(now_ms) + ", after its payload was erased at " +
                           fmt_ms(events_[tk.event].erased));
  if (ep.rate || !ep.retry_schedule.empty()) ep.sent_at.push_back(now_ms);
  if (ep.rate) {
    // The endpoint's rate limit, counted as the receiver sees it: a token per request.
    auto const burst = static_cast<double>(ep.rate->burst);
    ep.tokens = ep.tokens < 0 ? burst
                              : std::min(burst, ep.tokens + static_cast<double>(now_ms - ep.tokens_at) *
                                                                ep.rate->per_second / 1000.0);
    ep.tokens_at = now_ms;
    if (ep.tokens < 1 - 1e-9)
      violate("rate", ep.id + " got a request at " + fmt_ms(now_ms) + " beyond its rate limit (" +
                          std::to_string(ep.rate->per_second) + "/s, burst " +
                          std::to_string(ep.rate->burst) + ")");
    else
      ep.tokens -= 1;
  }
  if (!ep.pauses.empty() && now_ms >= ep.pauses.back().first && now_ms < ep.pauses.back().second)
    violate("pause", "delivery " + std::to_string(req.delivery) + " was sent to " + ep.id +
                         " at " + fmt_ms(now_ms) + ", while its answer 429 / 503 asked for a pause"
                         " until " + fmt_ms(ep.pauses.back().second));
  if (tk.final_state != 0)
    violate("final-state", "delivery " + std::to_string(req.delivery) + " to " + ep.id +
                               " was attempted again after it ended " +
                               to_string(static_cast<delivery_state>(tk.final_state)));
  // Ordered delivery: only the head of its queue goes out; every delivery of the same key
  // published before it (or resent before it was) has ended.
  if (tk.queue != delivery_track::none) {
    auto const& q = order_queues_[tk.queue];
    if (!q.empty() && q.front() != req.delivery) {
      auto const& head = track(q.front());
      violate("order", "delivery " + std::to_string(req.delivery) + " of " +
                           (tk.event != delivery_track::none ? events_[tk.event].id : std::string("?")) +
                           " was sent to " + ep.id + " (ordered) at " + fmt_ms(now_ms) +
                           " while delivery " + std::to_string(q.front()) + " of " +
                           (head.event != delivery_track::none ? events_[head.event].id : std::string("?")) +
                           ", published before it with the same ordering key, was still open");
    }
  }
  // Leases: the store hands a delivery to one sender at a time, until its lease ends or the
  // holder writes it (several senders; one sender's own re-claims are the engine's business).
  if (senders_.size() > 1) {
    if (tk.holder != delivery_track::none && tk.holder != who && !tk.holder_done &&
        now_ms < tk.lease_end)
      violate("lease", "delivery " + std::to_string(req.delivery) + " to " + ep.id +
                           " was claimed by sender " + std::to_string(who) + " at " +
                           fmt_ms(now_ms) + " while sender " + std::to_string(tk.holder) +
                           "'s lease ran until " + fmt_ms(tk.lease_end));
    tk.holder = who;
    tk.holder_done = false;
    tk.lease_end = since(now + lease_).count();
  }
  // In-flight caps: the engine never has more open than it is allowed; with several senders
  // the per-endpoint cap holds across them (attempts under a live lease), the total per sender.
  auto& sd = senders_[who];
  ++ep.in_flight;
  ++sd.in_flight;
  auto const at_endpoint = senders_.size() > 1 ? live_in_flight(e, now) + 1 : ep.in_flight;
  if (at_endpoint > sc_.engine.max_in_flight_per_endpoint)
    violate("in-flight", ep.id + " had " + std::to_string(at_endpoint) +
                             " attempts open at " + fmt_ms(now_ms) + "; its cap is " +
                             std::to_string(sc_.engine.max_in_flight_per_endpoint));
  if (sd.in_flight > sc_.engine.max_in_flight)
    violate("in-flight", std::to_string(sd.in_flight) + " attempts were open at " +
                             fmt_ms(now_ms) + "; the cap is " +
                             std::to_string(sc_.engine.max_in_flight));
  ++tk.attempts;
  if (opts_.tamper) opts_.tamper(req);
  // Erasure by subject took the subject's name from the envelopes of what it had triggered
  // before: a request sent after the erasure names nobody there.
  if (!erased_subjects_.empty() && req.body && tk.event != delivery_track::none) {
    std::string_view const b(*req.body);
    auto const a = b.find("\"actor\":{\"type\":");
    auto const id_at = a == std::string_view::npos ? a : b.find(",\"id\":\"", a);
    auto const name_at = id_at == std::string_view::npos ? id_at : b.find(",\"name\":\"", id_at);
    if (name_at != std::string_view::npos && name_at + 9 < b.size() && b[name_at + 9] != '"') {
      auto const id_end = b.find('"', id_at + 7);
      auto const& ev = events_[tk.event];
      auto const it = erased_subjects_.find({ev.org, std::string(b.substr(id_at + 7, id_end - id_at - 7))});
      if (it != erased_subjects_.end() && since(ev.created).count() < it->second && now_ms > it->second)
        violate("erasure-names", "delivery " + std::to_string(req.delivery) + " of " + ev.id +
                                     " was sent to " + ep.id + " at " + fmt_ms(now_ms) +
                                     " naming its actor " + it->first.second + ", erased at " +
                                     fmt_ms(it->second));
    }
  }
  // Per-endpoint settings: the engine sends the endpoint's own timeout and, after the
  // library's headers, its own headers, unchanged.
  if (req.timeout != timeout_of(e))
    violate("settings", "delivery " + std::to_string(req.delivery) + " was sent to " + ep.id +
                            " with a timeout of " + fmt_ms(req.timeout.count()) + "; its settings say " +
                            fmt_ms(timeout_of(e).count()));
  for (auto const& h : ep.headers) {
    auto const it = std::find(req.headers.begin(), req.headers.end(), h);
    if (it == req.headers.end() || it - req.headers.begin() < 2)
      violate("settings", "delivery " + std::to_string(req.delivery) + " was sent to " + ep.id +
                              " without its header " + h.name + ": " + h.value);
  }
  auto const ev_idx = tk.event == delivery_track::none ? std::int64_t{-1} : std::int64_t{tk.event};
  auto o = ep.rx.handle(req, ev_idx, now, req.timeout, sc_.engine.response_body_cap);
  if (o.arrived) ++res_.received;
  if (tr_) {
    std::string d;
    if (tk.event != delivery_track::none && req.body) d.append(event_id_of(*req.body));
    if (!o.arrived) d += " lost";
    else {
      d += o.signature_ok ? " sig=ok" : " sig=BAD(" + o.verify_error.message() + ")";
      if (ev_idx >= 0 && ep.rx.times_received(static_cast<std::size_t>(ev_idx)) > 1) d += " dup";
    }
    if (senders_.size() > 1) d += " by=" + std::to_string(who);
    trace(now, "SEND", e, req.delivery, tk.attempts, d);
  }
  std::uint32_t slot;
  if (!free_slots_.empty()) { slot = free_slots_.back(); free_slots_.pop_back(); }
  else { slot = static_cast<std::uint32_t>(slots_.size()); slots_.emplace_back(); }
  auto& s = slots_[slot];
  s.id = req.delivery;
  s.endpoint = e;
  s.attempt = tk.attempts;
  s.started = now;
  s.epoch = sd.epoch;
  s.sender = who;
  s.open = true;
  s.result = std::move(o.result);
  tk.slot = slot;
  q_.push(now + o.latency, action{act::result, slot});
}

// The receiver's answer reaches the sender: checked here, recorded by the engine's next turn.
template <class Store, class Engine>
void driver<Store, Engine>::on_result(std::uint32_t slot, time_point now) {
  auto& s = slots_[slot];
  auto& ep = eps_[s.endpoint];
  auto& tk = track(s.id);
  auto& sd = senders_[s.sender];
  s.open = false;
  if (s.epoch != sd.epoch) {
    // Sent by a sender that crashed or stopped since: the answer reaches nobody. The claim
    // comes back after its lease, or was handed back at the stop.
    if (tk.slot == slot) tk.slot = delivery_track::none;
    if (s.result.ok()) tk.received_2xx = true;  // the receiver has it (a duplicate may follow)
    s.result = transport_result{};
    free_slots_.push_back(slot);
    trace(now, "LOST", s.endpoint, s.id, s.attempt, "answer of an attempt the sender abandoned");
    return;
  }
  if (ep.in_flight > 0) --ep.in_flight;
  if (sd.in_flight > 0) --sd.in_flight;
  s.answered = now;
  if (tk.event != delivery_track::none &&
      since(now).count() > deadline_ms(tk) + (grace_ + timeout_of(s.endpoint)).count() + 1)
    violate("deadline", "delivery " + std::to_string(s.id) + " to " + ep.id +
                            " had an attempt still running " +
                            fmt_ms(since(now).count() - deadline_ms(tk)) + " after its deadline");
  if (s.result.ok()) {
    if (!tk.received_2xx && tk.event != delivery_track::none) {
      auto const ttd = (now - events_[tk.event].created).count();
      res_.time_to_delivery_ms.push_back(ttd);
      ep.time_to_delivery.push_back(ttd);
    }
    tk.received_2xx = true;
  }
  sd.engine->add_result(s.id, s.result, now);
}

// The engine disabled an endpoint (auto-disable): the simulator's model follows (no deliveries
// for it from now on, its open ones parked), and the checker asks whether it had to: its last
// answer was 410 Gone, or every attempt since the run's start, disable_after ago, failed.
template <class Store, class Engine>
void driver<Store, Engine>::auto_disabled(notice const& n) {
  auto const i = endpoint_of(n.endpoint_id);
  if (i == delivery_track::none) {
    violate("auto-disable", "an unknown endpoint " + n.endpoint_id + " was disabled");
    return;
  }
  auto& ep = eps_[i];
  auto const at = since(n.at).count();
  auto const due = cfg_.engine.disable_after.count();
  bool const gone = ep.last_gone && cfg_.engine.disable_on_gone;
  bool const long_enough = due > 0 && ep.failing_since >= 0 && at - ep.failing_since >= due;
  if (!ep.enabled || ep.deleted)
    violate("auto-disable", ep.id + " was disabled at " + fmt_ms(at) + " although it was " +
                                (ep.deleted ? "deleted" : "disabled already"));
  else if (!gone && !long_enough)
    violate("auto-disable", ep.id + " was disabled at " + fmt_ms(at) + " (" + n.update.reason +
                                "), but " +
                                (ep.failing_since < 0 ? std::string("its last attempt succeeded")
                                                      : "it has failed only since " + fmt_ms(ep.failing_since)) +
                                (ep.last_gone ? "" : " and its last answer was not 410"));
  ep.enabled = false;
  ep.ever_disabled = true;
  ++res_.auto_disabled;
  trace(n.at, "EPAUTO", i, 0, 0, n.update.reason);
}

// What the engine announced after a turn: the simulator's view of every delivery follows the
// committed notices, so the trace says what the store says.
template <class Store, class Engine>
void driver<Store, Engine>::on_notice(std::uint32_t who, notice const& n) {
  if (ops_ && (n.kind == notice_kind::endpoint_disabled || n.kind == notice_kind::delivery_failed))
    announce(n, ops_cb_);  // as basic_dispatcher announces its committed notices
  if (n.kind == notice_kind::endpoint_disabled) return auto_disabled(n);
  if (n.delivery == 0) return;  // other endpoint notices: counted by the engine's metrics
  auto& tk = track(n.delivery);
  // Fencing: a sender records an attempt only while its claim is the delivery's newest; a
  // late result of a sender whose lease another sender took over is refused by the store
  // (lease_lost), whether or not the new holder has written it yet. (A give-up without an
  // attempt comes from a claim the driver does not see: the claim was not sent.)
  if (senders_.size() > 1 && tk.holder != delivery_track::none) {
    bool const gave_up_unattempted = n.kind == notice_kind::delivery_failed &&
                                     n.update.reason.rfind("gave up (", 0) == 0;
    if (tk.holder == who) tk.holder_done = true;
    else if (!gave_up_unattempted)
      violate("fencing", "sender " + std::to_string(who) + " recorded delivery " +
                             std::to_string(n.delivery) + " at " + fmt_ms(since(n.at).count()) +
                             " after sender " + std::to_string(tk.holder) +
                             " claimed it again: a late result the store should have refused");
  }
  auto const b = bucket(n.at);
  auto finish_slot = [&](std::string_view state) {
    if (tk.slot == delivery_track::none) return;
    auto& s = slots_[tk.slot];
    if (tr_) {
      std::string d;
      if (s.result.error && s.result.error != error::http_status) d = s.result.error.message();
      else d = std::to_string(s.result.status);
      if (s.result.retry_after) d += " retry-after=" + fmt_ms(s.result.retry_after->count());
      d += " " + fmt_ms((s.answered - s.started).count()) + " -> ";
      d += state;
      trace(n.at, "DONE", s.endpoint, s.id, s.attempt, d);
    }
    s.result = transport_result{};
    free_slots_.push_back(tk.slot);
    tk.slot = delivery_track::none;
  };
  switch (n.kind) {
  case notice_kind::attempt_finished: {
    // Recorded: the retry law starts from this attempt's end.
    ++tk.recorded;
    if (tk.slot != delivery_track::none) {
      auto const& s = slots_[tk.slot];
      tk.last_end = since(s.answered).count();
      tk.retry_after = s.result.retry_after ? s.result.retry_after->count() : -1;
      if (tk.endpoint != delivery_track::none) note_pause(eps_[tk.endpoint], s.result, n.at);
    }
    bool const ok = n.update.state == delivery_state::sent;
    if (tk.endpoint != delivery_track::none) {
      // Health, as the store keeps it from this record (endpoint_health_storage).
      auto& ep = eps_[tk.endpoint];
      auto const started = tk.slot != delivery_track::none ? since(slots_[tk.slot].started).count()
                                                           : since(n.at).count();
      if (ok) {
        ep.failing_since = -1;
        ep.fails_past_due = 0;
        ep.last_gone = false;
      } else {
        if (ep.failing_since < 0) ep.failing_since = started;
        ep.last_fail_started = started;
        // A receiver's non-2xx comes with error::http_status, as from http_transport.
        ep.last_gone = tk.slot != delivery_track::none && slots_[tk.slot].result.status == 410 &&
                       (!slots_[tk.slot].result.error ||
                        slots_[tk.slot].result.error == error::http_status);
        auto const due = cfg_.engine.disable_after.count();
        if (due > 0 && ep.enabled && since(n.at).count() - ep.failing_since >= due) ++ep.fails_past_due;
      }
    }
    if (ok) {
      ++res_.series.sent[b];
    } else {
      ++res_.failed_attempts;
      ++res_.series.failed_attempts[b];
    }
    if (n.update.state == delivery_state::sent || n.update.state == delivery_state::failed) {
      if (tk.final_state == 0) note_final(n.delivery, n.at);
      tk.final_state = static_cast<std::uint8_t>(n.update.state);
      if (n.update.state == delivery_state::failed) ++res_.series.failed[b];
    }
    std::string state = to_string(n.update.state);
    if (tr_) {
      if (n.update.state == delivery_state::retrying && n.update.next_attempt_at)
        state += " next=+" + fmt_ms((*n.update.next_attempt_at - n.at).count());
      if (n.update.state == delivery_state::failed && !n.update.reason.empty())
        state += " (" + n.update.reason + ")";
    }
    finish_slot(state);
    break;
  }
  case notice_kind::delivery_failed:
    if (tk.final_state != 0) break;  // its attempt_finished said so already
    note_final(n.delivery, n.at);
    tk.final_state = static_cast<std::uint8_t>(delivery_state::failed);
    ++res_.series.failed[b];
    if (tk.slot != delivery_track::none) {
      // An attempt whose delivery was closed meanwhile (endpoint deleted): recorded as failed,
      // whatever the receiver answered.
      ++res_.failed_attempts;
      ++res_.series.failed_attempts[b];
      finish_slot("failed (" + n.update.reason + ")");
    } else if (tr_) {
      trace(n.at, "GIVE", endpoint_of(n.endpoint_id), n.delivery, tk.attempts,
            "-> failed (" + n.update.reason + ")");
    }
    break;
  default: break;
  }
}

// One step of sender `who` at `now`: its engine runs what is due and the driver carries out
// the answer, the same protocol basic_dispatcher follows (engine.hpp).
template <class Store, class Engine>
void driver<Store, Engine>::step(std::uint32_t who, time_point now) {
  auto& sd = senders_[who];
  if (!sd.up || sd.frozen) return;
  sd.engine->advance(now, act_);
  for (auto const& e : act_.errors) {
    // A late result of a sender whose lease was taken over: refused, as it must be.
    if (e.ec == error::lease_lost) {
      ++res_.fenced;
      trace(now, "FENCE", -1, 0, 0, "sender " + std::to_string(who) + ": " + e.where + " refused: " + e.ec.message());
      continue;
    }
    store_error(e.where, e.ec);
  }
  for (auto const& n : act_.notices) on_notice(who, n);
  if (ops_published_) {
    // The emitter published from the notices (as from a dispatcher's callback): the publisher
    // looks at once, as basic_dispatcher::publish wakes its loop.
    ops_published_ = false;
    for (std::uint32_t i = 0; i < senders_.size(); ++i)
      if (senders_[i].up && (!senders_[i].wake_at || *senders_[i].wake_at > now)) {
        senders_[i].wake_at = now;
        q_.push(now, action{act::wake, i});
      }
  }
  for (auto& r : act_.requests) send(who, r, now);
  if (act_.stopped) {
    trace(now, "HALT", -1, 0, 0, "stopped: open attempts handed back to the store");
    new_epoch(who, true);
  }
  bool const idle = act_.requests.empty() && act_.notices.empty();
  // Spent requests go back to the engine, whose next poll refills their storage.
  sd.engine->recycle(act_.requests);
  if (!act_.wake_at) return;
  auto at = *act_.wake_at;
  if (at <= now) {
    // The engine wants another turn at once (a claim filled its batch). A turn that does
    // nothing and asks again at the same instant, over and over, is a spinning engine.
    if (idle && now == sd.idle_at) {
      if (++sd.idle_steps == 1000) {
        violate("engine", "the engine asked for another turn at " + fmt_ms(since(now).count()) +
                              " 1000 times in a row without doing anything");
      }
      if (sd.idle_steps >= 1000) at = now + duration{1000};
    } else {
      sd.idle_at = now;
      sd.idle_steps = idle ? 1 : 0;
    }
    if (at <= now) at = now;
  }
  if (!sd.wake_at || at < *sd.wake_at || *sd.wake_at < now) {
    sd.wake_at = at;
    q_.push(at, action{act::wake, who});
  }
}

// A sender's open attempts stop being its own (a crash, or a stop that handed them back):
// their answers will reach nobody, and its in-flight counts start over. Handed back
// (`released`), they are no longer leased to it either.
template <class Store, class Engine>
void driver<Store, Engine>::new_epoch(std::uint32_t who, bool released) {
  auto& sd = senders_[who];
  for (auto const& s : slots_) {
    if (!s.open || s.sender != who || s.epoch != sd.epoch) continue;
    if (eps_[s.endpoint].in_flight > 0) --eps_[s.endpoint].in_flight;
    if (released) {
      auto& tk = track(s.id);
      if (tk.holder == who) tk.holder = delivery_track::none;
    }
  }
  ++sd.epoch;
  sd.in_flight = 0;
}

template <class Store, class Engine>
void driver<Store, Engine>::crash(std::uint32_t who, time_point now) {
  auto& sd = senders_[who];
  if (!sd.up) return;
  trace(now, "CRASH", -1, 0, 0,
        senders_.size() > 1 ? "sender " + std::to_string(who) + " killed with " +
                                  std::to_string(sd.engine->in_flight()) + " attempts open"
                            : "sender killed with " + std::to_string(sd.engine->in_flight()) +
                                  " attempts open");
  // Nothing is released: the claims come back after their lease, as after a kill -9.
  new_epoch(who, false);
  sd.engine.reset();
  sd.standby = make_engine_(*sd.fs, engine_config_of(who));
  sd.up = false;
  sd.frozen = false;
}

template <class Store, class Engine>
void driver<Store, Engine>::restart(std::uint32_t who, time_point now) {
  auto& sd = senders_[who];
  if (sd.up) return;
  auto cfg = engine_config_of(who);
  cfg.seed += ++sd.restarts;  // a new process, a new jitter stream (still from the one seed)
  if constexpr (requires { store_.share(); }) {
    // A new process is a new worker: the dead one's claims stay leased to it until they expire.
    if (sd.handle) {
      sd.standby.reset();
      sd.fs.reset();
      *sd.handle = store_.share();
      sd.fs = std::make_unique<fault_store<Store>>(*sd.handle);
      configure_faults(who);
    }
  }
  sd.engine = make_engine_(*sd.fs, cfg);
  notice_mask mask = notice_mask::none();
  mask.add(notice_kind::attempt_finished).add(notice_kind::delivery_failed).add(notice_kind::endpoint_disabled);
  sd.engine->set_notice_mask(mask);
  sd.standby.reset();
  sd.up = true;
  sd.wake_at.reset();
  trace(now, "BOOT", -1, 0, 0,
        senders_.size() > 1 ? "sender " + std::to_string(who) + " started again after a crash"
                            : "sender started again after a crash");
  sd.engine->start(now);
}

// A stalled sender (a long pause, a partition): it takes no turn, answers pile up unrecorded,
// its leases run out and other senders take its work over; thawed, it records what it has,
// and the store refuses what is no longer its own.
template <class Store, class Engine>
void driver<Store, Engine>::freeze(std::uint32_t who, time_point now, duration length) {
  auto& sd = senders_[who];
  if (!sd.up || sd.frozen) return;
  sd.frozen = true;
  ++res_.freezes;
  trace(now, "STALL", -1, 0, 0,
        "sender " + std::to_string(who) + " stalls for " + fmt_ms(length.count()) + " with " +
            std::to_string(sd.engine->in_flight()) + " attempts open");
}

template <class Store, class Engine>
void driver<Store, Engine>::thaw(std::uint32_t who, time_point now) {
  auto& sd = senders_[who];
  if (!sd.up || !sd.frozen) return;
  sd.frozen = false;
  sd.wake_at.reset();
  trace(now, "THAW", -1, 0, 0, "sender " + std::to_string(who) + " runs again");
}

template <class Store, class Engine>
void driver<Store, Engine>::resend(delivery_id id, time_point now) {
  boost::system::error_code ec;
  store_.resend(id, now, ec);
  if (ec == error::endpoint_disabled || ec == error::endpoint_deleted || ec == error::event_erased)
    return;
  if (ec) { store_error("resend", ec); return; }
  note_resent(id, now);
}

// The store reopened `id` by hand (resend, resend_event or recover): what the checkers track.
template <class Store, class Engine>
void driver<Store, Engine>::note_resent(delivery_id id, time_point now) {
  auto& tk = track(id);
  // An ordered delivery that was final goes to the back of its queue (law 13).
  if (tk.queue != delivery_track::none && tk.final_state != 0) {
    auto& q = order_queues_[tk.queue];
    if (q.empty()) tk.head_at = since(now).count();
    q.push_back(id);
  }
  // Reopened by hand: not a retry of the policy's, and it has a deadline of its own.
  tk.final_state = 0;
  tk.last_end = -1;
  tk.resent_until = since(now + resend_window).count();
  tk.holder = delivery_track::none;  // reopened by hand: due at once, whoever held it
  ++res_.resent;
  trace(now, "RSND", tk.endpoint == delivery_track::none ? -1 : std::int64_t{tk.endpoint}, id,
        tk.attempts, "reopened by hand");
}

template <class Store, class Engine>
void driver<Store, Engine>::do_log_action(log_action const& a, time_point now) {
  boost::system::error_code ec;
  if (a.kind == log_action_kind::purge) {
    auto req = a.purge;
    req.now = now;
    purge_result pr;
    store_.purge(req, pr, ec);
    if (ec) { store_error("purge", ec); return; }
    auto const cut = now - req.events_older_than;
    for (auto& ev : events_)
      if (ev.created < cut) ev.purged = true;
    trace(now, "PURGE", -1, 0, 0,
          "events=" + std::to_string(pr.events) + " deliveries=" + std::to_string(pr.deliveries) +
              " attempts=" + std::to_string(pr.attempts) + " bodies=" + std::to_string(pr.bodies));
    return;
  }
  if (a.kind == log_action_kind::erase) {
    if (*a.event < events_.size()) erase_subject_of(*a.event, now);  // else: not published yet
    return;
  }
  std::vector<delivery_id> ids;
  if (a.event && !a.endpoint) {
    // The whole event, in one store call (bulk_resend_storage): its final deliveries to live,
    // enabled endpoints.
    if (*a.event >= events_.size()) return;  // not published (yet): nothing to resend
    resend_event_result rr;
    store_.resend_event(events_[*a.event].id, now, rr, ec);
    if (ec == error::not_found || ec == error::event_erased) return;  // purged, or erased
    if (ec) { store_error("resend_event", ec); return; }
    for (auto id : rr.reopened) note_resent(id, now);
  } else if (a.event) {
    if (*a.event >= events_.size()) return;  // not published (yet): nothing to resend
    event_detail det;
    store_.get_event(events_[*a.event].id, det, ec);
    if (ec == error::not_found) return;  // purged
    if (ec) { store_error("get_event", ec); return; }
    for (auto const& d : det.deliveries) {
      bool const final = d.state == delivery_state::sent || d.state == delivery_state::failed;
      if (!final) continue;
      if (a.endpoint && (*a.endpoint >= eps_.size() || eps_[*a.endpoint].id != d.endpoint_id))
        continue;
      ids.push_back(d.id);
    }
  } else if (a.endpoint && *a.endpoint < eps_.size() && !eps_[*a.endpoint].deleted) {
    // A recovery (bulk_resend_storage): batch after batch from an empty cursor until the
    // store says it is done. Small batches, so that every run walks several.
    recover_request rq;
    rq.endpoint_id = eps_[*a.endpoint].id;
    rq.since = t0_ + a.since;
    rq.now = now;
    rq.batch = 16;
    recover_result rr;
    do {
      store_.recover(rq, rr, ec);
      if (ec == error::endpoint_disabled || ec == error::endpoint_deleted) break;
      if (ec) { store_error("recover", ec); return; }
      for (auto id : rr.reopened) note_resent(id, now);
      rq.cursor = std::move(rr.next_cursor);
    } while (!rq.cursor.empty());
  }
  for (auto id : ids) resend(id, now);
  poll_all();
}

// Erases every event published so far about the subject of events_[event], as the product
// does when a person asks to be forgotten, and tells the checkers: no request may carry those
// events any more, their deliveries that were open are closed by the store.
template <class Store, class Engine>
void driver<Store, Engine>::erase_subject_of(std::size_t event, time_point now) {
  auto const ev = events_[event];  // a copy: the loop below reads events_
  if (ev.subject.empty()) return;
  if constexpr (erasure_storage<Store>) {
    erase_subject_request rq;
    rq.organization_id = gen_->organizations()[ev.org].id;
    rq.subject = ev.subject;
    rq.now = now;
    rq.batch = 4;  // small batches, so that an erasure walks several
    erase_result sum;
    boost::system::error_code ec;
    erase_whole_subject(store_, rq, sum, ec);
    if (ec) { store_error("erase_subject", ec); return; }
    ++res_.erasures;
    auto const now_ms = since(now).count();
    erased_subjects_.try_emplace({ev.org, ev.subject}, now_ms);
    for (auto& e : events_) {
      if (e.org != ev.org || e.subject != ev.subject || e.erased >= 0) continue;
      // The deliveries the erasure closed are final now: what the trace checker follows.
      event_detail det;
      store_.get_event(e.id, det, ec);
      if (ec == error::not_found) continue;  // purged by retention
      if (ec) { store_error("get_event", ec); return; }
      e.erased = now_ms;
      for (auto const& d : det.deliveries)
        if (d.state == delivery_state::failed && d.reason == erased_reason) {
          auto& tk = track(d.id);
          if (tk.final_state == 0) {
            note_final(d.id, now);
            tk.final_state = static_cast<std::uint8_t>(delivery_state::failed);
          }
        }
    }
    trace(now, "ERASE", -1, 0, 0,
          "subject=" + ev.subject + " events=" + std::to_string(sum.events) +
              " closed=" + std::to_string(sum.closed));
  } else {
    (void)now;
    violate("scenario", "the scenario erases, but this store does not model erasure_storage");
  }
}

template <class Store, class Engine>
run_result driver<Store, Engine>::run() {
  tr_ = opts_.trace;
  // The driver reads attempts and give-ups from the notices; the rest it has no use for.
  notice_mask mask = notice_mask::none();
  mask.add(notice_kind::attempt_finished).add(notice_kind::delivery_failed).add(notice_kind::endpoint_disabled);
  for (auto& sd : senders_) sd.engine->set_notice_mask(mask);
  // Streams, each forked from the one seed, in a fixed order.
  prng workload_rng = rng_.fork();
  action_rng_ = rng_.fork();
  prng arrival_rng = rng_.fork();
  gen_.emplace(sc_.workload, workload_rng);
  if (sc_.operational_organization) {
    operational::emitter_options eo;
    eo.organization_id = gen_->organizations()[*sc_.operational_organization].id;
    eo.seed = cfg_.seed ^ 0x6f70735f65766e74ull;
    eo.publish = [this](event_record const& e) { publish_event(e, e.created_at, true); };
    eo.lookup = [this](std::string_view id, endpoint_record& out) {
      boost::system::error_code ec;
      store_.get_endpoint(id, out, ec);
      return !ec;
    };
    ops_ = std::make_unique<operational::emitter>(std::move(eo));
    ops_cb_ = ops_->hook();
  }
  trace(t0_, "START", -1, 0, 0,
        "scenario=" + sc_.name + " seed=" + std::to_string(opts_.seed) + " store=" +
            opts_.store_name + " events=" + std::to_string(events_total_) + " duration=" +
            fmt_ms(duration_.count()));
  for (auto const& spec : sc_.endpoints) create_endpoint(spec, t0_);

  arrivals_ = draw_arrivals(sc_.workload.arrivals, events_total_, duration_, arrival_rng);
  if (!arrivals_.empty()) q_.push(t0_ + duration{arrivals_[0]}, action{act::publish, 0});
  // Endpoint and log actions, in the order the file gives them at equal instants.
  {
    struct planned {
      duration at;
      std::size_t order;
      action a;
    };
    std::vector<planned> plan;
    for (std::uint32_t i = 0; i < sc_.actions.size(); ++i)
      plan.push_back({sc_.actions[i].at, sc_.actions[i].order, action{act::endpoint_action, i}});
    for (std::uint32_t i = 0; i < sc_.log_actions.size(); ++i)
      plan.push_back({sc_.log_actions[i].at, sc_.log_actions[i].order, action{act::log_action, i}});
    std::stable_sort(plan.begin(), plan.end(), [](auto const& x, auto const& y) {
      return x.at != y.at ? x.at < y.at : x.order < y.order;
    });
    for (auto const& p : plan) q_.push(t0_ + p.at, p.a);
  }
  // The sender's faults, from a stream of their own (forked only when there are any, so that
  // runs without them draw exactly as before).
  if (sc_.faults.crashes.any() || sc_.faults.store.any() || sc_.faults.freezes.any()) {
    fault_rng_ = rng_.fork();
    crashes_ = draw_crashes(sc_.faults.crashes, duration_, fault_rng_);
    for (std::uint32_t i = 0; i < senders_.size(); ++i) configure_faults(i);
    freezes_ = draw_crashes(sc_.faults.freezes, duration_, fault_rng_);
    // Which sender each crash and freeze hits (drawn only when there is a choice).
    auto const n = static_cast<std::uint64_t>(senders_.size());
    for (std::size_t i = 0; i < crashes_.size(); ++i)
      crash_who_.push_back(n > 1 ? static_cast<std::uint32_t>(fault_rng_.uniform(0, n - 1)) : 0);
    for (std::size_t i = 0; i < freezes_.size(); ++i)
      freeze_who_.push_back(n > 1 ? static_cast<std::uint32_t>(fault_rng_.uniform(0, n - 1)) : 0);
    for (std::uint32_t i = 0; i < crashes_.size(); ++i) {
      q_.push(t0_ + crashes_[i].at, action{act::crash, i});
      q_.push(t0_ + crashes_[i].at + crashes_[i].restart_after, action{act::restart, i});
    }
    for (std::uint32_t i = 0; i < freezes_.size(); ++i) {
      q_.push(t0_ + freezes_[i].at, action{act::freeze, i});
      q_.push(t0_ + freezes_[i].at + freezes_[i].restart_after, action{act::thaw, i});
    }
  }
  for (std::uint32_t i = 0; i < sc_.faults.stops.size(); ++i) {
    q_.push(t0_ + sc_.faults.stops[i].at, action{act::stop, i});
    q_.push(t0_ + sc_.faults.stops[i].at + sc_.faults.stops[i].length, action{act::resume, i});
  }
  if (sc_.random_actions_per_day > 0) {
    double const mean = 86400000.0 / sc_.random_actions_per_day;
    double t = 0;
    for (;;) {
      t += -std::log(1.0 - arrival_rng.uniform01()) * mean;
      if (t >= static_cast<double>(duration_.count())) break;
      q_.push(t0_ + duration{static_cast<std::int64_t>(t)}, action{act::random_action, 0});
    }
  }

  if (sc_.random_erasures_per_day > 0) {
    erase_rng_ = rng_.fork();
    double const mean = 86400000.0 / sc_.random_erasures_per_day;
    double t = 0;
    for (;;) {
      t += -std::log(1.0 - erase_rng_.uniform01()) * mean;
      if (t >= static_cast<double>(duration_.count())) break;
      q_.push(t0_ + duration{static_cast<std::int64_t>(t)}, action{act::random_erasure, 0});
    }
  }

  time_point const hard_stop = t0_ + duration_ + sc_.settle_limit;
  time_point now = t0_;
  for (auto& sd : senders_) sd.engine->start(now);
  step_all(now);
  while (!q_.empty()) {
    auto const e = q_.pop();
    if (e.when > hard_stop) break;
    clock_.set(e.when);  // the agenda never goes back, so neither does the clock
    now = clock_.now();
    switch (e.action.kind) {
    case act::publish:
      ++requested_events_;
      publish(now);
      if (++next_arrival_ < arrivals_.size())
        q_.push(t0_ + duration{arrivals_[next_arrival_]}, action{act::publish, 0});
      break;
    case act::endpoint_action:
      do_action(sc_.actions[e.action.index], now);
      poll_all();  // an enabled endpoint's parked work is due at once
      break;
    case act::log_action:
      do_log_action(sc_.log_actions[e.action.index], now);
      break;
    case act::random_action:
      random_action(now);
      poll_all();
      break;
    case act::random_erasure:
      if (!events_.empty())
        erase_subject_of(static_cast<std::size_t>(erase_rng_.uniform(0, events_.size() - 1)), now);
      break;
    case act::crash:
      crash(crash_who_[e.action.index], now);
      ++res_.crashes;
      break;
    case act::restart:
      restart(crash_who_[e.action.index], now);
      break;
    case act::freeze:
      freeze(freeze_who_[e.action.index], now, freezes_[e.action.index].restart_after);
      break;
    case act::thaw:
      thaw(freeze_who_[e.action.index], now);
      break;
    case act::stop: {
      bool any = false;
      for (auto& sd : senders_) {
        if (!sd.up) continue;
        sd.engine->begin_stop(now);
        any = true;
      }
      if (any) {
        trace(now, "STOP", -1, 0, 0, "async_stop: no new claims");
        ++res_.stops;
      }
      break;
    }
    case act::resume: {
      bool any = false;
      for (auto& sd : senders_) {
        if (!sd.up || sd.engine->running()) continue;
        sd.engine->start(now);
        any = true;
      }
      if (any) trace(now, "GO", -1, 0, 0, "started again after a stop");
      break;
    }
    case act::result:
      on_result(e.action.index, now);
      break;
    case act::wake: {
      auto& sd = senders_[e.action.index];
      if (sd.wake_at && *sd.wake_at == now) sd.wake_at.reset();
      break;
    }
    }
    if (e.action.kind == act::stop) stopped_ = true;
    if (e.action.kind == act::resume) stopped_ = false;
    if (e.action.kind == act::crash || e.action.kind == act::restart ||
        e.action.kind == act::freeze || e.action.kind == act::thaw ||
        e.action.kind == act::stop || e.action.kind == act::resume)
      note_serving(now);
    // Every input of this instant is in: one step per sender, as the dispatcher takes one per
    // burst.
    if (q_.empty() || q_.top().when != now) step_all(now);
    if (opts_.progress && (++actions_done_ & 0xffff) == 0)
      opts_.progress(progress_info{since(now), duration_, res_.events, res_.attempts,
                                   in_flight_total()});
  }
  finish(now);
  return std::move(res_);
}

} // namespace detail

template <class Store, class EngineFactory>
run_result run_scenario(scenario const& sc, Store& store, run_options const& opts,
                        EngineFactory&& make_engine) {
  prng root{opts.seed};
  engine_config cfg;
  cfg.engine = sc.engine;
  if (!cfg.engine.lease) cfg.engine.lease = sc.engine.request_timeout * 4;
  cfg.seed = root();
  using engine_type = typename std::invoke_result_t<EngineFactory&, fault_store<Store>&,
                                                    engine_config const&>::element_type;
  detail::driver<Store, engine_type> d(
      sc, store, opts, cfg,
      [f = std::forward<EngineFactory>(make_engine)](fault_store<Store>& s,
                                                      engine_config const& c) mutable {
        return f(s, c);
      },
      root.fork());
  return d.run();
}

inline std::string reproduce_command(run_result const& r, std::string const& scenario_arg,
                                     run_options const& opts) {
  std::string cmd = "pulsehook-sim --scenario " + scenario_arg + " --seed " + std::to_string(r.seed);
  if (opts.duration_override)
    cmd += " --duration " + std::to_string(opts.duration_override->count()) + "ms";
  if (opts.events_override) cmd += " --events " + std::to_string(*opts.events_override);
  if (opts.senders_override) cmd += " --senders " + std::to_string(*opts.senders_override);
  cmd += " --store " + opts.store_name;
  return cmd;
}

} // namespace pulsehook::sim

#include <pulsehook/sim/impl/checkers.hpp>

#endif
