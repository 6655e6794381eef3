// An outside project's program: builds against pulsehook found by find_package or added with
// add_subdirectory, signs a MetaPulse webhook through the umbrella header and verifies it.
#include <pulsehook.hpp>

#include <iostream>
#include <string>
#include <vector>

int main() {
  auto const now = pulsehook::from_unix_seconds(1764425077);
  std::string const secret = pulsehook::generate_secret();
  pulsehook::secret_set const keys{secret};
  std::string const body = R"({"id":"evt_1","type":"team.created","data":{}})";

  std::vector<pulsehook::http_header> headers;
  pulsehook::metapulse_scheme{}.sign(
      keys, {.id = "evt_1", .timestamp = pulsehook::to_unix_seconds(now), .body = body}, headers);

  boost::system::error_code ec;
  pulsehook::verify(headers, body, keys, now, ec);
  std::cout << "consumer: " << pulsehook::user_agent << " signed " << headers.size()
            << " headers; verify: " << (ec ? ec.message() : "ok") << "\n";
  pulsehook::verify(headers, body + " ", keys, now, ec);
  bool const tamper_rejected = ec == pulsehook::error::no_signature_matched;
  std::cout << "consumer: tampered body rejected: " << (tamper_rejected ? "yes" : "no") << "\n";
  return tamper_rejected ? 0 : 1;
}
