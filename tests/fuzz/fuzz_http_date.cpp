// Retry-After and HTTP-date parsing over any text: never crashes, never answers a negative or
// over-long delay, and a date it accepts is one of the three HTTP-date forms of a real instant.
#include <pulsehook/detail/http_date.hpp>

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string_view>

extern "C" int LLVMFuzzerTestOneInput(std::uint8_t const* data, std::size_t size) {
  std::string_view const text(reinterpret_cast<char const*>(data), size);
  auto const now = pulsehook::from_unix_seconds(1'795'961'077);
  if (auto const d = pulsehook::detail::parse_retry_after(text, now)) {
    if (d->count() < 0 || *d > pulsehook::detail::max_retry_after) std::abort();
  }
  if (auto const t = pulsehook::detail::parse_http_date(text)) {
    // the instant is within the years the parser admits (no overflowed arithmetic)
    auto const s = pulsehook::to_unix_seconds(*t);
    if (s < -62'167'219'200 || s > 253'402'300'799) std::abort();  // years 0 .. 9999
  }
  return 0;
}
