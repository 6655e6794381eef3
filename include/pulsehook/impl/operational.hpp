#ifndef PULSEHOOK_IMPL_OPERATIONAL_HPP
#define PULSEHOOK_IMPL_OPERATIONAL_HPP

#include <utility>

namespace pulsehook::operational {

inline endpoint_change describe(endpoint_record const& ep) {
  endpoint_change c;
  c.id = ep.id;
  c.organization_id = ep.organization_id;
  c.name = ep.name;
  c.url = ep.url;
  c.event_types = ep.event_types;
  c.enabled = ep.enabled;
  c.disabled_reason = ep.disabled_reason;
  for (auto const& h : ep.headers) c.header_names.push_back(h.name);
  return c;
}

inline emitter::emitter(emitter_options options) : opt_(std::move(options)), rng_(opt_.seed) {}

inline std::string emitter::org_for(std::string_view endpoint_org) const {
  return opt_.organization_id.empty() ? std::string(endpoint_org) : opt_.organization_id;
}

template <fixed_string Name, class Payload>
void emitter::emit(std::string_view org, event_tag<Name> tag, Payload const& data,
                   Payload const* previous, actor_info const& by, time_point now) {
  if (org.empty() || (!opt_.publish && !opt_.callback)) return;
  envelope_context ctx;
  {
    std::lock_guard lk(mu_);
    ctx.id = make_event_id(now, rng_);
    ++emitted_;
  }
  ctx.organization_id = std::string(org);
  ctx.created_at = now;
  ctx.actor = by;
  event_record ev;
  if constexpr (registry::type_of<Name>::is_update) ev = make_event<registry>(ctx, tag, data, previous ? *previous : data);
  else ev = make_event<registry>(ctx, tag, data);
  try {
    if (opt_.callback) opt_.callback(ev);
    if (opt_.publish) opt_.publish(ev);
  } catch (...) {
    {
      std::lock_guard lk(mu_);
      ++failed_;
    }
    if (opt_.on_error) opt_.on_error(ev, std::current_exception());
  }
}

inline void emitter::endpoint_created(endpoint_record const& ep, actor_info const& by, time_point now) {
  emit(org_for(ep.organization_id), operational::endpoint_created, describe(ep),
       static_cast<endpoint_change const*>(nullptr), by, now);
}

inline void emitter::endpoint_updated(endpoint_record const& before, endpoint_record const& after,
                                      actor_info const& by, time_point now) {
  auto const prev = describe(before);
  emit(org_for(after.organization_id), operational::endpoint_updated, describe(after), &prev, by, now);
}

inline void emitter::endpoint_deleted(endpoint_record const& ep, actor_info const& by, time_point now) {
  emit(org_for(ep.organization_id), operational::endpoint_deleted, describe(ep),
       static_cast<endpoint_change const*>(nullptr), by, now);
}

inline void emitter::endpoint_disabled(std::string_view endpoint_id, std::string_view reason,
                                       time_point now) {
  endpoint_record ep;
  bool const known = opt_.lookup && opt_.lookup(endpoint_id, ep);
  endpoint_change c = known ? describe(ep) : endpoint_change{};
  if (!known) {
    c.id = std::string(endpoint_id);
    c.enabled = false;
  }
  c.disabled_reason = std::string(reason);  // the reason the engine recorded
  emit(org_for(c.organization_id), operational::endpoint_disabled, c,
       static_cast<endpoint_change const*>(nullptr), opt_.actor, now);
}

inline void emitter::endpoint_disabled(endpoint_record const& ep, actor_info const& by, time_point now) {
  emit(org_for(ep.organization_id), operational::endpoint_disabled, describe(ep),
       static_cast<endpoint_change const*>(nullptr), by, now);
}

inline void emitter::delivery_failed(delivery_outcome const& d) {
  // No feedback: an operational event that could not be delivered says nothing more, and a
  // deleted endpoint's closed deliveries are that deletion's business.
  if (registry::find(d.event_type) || d.reason == "endpoint deleted") return;
  delivery_exhausted x;
  x.id = "dlv_" + std::to_string(d.delivery);
  x.event_id = std::string(d.event_id);
  x.event_type = std::string(d.event_type);
  x.endpoint_id = std::string(d.endpoint_id);
  x.attempts = d.attempts;
  x.reason = std::string(d.reason);
  endpoint_record ep;
  if (opt_.lookup && opt_.lookup(d.endpoint_id, ep)) {
    x.organization_id = ep.organization_id;
    x.endpoint_name = ep.name;
  }
  emit(org_for(x.organization_id), delivery_exhausted_event, x,
       static_cast<delivery_exhausted const*>(nullptr), opt_.actor, d.at);
}

inline engine_callbacks emitter::hook(engine_callbacks next) {
  auto cb = next;
  cb.endpoint_disabled = [this, then = std::move(next.endpoint_disabled)](endpoint_health const& h) {
    endpoint_disabled(h.endpoint_id, h.last_error, h.at);
    if (then) then(h);
  };
  cb.delivery_failed = [this, then = std::move(next.delivery_failed)](delivery_outcome const& d) {
    delivery_failed(d);
    if (then) then(d);
  };
  return cb;
}

inline std::function<void(change_kind, endpoint_record const*, endpoint_record const*,
                          actor_info const&, time_point)>
emitter::management_hook() {
  return [this](change_kind k, endpoint_record const* before, endpoint_record const* after,
                actor_info const& by, time_point now) {
    switch (k) {
    case change_kind::created: if (after) endpoint_created(*after, by, now); break;
    case change_kind::updated: if (before && after) endpoint_updated(*before, *after, by, now); break;
    case change_kind::deleted: if (before) endpoint_deleted(*before, by, now); break;
    case change_kind::disabled: if (after) endpoint_disabled(*after, by, now); break;
    }
  };
}

inline std::uint64_t emitter::failed() const noexcept {
  std::lock_guard lk(mu_);
  return failed_;
}

inline std::uint64_t emitter::emitted() const noexcept {
  std::lock_guard lk(mu_);
  return emitted_;
}

} // namespace pulsehook::operational

#endif
