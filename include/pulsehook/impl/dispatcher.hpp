#ifndef PULSEHOOK_IMPL_DISPATCHER_HPP
#define PULSEHOOK_IMPL_DISPATCHER_HPP

#include <pulsehook/detail/notify_waiter.hpp>
#include <pulsehook/detail/serial_executor.hpp>

#include <boost/asio/associated_executor.hpp>
#include <boost/asio/bind_executor.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>

#include <atomic>
#include <exception>
#include <mutex>
#include <utility>
#include <vector>

namespace pulsehook {

namespace detail {

// The Asio driver's state, shared by the dispatcher and every pending handler, so a handler
// that completes after the dispatcher is gone finds live (abandoned) state instead of freed
// memory. It decides nothing about deliveries: it feeds the engine its inputs (results,
// publishes, the clock) and carries out what `advance` answers (sends, notices, the timer).
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
      : ex(std::move(e)), strand(detail::make_serial_executor(ex)), timer(strand), store(s),
        transport(std::move(t)), clock(std::move(c)), settings(std::move(st)),
        engine(s, settings.engine, std::move(r), std::move(sc)), notifier(strand) {
    engine.set_notice_mask(notice_mask::none());  // until callbacks are set
  }

  executor_type ex;
  executor_type strand;  // a strand over ex (detail::make_serial_executor)
  boost::asio::steady_timer timer;
  std::optional<time_point> armed_for;  // the wake-up the timer waits for
  storage_type& store;
  transport_type transport;
  [[no_unique_address]] clock_type clock;
  dispatcher_settings settings;
  // Held while the engine runs a turn: metrics() may come from any thread. Never held while
  // the user's callbacks run.
  mutable std::mutex mu;
  engine_type engine;
  engine_actions actions;
  std::shared_ptr<engine_callbacks const> callbacks;  // under mu
  std::vector<std::function<void()>> stop_waiters;
  std::atomic<bool> step_posted{false};
  std::atomic<bool> running{false};
  std::atomic<bool> abandoned{false};
  // Work committed by others (another process, a caller's outbox transaction) wakes the loop
  // at once when the store says so (notifying_storage); empty for other stores. Strand only.
  detail::notify_waiter<storage_type> notifier;

  // The dispatcher's clock, read under the lock (a manual_clock is moved from other threads).
  time_point now() {
    std::lock_guard lk(mu);
    return clock.now();
  }

  void report(boost::system::error_code const& ec, std::string_view where) {
    if (!settings.on_error) return;
    try {
      settings.on_error(ec, where);
    } catch (...) {
    }
  }

  // Queues one step unless one is queued already: a burst of results or publishes then costs
  // one turn. Any thread.
  void schedule() {
    if (step_posted.exchange(true, std::memory_order_acq_rel)) return;
    boost::asio::post(strand, [self = this->shared_from_this()] {
      self->step_posted.store(false, std::memory_order_release);
      self->step();
    });
  }

  // One step, on the strand: the engine runs what is due, then its answer is carried out.
  void step() {
    if (abandoned) return;
    std::shared_ptr<engine_callbacks const> cb;
    time_point now;
    {
      std::lock_guard lk(mu);
      now = clock.now();
      // The turn's requests go out as soon as they are claimed: the transport works while the
      // store commits the turn (its sync), instead of after it.
      engine.advance(now, actions, [this](std::vector<outgoing_request>& claimed) {
        for (auto& r : claimed) send(std::move(r));
        claimed.clear();
      });
      cb = callbacks;
      running = engine.running();
    }
    // The turn is committed: announce it, outside the lock.
    if (cb)
      for (auto const& n : actions.notices) {
        try {
          announce(n, *cb);
        } catch (...) {
          report(make_error_code(error::invalid_argument), "callback threw");
        }
      }
    for (auto const& e : actions.errors) report(e.ec, e.where);
    for (auto& r : actions.requests) send(std::move(r));
    actions.requests.clear();
    if (actions.stopped) {
      notifier.stop();
      finish_waiters();
    }
    arm(actions.wake_at, now);
  }

  void arm(std::optional<time_point> at, time_point now) {
    if (!at) {
      if (armed_for) timer.cancel();
      armed_for.reset();
      return;
    }
    if (armed_for && *armed_for == *at) return;  // already waiting for it
    armed_for = at;
    auto d = *at - now;
    if (d.count() < 0) d = duration{0};
    timer.expires_after(d);
    timer.async_wait([self = this->shared_from_this(), at](boost::system::error_code ec) {
      if (ec || self->armed_for != at) return;
      self->armed_for.reset();
      self->step();
    });
  }

