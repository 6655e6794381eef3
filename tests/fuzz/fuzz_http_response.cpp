// HTTP responses fed to the transport's response reader (detail/http_response_reader.hpp, the
// code http_transport runs on socket bytes), in pieces whose sizes the input chooses. Small
// limits so that every one of them is reached. Checks: never crashes; the buffer never holds
// more than the largest limit; the kept body never exceeds its cap; a failure names a limit or
// carries a parse error; an answer read whole has a status.
#include <pulsehook/detail/http_response_reader.hpp>

#include <array>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <cstring>

extern "C" int LLVMFuzzerTestOneInput(std::uint8_t const* data, std::size_t size) {
  if (size < 1) return 0;
  pulsehook::detail::http_response_limits lim;
  lim.header = 1024;
  lim.chunk_header = 128;
  lim.trailer = 512;
  lim.body = 256;
  lim.drain = 1024;
  std::size_t const piece = 1 + data[0] % 64;  // bytes per read
  boost::beast::flat_buffer buffer;
  std::array<char, 64> scratch;
  pulsehook::transport_result res;
  pulsehook::detail::http_response_reader reader(buffer, scratch, lim, res);
  using step = pulsehook::detail::http_response_reader::step;
  std::size_t pos = 1;
  step s = step::read;
  for (;;) {
    s = reader.parse();
    if (buffer.size() > lim.header + lim.trailer) std::abort();
    if (res.body.size() > lim.body) std::abort();
    if (s != step::read) break;
    auto room = reader.prepare();
    if (room.size() == 0) continue;  // over the limit: parse() reports it
    if (pos >= size) {
      s = reader.eof();
      break;
    }
    std::size_t const n = std::min({piece, room.size(), size - pos});
    std::memcpy(room.data(), data + pos, n);
    reader.commit(n);
    pos += n;
  }
  if (s == step::failed && reader.problem().empty() && !reader.error()) std::abort();
  if (s == step::done && (res.status < 100 || res.status > 999)) std::abort();  // 0xx: refused
  if (reader.reusable() && (s != step::done || buffer.size() != 0)) std::abort();
  return 0;
}
