// counts() returning a number instead of state_counts: the check must name the member.
#include <pulsehook/storage.hpp>

#include <vector>

struct counts_as_int {
  using ec = boost::system::error_code;
  void accept(pulsehook::event_record const&, pulsehook::time_point, pulsehook::accept_result&, ec&) {}
  void claim_due(pulsehook::claim_request const&, std::vector<pulsehook::due_delivery>&, ec&) {}
  std::optional<pulsehook::time_point> next_due_at(ec&) { return {}; }
  void record_attempt(pulsehook::attempt_record const&, pulsehook::delivery_update const&, ec&) {}
  void release(pulsehook::delivery_id, pulsehook::time_point, ec&) {}
  void give_up(pulsehook::delivery_id, std::string_view, ec&) {}
  std::uint64_t counts(std::string_view, ec&) { return 0; }
};

static_assert(pulsehook::check_storage_policy<counts_as_int>());

int main() {}
