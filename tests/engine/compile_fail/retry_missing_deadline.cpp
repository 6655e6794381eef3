// A retry policy without deadline(): the check names the missing member.
#include <pulsehook/retry.hpp>

struct no_deadline_policy {
  pulsehook::retry_decision next(pulsehook::attempt_info const&, pulsehook::prng&) const {
    return pulsehook::retry_decision::stop(pulsehook::retry_reason::not_retried);
  }
};
static_assert(pulsehook::check_retry_policy<no_deadline_policy>());
