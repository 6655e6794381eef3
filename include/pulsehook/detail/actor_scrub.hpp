#ifndef PULSEHOOK_DETAIL_ACTOR_SCRUB_HPP
#define PULSEHOOK_DETAIL_ACTOR_SCRUB_HPP

// Erasure by subject (erasure_storage) empties the subject's name as the actor of the events
// it triggered: in the event's actor fields, and in its payload, where the envelope
// (envelope.hpp) wrote it as `"actor":{"type":…,"id":…,"name":…}`. Every store rewrites the
// payload with this one function, so they agree to the byte.

#include <pulsehook/detail/envelope_writer.hpp>
#include <pulsehook/model.hpp>

#include <string>
#include <string_view>

namespace pulsehook::detail {

// The envelope's actor object for `a`, exactly as write_envelope_head writes it, with its
// name (`named`) or with an empty one.
inline std::string envelope_actor(actor_info const& a, bool named) {
  std::string s = "\"actor\":{\"type\":";
  write_string(s, a.type);
  s += ",\"id\":";
  write_string(s, a.id);
  s += ",\"name\":";
  write_string(s, named ? std::string_view(a.name) : std::string_view{});
  s += '}';
  return s;
}

// `payload` with the first occurrence of the envelope's actor object for `a` given an empty
// name (the envelope writes the actor before the data, so the first one is the envelope's);
// unchanged when it has none (a payload published raw, or erased).
inline std::string scrub_actor_name(std::string_view payload, actor_info const& a) {
  std::string out(payload);
  if (a.name.empty()) return out;
  auto const named = envelope_actor(a, true);
  auto const at = out.find(named);
  if (at != std::string::npos) out.replace(at, named.size(), envelope_actor(a, false));
  return out;
}

} // namespace pulsehook::detail

#endif
