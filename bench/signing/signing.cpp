// Signing and verification throughput, against OpenSSL in the same binary.
//
// Every size N is the length of the signed input "<timestamp>.<body>" (a 10-digit timestamp,
// so the body is N - 11 bytes): the same input `openssl speed -hmac sha256 -bytes N` hashes.
//  - openssl_speed_loop: the loop `openssl speed -hmac sha256` runs (EVP_MAC_init with a null
//    key, update, final on one keyed context): the ceiling for any EVP_MAC-based signer.
//  - oneshot_HMAC: OpenSSL's one-shot HMAC() per message plus hex: the baseline of a signer
//    that keys per message.
//  - evp_mac_dup: the other keyed-once strategy (duplicate a keyed template per message).
//  - evp_md_copy: pulsehook's HMAC core on its own (precomputed inner/outer EVP_MD_CTX states
//    copied per message), over the same contiguous input as openssl_speed_loop.
//  - metapulse_signature: pulsehook's signature incl. hex, no allocation.
//  - metapulse_sign: the two headers appended to a vector (what the engine calls).
//  - metapulse_verify: pulsehook::verify on those headers (parse, tolerance, HMAC, compare).
#include <pulsehook/encoding.hpp>
#include <pulsehook/schemes.hpp>
#include <pulsehook/verify.hpp>

#include <benchmark/benchmark.h>

#include <openssl/evp.h>
#include <openssl/hmac.h>

#include <cstring>
#include <string>

