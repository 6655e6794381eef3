// The outbox with PostgreSQL: a service saves its own data and publishes the webhook event in
// ONE transaction, on its own connection. The event exists (and is sent) only if the service's
// transaction commits: no "data committed but webhook lost", no "webhook sent but data rolled
// back". docs/sending.md shows `save_objective` below.
//
//   example_outbox_postgres [conninfo]        (default: $PULSEHOOK_PG_URL)
//
// Saves one objective and commits, then saves another and rolls back, and checks through the
// store that exactly the committed event was accepted. Exits non-zero otherwise.
#include <pulsehook/dispatcher.hpp>
#include <pulsehook/postgres_store.hpp>

#include <boost/asio/io_context.hpp>

#include <libpq-fe.h>

#include <cstdlib>
#include <iostream>
#include <stdexcept>
#include <string>

using webhooks = pulsehook::basic_dispatcher<pulsehook::metapulse::registry,
                                             pulsehook::storage<pulsehook::postgres_store>>;

void exec(PGconn* db, char const* sql) {
  PGresult* r = PQexec(db, sql);
  bool const ok = PQresultStatus(r) == PGRES_COMMAND_OK || PQresultStatus(r) == PGRES_TUPLES_OK;
  PQclear(r);
  if (!ok) throw std::runtime_error(PQerrorMessage(db));
}

// [save_objective] (quoted in docs/sending.md)
void save_objective(PGconn* db, webhooks& hooks, pulsehook::envelope_context const& ctx,
                    pulsehook::metapulse::objective const& now,
                    pulsehook::metapulse::objective const& before, bool commit) {
  exec(db, "BEGIN");
  exec(db, "UPDATE app_objectives SET progress = progress + 0.1 WHERE id = 1");  // your data
  hooks.publish(db, ctx, pulsehook::metapulse::objective_updated, now, before);  // same transaction
  exec(db, commit ? "COMMIT" : "ROLLBACK");  // the event goes out after COMMIT, never after ROLLBACK
}
// [save_objective]

int main(int argc, char** argv) {
  char const* url = argc > 1 ? argv[1] : std::getenv("PULSEHOOK_PG_URL");
  if (!url || !*url) {
    std::cerr << "usage: " << argv[0] << " <conninfo>   (or set PULSEHOOK_PG_URL)\n";
    return 2;
  }
  try {
    pulsehook::postgres_store_options o;
    o.schema = "example_outbox";
    pulsehook::postgres_store store(url, {}, o);
    auto const t = pulsehook::system_clock{}.now();
    pulsehook::endpoint_record ep;
    ep.id = "ep_example";
    ep.organization_id = "org_7";
    ep.name = "Example receiver";
    ep.url = "https://hooks.example.com/metapulse";
    ep.event_types = {"objective.updated"};
    ep.secrets = {{"example-only-secret-0123456789", t, std::nullopt}};
    boost::system::error_code ec;
    store.create_endpoint(ep, ec);  // already_exists on a second run: fine

    boost::asio::io_context io;
    webhooks hooks{io.get_executor(), store};  // not started: this example only publishes

    PGconn* db = PQconnectdb(url);
    if (PQstatus(db) != CONNECTION_OK) throw std::runtime_error(PQerrorMessage(db));
    exec(db, "CREATE TABLE IF NOT EXISTS app_objectives(id int PRIMARY KEY, progress float8)");
    exec(db, "INSERT INTO app_objectives VALUES (1, 0) ON CONFLICT DO NOTHING");

    pulsehook::metapulse::objective before, now;
    before.id = now.id = "obj_81";
    before.title = now.title = "Grow weekly active teams";
    before.period = now.period = {std::chrono::year{2026} / 10 / 1, std::chrono::year{2026} / 12 / 31};
    now.progress = 0.4;
    auto const stamp = std::to_string(pulsehook::to_unix_millis(t));
    pulsehook::envelope_context kept{"evt_kept_" + stamp, "org_7", t, {"member", "mem_42", "Ada"}};
    pulsehook::envelope_context dropped{"evt_dropped_" + stamp, "org_7", t, {"member", "mem_42", "Ada"}};
    save_objective(db, hooks, kept, now, before, true);
    save_objective(db, hooks, dropped, now, before, false);
    PQfinish(db);

    pulsehook::event_detail d;
    store.get_event(kept.id, d, ec);
    bool const kept_ok = !ec && d.deliveries.size() == 1;
    store.get_event(dropped.id, d, ec);
    bool const dropped_ok = ec == pulsehook::error::not_found;
    std::cout << "committed transaction: event " << (kept_ok ? "accepted" : "MISSING") << "\n"
              << "rolled-back transaction: event " << (dropped_ok ? "absent" : "PRESENT") << "\n";
    return kept_ok && dropped_ok ? 0 : 1;
  } catch (std::exception const& e) {
    std::cerr << "example_outbox_postgres: " << e.what() << "\n";
    return 1;
  }
}
