#ifndef PULSEHOOK_DETAIL_MANAGEMENT_UTIL_HPP
#define PULSEHOOK_DETAIL_MANAGEMENT_UTIL_HPP

// Helpers of the management API: token digests, timestamps, UTF-8 repair for JSON output,
// RFC 9457 problems, Prometheus label escaping. No template here: compiled once per TU.

#include <pulsehook/detail/openssl.hpp>
#include <pulsehook/error.hpp>
#include <pulsehook/model.hpp>
#include <pulsehook/time.hpp>

#include <boost/json/array.hpp>
#include <boost/json/object.hpp>
#include <boost/json/serialize.hpp>
#include <boost/json/value.hpp>

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/rand.h>

#include <array>
#include <string>
#include <string_view>
#include <vector>

namespace pulsehook::detail {

using mgmt_digest = std::array<unsigned char, 32>;

// SHA-256 of a token: comparing fixed-size digests with CRYPTO_memcmp hides the configured
// tokens' lengths as well as their bytes.
// False when OpenSSL fails: the caller then matches nothing.
inline bool mgmt_sha256(std::string_view s, mgmt_digest& d) noexcept {
  unsigned int n = 0;
  auto const* md = sha256_algorithm();
  if (!md || EVP_Digest(s.data(), s.size(), d.data(), &n, md, nullptr) != 1 || n != d.size()) {
    clear_openssl_errors();
    return false;
  }
  return true;
}

// RFC 3339 with milliseconds: "2026-11-29T14:04:37.123Z".
inline std::string mgmt_time(time_point t) {
  auto s = format_rfc3339(t);
  auto const ms = static_cast<unsigned>(
      ((to_unix_millis(t) % 1000) + 1000) % 1000);
  s.pop_back();  // 'Z'
  s += '.';
  s += static_cast<char>('0' + ms / 100);
  s += static_cast<char>('0' + ms / 10 % 10);
  s += static_cast<char>('0' + ms % 10);
  s += 'Z';
  return s;
}

// `in` as valid UTF-8: each byte that does not start a well-formed sequence becomes U+FFFD.
// Response bodies and headers are a receiver's bytes; JSON output must stay valid.
inline std::string mgmt_utf8(std::string_view in) {
  std::string out;
  out.reserve(in.size());
  auto const* p = reinterpret_cast<unsigned char const*>(in.data());
  auto const* const end = p + in.size();
  while (p < end) {
    unsigned const c = *p;
    std::size_t n = 0;
    std::uint32_t cp = 0;
    if (c < 0x80) {
      out += static_cast<char>(c);
      ++p;
      continue;
    }
    if (c >= 0xc2 && c <= 0xdf) { n = 1; cp = c & 0x1f; }
    else if (c >= 0xe0 && c <= 0xef) { n = 2; cp = c & 0x0f; }
    else if (c >= 0xf0 && c <= 0xf4) { n = 3; cp = c & 0x07; }
    bool ok = n > 0 && static_cast<std::size_t>(end - p) > n;
    for (std::size_t i = 1; ok && i <= n; ++i) {
      if ((p[i] & 0xc0) != 0x80) ok = false;
      else cp = (cp << 6) | (p[i] & 0x3f);
    }
    if (ok && ((n == 2 && cp < 0x800) || (n == 3 && cp < 0x10000) || cp > 0x10ffff ||
               (cp >= 0xd800 && cp <= 0xdfff)))
      ok = false;
    if (!ok) {
      out += "\xef\xbf\xbd";
      ++p;
      continue;
    }
    out.append(reinterpret_cast<char const*>(p), n + 1);
    p += n + 1;
  }
  return out;
}

// The stable name of an error, as the `code` of a problem entry.
inline char const* mgmt_code(boost::system::error_code const& ec) noexcept {
  if (ec.category() != ::pulsehook::error_category()) return "error";
  switch (static_cast<error>(ec.value())) {
  case error::invalid_secret: return "invalid_secret";
  case error::unknown_event_type: return "unknown_event_type";
  case error::invalid_event_type_pattern: return "invalid_event_type";
  case error::invalid_json: return "invalid_json";
  case error::invalid_argument: return "invalid_argument";
  case error::invalid_name: return "invalid_name";
  case error::invalid_url: return "invalid_url";
  case error::empty_subscription: return "empty_subscription";
  case error::invalid_rate_limit: return "invalid_rate_limit";
  case error::invalid_header: return "invalid_header";
  case error::invalid_timeout: return "invalid_timeout";
  case error::invalid_retry_schedule: return "invalid_retry_schedule";
  case error::invalid_metadata: return "invalid_metadata";
  case error::not_found: return "not_found";
  case error::already_exists: return "already_exists";
  case error::invalid_cursor: return "invalid_cursor";
  case error::endpoint_disabled: return "endpoint_disabled";
  case error::endpoint_deleted: return "endpoint_deleted";
  case error::storage_busy: return "storage_busy";
  case error::no_secret: return "no_secret";
  default: return "error";
  }
}

inline char const* mgmt_reason(int status) noexcept {
  switch (status) {
  case 200: return "OK";
  case 201: return "Created";
  case 202: return "Accepted";
  case 204: return "No Content";
  case 400: return "Bad Request";
  case 401: return "Unauthorized";
  case 404: return "Not Found";
  case 405: return "Method Not Allowed";
  case 409: return "Conflict";
  case 413: return "Content Too Large";
  case 415: return "Unsupported Media Type";
  case 422: return "Unprocessable Content";
  case 431: return "Request Header Fields Too Large";
  case 500: return "Internal Server Error";
  case 501: return "Not Implemented";
  case 503: return "Service Unavailable";
  default: return "Error";
  }
}

// One `errors` entry of a problem: a body field (`pointer`, RFC 6901 in a URI fragment) or a
// query parameter (`parameter`).
struct mgmt_field_error {
  std::string pointer;
  std::string parameter;
  std::string code;
  std::string detail;
};

struct mgmt_problem {
  int status = 400;
  std::string detail;
  std::vector<mgmt_field_error> errors;

