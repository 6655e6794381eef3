// The Transport requirement: positive and negative checks, and the exemplar of
// docs/concepts/Transport.md compiled and run.
#include <pulsehook/transport.hpp>

#include <boost/asio/io_context.hpp>
#include <boost/asio/use_future.hpp>
#include <boost/test/unit_test.hpp>

#include <stdexcept>

namespace pulsehook_test_transport_transport_concept { // one per test file: the test programs are unity builds

namespace {

// --- exemplar (docs/concepts/Transport.md) ---
// The smallest transport: answers every request 204 through the executor it was given.
class always_204 {
public:
  explicit always_204(boost::asio::any_io_executor ex) : ex_(std::move(ex)) {}

  template <class CompletionToken>
  auto async_send(pulsehook::outgoing_request r, CompletionToken&& token) {
    return boost::asio::async_initiate<CompletionToken, void(pulsehook::transport_result)>(
        [this](auto handler, pulsehook::outgoing_request) {
          pulsehook::transport_result res;
          res.status = 204;
          boost::asio::post(ex_, boost::asio::append(std::move(handler), std::move(res)));
        },
        token, std::move(r));
  }

private:
  boost::asio::any_io_executor ex_;
};
// --- end exemplar ---

struct no_send {};
struct wrong_send {
  void async_send(int, int) {}
};
struct sync_send {
  pulsehook::transport_result async_send(pulsehook::outgoing_request) { return {}; }
};

} // namespace

static_assert(pulsehook::transport_policy<always_204>);
static_assert(pulsehook::check_transport_policy<always_204>());
static_assert(!pulsehook::transport_policy<no_send>);
static_assert(!pulsehook::transport_policy<wrong_send>);
static_assert(!pulsehook::transport_policy<sync_send>);

BOOST_AUTO_TEST_SUITE(transport_concept)

BOOST_AUTO_TEST_CASE(exemplar_completes_once_through_the_executor) {
  boost::asio::io_context io;
  always_204 t{io.get_executor()};
  int calls = 0;
  int status = 0;
  t.async_send(pulsehook::outgoing_request{}, [&](pulsehook::transport_result r) {
    ++calls;
    status = r.status;
  });
  BOOST_TEST(calls == 0); // never invoked from inside async_send
  io.run();
  BOOST_TEST(calls == 1);
  BOOST_TEST(status == 204);
}

BOOST_AUTO_TEST_CASE(function_transport_answers_and_never_throws) {
  boost::asio::io_context io;
  int n = 0;
  pulsehook::function_transport t{io.get_executor(), [&](pulsehook::outgoing_request const& r) {
                                    if (r.url == "boom") throw std::runtime_error("kaput");
                                    ++n;
                                    pulsehook::transport_result res;
                                    res.status = 200;
                                    return res;
                                  }};
  static_assert(pulsehook::transport_policy<decltype(t)>);
  pulsehook::transport_result a, b;
  pulsehook::outgoing_request ok_req;
  ok_req.url = "http://example.com/";
  t.async_send(ok_req, [&](pulsehook::transport_result r) { a = std::move(r); });
  pulsehook::outgoing_request bad;
  bad.url = "boom";
  auto fut = t.async_send(bad, boost::asio::use_future);
  io.run();
  b = fut.get();
  BOOST_TEST(a.ok());
  BOOST_TEST(n == 1);
  BOOST_TEST(!b.ok());
  BOOST_TEST(b.error == pulsehook::error::protocol_error);
  BOOST_TEST(b.error_detail == "kaput");
}

BOOST_AUTO_TEST_SUITE_END()
} // namespace pulsehook_test_transport_transport_concept
