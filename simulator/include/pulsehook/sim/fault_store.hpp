#ifndef PULSEHOOK_SIM_FAULT_STORE_HPP
#define PULSEHOOK_SIM_FAULT_STORE_HPP

/// @file
/// The simulator's failing-store wrapper: the engine's storage in a run. It forwards every call
/// of the storage requirement (and the optional members the engine uses: `refill_due`,
/// `count_due`, group commit, `disable_failing`, `pause_endpoint`, `slow_down_endpoint`) to the real store, and, inside the scenario's fault window, fails
/// a call with `storage_busy` or `storage_failure` instead of making it: the call changes
/// nothing, as a locked database or a full disk would have it. A commit failure is a real one:
/// on a store with groups the wrapper rolls the group's transaction back (SQLite `ROLLBACK`
/// through the store's native handle) before the store's commit, which then reports the error;
/// on a store without groups it fails a `record_attempt` before it writes. Faults are drawn from
/// the run's fault stream, one draw per call inside the window, so a run stays reproducible.

#include <pulsehook/sim/scenario.hpp>

#include <pulsehook/error.hpp>
#include <pulsehook/model.hpp>
#include <pulsehook/random.hpp>
#include <pulsehook/storage.hpp>
#include <pulsehook/time.hpp>

#include <boost/system/error_code.hpp>

#include <cstdint>
#include <optional>
#include <string_view>
#include <vector>

#include <sqlite3.h>

namespace pulsehook::sim {

/// What the wrapper injected, for the report and the tests.
struct store_fault_counts {
  std::uint64_t busy = 0, disk_full = 0, commit_failures = 0;
  std::uint64_t total() const noexcept { return busy + disk_full + commit_failures; }
};

/// Wraps `Store` for the engine; see the file documentation.
template <class Store>
class fault_store {
public:
  explicit fault_store(Store& inner) noexcept : inner_(inner) {}

  /// Turns injection on: `cfg`'s window is measured from `start` on `clock`, over a workload
  /// of length `workload`; faults are drawn from `rng`.
  void configure(store_fault_config const& cfg, prng rng, manual_clock const* clock,
                 time_point start, duration workload) {
    cfg_ = cfg;
    rng_ = rng;
    clock_ = clock;
    start_ = start;
    workload_ = workload;
  }

  Store& inner() noexcept { return inner_; }
  store_fault_counts const& counts() const noexcept { return counts_; }

  // ---- storage_policy ------------------------------------------------------------------------
  void accept(event_record const& e, time_point give_up_at, accept_result& r,
              boost::system::error_code& ec) {
    if (fault(ec, false)) return;
    inner_.accept(e, give_up_at, r, ec);
  }
  void claim_due(claim_request const& c, std::vector<due_delivery>& out,
                 boost::system::error_code& ec) {
    if (fault(ec, false)) return;
    inner_.claim_due(c, out, ec);
  }
  void refill_due(claim_request const& c, std::vector<due_delivery>& out, std::size_t& n,
                  boost::system::error_code& ec)
    requires requires(Store& s) { s.refill_due(c, out, n, ec); }
  {
    if (fault(ec, false)) {
      n = 0;
      return;
    }
    inner_.refill_due(c, out, n, ec);
  }
  std::optional<time_point> next_due_at(boost::system::error_code& ec) {
    if (fault(ec, false)) return std::nullopt;
    return inner_.next_due_at(ec);
  }
  std::uint64_t count_due(time_point t, boost::system::error_code& ec)
    requires requires(Store& s) { s.count_due(t, ec); }
  {
    return inner_.count_due(t, ec);  // observability only: never failed
  }
  void record_attempt(attempt_record const& a, delivery_update const& u,
                      boost::system::error_code& ec) {
    if (fault(ec, !group_commit_storage<Store>)) return;
    inner_.record_attempt(a, u, ec);
  }
  void release(delivery_id id, time_point t, boost::system::error_code& ec) {
    if (fault(ec, false)) return;
    inner_.release(id, t, ec);
  }
  void give_up(delivery_id id, std::string_view reason, boost::system::error_code& ec) {
    if (fault(ec, false)) return;
    inner_.give_up(id, reason, ec);
  }
  state_counts counts(std::string_view endpoint, boost::system::error_code& ec) {
    return inner_.counts(endpoint, ec);
  }
  // Auto-disable (endpoint_health_storage), when the store has it: may fail like any write.
  bool disable_failing(std::string_view id, time_point failing_since_by, std::string_view reason,
                       time_point now, boost::system::error_code& ec)
    requires endpoint_health_storage<Store>
  {
    if (fault(ec, false)) return false;
    return inner_.disable_failing(id, failing_since_by, reason, now, ec);
  }
  // Endpoint pauses (shared_pause_storage), when the store has them: may fail like any write
  // (the engine then defers the paused endpoint's claims itself).
  void pause_endpoint(std::string_view id, time_point until, boost::system::error_code& ec)
    requires shared_pause_storage<Store>
  {
    if (fault(ec, false)) return;
    inner_.pause_endpoint(id, until, ec);
  }

  // AIMD slow-downs (adaptive_rate_storage), when the store has them: may fail like any write
  // (the endpoint is then not slowed down; its pause still holds).
  std::optional<adaptive_rate> slow_down_endpoint(std::string_view id, slow_down const& sd,
                                                  boost::system::error_code& ec)
    requires adaptive_rate_storage<Store>
  {
    if (fault(ec, false)) return std::nullopt;
    return inner_.slow_down_endpoint(id, sd, ec);
  }

  // ---- group commit, when the store has it -----------------------------------------------------
  void begin_group(boost::system::error_code& ec)
    requires group_commit_storage<Store>
  {
    if (fault(ec, false)) return;
    inner_.begin_group(ec);
  }
  void commit_group(boost::system::error_code& ec)
    requires group_commit_storage<Store>
  {
    if (draw() == store_fault::commit_failure) {
      // A real failed commit: everything of the group is rolled back, then the store's commit
      // finds no transaction and reports the failure.
      ++counts_.commit_failures;
      if constexpr (requires(Store& s) { s.native_handle(); })
        sqlite3_exec(inner_.native_handle(), "ROLLBACK", nullptr, nullptr, nullptr);
    }
    inner_.commit_group(ec);
  }

private:
  store_fault draw() {
    if (!clock_ || !cfg_.active(clock_->now() - start_, workload_)) return store_fault::none;
    return cfg_.pick(rng_);
  }
  // Decides the fault of one call; `commit_here` makes a commit failure fail this call (a store
  // without groups commits every call by itself).
  bool fault(boost::system::error_code& ec, bool commit_here) {
    auto f = draw();
    if (f == store_fault::commit_failure && !commit_here) f = store_fault::none;
    switch (f) {
    case store_fault::none: return false;
    case store_fault::busy: ++counts_.busy; break;
    case store_fault::disk_full: ++counts_.disk_full; break;
    case store_fault::commit_failure: ++counts_.commit_failures; break;
    }
    ec = error_of(f);
    return true;
  }

  Store& inner_;
  store_fault_config cfg_;
  prng rng_{0};
  manual_clock const* clock_ = nullptr;
  time_point start_{};
  duration workload_{};
  store_fault_counts counts_;
};

} // namespace pulsehook::sim

#endif
