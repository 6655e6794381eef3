#ifndef PULSEHOOK_DETAIL_HTTP_RESPONSE_READER_HPP
#define PULSEHOOK_DETAIL_HTTP_RESPONSE_READER_HPP

// Reads one HTTP/1.1 response from bytes, with a limit on every buffer the receiver fills.
// Sans-I/O: the transport reads from its socket into `prepare()` and calls `parse()`; the fuzz
// harness (tests/fuzz/) feeds it bytes from memory. Beast's parser does the HTTP; this class
// decides how much the peer may make us hold:
//   - the read buffer never exceeds the current phase's limit: the status line and the header
//     fields together (`header`); then, in the body, one chunk-size line with its extensions
//     (`chunk_header`) or the last chunk with its trailer fields (`trailer`);
//   - body bytes are kept up to `body`; past it up to `drain` more are read and dropped (so a
//     connection can be reused after a moderately large answer); past that reading stops and
//     the connection must be closed (`reusable()` is false), the answer itself stands.
// A limit broken ends the read with `failed` and a reason naming the limit.

#include <pulsehook/model.hpp>

#include <boost/asio/buffer.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http/buffer_body.hpp>
#include <boost/beast/http/error.hpp>
#include <boost/beast/http/parser.hpp>

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <limits>
#include <span>
#include <string>
#include <string_view>

namespace pulsehook::detail {

struct http_response_limits {
  std::size_t header = 16 * 1024;        // status line + header fields
  std::size_t chunk_header = 4 * 1024;   // one chunk-size line, extensions included
  std::size_t trailer = 16 * 1024;       // the last chunk line + trailer fields
  std::size_t body = 16 * 1024;          // body bytes kept
  std::size_t drain = 64 * 1024;         // body bytes read and dropped past `body`
};

class http_response_reader {
public:
  enum class step { read, done, failed };

  // `buffer` holds bytes read but not parsed (it may outlive the reader, e.g. with the
  // connection); `scratch` is where body bytes land before they are kept; `res` receives
  // status, headers, body, body_truncated.
  http_response_reader(boost::beast::flat_buffer& buffer, std::span<char> scratch,
                       http_response_limits const& limits, transport_result& res)
      : buffer_(buffer), scratch_(scratch), lim_(limits), res_(res) {
    parser_.header_limit(static_cast<std::uint32_t>(
        std::min<std::size_t>(lim_.header, std::numeric_limits<std::uint32_t>::max())));
    parser_.body_limit(boost::none);
    parser_.on_chunk_header(on_chunk_);
  }
  http_response_reader(http_response_reader const&) = delete;
  http_response_reader& operator=(http_response_reader const&) = delete;

  // Parses what is buffered. `read`: more bytes are needed (read into prepare(), then
  // commit()); `done`: the answer is in `res`; `failed`: error() or problem() says why.
  step parse() {
    namespace http = boost::beast::http;
    if (!problem_.empty()) return step::failed;  // prepare() found the limit reached
    for (;;) {
      if (parser_.is_done()) return finish();
      if (buffer_.size() == 0) return step::read;
      auto& body = parser_.get().body();
      body.data = scratch_.data();
      body.size = scratch_.size();
      boost::system::error_code ec;
      auto const n = parser_.put(buffer_.data(), ec);
      buffer_.consume(n);
      if (!ec && n == 0 && !parser_.is_done()) return step::read;  // needs more than is here
      if (!ec || ec == http::error::need_buffer || ec == http::error::need_more) {
        if (!header_seen_ && parser_.is_header_done()) take_header();
        if (!problem_.empty()) return step::failed;  // e.g. a status below 100
        if (!keep(scratch_.size() - body.size)) return step::done;  // drained enough
        if (ec == http::error::need_more) return step::read;
        continue;
      }
      if (!problem_.empty()) return step::failed;  // set by the chunk-header callback
      if (ec == http::error::header_limit) {
        problem_ = "the response header is larger than " + std::to_string(lim_.header) + " bytes";
        return step::failed;
      }
      ec_ = ec;
      return step::failed;
    }
  }

  // Room to read into, within the current phase's limit. Empty when the buffered bytes already
  // reach it: the element being parsed is too long (parse() reports it as `failed`).
  boost::asio::mutable_buffer prepare() {
    std::size_t const limit = phase_limit();
    if (buffer_.size() >= limit) {
      overflow();
      return {};
    }
    return buffer_.prepare(std::min<std::size_t>(limit - buffer_.size(), 16 * 1024));
  }
  void commit(std::size_t n) { buffer_.commit(n); }

