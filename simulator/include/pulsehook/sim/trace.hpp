#ifndef PULSEHOOK_SIM_TRACE_HPP
#define PULSEHOOK_SIM_TRACE_HPP

/// @file
/// The trace: one fixed-column line per simulated action. Two runs of the same scenario and
/// seed write byte-identical traces. Legend (also in docs/simulator.md):
///
/// @code
/// VTIME           KIND  EP     DELIVERY   ATT  DETAIL
/// 00d00:00:05.123 SEND  e0003  000000042  002  evt_... objective.updated sig=ok dup
/// @endcode
/// - `VTIME` virtual time since the start, `DDdHH:MM:SS.mmm` (15 characters);
/// - `KIND` (5): `START` run begins, `EP+` endpoint created, `EPSUB` subscriptions edited,
///   `EPROT` secret rotated, `EPOFF` disabled, `EPON` enabled, `EPDEL` deleted, `PUB` event
///   published, `SEND` an attempt starts (the receiver's view: `lost` = never arrived, else
///   `sig=ok|BAD` and `dup` for a repeat), `DONE` the attempt's result and the delivery's new
///   state, `END` the run settled, `CHECK` a checker's verdict;
/// - `EP` (5): the endpoint's index `eNNNN`, or `-----`;
/// - `DELIVERY` (9): the store's delivery id, or `---------`;
/// - `ATT` (3): the attempt number, or `---`;
/// - `DETAIL`: free text, without tabs or newlines.

#include <pulsehook/time.hpp>

#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <string>
#include <string_view>

namespace pulsehook::sim {

/// Formats `d` as `DDdHH:MM:SS.mmm`.
inline void format_vtime(std::string& out, duration d) {
  std::int64_t ms = d.count() < 0 ? 0 : d.count();
  auto put = [&](std::int64_t v, int width) {
    char buf[24];
    int n = 0;
    do { buf[n++] = static_cast<char>('0' + v % 10); v /= 10; } while (v > 0 || n < width);
    while (n > 0) out.push_back(buf[--n]);
  };
  put(ms / 86400000, 2); out.push_back('d');
  put(ms / 3600000 % 24, 2); out.push_back(':');
  put(ms / 60000 % 60, 2); out.push_back(':');
  put(ms / 1000 % 60, 2); out.push_back('.');
  put(ms % 1000, 3);
}

/// Writes trace lines to a file (or nowhere). Buffered; `flush()` or destruction writes out.
class trace_writer {
public:
  trace_writer() = default;
  /// @param file an open file the writer does not own, or nullptr to discard
  explicit trace_writer(std::FILE* file) : file_(file) {}
  trace_writer(trace_writer const&) = delete;
  trace_writer& operator=(trace_writer const&) = delete;
  ~trace_writer() { flush(); }

  bool enabled() const noexcept { return file_ != nullptr || capture_; }

  /// Keeps lines in memory instead (tests): see `captured()`.
  void capture() { capture_ = true; }
  std::string const& captured() const noexcept { return buf_; }

  /// Appends one line. `endpoint` < 0, `delivery` == 0, `attempt` == 0 print as dashes.
  void line(duration since_start, std::string_view kind, std::int64_t endpoint,
            std::uint64_t delivery, std::uint32_t attempt, std::string_view detail) {
    if (!enabled()) return;
    format_vtime(buf_, since_start);
    buf_.push_back(' ');
    buf_.append(kind.substr(0, 5));
    buf_.append(5 - std::min<std::size_t>(kind.size(), 5) + 1, ' ');
    if (endpoint < 0) buf_.append("-----");
    else { buf_.push_back('e'); pad(static_cast<std::uint64_t>(endpoint), 4); }
    buf_.push_back(' ');
    if (delivery == 0) buf_.append("---------");
    else pad(delivery, 9);
    buf_.push_back(' ');
    if (attempt == 0) buf_.append("---");
    else pad(attempt, 3);
    buf_.push_back(' ');
    for (char c : detail) buf_.push_back(c == '\n' || c == '\t' ? ' ' : c);
    buf_.push_back('\n');
    ++lines_;
    if (file_ && buf_.size() > (1u << 20)) flush();
  }

  std::uint64_t lines() const noexcept { return lines_; }

  void flush() {
    if (file_ && !buf_.empty()) {
      std::fwrite(buf_.data(), 1, buf_.size(), file_);
      buf_.clear();
    }
  }

private:
  void pad(std::uint64_t v, int width) {
    char b[24];
    int n = 0;
    do { b[n++] = static_cast<char>('0' + v % 10); v /= 10; } while (v > 0);
    for (int i = n; i < width; ++i) buf_.push_back('0');
    while (n > 0) buf_.push_back(b[--n]);
  }

  std::FILE* file_ = nullptr;
  bool capture_ = false;
  std::string buf_;
  std::uint64_t lines_ = 0;
};

} // namespace pulsehook::sim

#endif
