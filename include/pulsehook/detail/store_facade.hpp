#ifndef PULSEHOOK_DETAIL_STORE_FACADE_HPP
#define PULSEHOOK_DETAIL_STORE_FACADE_HPP

// The throwing overloads every store offers: same signature minus the error_code, throwing
// boost::system::system_error. A store derives from store_facade<Self> and re-exports the names
// with using-declarations (its own error_code overloads would hide them otherwise).

#include <pulsehook/error.hpp>
#include <pulsehook/model.hpp>
#include <pulsehook/storage.hpp>

#include <optional>
#include <span>
#include <string_view>
#include <vector>

namespace pulsehook::detail {

template <class Store>
class store_facade {
  using ec_t = boost::system::error_code;
  Store& self() noexcept { return static_cast<Store&>(*this); }

public:
  void accept(event_record const& ev, time_point give_up_at, accept_result& r) {
    ec_t ec; self().accept(ev, give_up_at, r, ec); throw_if(ec, "pulsehook: accept");
  }
  void accept_many(std::span<event_record const> evs, std::span<time_point const> give_up_at,
                   std::vector<accept_result>& r) {
    ec_t ec; self().accept_many(evs, give_up_at, r, ec); throw_if(ec, "pulsehook: accept_many");
  }
  void claim_due(claim_request const& req, std::vector<due_delivery>& out) {
    ec_t ec; self().claim_due(req, out, ec); throw_if(ec, "pulsehook: claim_due");
  }
  std::optional<time_point> next_due_at() {
    ec_t ec; auto r = self().next_due_at(ec); throw_if(ec, "pulsehook: next_due_at"); return r;
  }
  std::uint64_t count_due(time_point now) {
    ec_t ec; auto r = self().count_due(now, ec); throw_if(ec, "pulsehook: count_due"); return r;
  }
  void record_attempt(attempt_record const& a, delivery_update const& u) {
    ec_t ec; self().record_attempt(a, u, ec); throw_if(ec, "pulsehook: record_attempt");
  }
  void release(delivery_id id, time_point next_attempt_at) {
    ec_t ec; self().release(id, next_attempt_at, ec); throw_if(ec, "pulsehook: release");
  }
  void give_up(delivery_id id, std::string_view reason) {
    ec_t ec; self().give_up(id, reason, ec); throw_if(ec, "pulsehook: give_up");
  }
  state_counts counts(std::string_view endpoint_id) {
    ec_t ec; auto r = self().counts(endpoint_id, ec); throw_if(ec, "pulsehook: counts"); return r;
  }
  void create_endpoint(endpoint_record const& ep) {
    ec_t ec; self().create_endpoint(ep, ec); throw_if(ec, "pulsehook: create_endpoint");
  }
  void update_endpoint(endpoint_record const& ep) {
    ec_t ec; self().update_endpoint(ep, ec); throw_if(ec, "pulsehook: update_endpoint");
  }
  void delete_endpoint(std::string_view id, time_point now) {
    ec_t ec; self().delete_endpoint(id, now, ec); throw_if(ec, "pulsehook: delete_endpoint");
  }
  void get_endpoint(std::string_view id, endpoint_record& out) {
    ec_t ec; self().get_endpoint(id, out, ec); throw_if(ec, "pulsehook: get_endpoint");
  }
  void list_endpoints(std::string_view org, std::vector<endpoint_record>& out) {
    ec_t ec; self().list_endpoints(org, out, ec); throw_if(ec, "pulsehook: list_endpoints");
  }
  void rotate_secret(std::string_view id, endpoint_secret const& fresh, duration grace, time_point now) {
    ec_t ec; self().rotate_secret(id, fresh, grace, now, ec); throw_if(ec, "pulsehook: rotate_secret");
  }
  void disable_endpoint(std::string_view id, std::string_view reason, time_point now) {
    ec_t ec; self().disable_endpoint(id, reason, now, ec); throw_if(ec, "pulsehook: disable_endpoint");
  }
  void enable_endpoint(std::string_view id, time_point now) {
    ec_t ec; self().enable_endpoint(id, now, ec); throw_if(ec, "pulsehook: enable_endpoint");
  }
  bool disable_failing(std::string_view id, time_point failing_since_by, std::string_view reason,
                       time_point now) {
    ec_t ec;
    bool const r = self().disable_failing(id, failing_since_by, reason, now, ec);
    throw_if(ec, "pulsehook: disable_failing");
    return r;
  }
  void list_log(log_query const& q, log_page& page) {
    ec_t ec; self().list_log(q, page, ec); throw_if(ec, "pulsehook: list_log");
  }
  void get_event(std::string_view event_id, event_detail& out) {
    ec_t ec; self().get_event(event_id, out, ec); throw_if(ec, "pulsehook: get_event");
  }
  void get_delivery(delivery_id id, delivery_record& out) {
    ec_t ec; self().get_delivery(id, out, ec); throw_if(ec, "pulsehook: get_delivery");
  }
  void resend(delivery_id id, time_point now) {
    ec_t ec; self().resend(id, now, ec); throw_if(ec, "pulsehook: resend");
  }
  void resend_event(std::string_view event_id, time_point now, resend_event_result& out) {
    ec_t ec; self().resend_event(event_id, now, out, ec); throw_if(ec, "pulsehook: resend_event");
  }
  void recover(recover_request const& req, recover_result& out) {
    ec_t ec; self().recover(req, out, ec); throw_if(ec, "pulsehook: recover");
  }
  void erase_event(std::string_view event_id, time_point now, std::string_view by, erase_result& out) {
    ec_t ec; self().erase_event(event_id, now, by, out, ec); throw_if(ec, "pulsehook: erase_event");
  }
  void erase_subject(erase_subject_request const& req, erase_result& out) {
    ec_t ec; self().erase_subject(req, out, ec); throw_if(ec, "pulsehook: erase_subject");
  }
  void record_audit(audit_entry const& e) {
    ec_t ec; self().record_audit(e, ec); throw_if(ec, "pulsehook: record_audit");
  }
  void list_audit(std::string_view endpoint_id, std::size_t limit, std::vector<audit_entry>& out) {
    ec_t ec; self().list_audit(endpoint_id, limit, out, ec); throw_if(ec, "pulsehook: list_audit");
  }
  void purge(purge_request const& req, purge_result& out) {
    ec_t ec; self().purge(req, out, ec); throw_if(ec, "pulsehook: purge");
  }
};

} // namespace pulsehook::detail

#define PULSEHOOK_DETAIL_STORE_USING_FACADE(base)                                                  \
  using base::accept; using base::accept_many; using base::claim_due; using base::next_due_at; using base::count_due; using base::record_attempt; \
  using base::release; using base::give_up; using base::counts; using base::create_endpoint; using base::update_endpoint; \
  using base::delete_endpoint; using base::get_endpoint; using base::list_endpoints;               \
  using base::rotate_secret; using base::disable_endpoint; using base::enable_endpoint;            \
  using base::disable_failing;                                                                     \
  using base::list_log; using base::get_event; using base::get_delivery; using base::resend;       \
  using base::resend_event; using base::recover; using base::erase_event; using base::erase_subject; \
  using base::record_audit; using base::list_audit; using base::purge

#endif
