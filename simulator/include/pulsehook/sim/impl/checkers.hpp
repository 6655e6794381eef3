#ifndef PULSEHOOK_SIM_IMPL_CHECKERS_HPP
#define PULSEHOOK_SIM_IMPL_CHECKERS_HPP

// The end-of-run checkers. The incremental ones (deadline, retry law, subscription at send
// time, deleted endpoints, attempts after a final state) run inside the driver as attempts
// happen; these read the store's event log back and compare it with what the receivers got.

namespace pulsehook::sim::detail {

template <class Store, class Engine>
void driver<Store, Engine>::finish(time_point now) {
  if (opts_.checkers_starting) opts_.checkers_starting();
  res_.virtual_elapsed = now - t0_;
  for (auto const& sd : senders_) res_.store_faults += sd.fs->counts().total();
  boost::system::error_code ec;
  std::vector<std::uint64_t> expected_per_ep(eps_.size(), 0);
  for (auto const& ev : events_)
    if (!ev.purged)  // a retention purge removed it from the log on purpose
      for (auto i = ev.expected_begin; i < ev.expected_end; ++i) ++expected_per_ep[expected_[i]];

  for (std::uint32_t i = 0; i < eps_.size(); ++i) {
    auto& ep = eps_[i];
    res_.duplicates += ep.rx.duplicates();
    res_.bad_signatures += ep.rx.bad_signatures();
    if (ep.rx.bad_signatures() > 0)
      violate("signature", ep.id + ": " + std::to_string(ep.rx.bad_signatures()) +
                               " request(s) failed verification, first: " +
                               ep.rx.first_bad_signature());
    if (ep.rx.recount_duplicates() != ep.rx.duplicates())
      violate("duplicates", ep.id + ": counted " + std::to_string(ep.rx.duplicates()) +
                                " duplicates, the per-event tallies say " +
                                std::to_string(ep.rx.recount_duplicates()));
    if (ep.deleted) {
      res_.endpoint_lines.push_back(ep.id + "  " + ep.rx.profile().name + "  deleted");
      continue;
    }
    // Auto-disable, the other way: an endpoint still enabled whose attempts kept failing past
    // disable_after. Only the attempts already in flight when the first of them failed (at most
    // the per-endpoint cap per sender) may fail before the disable.
    if (ep.enabled && ep.fails_past_due > sc_.engine.max_in_flight_per_endpoint * senders_.size() + 1)
      violate("auto-disable", ep.id + " is still enabled, but " + std::to_string(ep.fails_past_due) +
                                  " attempts failed after it had failed for " +
                                  fmt_ms(cfg_.engine.disable_after.count()) + " (since " +
                                  fmt_ms(ep.failing_since) + ")");
    // AIMD: a receiver with a fixed capacity sees few requests over it, because its first 429s
    // slowed its endpoint down to below the capacity (with pauses alone, about half are over).
    if (ep.rx.profile().capacity > 0 && cfg_.engine.slow_down_recovery.count() > 0 &&
        ep.rx.received() >= 200 && ep.rx.over_capacity() * 5 > ep.rx.received())
      violate("aimd", ep.id + ": " + std::to_string(ep.rx.over_capacity()) + " of " +
                          std::to_string(ep.rx.received()) + " requests came over its capacity of " +
                          std::to_string(ep.rx.profile().capacity) + "/s (at most a fifth may)");
    state_counts recount;
    std::uint64_t found_expected = 0;
    log_query q;
    q.endpoint_id = ep.id;
    q.filter = log_filter::all;
    q.limit = 1000;
    log_page page;
    for (;;) {
      store_.list_log(q, page, ec);
      if (ec) { store_error("list_log", ec); break; }
      // Each entry compares the store's event id with ours: prefetch ours a few entries ahead
      // (a cache miss per entry otherwise, in a run of millions of deliveries).
      auto const& es = page.entries;
      auto ours = [&](std::size_t j) -> sim_event const* {
        auto const id = es[j].delivery.id;
        auto const ev = id < tracks_.size() ? tracks_[id].event : delivery_track::none;
        return ev == delivery_track::none ? nullptr : &events_[ev];
      };
      for (std::size_t j = 0; j < std::min<std::size_t>(8, es.size()); ++j)
        if (auto const* e = ours(j)) __builtin_prefetch(e->id.data());
      for (std::size_t j = 0; j < es.size(); ++j) {
        if (j + 8 < es.size())
          if (auto const* e = ours(j + 8)) __builtin_prefetch(e->id.data());
        auto const& le = es[j];
        auto const& d = le.delivery;
        switch (d.state) {
        case delivery_state::pending: ++recount.pending; break;
        case delivery_state::retrying: ++recount.retrying; break;
        case delivery_state::sent: ++recount.sent; break;
        case delivery_state::failed: ++recount.failed; break;
        }
        std::uint32_t ev_idx = d.id < tracks_.size() ? tracks_[d.id].event : delivery_track::none;
        if (ev_idx == delivery_track::none || events_[ev_idx].id != d.event_id) ev_idx = event_of(d.event_id);
        if (ev_idx == delivery_track::none) {
          violate("subscription", ep.id + " has delivery " + std::to_string(d.id) +
                                      " of an event the simulator never published");
          continue;
        }
        auto const& ev = events_[ev_idx];
        if (!expected(ev, i)) {
          violate("subscription", ep.id + " has delivery " + std::to_string(d.id) + " of " +
                                      d.event_id + ", but was not subscribed when it was published");
          continue;
        }
        ++found_expected;
        // Erasure by subject also took the subject's name from what it had triggered.
        if (!erased_subjects_.empty() && !le.actor.name.empty())
          if (auto it = erased_subjects_.find({ep.org, le.actor.id});
              it != erased_subjects_.end() && since(ev.created).count() < it->second)
            violate("erasure-names", ep.id + " delivery " + std::to_string(d.id) + " of " + d.event_id +
                                   " still names its actor " + le.actor.id + " (\"" + le.actor.name +
                                   "\"), erased at " + fmt_ms(it->second));
        bool const open = d.state == delivery_state::pending || d.state == delivery_state::retrying;
        if (open && ep.enabled)
          violate("final-state", ep.id + " delivery " + std::to_string(d.id) + " of " + d.event_id +
                                     " is still " + to_string(d.state) + " at the end (deadline " +
                                     fmt_ms(since(ev.deadline).count()) + ", run ended " +
                                     fmt_ms(since(now).count()) + ")");
        if (d.state == delivery_state::sent &&
            ep.rx.times_received(ev_idx) == 0)
          violate("sent-received", ep.id + " delivery " + std::to_string(d.id) + " of " +
                                       d.event_id + " is sent, but the receiver never got it");
        std::uint32_t const tried = d.id < tracks_.size() ? tracks_[d.id].attempts : 0;
        // The receiver's own pause may outlast a deadline: its 429 / 503 asked for it.
        bool const paused_past_deadline = ep.paused_at(since(d.give_up_at).count() + grace_.count());
        // So may its configured rate limit, when it is below the endpoint's load: then the
        // endpoint was sent at least half what its limit allows over the delivery's life. An
        // endpoint whose receiver ever asked for a pause (and so may have been slowed down
        // below its limit, AIMD) is not judged by its limit.
        bool limit_was_full = false;
        if (ep.rate) {
          auto const from = since(ev.created).count(), to = since(d.give_up_at).count();
          auto const sent = std::upper_bound(ep.sent_at.begin(), ep.sent_at.end(), to) -
                            std::lower_bound(ep.sent_at.begin(), ep.sent_at.end(), from);
          auto const room = ep.rate->per_second * static_cast<double>(to - from) / 1000.0 +
                            static_cast<double>(ep.rate->burst);
          limit_was_full = !ep.pauses.empty() || static_cast<double>(sent) * 2 >= room;
        }
        // An endpoint's own schedule may give its deliveries a deadline shorter than its
        // backlog (a failing endpoint gets few slots) or than a sender outage: excused when the
        // endpoint was being sent to all the while, at least one request per two timeouts over
        // the delivery's life (counting those still in flight when it began), or when no
        // sender was serving for part of it.
        bool backlog_past_own_deadline = false;
        if (!ep.retry_schedule.empty()) {
          auto const t = timeout_of(i).count();
          auto const from = since(ev.created).count(), to = since(d.give_up_at).count();
          auto const sent = std::upper_bound(ep.sent_at.begin(), ep.sent_at.end(), to) -
                            std::lower_bound(ep.sent_at.begin(), ep.sent_at.end(), from - t);
          backlog_past_own_deadline = (sent > 0 && sent * 2 * t >= to - from) ||
                                      outage_within(from, to + grace_.count()) ||
                                      ep.paused_within(from, to + grace_.count());
        }
        // An ordered delivery may wait behind an earlier one of its key until about its own
        // deadline (law 13): excused when it became the head of its queue only within the
        // grace plus the longest pause a receiver may ask for (the endpoint may be paused or at
        // its cap just then, as any delivery may be for that long).
        bool waited_in_queue = false;
        if (d.id < tracks_.size() && tracks_[d.id].queue != delivery_track::none) {
          auto const head_at = tracks_[d.id].head_at;
          // ... or when the receiver asked for pauses (429 / 503) while it was the head.
          waited_in_queue = head_at < 0 ||
                            head_at + (grace_ + cfg_.engine.max_pause).count() >= since(d.give_up_at).count() ||
                            ep.paused_within(head_at, since(d.give_up_at).count() + grace_.count());
        }
        // An erasure closes what was open of its events, tried or not.
        if (d.state == delivery_state::failed && tried == 0 && !ep.ever_disabled &&
            !paused_past_deadline && !limit_was_full && !waited_in_queue &&
            !backlog_past_own_deadline && ev.erased < 0)
          violate("starvation", ep.id + " delivery " + std::to_string(d.id) + " of " + d.event_id +
                                    " failed (" + d.reason + ") without a single attempt, although "
                                    "the endpoint was enabled throughout" +
                                    (d.id < tracks_.size() && tracks_[d.id].queue != delivery_track::none
                                         ? " (ordered: the head of its queue since " +
                                               fmt_ms(tracks_[d.id].head_at) + ", deadline " +
                                               fmt_ms(since(d.give_up_at).count()) + ")"
                                         : std::string()));
        // Operational events: a delivery the retry rules gave up was announced as
        // delivery.exhausted (the store's log against what the emitter published), and none
        // was announced for an operational event's own delivery (no feedback).
        if (ops_) {
          bool const announced = ops_exhausted_.find(d.id) != ops_exhausted_.end();
          if (ev.operational && announced)
            violate("operational", "delivery.exhausted was published for " + ep.id + " delivery " +
                                       std::to_string(d.id) + " of " + d.event_id +
                                       ", itself an operational event (feedback)");
          if (!ev.operational && d.state == delivery_state::failed && !announced &&
              d.reason != "endpoint deleted" && d.reason != erased_reason)
            violate("operational", ep.id + " delivery " + std::to_string(d.id) + " of " + d.event_id +
                                       " failed (" + d.reason + ") but no delivery.exhausted event "
                                       "was published for it");
        }
        if (d.id < tracks_.size()) {
          auto const& tk = tracks_[d.id];
          if (d.state == delivery_state::sent && tk.attempts > 0 && !tk.received_2xx)
            violate("sent-received", ep.id + " delivery " + std::to_string(d.id) +
                                         " is sent, but no attempt got a 2xx");
          // The trace follows the committed notices: it must say what the store says.
          auto const traced = static_cast<delivery_state>(tk.final_state);
          bool const traced_open = tk.final_state == 0;
          if (open != traced_open || (!open && traced != d.state))
            violate("trace-store", ep.id + " delivery " + std::to_string(d.id) + " of " +
                                       d.event_id + " is " + to_string(d.state) +
                                       " in the store, but the simulator traced it " +
                                       (traced_open ? "open" : to_string(traced)));
        }
      }
      if (page.next_cursor.empty()) break;
      q.cursor = page.next_cursor;
    }
    res_.sent += recount.sent;
    res_.failed += recount.failed;
    res_.open += recount.pending + recount.retrying;
    if (!ep.enabled) res_.parked += recount.pending + recount.retrying;
    if (found_expected < expected_per_ep[i] && ep.enabled)
      violate("final-state", ep.id + ": " + std::to_string(expected_per_ep[i] - found_expected) +
                                 " of its " + std::to_string(expected_per_ep[i]) +
                                 " expected deliveries are missing from its log");
    auto const counts = store_.counts(ep.id, ec);
    if (ec) { store_error("counts", ec); continue; }
    for (auto f : {log_filter::all, log_filter::sent, log_filter::failed}) {
      if (counts.count(f) != recount.count(f))
        violate("counts", ep.id + ": counts() says " +
                              std::string(f == log_filter::all ? "All" : f == log_filter::sent ? "Sent" : "Failed") +
                              "=" + std::to_string(counts.count(f)) + ", the log has " +
                              std::to_string(recount.count(f)));
    }
    if (!(counts == recount))
      violate("counts", ep.id + ": per-state counts differ from the log (pending " +
                            std::to_string(counts.pending) + "/" + std::to_string(recount.pending) +
                            ", retrying " + std::to_string(counts.retrying) + "/" +
                            std::to_string(recount.retrying) + ")");
    auto& ttd = ep.time_to_delivery;
    std::sort(ttd.begin(), ttd.end());
    auto rank = [&](double q) -> std::int64_t {  // nearest rank, as report.hpp's percentile
      if (ttd.empty()) return 0;
      auto const k = static_cast<std::size_t>(std::ceil(q / 100.0 * static_cast<double>(ttd.size())));
      return ttd[std::min(ttd.size(), std::max<std::size_t>(k, 1)) - 1];
    };
    auto const p50 = rank(50), p99 = rank(99);
    // Fairness: an endpoint gets its events in time however slow its neighbours are.
    if (ep.expect_p99 && ttd.size() >= 20 && p99 > ep.expect_p99->count())
      violate("fairness", ep.id + " waited " + fmt_ms(p99) + " at p99 for its " +
                              std::to_string(ttd.size()) + " deliveries; the scenario expects " +
                              fmt_ms(ep.expect_p99->count()));
    char line[320];
    std::snprintf(line, sizeof line,
                  "%-8s %-22s %-8s all=%-7llu sent=%-7llu failed=%-6llu open=%-5llu recv=%-7llu "
                  "dup=%-5llu p50=%-7s p99=%s",
                  ep.id.c_str(), ep.rx.profile().name.c_str(), ep.enabled ? "enabled" : "disabled",
                  static_cast<unsigned long long>(recount.all()),
                  static_cast<unsigned long long>(recount.sent),
                  static_cast<unsigned long long>(recount.failed),
                  static_cast<unsigned long long>(recount.pending + recount.retrying),
                  static_cast<unsigned long long>(ep.rx.received()),
                  static_cast<unsigned long long>(ep.rx.duplicates()),
                  fmt_ms(p50).c_str(), fmt_ms(p99).c_str());
    res_.endpoint_lines.push_back(line);
    if (ep.rate) {
      std::snprintf(line, sizeof line, "  rate<=%g/s burst %u", ep.rate->per_second,
                    static_cast<unsigned>(ep.rate->burst));
      res_.endpoint_lines.back() += line;
    }
  }
  // Erasure, read back: what was erased holds no payload and no response body any more, and
  // nothing of it is still on its way.
  if constexpr (erasure_storage<Store>) {
    for (auto const& ev : events_) {
      if (ev.erased < 0 || ev.purged) continue;
      event_detail det;
      store_.get_event(ev.id, det, ec);
      if (ec == error::not_found) continue;  // purged by retention meanwhile
      if (ec) { store_error("get_event", ec); break; }
      std::string what;
      if (!det.event.payload.empty()) what = "its payload is still stored";
      else if (!det.erased_at) what = "the store does not say it was erased";
      for (auto const& a : det.attempts)
        if (what.empty() && !a.response_body.empty())
          what = "attempt " + std::to_string(a.number) + " of delivery " + std::to_string(a.delivery) +
                 " still holds a response body";
      for (auto const& d : det.deliveries)
        if (what.empty() && (d.state == delivery_state::pending || d.state == delivery_state::retrying))
          what = "delivery " + std::to_string(d.id) + " is still " + to_string(d.state);
      if (!what.empty())
        violate("erasure-kept", ev.id + " (subject " + ev.subject + ") was erased at " +
                               fmt_ms(ev.erased) + ", but " + what);
    }
  }
  if (ops_ && ops_disabled_ != res_.auto_disabled)
    violate("operational", std::to_string(res_.auto_disabled) + " endpoints were disabled by the engine, but " +
                               std::to_string(ops_disabled_) + " endpoint.disabled events were published");
  std::sort(res_.time_to_delivery_ms.begin(), res_.time_to_delivery_ms.end());
  // Every event the workload asked for was accepted, once.
  if (res_.events != requested_events_)
    violate("published", std::to_string(requested_events_) + " events were published but " +
                             std::to_string(res_.events) + " were accepted");
  res_.settled = res_.open == res_.parked;
  if (!res_.settled && q_.empty() && in_flight_total() == 0 &&
      violation_counts_.find("final-state") == violation_counts_.end())
    violate("final-state", std::to_string(res_.open - res_.parked) +
                               " deliveries of enabled endpoints are open at the end");
  for (auto const& [name, n] : violation_counts_)
    if (n > 20)
      res_.violations.push_back({name, "... and " + std::to_string(n - 20) + " more"});
  std::stable_sort(res_.violations.begin(), res_.violations.end(),
                   [](auto const& a, auto const& b) { return a.checker < b.checker; });
  trace(now, "END", -1, 0, 0,
        "events=" + std::to_string(res_.events) + " deliveries=" + std::to_string(res_.deliveries) +
            " attempts=" + std::to_string(res_.attempts) + " sent=" + std::to_string(res_.sent) +
            " failed=" + std::to_string(res_.failed) + " open=" + std::to_string(res_.open) +
            " dup=" + std::to_string(res_.duplicates));
  for (auto const& v : res_.violations) trace(now, "CHECK", -1, 0, 0, v.checker + ": " + v.message);
  if (res_.violations.empty()) trace(now, "CHECK", -1, 0, 0, "all checkers passed");
  if (tr_) {
    res_.trace_lines = tr_->lines();
    tr_->flush();
  }
}

} // namespace pulsehook::sim::detail

#endif