namespace {

constexpr std::int64_t timestamp = 1764425077;
constexpr std::size_t prefix = 11;  // "1764425077."
std::string const secret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSwMfKQ9r8GKYqrTwjUPD8=";

std::string body_for(std::int64_t n) {
  std::string b(static_cast<std::size_t>(n) - prefix, '\0');
  for (std::size_t i = 0; i < b.size(); ++i) b[i] = static_cast<char>('a' + i % 26);
  return b;
}

void account(benchmark::State& state) {
  state.SetBytesProcessed(static_cast<std::int64_t>(state.iterations()) * state.range(0));
  state.SetItemsProcessed(static_cast<std::int64_t>(state.iterations()));
}

void openssl_speed_loop(benchmark::State& state) {
  std::string const input = std::to_string(timestamp) + "." + body_for(state.range(0));
  EVP_MAC* mac = EVP_MAC_fetch(nullptr, "HMAC", nullptr);
  EVP_MAC_CTX* ctx = EVP_MAC_CTX_new(mac);
  char digest[] = "SHA256";
  OSSL_PARAM params[] = {OSSL_PARAM_construct_utf8_string("digest", digest, 0), OSSL_PARAM_construct_end()};
  EVP_MAC_init(ctx, reinterpret_cast<unsigned char const*>(secret.data()), secret.size(), params);
  unsigned char out[32];
  for (auto _ : state) {
    std::size_t len = 0;
    EVP_MAC_init(ctx, nullptr, 0, nullptr);
    EVP_MAC_update(ctx, reinterpret_cast<unsigned char const*>(input.data()), input.size());
    EVP_MAC_final(ctx, out, &len, sizeof out);
    benchmark::DoNotOptimize(out);
  }
  EVP_MAC_CTX_free(ctx);
  EVP_MAC_free(mac);
  account(state);
}

void oneshot_HMAC(benchmark::State& state) {
  std::string const input = std::to_string(timestamp) + "." + body_for(state.range(0));
  unsigned char out[32];
  char hex[64];
  for (auto _ : state) {
    unsigned len = 0;
    HMAC(EVP_sha256(), secret.data(), static_cast<int>(secret.size()),
         reinterpret_cast<unsigned char const*>(input.data()), input.size(), out, &len);
    pulsehook::hex_encode(out, hex);
    benchmark::DoNotOptimize(hex);
  }
  account(state);
}

void evp_mac_dup(benchmark::State& state) {
  std::string const input = std::to_string(timestamp) + "." + body_for(state.range(0));
  EVP_MAC* mac = EVP_MAC_fetch(nullptr, "HMAC", nullptr);
  EVP_MAC_CTX* tmpl = EVP_MAC_CTX_new(mac);
  char digest[] = "SHA256";
  OSSL_PARAM params[] = {OSSL_PARAM_construct_utf8_string("digest", digest, 0), OSSL_PARAM_construct_end()};
  EVP_MAC_init(tmpl, reinterpret_cast<unsigned char const*>(secret.data()), secret.size(), params);
  unsigned char out[32];
  for (auto _ : state) {
    std::size_t len = 0;
    EVP_MAC_CTX* ctx = EVP_MAC_CTX_dup(tmpl);
    EVP_MAC_update(ctx, reinterpret_cast<unsigned char const*>(input.data()), input.size());
    EVP_MAC_final(ctx, out, &len, sizeof out);
    EVP_MAC_CTX_free(ctx);
    benchmark::DoNotOptimize(out);
  }
  EVP_MAC_CTX_free(tmpl);
  EVP_MAC_free(mac);
  account(state);
}

// The keyed-once core without EVP_MAC: inner and outer EVP_MD_CTX states precomputed from
// the key, copied per message (EVP_MD_CTX_copy_ex), as an alternative HMAC core.
void evp_md_copy(benchmark::State& state) {
  std::string const input = std::to_string(timestamp) + "." + body_for(state.range(0));
  EVP_MD* md = EVP_MD_fetch(nullptr, "SHA256", nullptr);
  unsigned char pad[64] = {};
  std::memcpy(pad, secret.data(), secret.size());  // 58 bytes: shorter than a block
  unsigned char ipad[64], opad[64];
  for (int i = 0; i < 64; ++i) ipad[i] = pad[i] ^ 0x36, opad[i] = pad[i] ^ 0x5c;
  EVP_MD_CTX* in = EVP_MD_CTX_new();
  EVP_MD_CTX* out_ctx = EVP_MD_CTX_new();
  EVP_MD_CTX* work = EVP_MD_CTX_new();
  EVP_DigestInit_ex2(in, md, nullptr);
  EVP_DigestUpdate(in, ipad, 64);
  EVP_DigestInit_ex2(out_ctx, md, nullptr);
  EVP_DigestUpdate(out_ctx, opad, 64);
  unsigned char out[32];
  for (auto _ : state) {
    unsigned len = 0;
    EVP_MD_CTX_copy_ex(work, in);
    EVP_DigestUpdate(work, input.data(), input.size());
    EVP_DigestFinal_ex(work, out, &len);
    EVP_MD_CTX_copy_ex(work, out_ctx);
    EVP_DigestUpdate(work, out, 32);
    EVP_DigestFinal_ex(work, out, &len);
    benchmark::DoNotOptimize(out);
  }
  EVP_MD_CTX_free(work);
  EVP_MD_CTX_free(out_ctx);
  EVP_MD_CTX_free(in);
  EVP_MD_free(md);
  account(state);
}

void metapulse_signature(benchmark::State& state) {
  std::string const body = body_for(state.range(0));
  pulsehook::secret_set const keys{secret};
  char hex[64];
  boost::system::error_code ec;
  for (auto _ : state) {
    pulsehook::metapulse_scheme::compute_signature(keys.current().text_key(), timestamp, body, hex, ec);
    benchmark::DoNotOptimize(hex);
  }
  if (ec) state.SkipWithError(ec.message().c_str());
  account(state);
}

void metapulse_sign(benchmark::State& state) {
  std::string const body = body_for(state.range(0));
  pulsehook::secret_set const keys{secret};
  pulsehook::metapulse_scheme const scheme;
  std::vector<pulsehook::http_header> headers;
  boost::system::error_code ec;
  for (auto _ : state) {
    headers.clear();
    scheme.sign(keys, {.id = "evt_1", .timestamp = timestamp, .body = body}, headers, ec);
    benchmark::DoNotOptimize(headers.data());
  }
  if (ec) state.SkipWithError(ec.message().c_str());
  account(state);
}

void metapulse_verify(benchmark::State& state) {
  std::string const body = body_for(state.range(0));
  pulsehook::secret_set const keys{secret};
  std::vector<pulsehook::http_header> headers;
  pulsehook::metapulse_scheme{}.sign(keys, {.id = "evt_1", .timestamp = timestamp, .body = body}, headers);
  auto const now = pulsehook::from_unix_seconds(timestamp + 2);
  boost::system::error_code ec;
  for (auto _ : state) {
    auto r = pulsehook::verify(headers, body, keys, now, ec);
    benchmark::DoNotOptimize(r);
  }
  if (ec) state.SkipWithError(ec.message().c_str());
  account(state);
}

void standard_webhooks_sign(benchmark::State& state) {
  std::string const body = body_for(state.range(0));
  pulsehook::secret_set const keys{secret};
  pulsehook::standard_webhooks_scheme const scheme;
  std::vector<pulsehook::http_header> headers;
  boost::system::error_code ec;
  for (auto _ : state) {
    headers.clear();
    scheme.sign(keys, {.id = "evt_1", .timestamp = timestamp, .body = body}, headers, ec);
    benchmark::DoNotOptimize(headers.data());
  }
  if (ec) state.SkipWithError(ec.message().c_str());
  account(state);
}

void sizes(benchmark::internal::Benchmark* b) {
  for (std::int64_t n : {64, 256, 1024, 16384, 1 << 20}) b->Arg(n);
}

BENCHMARK(openssl_speed_loop)->Apply(sizes);
BENCHMARK(oneshot_HMAC)->Apply(sizes);
BENCHMARK(evp_mac_dup)->Apply(sizes);
BENCHMARK(evp_md_copy)->Apply(sizes);
BENCHMARK(metapulse_signature)->Apply(sizes);
BENCHMARK(metapulse_sign)->Apply(sizes);
BENCHMARK(metapulse_verify)->Apply(sizes);
BENCHMARK(standard_webhooks_sign)->Apply(sizes);

} // namespace

BENCHMARK_MAIN();
