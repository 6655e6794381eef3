// Signs a MetaPulse webhook and verifies it, printing both sides.
//
// The sender (what pulsehook's dispatcher does for every attempt): a secret, the event's JSON
// envelope, and the signature headers. The receiver (what a C++ service does with
// pulsehook::verify): the verdict for the genuine request, then for a tampered body, a
// replayed old request and a wrong secret, all of which must be rejected.
// Exits non-zero if any verdict is not the expected one.
#include <pulsehook/schemes.hpp>
#include <pulsehook/secret.hpp>
#include <pulsehook/verify.hpp>
#include <pulsehook/version.hpp>

#include <chrono>
#include <iostream>
#include <string>
#include <vector>

namespace {

int failures = 0;

void verdict(char const* what, std::vector<pulsehook::http_header> const& headers,
             std::string_view body, pulsehook::secret_set const& secrets, pulsehook::time_point now,
             bool expect_ok) {
  boost::system::error_code ec;
  auto const r = pulsehook::verify(headers, body, secrets, now, ec);
  bool const ok = !ec;
  std::cout << "  " << what << ": " << (ok ? "ACCEPTED" : "REJECTED");
  if (ok) std::cout << " (timestamp " << *r.timestamp << ", secret #" << r.secret_index << ")";
  else std::cout << " (" << ec.message() << ")";
  if (ok != expect_ok) {
    std::cout << "   <-- UNEXPECTED";
    ++failures;
  }
  std::cout << "\n";
}

} // namespace

int main() {
  using namespace std::chrono_literals;
  pulsehook::system_clock const clock;
  auto const now = clock.now();

  // --- sender -------------------------------------------------------------------------
  std::vector<pulsehook::endpoint_secret> endpoint_secrets;
  auto const secret = pulsehook::rotate_secret(endpoint_secrets, now);  // the first secret
  pulsehook::secret_set const keys{endpoint_secrets, now};

  std::string const body =
      R"({"id":"evt_01JDQ5Z8K3M2","type":"objective.updated","created_at":")" +
      pulsehook::format_rfc3339(now) +
      R"(","organization":{"id":"org_42"},"actor":{"type":"member","id":"mem_7","name":"Ada"},)"
      R"("data":{"id":"obj_9","title":"Ship v1","progress":0.75},"previous":{"progress":0.5}})";

  std::vector<pulsehook::http_header> headers{{"Content-Type", "application/json"},
                                              {"User-Agent", pulsehook::user_agent}};
  pulsehook::metapulse_scheme{}.sign(
      keys, {.id = "evt_01JDQ5Z8K3M2", .timestamp = pulsehook::to_unix_seconds(now), .body = body},
      headers);

  std::cout << "=== sender\n"
            << "endpoint secret (shown once to the user): " << secret << "\n\n"
            << "POST /webhooks/metapulse HTTP/1.1\n";
  for (auto const& h : headers) std::cout << h.name << ": " << h.value << "\n";
  std::cout << "\n" << body << "\n\n";

  // --- receiver -----------------------------------------------------------------------
  // The receiver knows the same secret text; it prepares the key once at start-up.
  pulsehook::secret_set const receiver{secret};
  std::cout << "=== receiver (tolerance 300 s)\n";
  verdict("genuine request", headers, body, receiver, now + 2s, true);

  std::string tampered = body;
  tampered.replace(tampered.find("0.75"), 4, "1.00");
  verdict("tampered body (progress 0.75 -> 1.00)", headers, tampered, receiver, now + 2s, false);
  verdict("replayed 10 minutes later", headers, body, receiver, now + 10min, false);
  verdict("checked with another secret", headers, body,
          pulsehook::secret_set{pulsehook::generate_secret()}, now + 2s, false);

  // --- rotation -----------------------------------------------------------------------
  // The sender rotates; a receiver holding the new and the old secret accepts both.
  auto const next = pulsehook::rotate_secret(endpoint_secrets, now, {.grace = 24h});
  pulsehook::secret_set const rotated{endpoint_secrets, now};
  std::vector<pulsehook::http_header> after;
  pulsehook::metapulse_scheme{}.sign(
      rotated, {.id = "evt_01JDQ5Z8K3M3", .timestamp = pulsehook::to_unix_seconds(now), .body = body},
      after);
  std::cout << "\n=== after rotating to " << next.substr(0, 12) << "... (old secret valid 24 h)\n";
  verdict("receiver with {new, old}", after, body, pulsehook::secret_set{next, secret}, now, true);
  verdict("receiver still on the old secret only", after, body, receiver, now, false);

  std::cout << "\n" << (failures == 0 ? "all verdicts as expected" : "UNEXPECTED VERDICTS") << "\n";
  return failures == 0 ? 0 : 1;
}
