#ifndef PULSEHOOK_SIM_DETAIL_BINDINGS_HPP
#define PULSEHOOK_SIM_DETAIL_BINDINGS_HPP

// The one place where the simulator meets the library's signing and registry components:
// receivers verify through `sim_verifier`, the fake MetaPulse builds event records through
// `make_sim_event`. Everything else in the simulator depends only on model.hpp.

#include <pulsehook/error.hpp>
#include <pulsehook/model.hpp>
#include <pulsehook/time.hpp>

#include <boost/json.hpp>

#include <pulsehook/secret.hpp>
#include <pulsehook/signature.hpp>
#include <pulsehook/verify.hpp>

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace pulsehook::sim::detail {

/// Verifies the MetaPulse signature of a request with pulsehook::verify (real HMAC-SHA256)
/// against the secrets its receiver knows, keys prepared once per secret change.
class sim_verifier {
public:
  void set_secrets(std::vector<std::string> const& secrets) {
    secrets_ = secret_set{};
    boost::system::error_code ec;
    for (auto const& s : secrets) secrets_.add(s, ec);
  }

  boost::system::error_code verify(outgoing_request const& req, time_point now) const {
    boost::system::error_code ec;
    static std::string const empty;
    (void)pulsehook::verify(headers_view(req.headers), req.body ? *req.body : empty, secrets_,
                            now, ec);
    return ec;
  }

private:
  secret_set secrets_;
};

/// Builds the event record (with its JSON envelope) of one change in the fake organisation.
inline event_record make_sim_event(std::string id, std::string const& organization_id,
                                   std::string type, time_point created_at, actor_info actor,
                                   boost::json::object data, boost::json::object const* previous) {
  event_record ev;
  ev.id = std::move(id);
  ev.organization_id = organization_id;
  ev.type = std::move(type);
  ev.created_at = created_at;
  boost::json::object env;
  env["id"] = ev.id;
  env["type"] = ev.type;
  env["created_at"] = format_rfc3339(created_at);
  env["organization"] = boost::json::object{{"id", organization_id}};
  env["actor"] = boost::json::object{{"type", actor.type}, {"id", actor.id}, {"name", actor.name}};
  env["data"] = std::move(data);
  if (previous) env["previous"] = *previous;
  ev.payload = boost::json::serialize(env);
  ev.actor = std::move(actor);
  return ev;
}

} // namespace pulsehook::sim::detail

#endif
