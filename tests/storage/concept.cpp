// The storage requirements: the shipped models satisfy them, non-models do not, and the
// exemplar of docs/concepts/Storage.md compiles and works.
#include "fixtures.hpp"

#include <pulsehook/storage.hpp>

#include <boost/test/unit_test.hpp>

namespace pulsehook_test_storage_concept { // one per test file: the test programs are unity builds

namespace exemplar {

// --- docs/concepts/Storage.md, "Exemplar" (keep in sync) ---
// A storage policy that wraps another one and counts what it accepted: the shape of any
// user-supplied policy (a metrics decorator, a store with a cache in front, a test double).
template <pulsehook::storage_policy Inner>
class counting_store {
public:
  using error_code = boost::system::error_code;
  explicit counting_store(Inner& inner) : inner_(inner) {}

  void accept(pulsehook::event_record const& ev, pulsehook::time_point give_up_at,
              pulsehook::accept_result& r, error_code& ec) {
    inner_.accept(ev, give_up_at, r, ec);
    if (!ec && !r.duplicate) ++accepted_;
  }
  void claim_due(pulsehook::claim_request const& req, std::vector<pulsehook::due_delivery>& out,
                 error_code& ec) {
    inner_.claim_due(req, out, ec);
  }
  std::optional<pulsehook::time_point> next_due_at(error_code& ec) { return inner_.next_due_at(ec); }
  void record_attempt(pulsehook::attempt_record const& a, pulsehook::delivery_update const& u,
                      error_code& ec) {
    inner_.record_attempt(a, u, ec);
  }
  void release(pulsehook::delivery_id id, pulsehook::time_point t, error_code& ec) {
    inner_.release(id, t, ec);
  }
  void give_up(pulsehook::delivery_id id, std::string_view reason, error_code& ec) {
    inner_.give_up(id, reason, ec);
  }
  pulsehook::state_counts counts(std::string_view endpoint, error_code& ec) {
    return inner_.counts(endpoint, ec);
  }
  std::uint64_t accepted() const noexcept { return accepted_; }

private:
  Inner& inner_;
  std::uint64_t accepted_ = 0;
};

static_assert(pulsehook::check_storage_policy<counting_store<pulsehook::memory_store>>());
// --- end of exemplar ---

} // namespace exemplar

namespace {
struct only_accept {
  void accept(pulsehook::event_record const&, pulsehook::time_point, pulsehook::accept_result&,
              boost::system::error_code&) {}
};
} // namespace

static_assert(pulsehook::storage_policy<pulsehook::memory_store>);
static_assert(pulsehook::storage_policy<pulsehook::sqlite_store>);
static_assert(pulsehook::event_log_storage<pulsehook::memory_store>);
static_assert(pulsehook::event_log_storage<pulsehook::sqlite_store>);
static_assert(pulsehook::check_storage_policy<pulsehook::sqlite_store>());
static_assert(!pulsehook::storage_policy<int>);
static_assert(!pulsehook::storage_policy<only_accept>);
static_assert(!pulsehook::event_log_storage<exemplar::counting_store<pulsehook::memory_store>>);
static_assert(pulsehook::storage_policy<exemplar::counting_store<pulsehook::sqlite_store>>);
// The optional extensions of the event log: the shipped models have them, a store without
// the members does not.
static_assert(pulsehook::audit_log_storage<pulsehook::memory_store>);
static_assert(pulsehook::audit_log_storage<pulsehook::sqlite_store>);
static_assert(pulsehook::bulk_resend_storage<pulsehook::memory_store>);
static_assert(pulsehook::bulk_resend_storage<pulsehook::sqlite_store>);
static_assert(!pulsehook::audit_log_storage<exemplar::counting_store<pulsehook::memory_store>>);
static_assert(!pulsehook::bulk_resend_storage<exemplar::counting_store<pulsehook::memory_store>>);
static_assert(pulsehook::endpoint_health_storage<pulsehook::memory_store>);
static_assert(pulsehook::endpoint_health_storage<pulsehook::sqlite_store>);
// A store without it still drives the engine; auto-disable then does nothing (engine.hpp).
static_assert(!pulsehook::endpoint_health_storage<exemplar::counting_store<pulsehook::memory_store>>);
static_assert(pulsehook::erasure_storage<pulsehook::memory_store>);
static_assert(pulsehook::erasure_storage<pulsehook::sqlite_store>);
// Without it the API's erase routes answer 501 and the dispatcher has no erase_* (management.hpp).
static_assert(!pulsehook::erasure_storage<exemplar::counting_store<pulsehook::memory_store>>);

BOOST_AUTO_TEST_SUITE(storage_concept)

BOOST_AUTO_TEST_CASE(exemplar_forwards_and_counts) {
  using namespace storage_test;
  memory_store inner;
  inner.create_endpoint(make_endpoint("ep_a", "org_1", {"goal.created"}));
  exemplar::counting_store<memory_store> s(inner);
  boost::system::error_code ec;
  accept_result r;
  s.accept(make_event("evt_1", "org_1", "goal.created", t0), t0 + 1h, r, ec);
  s.accept(make_event("evt_1", "org_1", "goal.created", t0), t0 + 1h, r, ec);
  BOOST_TEST(!ec);
  BOOST_TEST(s.accepted() == 1u);
  BOOST_TEST(s.counts("ep_a", ec).pending == 1u);
  BOOST_TEST(s.next_due_at(ec).has_value());
}

BOOST_AUTO_TEST_SUITE_END()
} // namespace pulsehook_test_storage_concept
