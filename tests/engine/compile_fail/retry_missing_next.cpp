// A retry policy without next(): the check names the missing member.
#include <pulsehook/retry.hpp>

struct half_policy {
  pulsehook::time_point deadline(pulsehook::time_point t) const { return t; }
};
static_assert(pulsehook::check_retry_policy<half_policy>());
