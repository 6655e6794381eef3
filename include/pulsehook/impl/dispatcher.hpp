#ifndef PULSEHOOK_IMPL_DISPATCHER_HPP
#define PULSEHOOK_IMPL_DISPATCHER_HPP

#include <pulsehook/detail/notify_waiter.hpp>
#include <pulsehook/detail/serial_executor.hpp>

#include <boost/asio/associated_executor.hpp>
#include <boost/asio/bind_executor.hpp>
#include <boost/asio/dispatch.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/strand.hpp>

#include <atomic>
#include <exception>
#include <mutex>
#include <string>
#include <utility>
#include <vector>

namespace pulsehook {

namespace detail {

// A callback's event with everything it views copied, so that it can run after the group
// commit: get() rebuilds the event over the copies (valid while the holder lives).
struct kept_attempt {
  std::string endpoint_id, event_id;
  attempt_record attempt;
  delivery_update update;
  attempt_finished_event get() const { return {endpoint_id, event_id, attempt, update}; }
};
inline kept_attempt keep(attempt_finished_event const& e) {
  return {std::string(e.endpoint_id), std::string(e.event_id), e.attempt, e.update};
}

struct kept_outcome {
  delivery_outcome outcome;
  std::string endpoint_id, event_id, reason;
  delivery_outcome get() const {
    auto o = outcome;
    o.endpoint_id = endpoint_id;
    o.event_id = event_id;
    o.reason = reason;
    return o;
  }
};
inline kept_outcome keep(delivery_outcome const& o) {
  return {o, std::string(o.endpoint_id), std::string(o.event_id), std::string(o.reason)};
}

struct kept_health {
  endpoint_health health;
  std::string endpoint_id, last_error;
  endpoint_health get() const {
    auto h = health;
    h.endpoint_id = endpoint_id;
    h.last_error = last_error;
    return h;
  }
};
inline kept_health keep(endpoint_health const& h) {
  return {h, std::string(h.endpoint_id), std::string(h.last_error)};
}

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
      : ex(std::move(e)), strand(detail::make_serial_executor(ex)), timer(strand),
        stop_timer(strand), store(s), transport(std::move(t)), clock(std::move(c)),
        settings(std::move(st)), engine(s, settings.engine, std::move(r), std::move(sc)),
        group_timer(strand), notifier(strand) {
    done.reserve(64);
    batch.reserve(64);
  }

  executor_type ex;
  executor_type strand;  // a strand over ex (detail::make_serial_executor)
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

  // Transport results waiting for the next turn, which records them all at once (with a
  // group-commit store: in one transaction, one sync, together with the next claim).
  struct finished {
    delivery_id id;
    transport_result result;
  };
  std::vector<finished> done, batch;
  boost::asio::steady_timer group_timer;  // bounds how long a result waits for its group
  std::uint64_t group_generation = 0;
  bool group_armed = false;

  // The user's callbacks. With a group-commit store the engine gets wrappers that hold each
  // notification back until the group is committed (nothing is announced before it is durable).
  engine_callbacks user_callbacks;
  std::vector<std::function<void()>> deferred;
  bool deferring = false;

  static constexpr bool groups = group_commit_storage<storage_type>;
  std::atomic<bool> running{false};
  std::atomic<bool> abandoned{false};
  std::atomic<std::uint64_t> published{0};
  // Work committed by others (another process, a caller's outbox transaction) wakes the loop
  // at once when the store says so (notifying_storage); empty for other stores.
  detail::notify_waiter<storage_type> notifier;

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

