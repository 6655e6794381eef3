#ifndef PULSEHOOK_IMPL_HMAC_HPP
#define PULSEHOOK_IMPL_HMAC_HPP

namespace pulsehook {
namespace detail {

inline constexpr std::size_t sha256_block_size = 64;

// A context holding SHA-256 after one block: the padded key XOR `pad_byte` (RFC 2104).
inline evp_md_ctx_ptr make_hmac_state(unsigned char const (&key_block)[sha256_block_size],
                                      unsigned char pad_byte) noexcept {
  EVP_MD* md = sha256_algorithm();
  if (!md) return nullptr;
  evp_md_ctx_ptr ctx{EVP_MD_CTX_new()};
  if (!ctx) return nullptr;
  unsigned char block[sha256_block_size];
  for (std::size_t i = 0; i < sha256_block_size; ++i)
    block[i] = static_cast<unsigned char>(key_block[i] ^ pad_byte);
  bool const ok = EVP_DigestInit_ex2(ctx.get(), md, nullptr) &&
                  EVP_DigestUpdate(ctx.get(), block, sizeof block);
  OPENSSL_cleanse(block, sizeof block);
  if (!ok) return nullptr;
  return ctx;
}

// The key schedule: both states. False if OpenSSL fails.
inline bool hmac_key_schedule(std::span<unsigned char const> key, evp_md_ctx_ptr& inner,
                              evp_md_ctx_ptr& outer) noexcept {
  unsigned char key_block[sha256_block_size] = {};
  bool ok = true;
  if (key.size() > sha256_block_size) {
    // RFC 2104: a key longer than a block is replaced by its hash
    EVP_MD* md = sha256_algorithm();
    ok = md && EVP_Digest(key.data(), key.size(), key_block, nullptr, md, nullptr);
  } else if (!key.empty()) {
    std::memcpy(key_block, key.data(), key.size());
  }
  if (ok) {
    inner = make_hmac_state(key_block, 0x36);
    outer = make_hmac_state(key_block, 0x5c);
    ok = inner && outer;
  }
  OPENSSL_cleanse(key_block, sizeof key_block);
  if (!ok) {
    inner.reset();
    outer.reset();
  }
  return ok;
}

inline evp_md_ctx_ptr copy_md_ctx(EVP_MD_CTX const* from) noexcept {
  evp_md_ctx_ptr to{EVP_MD_CTX_new()};
  if (to && !EVP_MD_CTX_copy_ex(to.get(), from)) to.reset();
  return to;
}

// This thread's working context, where a message is hashed from a copy of the keyed states:
// one per thread, so that a keyed object is only read and may be shared by any number of
// threads. Null only if OpenSSL cannot allocate it.
inline EVP_MD_CTX* hmac_work_context() noexcept {
  thread_local evp_md_ctx_ptr work{EVP_MD_CTX_new()};
  if (!work) work.reset(EVP_MD_CTX_new());
  return work.get();
}

template <class Parts>
void hmac_run(EVP_MD_CTX const* inner, EVP_MD_CTX const* outer, Parts const& parts,
              sha256_digest& out, boost::system::error_code& ec) noexcept {
  if (!inner) {
    ec = error::no_secret;
    return;
  }
  EVP_MD_CTX* const work = hmac_work_context();
  if (!work) {
    clear_openssl_errors();
    ec = error::crypto_failure;
    return;
  }
  // inner hash: the precomputed state after key XOR ipad, then the message
  bool ok = EVP_MD_CTX_copy_ex(work, inner);
  for (std::string_view p : parts) {
    if (!ok) break;
    if (!p.empty()) ok = EVP_DigestUpdate(work, p.data(), p.size());
  }
  unsigned len = 0;
  ok = ok && EVP_DigestFinal_ex(work, out.data(), &len) && len == out.size();
  // outer hash: the state after key XOR opad, then the inner tag
  ok = ok && EVP_MD_CTX_copy_ex(work, outer) && EVP_DigestUpdate(work, out.data(), out.size()) &&
       EVP_DigestFinal_ex(work, out.data(), &len) && len == out.size();
  if (!ok) {
    clear_openssl_errors();
    ec = error::crypto_failure;
    return;
  }
  ec = {};
}

} // namespace detail

inline hmac_sha256::hmac_sha256(std::span<unsigned char const> key,
                                boost::system::error_code& ec) noexcept {
  if (detail::hmac_key_schedule(key, inner_, outer_)) {
    ec = {};
  } else {
    detail::clear_openssl_errors();
    ec = error::crypto_failure;
  }
}

inline hmac_sha256::hmac_sha256(std::span<unsigned char const> key) {
  boost::system::error_code ec;
  *this = hmac_sha256(key, ec);
  throw_if(ec, "pulsehook::hmac_sha256");
}

inline hmac_sha256::hmac_sha256(std::string_view key)
    : hmac_sha256(std::span<unsigned char const>(
          reinterpret_cast<unsigned char const*>(key.data()), key.size())) {}

inline hmac_sha256::hmac_sha256(hmac_sha256 const& other) {
  if (!other.inner_) return;
  inner_ = detail::copy_md_ctx(other.inner_.get());
  outer_ = detail::copy_md_ctx(other.outer_.get());
  if (!inner_ || !outer_) {
    detail::clear_openssl_errors();
    throw boost::system::system_error(error::crypto_failure, "pulsehook::hmac_sha256 copy");
  }
}

inline hmac_sha256& hmac_sha256::operator=(hmac_sha256 const& other) {
  if (this != &other) *this = hmac_sha256(other);
  return *this;
}

inline void hmac_sha256::compute(std::initializer_list<std::string_view> parts,
                                 sha256_digest& out,
                                 boost::system::error_code& ec) const noexcept {
  detail::hmac_run(inner_.get(), outer_.get(), parts, out, ec);
}

inline void hmac_sha256::compute(std::span<std::string_view const> parts, sha256_digest& out,
                                 boost::system::error_code& ec) const noexcept {
  detail::hmac_run(inner_.get(), outer_.get(), parts, out, ec);
}

inline sha256_digest hmac_sha256::compute(std::initializer_list<std::string_view> parts) const {
  sha256_digest out{};
  boost::system::error_code ec;
  compute(parts, out, ec);
  throw_if(ec, "pulsehook::hmac_sha256::compute");
  return out;
}

} // namespace pulsehook

#endif
