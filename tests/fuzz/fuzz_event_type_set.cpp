// event_type_set::parse over any text: never crashes; what it accepts round-trips through
// to_names() (parse(join(names)) gives the same set), and an error leaves the set empty.
#include <pulsehook/event_type_set.hpp>
#include <pulsehook/metapulse/registry.hpp>

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

using set = pulsehook::event_type_set<pulsehook::metapulse::registry>;

extern "C" int LLVMFuzzerTestOneInput(std::uint8_t const* data, std::size_t size) {
  std::string_view const text(reinterpret_cast<char const*>(data), size);
  boost::system::error_code ec;
  std::string bad;
  auto const s = set::parse(text, ec, bad);
  if (ec) {
    if (!s.to_names().empty()) std::abort();  // documented: empty on error
    return 0;
  }
  auto const names = s.to_names();
  std::string joined;
  for (auto const& n : names) joined += (joined.empty() ? "" : ", ") + n;
  boost::system::error_code ec2;
  auto const again = set::parse(joined, ec2);
  if (ec2 || again.to_names() != names) std::abort();
  auto const from = set::from_names(names, ec2, bad);
  if (ec2 || from.to_names() != names) std::abort();
  return 0;
}
