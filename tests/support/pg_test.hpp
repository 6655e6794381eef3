// The PostgreSQL server of the tests, and helpers to use it: the URL (PULSEHOOK_PG_URL, set by
// scripts/with-postgres.sh), an admin connection, a schema per test. Built only with
// PULSEHOOK_TEST_POSTGRES (CMake option PULSEHOOK_POSTGRES_TESTS, default ON).
#ifndef PULSEHOOK_TESTS_SUPPORT_PG_TEST_HPP
#define PULSEHOOK_TESTS_SUPPORT_PG_TEST_HPP

#include <libpq-fe.h>
#include <unistd.h>

#include <atomic>
#include <cstdlib>
#include <stdexcept>
#include <string>

namespace pulsehook::test {

// The server of the PostgreSQL tests: PULSEHOOK_PG_URL, which scripts/with-postgres.sh sets
// (scripts/test.sh runs every test through it). A build with PULSEHOOK_TEST_POSTGRES requires
// it: without it each postgres test fails with this message instead of being skipped.
inline std::string const& pg_url() {
  static std::string const url = [] {
    char const* v = std::getenv("PULSEHOOK_PG_URL");
    if (!v || !*v)
      throw std::runtime_error(
          "PULSEHOOK_PG_URL is not set: the PostgreSQL tests need a server. Run them through "
          "scripts/with-postgres.sh (e.g. `scripts/with-postgres.sh ctest -L postgres`), or "
          "configure with -DPULSEHOOK_POSTGRES_TESTS=OFF to build without them");
    return std::string(v);
  }();
  return url;
}

// `pg_url()` with application_name set, so a test can find (and terminate or count) exactly
// the connections of the stores or processes it made.
inline std::string pg_url_named(std::string const& app) {
  auto const& u = pg_url();
  return u + (u.find('?') == std::string::npos ? "?" : "&") + "application_name=" + app;
}

// Runs SQL on a connection of its own (setting up and inspecting what a test needs).
struct pg_admin {
  PGconn* c = nullptr;
  pg_admin() : c(PQconnectdb(pg_url().c_str())) {
    if (PQstatus(c) != CONNECTION_OK)
      throw std::runtime_error(std::string("cannot connect to PULSEHOOK_PG_URL: ") + PQerrorMessage(c));
    PQsetNoticeProcessor(c, [](void*, char const*) {}, nullptr);  // DROP ... CASCADE chatter
  }
  ~pg_admin() { PQfinish(c); }
  pg_admin(pg_admin const&) = delete;
  pg_admin& operator=(pg_admin const&) = delete;
  // The first column of the first row, as text ("" when none); throws on an error.
  std::string one(std::string const& sql) {
    PGresult* r = PQexec(c, sql.c_str());
    auto const st = PQresultStatus(r);
    if (st != PGRES_TUPLES_OK && st != PGRES_COMMAND_OK) {
      std::string const msg = PQresultErrorMessage(r);
      PQclear(r);
      throw std::runtime_error("SQL failed: " + sql + ": " + msg);
    }
    std::string out = PQntuples(r) > 0 && PQnfields(r) > 0 ? PQgetvalue(r, 0, 0) : "";
    PQclear(r);
    return out;
  }
  void exec(std::string const& sql) { one(sql); }
};

// A schema of its own for each store a test makes, dropped with everything in it afterwards.
struct pg_schema {
  std::string name;
  pg_schema() {
    static std::atomic<int> n{0};
    name = "t" + std::to_string(::getpid()) + "_" + std::to_string(n++);
  }
  ~pg_schema() {
    try {
      pg_admin{}.exec("DROP SCHEMA IF EXISTS " + name + " CASCADE");
    } catch (...) {
    }
  }
  pg_schema(pg_schema const&) = delete;
  pg_schema& operator=(pg_schema const&) = delete;
};

} // namespace pulsehook::test

#endif