  // The peer closed its side: an answer delimited by the end of the stream is complete,
  // anything else was cut short.
  step eof() {
    boost::system::error_code ec;
    if (!parser_.got_some()) {
      ec_ = boost::beast::http::error::end_of_stream;
      return step::failed;
    }
    parser_.put_eof(ec);
    if (ec) {
      ec_ = ec;
      return step::failed;
    }
    if (!keep(0)) return step::done;
    return finish();
  }

  bool got_some() const noexcept { return parser_.got_some(); }
  bool header_done() const noexcept { return parser_.is_header_done(); }
  // A parse error from Beast (when problem() is empty).
  boost::system::error_code error() const noexcept { return ec_; }
  // A limit broken, in words (empty otherwise).
  std::string const& problem() const noexcept { return problem_; }
  // The connection can carry another request: the answer was read whole, nothing was left
  // unread, and the receiver did not ask to close.
  bool reusable() const noexcept {
    return parser_.is_done() && !stopped_ && buffer_.size() == 0 && parser_.keep_alive();
  }

private:
  struct chunk_check {
    http_response_reader* self;
    void operator()(std::uint64_t, boost::beast::string_view ext,
                    boost::system::error_code& ec) const {
      // The line is longer than its extensions; an endless one is stopped by prepare().
      if (ext.size() >= self->lim_.chunk_header) {
        self->problem_ = self->chunk_line_problem();
        ec = boost::beast::http::error::bad_chunk_extension;
      }
    }
  };

  std::size_t phase_limit() const noexcept {
    if (!parser_.is_header_done()) return lim_.header;
    if (!parser_.chunked()) return lim_.header;  // bytes only pass through to the body
    return std::max(lim_.chunk_header, lim_.trailer);
  }

  // The buffered bytes reached the phase's limit without completing an element.
  void overflow() {
    if (!parser_.is_header_done()) {
      problem_ = "the response header is larger than " + std::to_string(lim_.header) + " bytes";
      return;
    }
    // In a chunked body: a chunk-size line, or the last chunk ("0" line) and its trailer.
    std::string_view b(static_cast<char const*>(buffer_.data().data()), buffer_.size());
    if (b.substr(0, 2) == "\r\n") b.remove_prefix(2);
    auto const eol = b.find("\r\n");
    auto const line = b.substr(0, std::min(eol, b.find(';')));
    bool const last = eol != std::string_view::npos && !line.empty() &&
                      line.find_first_not_of('0') == std::string_view::npos;
    problem_ = last ? "the chunked body's trailer is larger than " +
                          std::to_string(std::max(lim_.chunk_header, lim_.trailer)) + " bytes"
                    : chunk_line_problem();
  }

  std::string chunk_line_problem() const {
    return "a chunk-size line (with its extensions) is longer than " +
           std::to_string(lim_.chunk_header) + " bytes";
  }

  void take_header() {
    header_seen_ = true;
    auto const& head = parser_.get();
    res_.status = static_cast<int>(head.result_int());
    // Beast takes any three digits; 000-099 are no HTTP status (and 0 means "no answer" in
    // transport_result). Found by the fuzz harness http_response.
    if (res_.status < 100) {
      problem_ = "the status code " + std::to_string(res_.status) + " is not an HTTP status";
      res_.status = 0;
    }
    for (auto const& f : head.base())
      res_.headers.push_back({std::string(f.name_string()), std::string(f.value())});
    parser_.eager(true);  // from here on, parse every element that is buffered in one go
  }

  // Keeps `got` body bytes from scratch up to the cap; false once the drain limit is passed.
  bool keep(std::size_t got) {
    std::size_t const room = lim_.body - std::min(lim_.body, res_.body.size());
    std::size_t const k = std::min(got, room);
    res_.body.append(scratch_.data(), k);
    if (got > k) {
      res_.body_truncated = true;
      drained_ += got - k;
      if (drained_ > lim_.drain) {
        stopped_ = true;
        return false;
      }
    }
    return true;
  }

  step finish() {
    if (!header_seen_ && parser_.is_header_done()) take_header();
    return problem_.empty() ? step::done : step::failed;
  }

  boost::beast::flat_buffer& buffer_;
  std::span<char> scratch_;
  http_response_limits lim_;
  transport_result& res_;
  boost::beast::http::response_parser<boost::beast::http::buffer_body> parser_;
  chunk_check on_chunk_{this};
  boost::system::error_code ec_;
  std::string problem_;
  std::size_t drained_ = 0;
  bool header_seen_ = false;
  bool stopped_ = false;
};

} // namespace pulsehook::detail

#endif