  // A result came in: record it with the next turn. Results wait for each other (at most
  // `group_commit_window`) until at least as many have come in as are still in flight, or none
  // is left in flight: a turn then records about half the window of attempts at once (with a
  // group-commit store: one sync for all of them and the next claim) and refills it with one
  // claim, while the other half keeps the receiver busy.
  void schedule_results() {
    if (outstanding > 0 && done.size() < outstanding && settings.group_commit_window.count() > 0) {
      if (group_armed) return;
      group_armed = true;
      auto const gen = ++group_generation;
      group_timer.expires_after(settings.group_commit_window);
      group_timer.async_wait([self = this->shared_from_this(), gen](boost::system::error_code ec) {
        if (ec || gen != self->group_generation) return;
        self->group_armed = false;
        self->post_turn();
      });
      return;
    }
    post_turn();
  }

  // Wraps the user's callbacks for the engine: called at once outside a group, held back until
  // the group's commit inside one (the engine's views are copied into owned strings).
  void install_callbacks(engine_callbacks cb) {
    user_callbacks = std::move(cb);
    if constexpr (!groups) {
      engine.set_callbacks(user_callbacks);
    } else {
      engine_callbacks w;
      auto* self = this;  // the engine lives in this state: the wrappers never outlive it
      // Runs the user's callback now, or, inside a group, once it is committed: then on a
      // copy of the event that owns what the original only viewed (detail::keep).
      auto defer = [self]<class Event>(std::function<void(Event const&)> engine_callbacks::*which) {
        return [self, which](Event const& e) {
          if (!self->deferring) return (self->user_callbacks.*which)(e);
          self->deferred.push_back([self, which, kept = detail::keep(e)] {
            if (self->user_callbacks.*which) (self->user_callbacks.*which)(kept.get());
          });
        };
      };
      auto wrap = [&](auto which) {
        if (user_callbacks.*which) w.*which = defer(which);
      };
      wrap(&engine_callbacks::attempt_finished);
      wrap(&engine_callbacks::delivery_sent);
      wrap(&engine_callbacks::delivery_failed);
      wrap(&engine_callbacks::endpoint_failing);
      wrap(&engine_callbacks::endpoint_recovered);
      engine.set_callbacks(std::move(w));
    }
  }

  // Commits the open group and hands back the notifications it held. None when the commit
  // failed: it rolled the records back, so nothing of them is announced; their claims come
  // back after the lease and are attempted again (at-least-once).
  std::vector<std::function<void()>> end_group(boost::system::error_code& ec) {
    store.commit_group(ec);
    deferring = false;
    auto notes = std::move(deferred);
    deferred.clear();
    if (ec) notes.clear();
    return notes;
  }

  void complete_one(finished& f, time_point t) {
    boost::system::error_code ec;
    try {
      engine.complete(f.id, f.result, t, ec);
    } catch (std::exception const&) {
      report(make_error_code(error::invalid_argument), "callback threw");
    }
    // not_found: released at shutdown meanwhile; nothing to do.
    if (ec && ec != error::not_found) report(ec, "complete");
  }

