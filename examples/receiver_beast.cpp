// The receiving guide's example (docs/receiving.md): a Beast handler that verifies MetaPulse
// webhooks before doing anything with the body.
//
// main() feeds the handler a genuine request and three bad ones, as a server would after
// http::read, and checks the answers (no sockets, so it runs anywhere).
#include <pulsehook/beast/verify.hpp>
#include <pulsehook/schemes.hpp>

#include <boost/beast/http.hpp>
#include <boost/json.hpp>

#include <iostream>
#include <string>

namespace http = boost::beast::http;

//! [handler]
// Build the secret set once at start-up (from your configuration): it prepares the HMAC keys.
// During a rotation give both secrets, the new one first.
http::response<http::string_body> handle_webhook(http::request<http::string_body> const& req,
                                                 pulsehook::secret_set const& secrets,
                                                 pulsehook::time_point now) {
  http::response<http::string_body> res{http::status::no_content, req.version()};
  boost::system::error_code ec;
  auto const verified = pulsehook::verify(req, secrets, now, ec);  // MetaPulse headers, 300 s
  if (ec) {
    // missing_header, malformed_*, timestamp_out_of_tolerance, no_signature_matched...
    // Do not parse or act on the body. 401 tells MetaPulse the attempt failed.
    res.result(http::status::unauthorized);
    res.set(http::field::content_type, "text/plain");
    res.body() = ec.message();
    res.prepare_payload();
    return res;
  }
  // Only now is the body trusted. Parse the exact bytes that were verified.
  auto const event = boost::json::parse(req.body()).as_object();
  std::cout << "    handled " << event.at("type").as_string() << " " << event.at("id").as_string()
            << " (signed at " << *verified.timestamp << ")\n";
  // De-duplicate on event["id"]: a retried delivery carries the same id.
  return res;
}
//! [handler]

namespace {

http::request<http::string_body> signed_request(pulsehook::secret_set const& sender_keys,
                                                std::string body, std::int64_t ts) {
  http::request<http::string_body> req{http::verb::post, "/webhooks/metapulse", 11};
  std::vector<pulsehook::http_header> headers;
  pulsehook::metapulse_scheme{}.sign(sender_keys, {.id = "evt_1", .timestamp = ts, .body = body},
                                     headers);
  for (auto const& h : headers) req.set(h.name, h.value);
  req.set(http::field::content_type, "application/json");
  req.body() = std::move(body);
  req.prepare_payload();
  return req;
}

} // namespace

int main() {
  using namespace std::chrono_literals;
  auto const now = pulsehook::from_unix_seconds(1764425077);
  std::string const secret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSwMfKQ9r8GKYqrTwjUPD8=";
  pulsehook::secret_set const secrets{secret};
  std::string const body =
      R"({"id":"evt_1","type":"key_result.created","created_at":"2025-11-29T14:04:37Z",)"
      R"("organization":{"id":"org_1"},"actor":{"type":"member","id":"mem_1","name":"Ada"},)"
      R"("data":{"id":"kr_1","title":"p95 < 200 ms"}})";

  int bad = 0;
  auto expect = [&](char const* what, http::request<http::string_body> const& req, http::status want) {
    std::cout << what << "\n";
    auto const res = handle_webhook(req, secrets, now);
    std::cout << "    -> " << res.result_int() << " " << res.reason() << " " << res.body() << "\n";
    if (res.result() != want) {
      std::cout << "    UNEXPECTED (wanted " << static_cast<unsigned>(want) << ")\n";
      ++bad;
    }
  };

  expect("genuine request", signed_request(secrets, body, 1764425077), http::status::no_content);
  auto tampered = signed_request(secrets, body, 1764425077);
  tampered.body().replace(tampered.body().find("200"), 3, "900");
  expect("tampered body", tampered, http::status::unauthorized);
  expect("replayed an hour later", signed_request(secrets, body, 1764425077 - 3600),
         http::status::unauthorized);
  auto unsigned_req = signed_request(secrets, body, 1764425077);
  unsigned_req.erase("MetaPulse-Signature");
  expect("no signature header", unsigned_req, http::status::unauthorized);
  expect("signed with another secret",
         signed_request(pulsehook::secret_set{"some-other-secret"}, body, 1764425077),
         http::status::unauthorized);
  return bad == 0 ? 0 : 1;
}
