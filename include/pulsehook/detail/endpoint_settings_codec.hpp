#ifndef PULSEHOOK_DETAIL_ENDPOINT_SETTINGS_CODEC_HPP
#define PULSEHOOK_DETAIL_ENDPOINT_SETTINGS_CODEC_HPP

// How the SQL stores keep an endpoint's settings in one text column each (Boost.JSON):
// - headers:        [["X-Tenant","acme"],["Authorization","Bearer ..."]]  (order kept)
// - retry_schedule: [10000,60000,3600000]                                  (milliseconds)
// - metadata:       {"team":"growth","tier":"gold"}
// An empty setting is stored as SQL NULL (the encoders return ""), so endpoints without
// settings cost nothing to read. The decoders refuse anything they did not write
// (`false`: the stores report `storage_failure`, as for any corrupt row).

#include <pulsehook/model.hpp>
#include <pulsehook/retry.hpp>
#include <pulsehook/time.hpp>

#include <boost/json/array.hpp>
#include <boost/json/object.hpp>
#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>
#include <boost/json/value.hpp>

#include <functional>
#include <map>
#include <string>
#include <string_view>
#include <vector>

namespace pulsehook::detail {

inline std::string encode_headers(std::vector<http_header> const& hs) {
  if (hs.empty()) return {};
  boost::json::array a;
  a.reserve(hs.size());
  for (auto const& h : hs)
    a.push_back(boost::json::array{boost::json::string_view(h.name.data(), h.name.size()),
                                   boost::json::string_view(h.value.data(), h.value.size())});
  return boost::json::serialize(a);
}

inline bool decode_headers(std::string_view text, std::vector<http_header>& out) {
  out.clear();
  if (text.empty()) return true;
  boost::system::error_code ec;
  auto const v = boost::json::parse(text, ec);
  if (ec || !v.is_array()) return false;
  for (auto const& e : v.get_array()) {
    auto const* pair = e.if_array();
    if (!pair || pair->size() != 2 || !(*pair)[0].is_string() || !(*pair)[1].is_string())
      return false;
    auto const& n = (*pair)[0].get_string();
    auto const& val = (*pair)[1].get_string();
    out.push_back({std::string(n.data(), n.size()), std::string(val.data(), val.size())});
  }
  return true;
}

inline std::string encode_schedule(std::vector<duration> const& steps) {
  if (steps.empty()) return {};
  boost::json::array a;
  a.reserve(steps.size());
  for (auto const d : steps) a.push_back(static_cast<std::int64_t>(d.count()));
  return boost::json::serialize(a);
}

inline bool decode_schedule(std::string_view text, std::vector<duration>& out) {
  out.clear();
  if (text.empty()) return true;
  boost::system::error_code ec;
  auto const v = boost::json::parse(text, ec);
  if (ec || !v.is_array()) return false;
  for (auto const& e : v.get_array()) {
    if (!e.is_int64()) return false;
    out.push_back(duration{e.get_int64()});
  }
  return true;
}

inline std::string encode_metadata(std::map<std::string, std::string, std::less<>> const& m) {
  if (m.empty()) return {};
  boost::json::object o;
  o.reserve(m.size());
  for (auto const& [k, v] : m) o[k] = boost::json::string_view(v.data(), v.size());
  return boost::json::serialize(o);
}

inline bool decode_metadata(std::string_view text,
                            std::map<std::string, std::string, std::less<>>& out) {
  out.clear();
  if (text.empty()) return true;
  boost::system::error_code ec;
  auto const v = boost::json::parse(text, ec);
  if (ec || !v.is_object()) return false;
  for (auto const& kv : v.get_object()) {
    if (!kv.value().is_string()) return false;
    auto const& s = kv.value().get_string();
    out.emplace(std::string(kv.key()), std::string(s.data(), s.size()));
  }
  return true;
}

// The deadline span of a schedule in milliseconds, as stores keep it beside the schedule so
// that accept adds it in SQL (`endpoint_give_up_at`); `false` (store NULL) without one.
inline bool schedule_span_ms(std::vector<duration> const& steps, std::int64_t& ms) {
  ms = 0;
  if (steps.empty()) return false;
  ms = schedule_span(steps, endpoint_schedule_jitter).count();
  return true;
}

} // namespace pulsehook::detail

#endif
