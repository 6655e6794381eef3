// A store without claim_due: the check must name the missing member.
#include <pulsehook/storage.hpp>

struct no_claim {
  using ec = boost::system::error_code;
  void accept(pulsehook::event_record const&, pulsehook::time_point, pulsehook::accept_result&, ec&) {}
  std::optional<pulsehook::time_point> next_due_at(ec&) { return {}; }
  void record_attempt(pulsehook::attempt_record const&, pulsehook::delivery_update const&, ec&) {}
  void release(pulsehook::delivery_id, pulsehook::time_point, ec&) {}
  void give_up(pulsehook::delivery_id, std::string_view, ec&) {}
  pulsehook::state_counts counts(std::string_view, ec&) { return {}; }
};

static_assert(pulsehook::check_storage_policy<no_claim>());

int main() {}
