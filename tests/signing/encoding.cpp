#include <pulsehook/encoding.hpp>

#include "oracle.hpp"

#include <openssl/evp.h>

#include <boost/test/unit_test.hpp>

namespace pulsehook_test_signing_encoding { // one per test file: the test programs are unity builds

BOOST_AUTO_TEST_SUITE(signing_encoding)

namespace {
std::string openssl_base64(std::string_view bytes) {
  std::string out(4 * ((bytes.size() + 2) / 3) + 1, '\0');
  int const n = EVP_EncodeBlock(reinterpret_cast<unsigned char*>(out.data()),
                                reinterpret_cast<unsigned char const*>(bytes.data()),
                                static_cast<int>(bytes.size()));
  out.resize(static_cast<std::size_t>(n));
  return out;
}
} // namespace

BOOST_AUTO_TEST_CASE(hex_and_base64_known_values) {
  unsigned char const b[] = {0xde, 0xad, 0xbe, 0xef, 0x00, 0x7f};
  BOOST_TEST(pulsehook::to_hex(b) == "deadbeef007f");
  BOOST_TEST(pulsehook::to_base64(std::span(b, 4)) == "3q2+7w==");
  BOOST_TEST(pulsehook::to_base64(std::span(b, 5)) == "3q2+7wA=");
  BOOST_TEST(pulsehook::to_base64(std::span(b, 6)) == "3q2+7wB/");
  BOOST_TEST(pulsehook::to_base64(std::span<unsigned char const>{}) == "");
  BOOST_TEST(pulsehook::to_hex(std::span<unsigned char const>{}) == "");
}

BOOST_AUTO_TEST_CASE(round_trips_match_openssl_encode_block) {
  pulsehook::prng g{0x5151};
  for (std::size_t n = 0; n < 300; ++n) {
    auto const bytes = oracle::random_bytes(g, n);
    auto const span = pulsehook::as_bytes(bytes);
    auto const b64 = pulsehook::to_base64(span);
    BOOST_TEST(b64 == openssl_base64(bytes), "length " << n);
    auto const back = pulsehook::from_base64(b64);
    BOOST_TEST_REQUIRE(back.has_value());
    BOOST_TEST(std::string(back->begin(), back->end()) == bytes);

    auto const hex = pulsehook::to_hex(span);
    BOOST_TEST(hex.size() == 2 * n);
    auto const hb = pulsehook::from_hex(hex);
    BOOST_TEST_REQUIRE(hb.has_value());
    BOOST_TEST(std::string(hb->begin(), hb->end()) == bytes);
    // upper case decodes to the same bytes
    std::string upper = hex;
    for (auto& c : upper) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
    auto const hu = pulsehook::from_hex(upper);
    BOOST_TEST_REQUIRE(hu.has_value());
    BOOST_TEST(*hu == *hb);
  }
}

BOOST_AUTO_TEST_CASE(hex_decoder_rejects_malformed_text) {
  unsigned char out[8];
  BOOST_TEST(!pulsehook::hex_decode("abc", out));       // odd length
  BOOST_TEST(!pulsehook::hex_decode("zz", out));        // not hex
  BOOST_TEST(!pulsehook::hex_decode("0g", out));
  BOOST_TEST(!pulsehook::hex_decode(" 0", out));
  BOOST_TEST(!pulsehook::hex_decode(std::string_view("0\0", 2), out));
  BOOST_TEST(!pulsehook::hex_decode("000000000000000000", out));  // 9 bytes > 8
  BOOST_TEST(pulsehook::hex_decode("", out).value() == 0u);
  BOOST_TEST(pulsehook::hex_decode("0aFf", out).value() == 2u);
  BOOST_TEST(out[0] == 0x0a);
  BOOST_TEST(out[1] == 0xff);
}

BOOST_AUTO_TEST_CASE(base64_decoder_accepts_only_canonical_padded_text) {
  unsigned char out[16];
  BOOST_TEST(!pulsehook::base64_decode("abc", out));     // not a multiple of 4
  BOOST_TEST(!pulsehook::base64_decode("ab=c", out));    // padding in the middle
  BOOST_TEST(!pulsehook::base64_decode("a===", out));    // too much padding
  BOOST_TEST(!pulsehook::base64_decode("====", out));
  BOOST_TEST(!pulsehook::base64_decode("ab-_", out));    // url-safe alphabet is not ours
  BOOST_TEST(!pulsehook::base64_decode("3q2+7x==", out)); // non-zero unused bits
  BOOST_TEST(!pulsehook::base64_decode("3q2+7wB=", out)); // non-zero unused bits
  BOOST_TEST(!pulsehook::base64_decode("3q2+7w==3q2+", out)); // data after padding
  BOOST_TEST(!pulsehook::base64_decode("AAAAAAAAAAAAAAAAAAAAAAAA", out)); // 18 bytes > 16
  BOOST_TEST(pulsehook::base64_decode("", out).value() == 0u);
  BOOST_TEST(pulsehook::base64_decode("3q2+7w==", out).value() == 4u);
  BOOST_TEST(out[3] == 0xef);
}

BOOST_AUTO_TEST_CASE(decoders_survive_every_byte_value) {
  // every 4-character window over an adversarial alphabet: never a crash, and a success
  // always re-encodes to the same text (canonical)
  std::string const chars = std::string("AZaz09+/=-_ \t") + std::string("\0\xff\x80", 3);
  unsigned char out[3];
  for (char a : chars)
    for (char b : chars)
      for (char c : chars)
        for (char d : chars) {
          std::string const s{a, b, c, d};
          if (auto n = pulsehook::base64_decode(s, out))
            BOOST_TEST(pulsehook::to_base64(std::span<unsigned char const>(out, *n)) == s);
          unsigned char h[2];
          if (auto n = pulsehook::hex_decode(s, h)) BOOST_TEST(*n == 2u);
        }
}

BOOST_AUTO_TEST_CASE(hex_decoder_word_path_checks_every_byte_at_every_position) {
  // the decoder validates 8 digits at a time: every byte value, at every position of long
  // inputs, must be accepted exactly when it is a hex digit, with the right value
  auto digit_value = [](unsigned char c) -> int {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
  };
  pulsehook::prng g{0x4e};
  for (std::size_t len : {std::size_t{8}, std::size_t{16}, std::size_t{24}, std::size_t{32}, std::size_t{64},
                          std::size_t{70}, std::size_t{96}}) {
    for (std::size_t pos = 0; pos < len; ++pos) {
      for (int c = 0; c < 256; ++c) {
        std::string text(len, '0');
        for (auto& ch : text) ch = "0123456789abcdefABCDEF"[g.uniform(0, 21)];
        text[pos] = static_cast<char>(c);
        unsigned char out[48];
        auto const n = pulsehook::hex_decode(text, out);
        bool const valid = digit_value(static_cast<unsigned char>(c)) >= 0;
        BOOST_TEST_REQUIRE(n.has_value() == valid, "len " << len << " pos " << pos << " byte " << c);
        if (!n) continue;
        for (std::size_t i = 0; i < len / 2; ++i) {
          int const expect = digit_value(static_cast<unsigned char>(text[2 * i])) * 16 +
                             digit_value(static_cast<unsigned char>(text[2 * i + 1]));
          BOOST_TEST_REQUIRE(int{out[i]} == expect);
        }
      }
    }
  }
}

BOOST_AUTO_TEST_SUITE_END()
} // namespace pulsehook_test_signing_encoding
