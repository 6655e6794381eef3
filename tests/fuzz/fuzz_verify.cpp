// verify() over every scheme, through the header list AND the Beast adapter, on any request.
// Input: one byte choosing the scheme, then header lines "name: value\n" up to an empty line,
// then the body. Checks: never crashes; the header list and the Beast adapter agree; and an
// accepted request carries the signature an independent HMAC (OpenSSL's one-shot HMAC(), the
// scheme's rules written out here) computes for the secret that matched.
#include <pulsehook/beast/verify.hpp>
#include <pulsehook/schemes.hpp>
#include <pulsehook/verify.hpp>

#include <boost/beast/core/detail/base64.hpp>
#include <boost/beast/http.hpp>

#include <openssl/evp.h>
#include <openssl/hmac.h>

#include <algorithm>
#include <cctype>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>
#include <vector>

namespace {

std::string const secret_texts[] = {"whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw", "It's a Secret to Everybody"};
pulsehook::time_point const now = pulsehook::from_unix_seconds(1614265330);

std::string hmac(std::string_view key, std::string_view msg) {
  unsigned char out[32];
  unsigned len = 0;
  HMAC(EVP_sha256(), key.data(), static_cast<int>(key.size()),
       reinterpret_cast<unsigned char const*>(msg.data()), msg.size(), out, &len);
  return std::string(reinterpret_cast<char*>(out), len);
}
std::string hex(std::string const& raw) {
  static char const digits[] = "0123456789abcdef";
  std::string s;
  for (unsigned char c : raw) s += digits[c >> 4], s += digits[c & 15];
  return s;
}
std::string b64(std::string const& raw) {
  std::string s(boost::beast::detail::base64::encoded_size(raw.size()), '\0');
  s.resize(boost::beast::detail::base64::encode(s.data(), raw.data(), raw.size()));
  return s;
}
std::string unb64(std::string_view text) {
  std::string s(boost::beast::detail::base64::decoded_size(text.size()), '\0');
  auto const r = boost::beast::detail::base64::decode(s.data(), text.data(), text.size());
  s.resize(r.first);
  return s;
}
std::string lower(std::string_view s) {
  std::string o(s);
  for (auto& c : o) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return o;
}
// The first header of a name, any case: the documented rule, re-implemented.
std::string first(std::vector<pulsehook::http_header> const& hs, std::string_view name) {
  for (auto const& h : hs)
    if (lower(h.name) == lower(name)) return h.value;
  return {};
}

template <class Scheme>
pulsehook::verified_message run(Scheme const& scheme, std::vector<pulsehook::http_header> const& hs,
                                 std::string_view body, pulsehook::secret_set const& secrets,
                                 boost::system::error_code& ec) {
  auto const r = pulsehook::verify(scheme, hs, body, secrets, now, {}, ec);
  // The Beast adapter must give the same answer.
  namespace http = boost::beast::http;
  http::request<http::string_body> req{http::verb::post, "/", 11};
  for (auto const& h : hs) {
    if (h.name.empty()) continue;
    req.insert(h.name, h.value);
  }
  req.body() = std::string(body);
  boost::system::error_code bec;
  auto const br = pulsehook::verify(scheme, req, secrets, now, {}, bec);
  bool const beast_comparable =
      std::none_of(hs.begin(), hs.end(), [](auto const& h) { return h.name.empty(); });
  if (beast_comparable && (bec != ec || (!ec && br.secret_index != r.secret_index))) std::abort();
  return r;
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(std::uint8_t const* data, std::size_t size) {
  if (size == 0) return 0;
  static pulsehook::secret_set const secrets{secret_texts[0], secret_texts[1]};
  std::string_view in(reinterpret_cast<char const*>(data) + 1, size - 1);
  std::vector<pulsehook::http_header> hs;
  for (;;) {
    auto const eol = in.find('\n');
    if (eol == std::string_view::npos || eol == 0) {
      if (eol == 0) in.remove_prefix(1);
      break;
    }
    auto const line = in.substr(0, eol);
    in.remove_prefix(eol + 1);
    auto const colon = line.find(':');
    if (colon == std::string_view::npos) continue;
    auto value = line.substr(colon + 1);
    while (!value.empty() && value.front() == ' ') value.remove_prefix(1);
    hs.push_back({std::string(line.substr(0, colon)), std::string(value)});
  }
  std::string_view const body = in;
  boost::system::error_code ec;
  switch (data[0] % 4) {
  case 0: {
    auto const r = run(pulsehook::metapulse_scheme{}, hs, body, secrets, ec);
    if (ec) return 0;
    auto const ts = first(hs, "MetaPulse-Request-Timestamp");
    auto const want = hex(hmac(secret_texts[r.secret_index], ts + "." + std::string(body)));
    if (lower(first(hs, "MetaPulse-Signature")) != want) std::abort();
    break;
  }
  case 1: {
    auto const r = run(pulsehook::github_scheme{}, hs, body, secrets, ec);
    if (ec) return 0;
    auto const want = "sha256=" + hex(hmac(secret_texts[r.secret_index], body));
    if (lower(first(hs, "X-Hub-Signature-256")) != want) std::abort();
    break;
  }
  case 2: {
    auto const r = run(pulsehook::stripe_scheme{}, hs, body, secrets, ec);
    if (ec) return 0;
    auto const header = first(hs, "Stripe-Signature");
    std::string t;
    std::vector<std::string> v1;
    std::size_t pos = 0;
    while (pos <= header.size()) {
      auto const end = std::min(header.find(',', pos), header.size());
      auto const item = header.substr(pos, end - pos);
      if (item.rfind("t=", 0) == 0 && t.empty()) t = item.substr(2);
      if (item.rfind("v1=", 0) == 0) v1.push_back(lower(item.substr(3)));
      pos = end + 1;
    }
    auto const want = hex(hmac(secret_texts[r.secret_index], t + "." + std::string(body)));
    if (std::find(v1.begin(), v1.end(), want) == v1.end()) std::abort();
    break;
  }
  default: {
    auto const r = run(pulsehook::standard_webhooks_scheme{}, hs, body, secrets, ec);
    if (ec) return 0;
    auto key = std::string_view(secret_texts[r.secret_index]);
    if (key.rfind("whsec_", 0) == 0) key.remove_prefix(6);
    auto const content = first(hs, "webhook-id") + "." + first(hs, "webhook-timestamp") + "." + std::string(body);
    auto const want = "v1," + b64(hmac(unb64(key), content));
    auto const sigs = " " + first(hs, "webhook-signature") + " ";
    if (sigs.find(" " + want + " ") == std::string::npos) std::abort();
    break;
  }
  }
  return 0;
}
