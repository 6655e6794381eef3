#ifndef PULSEHOOK_SECRET_HPP
#define PULSEHOOK_SECRET_HPP

/// @file
/// Signing secrets: generation, validation, rotation, and `secret_set`, the prepared keys a
/// signature scheme signs and verifies with.
///
/// **Format.** `generate_secret()` returns `whsec_` followed by the padded base64 of 32 bytes
/// from OpenSSL `RAND_bytes` (50 printable characters). One secret serves every scheme:
/// | scheme | HMAC key | secrets a `secret_set` accepts for it |
/// |---|---|---|
/// | MetaPulse | the text's bytes (the help page's Ruby example passes the string straight to `OpenSSL::HMAC.hexdigest`) | any text |
/// | GitHub | the text's bytes | any text, spaces included (GitHub's own test secret is `It's a Secret to Everybody`) |
/// | Stripe | the text's bytes, `whsec_` or not (Stripe's `whsec_…` secrets are not base64) | any text |
/// | Standard Webhooks | the base64-decoded text after an optional `whsec_`, as the reference libraries (npm `standardwebhooks`) key it | text that decodes as canonical padded base64 (else `error::invalid_secret` when signing or verifying with that scheme) |
/// "Any text" is 1 to 1024 bytes without control characters.
///
/// Secrets pulsehook stores for its endpoints follow the stricter `validate_secret` rule (what
/// `generate_secret` makes and a user may paste): 1 to 1024 printable ASCII characters without
/// whitespace, and a `whsec_` text must carry canonical base64 of 24 to 64 bytes.
///
/// **Rotation.** An endpoint keeps its secrets newest first (`endpoint_record::secrets`). The
/// newest is current and does not expire; `rotate_secret` puts a new one in front and gives
/// the previous ones an expiry after a grace period, during which multi-signature schemes
/// (Standard Webhooks, Stripe) sign with every active secret and receivers accept any of them.
///
/// @par Example
/// @code
/// std::vector<pulsehook::endpoint_secret> secrets;
/// pulsehook::rotate_secret(secrets, clock.now());            // the first secret
/// // ... later: a new current secret, the old one valid for 24 more hours
/// pulsehook::rotate_secret(secrets, clock.now(), {.grace = std::chrono::hours{24}});
/// pulsehook::secret_set const keys{secrets, clock.now()};   // prepare once, sign many
/// @endcode

#include <pulsehook/error.hpp>
#include <pulsehook/hmac.hpp>
#include <pulsehook/model.hpp>
#include <pulsehook/time.hpp>

#include <chrono>
#include <cstddef>
#include <initializer_list>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace pulsehook {

/// The prefix of generated secrets (the Standard Webhooks serialization).
inline constexpr std::string_view secret_prefix = "whsec_";

/// Random bytes in a generated secret.
inline constexpr std::size_t secret_entropy_bytes = 32;

/// The longest secret text accepted.
inline constexpr std::size_t max_secret_size = 1024;

/// A new secret: `whsec_` + base64 of 32 bytes from OpenSSL `RAND_bytes`.
/// @param ec `error::random_failure` if the random source fails (then the result is empty)
std::string generate_secret(boost::system::error_code& ec);

/// A new secret. @throws boost::system::system_error with `error::random_failure`.
std::string generate_secret();

/// Why `text` is not an acceptable secret, or an empty view when it is.
/// @return a fixed English sentence, e.g. "secret contains whitespace or a control character"
std::string_view secret_problem(std::string_view text) noexcept;

/// Checks a secret's text. @param ec `error::invalid_secret` when `secret_problem` is not empty
void validate_secret(std::string_view text, boost::system::error_code& ec) noexcept;

/// Checks a secret's text.
/// @throws boost::system::system_error with `error::invalid_secret`; `what()` says why.
void validate_secret(std::string_view text);

/// True when `s` may be used at `now`: no expiry, or an expiry after `now`.
constexpr bool is_active(endpoint_secret const& s, time_point now) noexcept {
  return !s.expires_at || *s.expires_at > now;
}

/// How `rotate_secret` treats the previous secrets.
struct rotation_options {
  /// How long the previous secrets stay valid after the rotation.
  duration grace = std::chrono::hours{24};
  /// At most this many previous secrets are kept (the oldest go first).
  std::size_t max_previous = 10;
};

/// Makes `new_secret` the current secret of `secrets` (kept newest first): previous secrets
/// expire at `now + grace` (or earlier, if they already did), expired ones and those beyond
/// `max_previous` are removed.
/// @param ec `error::invalid_secret` if `new_secret` is not valid (then nothing changes)
void rotate_secret(std::vector<endpoint_secret>& secrets, std::string new_secret, time_point now,
                   rotation_options const& options, boost::system::error_code& ec);