  mgmt_problem& field(std::string pointer, boost::system::error_code const& ec,
                      std::string_view explain) {
    std::string d = ec.message();
    if (!explain.empty()) {
      d += ": ";
      d += explain;
    }
    errors.push_back({"#" + std::move(pointer), {}, mgmt_code(ec), std::move(d)});
    return *this;
  }
  mgmt_problem& parameter(std::string name, boost::system::error_code const& ec,
                          std::string_view explain) {
    std::string d = ec.message();
    if (!explain.empty()) {
      d += ": ";
      d += explain;
    }
    errors.push_back({{}, std::move(name), mgmt_code(ec), std::move(d)});
    return *this;
  }

  std::string body() const {
    boost::json::object o;
    o["type"] = "about:blank";
    o["title"] = mgmt_reason(status);
    o["status"] = status;
    if (!detail.empty()) o["detail"] = mgmt_utf8(detail);
    if (!errors.empty()) {
      boost::json::array a;
      for (auto const& e : errors) {
        boost::json::object x;
        if (!e.pointer.empty()) x["pointer"] = mgmt_utf8(e.pointer);
        if (!e.parameter.empty()) x["parameter"] = mgmt_utf8(e.parameter);
        x["code"] = e.code;
        x["detail"] = mgmt_utf8(e.detail);
        a.push_back(std::move(x));
      }
      o["errors"] = std::move(a);
    }
    return boost::json::serialize(o);
  }
};

// An RFC 6901 reference token: '~' -> "~0", '/' -> "~1".
inline std::string mgmt_pointer_token(std::string_view key) {
  std::string out;
  for (char c : key) {
    if (c == '~') out += "~0";
    else if (c == '/') out += "~1";
    else out += c;
  }
  return out;
}

// A Prometheus label value: backslash, double quote and line feed escaped.
inline void mgmt_label(std::string& out, std::string_view v) {
  for (char c : v) {
    if (c == '\\') out += "\\\\";
    else if (c == '"') out += "\\\"";
    else if (c == '\n') out += "\\n";
    else out += c;
  }
}

// "ep_" + 24 hex digits of OpenSSL randomness (96 bits: ids are not guessable either).
inline std::string mgmt_random_id(std::string_view prefix, boost::system::error_code& ec) {
  unsigned char b[12];
  if (RAND_bytes(b, sizeof b) != 1) {
    clear_openssl_errors();
    ec = error::random_failure;
    return {};
  }
  static constexpr char hex[] = "0123456789abcdef";
  std::string s(prefix);
  for (unsigned char c : b) {
    s += hex[c >> 4];
    s += hex[c & 15];
  }
  ec = {};
  return s;
}

// The media type of a Content-Type value, lower-cased, parameters dropped.
inline std::string mgmt_media_type(std::string_view ct) {
  auto const semi = ct.find(';');
  if (semi != std::string_view::npos) ct = ct.substr(0, semi);
  while (!ct.empty() && (ct.back() == ' ' || ct.back() == '\t')) ct.remove_suffix(1);
  while (!ct.empty() && (ct.front() == ' ' || ct.front() == '\t')) ct.remove_prefix(1);
  std::string out(ct);
  for (auto& c : out)
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
  return out;
}

} // namespace pulsehook::detail

#endif
