#ifndef PULSEHOOK_SIM_EVENT_QUEUE_HPP
#define PULSEHOOK_SIM_EVENT_QUEUE_HPP

/// @file
/// The simulator's agenda: a priority queue of actions ordered by integer virtual time, with
/// FIFO tie-breaks. Two actions scheduled for the same millisecond run in the order they were
/// scheduled (a sequence number breaks the tie), so a run never depends on heap internals.

#include <pulsehook/time.hpp>

#include <cstdint>
#include <utility>
#include <vector>

namespace pulsehook::sim {

/// A min-heap of `(when, sequence, Action)`.
/// @tparam Action a copyable value describing what to do; the queue never inspects it.
template <class Action>
class event_queue {
public:
  struct entry {
    time_point when{};
    std::uint64_t seq = 0;
    Action action{};
  };

  /// Schedules `a` at `when`; returns its sequence number.
  std::uint64_t push(time_point when, Action a) {
    heap_.push_back(entry{when, next_seq_, std::move(a)});
    sift_up(heap_.size() - 1);
    return next_seq_++;
  }

  bool empty() const noexcept { return heap_.empty(); }
  std::size_t size() const noexcept { return heap_.size(); }

  /// The earliest entry. Precondition: `!empty()`.
  entry const& top() const noexcept { return heap_.front(); }

  /// Removes and returns the earliest entry. Precondition: `!empty()`.
  entry pop() {
    entry out = std::move(heap_.front());
    if (heap_.size() > 1) {
      heap_.front() = std::move(heap_.back());
      heap_.pop_back();
      sift_down(0);
    } else {
      heap_.pop_back();
    }
    return out;
  }

private:
  static bool before(entry const& a, entry const& b) noexcept {
    return a.when != b.when ? a.when < b.when : a.seq < b.seq;
  }
  void sift_up(std::size_t i) {
    while (i > 0) {
      std::size_t const p = (i - 1) / 2;
      if (!before(heap_[i], heap_[p])) break;
      std::swap(heap_[i], heap_[p]);
      i = p;
    }
  }
  void sift_down(std::size_t i) {
    std::size_t const n = heap_.size();
    for (;;) {
      std::size_t const l = 2 * i + 1, r = l + 1;
      std::size_t m = i;
      if (l < n && before(heap_[l], heap_[m])) m = l;
      if (r < n && before(heap_[r], heap_[m])) m = r;
      if (m == i) return;
      std::swap(heap_[i], heap_[m]);
      i = m;
    }
  }

  std::vector<entry> heap_;
  std::uint64_t next_seq_ = 0;
};

} // namespace pulsehook::sim

#endif