/// Generates a new secret and rotates to it. @return the new secret's text (empty on error)
/// @param ec `error::random_failure` if the random source fails (then nothing changes)
std::string rotate_secret(std::vector<endpoint_secret>& secrets, time_point now,
                          rotation_options const& options, boost::system::error_code& ec);

/// Generates a new secret and rotates to it. @return the new secret's text
/// @throws boost::system::system_error with `error::random_failure`.
std::string rotate_secret(std::vector<endpoint_secret>& secrets, time_point now,
                          rotation_options const& options = {});

/// Removes the secrets that expired at or before `now`.
void prune_expired_secrets(std::vector<endpoint_secret>& secrets, time_point now);

/// One secret of a `secret_set`, with its HMAC keys prepared.
class prepared_secret {
public:
  /// The secret's text.
  std::string_view text() const noexcept { return text_; }
  /// When it was created (the epoch for secrets given as plain text).
  time_point created_at() const noexcept { return created_at_; }
  /// When it stops being valid; empty when it does not expire.
  std::optional<time_point> expires_at() const noexcept { return expires_at_; }
  /// The key for MetaPulse, GitHub and Stripe: the text's bytes.
  hmac_sha256 const& text_key() const noexcept { return text_key_; }
  /// The key for Standard Webhooks: the base64-decoded text after an optional `whsec_`, as
  /// the reference libraries key it. Unkeyed (`has_key()` false) when the text does not decode;
  /// that scheme then reports `error::invalid_secret`.
  hmac_sha256 const& standard_key() const noexcept { return standard_key_; }

private:
  friend class secret_set;
  std::string text_;
  time_point created_at_{};
  std::optional<time_point> expires_at_;
  hmac_sha256 text_key_;
  hmac_sha256 standard_key_;
};

/// The active secrets of an endpoint, newest (current) first, with their HMAC keys prepared
/// once. Build one per endpoint (or per receiver) and reuse it for every message: signing and
/// verifying then cost only the message's own hash blocks.
///
/// @par Thread safety
/// A const `secret_set` may be used by any number of threads at once (signing and verifying
/// only read the prepared keys; each thread hashes in its own working context, see
/// `hmac_sha256`), e.g. one `static secret_set const` shared by every request handler.
/// Modifying it (`add`, assignment) while another thread uses it is not safe.
class secret_set {
public:
  using const_iterator = std::vector<prepared_secret>::const_iterator;

  /// An empty set: signing and verifying with it report `error::no_secret`.
  secret_set() = default;

  /// The secrets of `secrets` active at `now` (no expiry, or expiry after `now`), newest
  /// first by `created_at` (ties keep their order).
  /// @throws boost::system::system_error with `error::invalid_secret` if an active secret's
  ///         text is not valid (`what()` says why), or `error::crypto_failure`.
  secret_set(std::span<endpoint_secret const> secrets, time_point now);

  /// As above, reporting failures in `ec` (the set is then empty).
  secret_set(std::span<endpoint_secret const> secrets, time_point now,
             boost::system::error_code& ec);

  /// A receiver's candidate secrets, first = current. Each is 1 to 1024 bytes without control
  /// characters (see the file documentation for what each scheme makes of it).
  /// @throws boost::system::system_error with `error::invalid_secret`.
  secret_set(std::initializer_list<std::string_view> secrets);

  /// One receiver secret. @throws boost::system::system_error with `error::invalid_secret`.
  explicit secret_set(std::string_view secret);

  /// Appends a candidate (an older secret than those already in).
  /// @param ec `error::invalid_secret` or `error::crypto_failure`; nothing is added then
  void add(std::string_view text, boost::system::error_code& ec);
  /// Appends a candidate. @throws boost::system::system_error as the overload above reports.
  void add(std::string_view text);

  bool empty() const noexcept { return secrets_.empty(); }
  std::size_t size() const noexcept { return secrets_.size(); }
  /// The current (newest) secret. Precondition: `!empty()`.
  prepared_secret const& current() const noexcept { return secrets_.front(); }
  prepared_secret const& operator[](std::size_t i) const noexcept { return secrets_[i]; }
  const_iterator begin() const noexcept { return secrets_.begin(); }
  const_iterator end() const noexcept { return secrets_.end(); }

private:
  void add(std::string_view text, time_point created, std::optional<time_point> expires,
           boost::system::error_code& ec);
  std::vector<prepared_secret> secrets_;
};

} // namespace pulsehook

#include <pulsehook/impl/secret.hpp>

#endif