  void send(outgoing_request r) {
    auto const id = r.delivery;
    transport.async_send(
        std::move(r), boost::asio::bind_executor(
                          strand, [self = this->shared_from_this(), id](transport_result res) {
                            self->on_result(id, std::move(res));
                          }));
  }

  void on_result(delivery_id id, transport_result res) {
    if (abandoned) return;
    {
      std::lock_guard lk(mu);
      engine.add_result(id, std::move(res), clock.now());
    }
    schedule();
  }

  void finish_waiters() {
    auto waiters = std::move(stop_waiters);
    stop_waiters.clear();
    for (auto& w : waiters) w();
  }

  void publish(event_record const& event, accept_result& result, boost::system::error_code& ec) {
    // Straight to the (thread-safe) store through the engine: publishing never waits for the
    // delivery loop; the engine makes a poll due, and the loop is told to look.
    engine.publish(event, result, ec);
    if (!ec && !result.duplicate) schedule();
  }

  // The outbox: the caller commits later. A store that notifies wakes the loop after the
  // commit; otherwise the step scheduled now claims as soon as the caller's transaction lets
  // it (sqlite_store: its write lock, up to busy_timeout; then storage_retry_delay later).
  template <class Connection>
  void publish_outbox(Connection conn, event_record const& event, accept_result& result,
                      boost::system::error_code& ec) {
    engine.publish(conn, event, result, ec);
    if constexpr (!notifying_storage<storage_type>)
      if (!ec && !result.duplicate) schedule();
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
  auto known = [](std::string_view name) { return Registry::find(name).has_value(); };
  // The engine refuses to publish types the registry lacks.
  if (!settings.engine.known_event_type) settings.engine.known_event_type = known;
  // Stores do not know the registry: teach this one which event types exist, so an endpoint
  // subscribing to an unknown type is refused instead of silently never receiving anything.
  if constexpr (requires { store.set_endpoint_rules(settings.endpoints); }) {
    if (!settings.endpoints.known_event_type) settings.endpoints.known_event_type = known;
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
    s->notifier.stop();
    s->running = false;
    s->finish_waiters();
  });
}

template <class Registry, class... Options>
void basic_dispatcher<Registry, Options...>::start() {
  boost::asio::post(state_->strand, [s = state_] {
    if (s->abandoned) return;
    {
      std::lock_guard lk(s->mu);
      if (s->engine.running()) return;  // running, or stopping: a stop is not undone
      s->engine.start(s->clock.now());
    }
    s->notifier.start(
        s->store, s,
        [p = s.get()] {
          p->engine.request_poll();
          p->schedule();
        },
        s->settings.engine.storage_retry_delay);
    s->step();
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
          if (s->abandoned) return s->finish_waiters();
          {
            std::lock_guard lk(s->mu);
            s->engine.begin_stop(s->clock.now());
          }
          s->step();
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
  state_->engine.request_poll();
  state_->schedule();
}

template <class Registry, class... Options>
void basic_dispatcher<Registry, Options...>::publish(event_record const& event,
                                                     accept_result& result,
                                                     boost::system::error_code& ec) {
  state_->publish(event, result, ec);
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
          s->publish(ev, r, ec);
          detail::post_completion(s->ex, std::move(h), ec, std::move(r));
        });
      },
      token, std::move(event));
}

template <class Registry, class... Options>
time_point basic_dispatcher<Registry, Options...>::now_locked() {
  return state_->now();
}

template <class Registry, class... Options>
template <class Connection>
void basic_dispatcher<Registry, Options...>::publish_outbox(Connection conn,
                                                            event_record const& event,
                                                            accept_result& result,
                                                            boost::system::error_code& ec) {
  state_->publish_outbox(conn, event, result, ec);
}

template <class Registry, class... Options>
void basic_dispatcher<Registry, Options...>::set_callbacks(engine_callbacks callbacks) {
  std::lock_guard lk(state_->mu);
  state_->engine.set_notice_mask(notice_mask::of(callbacks));
  state_->callbacks = std::make_shared<engine_callbacks const>(std::move(callbacks));
}

template <class Registry, class... Options>
engine_metrics basic_dispatcher<Registry, Options...>::metrics() const {
  std::lock_guard lk(state_->mu);
  return state_->engine.metrics();
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
