#ifndef PULSEHOOK_IMPL_SECRET_HPP
#define PULSEHOOK_IMPL_SECRET_HPP

#include <pulsehook/encoding.hpp>

#include <openssl/crypto.h>
#include <openssl/rand.h>

#include <algorithm>
#include <array>

namespace pulsehook {

inline std::string generate_secret(boost::system::error_code& ec) {
  std::array<unsigned char, secret_entropy_bytes> bytes{};
  if (RAND_bytes(bytes.data(), static_cast<int>(bytes.size())) != 1) {
    detail::clear_openssl_errors();
    ec = error::random_failure;
    return {};
  }
  std::string s(secret_prefix.size() + base64_encoded_size(bytes.size()), '\0');
  std::copy(secret_prefix.begin(), secret_prefix.end(), s.begin());
  base64_encode(bytes, s.data() + secret_prefix.size());
  OPENSSL_cleanse(bytes.data(), bytes.size());
  ec = {};
  return s;
}

inline std::string generate_secret() {
  boost::system::error_code ec;
  auto s = generate_secret(ec);
  throw_if(ec, "pulsehook::generate_secret");
  return s;
}

inline std::string_view secret_problem(std::string_view text) noexcept {
  if (text.empty()) return "secret is empty";
  if (text.size() > max_secret_size) return "secret is longer than 1024 characters";
  for (char c : text) {
    auto const u = static_cast<unsigned char>(c);
    if (u <= 0x20 || u >= 0x7f) return "secret contains whitespace, a control or a non-ASCII character";
  }
  if (text.starts_with(secret_prefix)) {
    auto const payload = text.substr(secret_prefix.size());
    std::array<unsigned char, 64> key{};
    if (payload.size() > base64_encoded_size(key.size()))
      return "whsec_ secret encodes more than 64 bytes";
    auto const n = base64_decode(payload, key);
    OPENSSL_cleanse(key.data(), key.size());
    if (!n) return "whsec_ secret is not canonical padded base64 after the prefix";
    if (*n < 24) return "whsec_ secret encodes fewer than 24 bytes";
  }
  return {};
}

inline void validate_secret(std::string_view text, boost::system::error_code& ec) noexcept {
  ec = secret_problem(text).empty() ? boost::system::error_code{}
                                    : make_error_code(error::invalid_secret);
}

inline void validate_secret(std::string_view text) {
  auto const why = secret_problem(text);
  if (!why.empty())
    throw boost::system::system_error(error::invalid_secret,
                                      "pulsehook::validate_secret: " + std::string(why));
}

inline void prune_expired_secrets(std::vector<endpoint_secret>& secrets, time_point now) {
  std::erase_if(secrets, [&](endpoint_secret const& s) { return !is_active(s, now); });
}

inline void rotate_secret(std::vector<endpoint_secret>& secrets, std::string new_secret,
                          time_point now, rotation_options const& options,
                          boost::system::error_code& ec) {
  validate_secret(new_secret, ec);
  if (ec) return;
  prune_expired_secrets(secrets, now);
  auto const until = now + options.grace;
  for (auto& s : secrets)
    if (!s.expires_at || *s.expires_at > until) s.expires_at = until;
  // a zero grace period retires the previous secrets at once
  prune_expired_secrets(secrets, now);
  std::stable_sort(secrets.begin(), secrets.end(),
                   [](endpoint_secret const& a, endpoint_secret const& b) {
                     return a.created_at > b.created_at;
                   });
  if (secrets.size() > options.max_previous) secrets.resize(options.max_previous);
  secrets.insert(secrets.begin(), endpoint_secret{std::move(new_secret), now, std::nullopt});
}

inline std::string rotate_secret(std::vector<endpoint_secret>& secrets, time_point now,
                                 rotation_options const& options,
                                 boost::system::error_code& ec) {
  auto s = generate_secret(ec);
  if (ec) return {};
  rotate_secret(secrets, s, now, options, ec);
  if (ec) return {};
  return s;
}

inline std::string rotate_secret(std::vector<endpoint_secret>& secrets, time_point now,
                                 rotation_options const& options) {
  boost::system::error_code ec;
  auto s = rotate_secret(secrets, now, options, ec);
  throw_if(ec, "pulsehook::rotate_secret");
  return s;
}

namespace detail {
// What a secret_set accepts: any secret a sender may have handed out (GitHub's may hold spaces,
// Stripe's are `whsec_` + text that is not base64). Only what cannot be a configured value is
// refused: nothing, too long, or control characters (a stray newline from a file or variable).
inline std::string_view received_secret_problem(std::string_view text) noexcept {
  if (text.empty()) return "secret is empty";
  if (text.size() > max_secret_size) return "secret is longer than 1024 characters";
  for (char c : text) {
    auto const u = static_cast<unsigned char>(c);
    if (u < 0x20 || u == 0x7f) return "secret contains a control character";
  }
  return {};
}
} // namespace detail

inline void secret_set::add(std::string_view text, time_point created,
                            std::optional<time_point> expires, boost::system::error_code& ec) {
  if (!detail::received_secret_problem(text).empty()) {
    ec = error::invalid_secret;
    return;
  }
  prepared_secret p;
  p.text_ = std::string(text);
  p.created_at_ = created;
  p.expires_at_ = expires;
  p.text_key_ = hmac_sha256(as_bytes(text), ec);
  if (ec) return;
  // Standard Webhooks: the base64 after an optional `whsec_`, as its reference libraries key
  // (npm standardwebhooks strips the prefix if present, then base64-decodes). Text that does
  // not decode has no Standard Webhooks key; that scheme then refuses it (invalid_secret).
  auto const payload = text.starts_with(secret_prefix) ? text.substr(secret_prefix.size()) : text;
  std::array<unsigned char, max_secret_size / 4 * 3> key{};
  if (auto const n = base64_decode(payload, key); n && *n > 0) {
    p.standard_key_ = hmac_sha256(std::span<unsigned char const>(key.data(), *n), ec);
    OPENSSL_cleanse(key.data(), key.size());
    if (ec) return;
  }
  secrets_.push_back(std::move(p));
}

inline void secret_set::add(std::string_view text, boost::system::error_code& ec) {
  add(text, time_point{}, std::nullopt, ec);
}

inline void secret_set::add(std::string_view text) {
  boost::system::error_code ec;
  add(text, ec);
  if (ec == error::invalid_secret)
    throw boost::system::system_error(ec, "pulsehook::secret_set: " +
                                              std::string(detail::received_secret_problem(text)));
  throw_if(ec, "pulsehook::secret_set");
}

inline secret_set::secret_set(std::span<endpoint_secret const> secrets, time_point now,
                              boost::system::error_code& ec) {
  ec = {};
  std::vector<endpoint_secret const*> active;
  active.reserve(secrets.size());
  for (auto const& s : secrets)
    if (is_active(s, now)) active.push_back(&s);
  std::stable_sort(active.begin(), active.end(),
                   [](endpoint_secret const* a, endpoint_secret const* b) {
                     return a->created_at > b->created_at;
                   });
  secrets_.reserve(active.size());
  for (auto const* s : active) {
    add(s->value, s->created_at, s->expires_at, ec);
    if (ec) {
      secrets_.clear();
      return;
    }
  }
}

inline secret_set::secret_set(std::span<endpoint_secret const> secrets, time_point now) {
  boost::system::error_code ec;
  *this = secret_set(secrets, now, ec);
  if (ec == error::invalid_secret) {
    for (auto const& s : secrets)
      if (is_active(s, now) && !detail::received_secret_problem(s.value).empty())
        throw boost::system::system_error(
            ec, "pulsehook::secret_set: " + std::string(detail::received_secret_problem(s.value)));
  }
  throw_if(ec, "pulsehook::secret_set");
}

inline secret_set::secret_set(std::initializer_list<std::string_view> secrets) {
  secrets_.reserve(secrets.size());
  for (auto s : secrets) add(s);
}

inline secret_set::secret_set(std::string_view secret) { add(secret); }

} // namespace pulsehook

#endif
