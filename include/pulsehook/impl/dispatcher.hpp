#ifndef PULSEHOOK_IMPL_DISPATCHER_HPP
#define PULSEHOOK_IMPL_DISPATCHER_HPP

#include <boost/asio/associated_executor.hpp>
#include <boost/asio/bind_executor.hpp>
#include <boost/asio/dispatch.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/strand.hpp>

#include <atomic>
#include <exception>
#include <mutex>
#include <utility>
#include <vector>

namespace pulsehook {

namespace detail {

// Shared by the dispatcher and every pending handler, so a handler that completes after the
// dispatcher is gone finds live (abandoned) state instead of freed memory.
template <class Registry, class Resolved>
struct dispatcher_state
    : std::enable_shared_from_this<dispatcher_state<Registry, Resolved>> {
  using storage_type = typename Resolved::storage_type;
  using transport_type = typename Resolved::transport_type;
  using retry_type = typename Resolved::retry_type;
  using scheme_type = typename Resolved::scheme_type;
  using clock_type = typename Resolved::clock_type;
  using engine_type = delivery_engine<storage_type, retry_type, scheme_type>;
  using executor_type = boost::asio::any_io_executor;

  dispatcher_state(executor_type e, storage_type& s, transport_type t, dispatcher_settings st,
                   retry_type r, scheme_type sc, clock_type c)
      : ex(std::move(e)), strand(boost::asio::make_strand(ex)), timer(strand),
        stop_timer(strand), store(s), transport(std::move(t)), clock(std::move(c)),
        settings(std::move(st)), engine(s, settings.engine, std::move(r), std::move(sc)) {}

  executor_type ex;
  boost::asio::strand<executor_type> strand;
  boost::asio::steady_timer timer;
  boost::asio::steady_timer stop_timer;
  storage_type& store;
  transport_type transport;
  [[no_unique_address]] clock_type clock;
  dispatcher_settings settings;
  mutable std::recursive_mutex mu;  // the engine: metrics() may come from any thread
  engine_type engine;
  std::vector<outgoing_request> out;
  std::vector<std::function<void()>> stop_waiters;
  std::size_t outstanding = 0;  // transport operations not yet completed
  bool stopping = false;
  bool turn_posted = false;     // a run_once is queued: completions arriving meanwhile share it
  std::atomic<bool> running{false};
  std::atomic<bool> abandoned{false};
  std::atomic<std::uint64_t> published{0};

  void report(boost::system::error_code const& ec, std::string_view where) {
    if (!settings.on_error) return;
    try {
      settings.on_error(ec, where);
    } catch (...) {
    }
  }

  time_point now() {
    std::lock_guard lk(mu);
    return clock.now();
  }

  void arm(duration d) {
    if (d.count() < 0) d = duration{0};
    timer.expires_after(d);
    timer.async_wait([self = this->shared_from_this()](boost::system::error_code ec) {
      if (!ec) self->run_once();
    });
  }

  // Queues one turn of the loop unless one is already queued: a burst of completions (or of
  // publishes) then costs one claim query instead of one each.
  void post_turn() {
    if (turn_posted) return;
    turn_posted = true;
    boost::asio::post(strand, [self = this->shared_from_this()] {
      self->turn_posted = false;
      self->run_once();
    });
  }

  // One turn of the loop (on the strand): send what is due, then sleep until the next instant.
  void run_once() {
    if (!running || stopping || abandoned) return;
    boost::system::error_code ec, wake_ec;
    std::optional<time_point> next;
    {
      std::lock_guard lk(mu);
      out.clear();
      engine.poll(clock.now(), out, ec);
      next = engine.next_wakeup(wake_ec);
    }
    for (auto& r : out) send(std::move(r));
    out.clear();
    if (ec || wake_ec) {
      report(ec ? ec : wake_ec, ec ? "poll" : "next_wakeup");
      arm(settings.storage_retry_delay);
      return;
    }
    if (next)
      arm(*next - now());
    else
      timer.cancel();
  }

  void send(outgoing_request r) {
    ++outstanding;
    auto const id = r.delivery;
    transport.async_send(
        std::move(r), boost::asio::bind_executor(
                          strand, [self = this->shared_from_this(), id](transport_result res) {
                            self->on_result(id, std::move(res));
                          }));
  }

  void on_result(delivery_id id, transport_result res) {
    --outstanding;
    if (abandoned) return;
    if (running) {
      boost::system::error_code ec;
      try {
        std::lock_guard lk(mu);
        engine.complete(id, res, clock.now(), ec);
      } catch (std::exception const&) {
        report(make_error_code(error::invalid_argument), "callback threw");
      }
      // not_found: released at shutdown meanwhile; nothing to do.
      if (ec && ec != error::not_found) report(ec, "complete");
    }
    if (stopping) {
      if (outstanding == 0) finish_stop();
    } else {
      post_turn();
    }
  }

  void begin_stop() {
    if (!running) {
      finish_waiters();
      return;
    }
    if (stopping) return;
    stopping = true;
    timer.cancel();
    if (outstanding == 0) {
      finish_stop();
      return;
    }
    stop_timer.expires_after(settings.shutdown_timeout);
    stop_timer.async_wait([self = this->shared_from_this()](boost::system::error_code ec) {
      if (!ec && self->stopping) self->finish_stop();
    });
  }

  void finish_stop() {
    if (!stopping) return;
    stop_timer.cancel();
    boost::system::error_code ec;
    {
      std::lock_guard lk(mu);
      engine.release_all(clock.now(), ec);
    }
    if (ec) report(ec, "release");
    stopping = false;
    running = false;
    finish_waiters();
  }

  void finish_waiters() {
    auto waiters = std::move(stop_waiters);
    stop_waiters.clear();
    for (auto& w : waiters) w();
  }

  void accept(event_record const& event, accept_result& result, boost::system::error_code& ec) {
    ec = {};
    if (!Registry::find(event.type)) {
      ec = error::unknown_event_type;
      return;
    }
    // Straight to the (thread-safe) store: publishing never waits for the delivery loop.
    store.accept(event, engine.retry_policy().deadline(event.created_at), result, ec);
    if (ec) return;
    if (!result.duplicate) ++published;
    boost::asio::post(strand, [self = this->shared_from_this()] { self->post_turn(); });
  }
};

// Completes a stored handler on its associated executor (default: the dispatcher's).
template <class Handler, class... Args>
void post_completion(boost::asio::any_io_executor const& fallback, Handler handler,
                     Args&&... args) {
  auto ex = boost::asio::get_associated_executor(handler, fallback);
  boost::asio::post(ex, [h = std::move(handler),
                         ... a = std::forward<Args>(args)]() mutable { std::move(h)(std::move(a)...); });
}

} // namespace detail

template <class Registry, class... Options>
basic_dispatcher<Registry, Options...>::basic_dispatcher(executor_type ex, storage_type& store,
                                                         transport_type transport,
                                                         dispatcher_settings settings,
                                                         retry_type retry, scheme_type scheme,
                                                         clock_type clock)
    : state_(nullptr) {
  // Stores do not know the registry: teach this one which event types exist, so an endpoint
  // subscribing to an unknown type is refused instead of silently never receiving anything.
  if constexpr (requires { store.set_endpoint_rules(settings.endpoints); }) {
    if (!settings.endpoints.known_event_type)
      settings.endpoints.known_event_type = [](std::string_view name) {
        return Registry::find(name).has_value();
      };
    store.set_endpoint_rules(settings.endpoints);
  }
  state_ = std::make_shared<state_type>(std::move(ex), store, std::move(transport),
                                        std::move(settings), std::move(retry), std::move(scheme),
                                        std::move(clock));
}

template <class Registry, class... Options>
basic_dispatcher<Registry, Options...>::~basic_dispatcher() {
  if (!state_) return;
  state_->abandoned = true;
  boost::asio::post(state_->strand, [s = state_] {
    s->timer.cancel();
    s->stop_timer.cancel();
    s->running = false;
    s->finish_waiters();
  });
}

template <class Registry, class... Options>
void basic_dispatcher<Registry, Options...>::start() {
  boost::asio::post(state_->strand, [s = state_] {
    if (s->running || s->abandoned) return;
    s->running = true;
    s->stopping = false;
    s->run_once();
  });
}

template <class Registry, class... Options>
template <class CompletionToken>
auto basic_dispatcher<Registry, Options...>::async_stop(CompletionToken&& token) {
  return boost::asio::async_initiate<CompletionToken, void()>(
      [s = state_](auto handler) {
        boost::asio::post(s->strand, [s, h = std::move(handler)]() mutable {
          auto hp = std::make_shared<decltype(h)>(std::move(h));
          s->stop_waiters.push_back(
              [ex = s->ex, hp] { detail::post_completion(ex, std::move(*hp)); });
          s->begin_stop();
        });
      },
      token);
}

template <class Registry, class... Options>
void basic_dispatcher<Registry, Options...>::stop() {
  async_stop([] {});
}

template <class Registry, class... Options>
void basic_dispatcher<Registry, Options...>::wake() {
  boost::asio::post(state_->strand, [s = state_] { s->run_once(); });
}

template <class Registry, class... Options>
void basic_dispatcher<Registry, Options...>::publish(event_record const& event,
                                                     accept_result& result,
                                                     boost::system::error_code& ec) {
  state_->accept(event, result, ec);
}

template <class Registry, class... Options>
accept_result basic_dispatcher<Registry, Options...>::publish(event_record const& event) {
  accept_result r;
  boost::system::error_code ec;
  publish(event, r, ec);
  throw_if(ec, "pulsehook::basic_dispatcher::publish");
  return r;
}

template <class Registry, class... Options>
template <fixed_string Name, class Payload>
accept_result basic_dispatcher<Registry, Options...>::publish(envelope_context const& ctx,
                                                              event_tag<Name> tag,
                                                              Payload const& data) {
  return publish(make_event<Registry>(ctx, tag, data));
}

template <class Registry, class... Options>
template <fixed_string Name, class Payload>
accept_result basic_dispatcher<Registry, Options...>::publish(envelope_context const& ctx,
                                                              event_tag<Name> tag,
                                                              Payload const& data,
                                                              Payload const& previous) {
  return publish(make_event<Registry>(ctx, tag, data, previous));
}

template <class Registry, class... Options>
template <class CompletionToken>
auto basic_dispatcher<Registry, Options...>::async_publish(event_record event,
                                                           CompletionToken&& token) {
  return boost::asio::async_initiate<CompletionToken,
                                     void(boost::system::error_code, accept_result)>(
      [s = state_](auto handler, event_record ev) {
        boost::asio::post(s->ex, [s, h = std::move(handler), ev = std::move(ev)]() mutable {
          accept_result r;
          boost::system::error_code ec;
          s->accept(ev, r, ec);
          detail::post_completion(s->ex, std::move(h), ec, std::move(r));
        });
      },
      token, std::move(event));
}

template <class Registry, class... Options>
void basic_dispatcher<Registry, Options...>::set_callbacks(engine_callbacks callbacks) {
  std::lock_guard lk(state_->mu);
  state_->engine.set_callbacks(std::move(callbacks));
}

template <class Registry, class... Options>
engine_metrics basic_dispatcher<Registry, Options...>::metrics() const {
  std::lock_guard lk(state_->mu);
  auto m = state_->engine.metrics();
  m.published = state_->published.load();
  return m;
}

template <class Registry, class... Options>
bool basic_dispatcher<Registry, Options...>::running() const noexcept {
  return state_->running;
}

template <class Registry, class... Options>
auto basic_dispatcher<Registry, Options...>::get_executor() const noexcept -> executor_type {
  return state_->ex;
}

template <class Registry, class... Options>
auto basic_dispatcher<Registry, Options...>::store() noexcept -> storage_type& {
  return state_->store;
}

template <class Registry, class... Options>
auto basic_dispatcher<Registry, Options...>::get_transport() noexcept -> transport_type& {
  return state_->transport;
}

template <class Registry, class... Options>
auto basic_dispatcher<Registry, Options...>::get_clock() noexcept -> clock_type& {
  return state_->clock;
}

} // namespace pulsehook

#endif
