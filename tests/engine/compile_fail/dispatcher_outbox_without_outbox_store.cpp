// publish(conn, ...) on a dispatcher whose store has no outbox (memory_store): the diagnostic
// names the requirement, outbox_storage (postgres_store with a PGconn*, sqlite_store with a
// sqlite3*).
#include <pulsehook/dispatcher.hpp>
#include <pulsehook/memory_store.hpp>

struct sqlite3;

using d = pulsehook::basic_dispatcher<pulsehook::metapulse::registry,
                                      pulsehook::storage<pulsehook::memory_store>>;

void publish_in_transaction(d& dispatcher, sqlite3* tx, pulsehook::event_record const& ev) {
  dispatcher.publish(tx, ev);
}