  // One turn of the loop (on the strand): record the results that came in, claim and send what
  // is due, then sleep until the next instant. With a group-commit store the records and the
  // claim share one transaction, and callbacks run once it is committed.
  void turn(bool poll) {
    if (abandoned) return;
    if (!running) {
      done.clear();
      return;
    }
    if (stopping) poll = false;
    if (done.empty() && !poll) return;
    if (group_armed) {
      group_armed = false;
      ++group_generation;
      group_timer.cancel();
    }
    batch.swap(done);
    boost::system::error_code ec, wake_ec, commit_ec;
    std::optional<time_point> next;
    // The group's held notifications run once it is committed, outside `mu`: a callback that
    // waits on a thread calling metrics() cannot deadlock, and metrics() does not wait for it.
    std::vector<std::function<void()>> notes;
    {
      std::lock_guard lk(mu);
      [[maybe_unused]] bool grouped = false;
      if constexpr (groups) {
        boost::system::error_code gec;
        store.begin_group(gec);  // on failure every step commits by itself, as without groups
        grouped = !gec;
        deferring = grouped;
      }
      // Should anything below throw (allocation failure), the group still ends: the store is
      // never left held. Its notifications are dropped, never announced early.
      struct group_end {
        dispatcher_state* self;
        bool* open;
        ~group_end() {
          if constexpr (groups) {
            boost::system::error_code ignored;
            if (*open) self->end_group(ignored);
          }
        }
      } end_guard{this, &grouped};
      auto const t = clock.now();
      for (auto& f : batch) complete_one(f, t);
      batch.clear();
      out.clear();
      if (poll) {
        engine.poll(t, out, ec);
        next = engine.next_wakeup(wake_ec);
      }
      if constexpr (groups) {
        if (grouped) {
          grouped = false;  // the guard above has nothing left to end
          notes = end_group(commit_ec);
        }
      }
    }
    for (auto& n : notes) {
      try {
        n();
      } catch (std::exception const&) {
        report(make_error_code(error::invalid_argument), "callback threw");
      }
    }
    if (commit_ec) report(commit_ec, "commit");
    // Requests claimed in a group whose commit failed still go out: the engine holds them in
    // flight, and an unrecorded claim only means the store may hand the delivery out again.
    for (auto& r : out) send(std::move(r));
    out.clear();
    if (!poll) return;
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

  void run_once() {
    if (!running || stopping || abandoned) return;
    turn(true);
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
    if (abandoned || !running) return;
    done.push_back(finished{id, std::move(res)});
    if (stopping) {
      turn(false);
      if (outstanding == 0) finish_stop();
    } else {
      schedule_results();
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
    turn(false);  // results waiting for their group are recorded now
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
    notifier.stop();
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

  // The outbox: the caller commits later. A store that notifies wakes the loop after the
  // commit; otherwise the turn posted now claims as soon as the caller's transaction lets it.
  template <class Connection>
  void accept_in(Connection conn, event_record const& event, accept_result& result,
                 boost::system::error_code& ec) {
    ec = {};
    if (!Registry::find(event.type)) {
      ec = error::unknown_event_type;
      return;
    }
    store.accept(conn, event, engine.retry_policy().deadline(event.created_at), result, ec);
    if (ec) return;
    if (!result.duplicate) ++published;
    if constexpr (!notifying_storage<storage_type>)
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
    s->group_timer.cancel();
    s->notifier.stop();
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
    s->notifier.start(s->store, s, [p = s.get()] { p->post_turn(); }, s->settings.storage_retry_delay);
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
template <class Connection>
void basic_dispatcher<Registry, Options...>::publish(Connection conn, event_record const& event,
                                                     accept_result& result,
                                                     boost::system::error_code& ec)
  requires outbox_storage<storage_type, Connection>
{
  state_->accept_in(conn, event, result, ec);
}

template <class Registry, class... Options>
template <class Connection>
accept_result basic_dispatcher<Registry, Options...>::publish(Connection conn,
                                                              event_record const& event)
  requires outbox_storage<storage_type, Connection>
{
  accept_result r;
  boost::system::error_code ec;
  publish(conn, event, r, ec);
  throw_if(ec, "pulsehook::basic_dispatcher::publish (outbox)");
  return r;
}

template <class Registry, class... Options>
template <class Connection, fixed_string Name, class Payload>
accept_result basic_dispatcher<Registry, Options...>::publish(Connection conn,
                                                              envelope_context const& ctx,
                                                              event_tag<Name> tag,
                                                              Payload const& data)
  requires outbox_storage<storage_type, Connection>
{
  return publish(conn, make_event<Registry>(ctx, tag, data));
}

template <class Registry, class... Options>
template <class Connection, fixed_string Name, class Payload>
accept_result basic_dispatcher<Registry, Options...>::publish(Connection conn,
                                                              envelope_context const& ctx,
                                                              event_tag<Name> tag,
                                                              Payload const& data,
                                                              Payload const& previous)
  requires outbox_storage<storage_type, Connection>
{
  return publish(conn, make_event<Registry>(ctx, tag, data, previous));
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
  state_->install_callbacks(std::move(callbacks));
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
