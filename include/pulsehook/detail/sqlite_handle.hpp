#ifndef PULSEHOOK_DETAIL_SQLITE_HANDLE_HPP
#define PULSEHOOK_DETAIL_SQLITE_HANDLE_HPP

// Small RAII wrappers over the SQLite 3 C API: a connection, cached prepared statements, a
// statement "use" that resets on scope exit, and a transaction that rolls back unless committed.

#include <pulsehook/error.hpp>

#include <sqlite3.h>

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <unordered_map>

namespace pulsehook::detail {

inline error sqlite_error_of(int rc) noexcept {
  switch (rc & 0xff) {
  case SQLITE_BUSY:
  case SQLITE_LOCKED: return error::storage_busy;
  default: return error::storage_failure;
  }
}

struct sqlite_closer {
  void operator()(sqlite3* db) const noexcept { sqlite3_close_v2(db); }
};
struct sqlite_finalizer {
  void operator()(sqlite3_stmt* s) const noexcept { sqlite3_finalize(s); }
};
using sqlite_db_ptr = std::unique_ptr<sqlite3, sqlite_closer>;
using sqlite_stmt_ptr = std::unique_ptr<sqlite3_stmt, sqlite_finalizer>;

// A bound, stepping use of a cached statement; resets and clears bindings when it ends, so the
// statement's read snapshot never outlives the call. Text and blobs are bound SQLITE_STATIC:
// the caller keeps them alive for the use's lifetime.
class sqlite_use {
public:
  explicit sqlite_use(sqlite3_stmt* s) noexcept : s_(s) {}
  sqlite_use(sqlite_use const&) = delete;
  sqlite_use& operator=(sqlite_use const&) = delete;
  ~sqlite_use() {
    if (s_) {
      sqlite3_reset(s_);
      sqlite3_clear_bindings(s_);
    }
  }
  explicit operator bool() const noexcept { return s_ != nullptr; }

  sqlite_use& bind(int i, std::int64_t v) noexcept {
    if (rc_ == SQLITE_OK) rc_ = sqlite3_bind_int64(s_, i, v);
    return *this;
  }
  sqlite_use& bind(int i, std::string_view v) noexcept {
    if (rc_ == SQLITE_OK)
      rc_ = sqlite3_bind_text64(s_, i, v.data() ? v.data() : "", v.size(), SQLITE_STATIC,
                                SQLITE_UTF8);
    return *this;
  }
  sqlite_use& bind_blob(int i, std::string_view v) noexcept {
    if (rc_ == SQLITE_OK)
      rc_ = sqlite3_bind_blob64(s_, i, v.data() ? v.data() : "", v.size(), SQLITE_STATIC);
    return *this;
  }
  sqlite_use& bind_f64(int i, double v) noexcept {
    if (rc_ == SQLITE_OK) rc_ = sqlite3_bind_double(s_, i, v);
    return *this;
  }
  sqlite_use& bind_null(int i) noexcept {
    if (rc_ == SQLITE_OK) rc_ = sqlite3_bind_null(s_, i);
    return *this;
  }

  // SQLITE_ROW -> true; SQLITE_DONE -> false with ec clear; else false with ec set.
  bool step(boost::system::error_code& ec) noexcept {
    if (rc_ != SQLITE_OK) {
      ec = sqlite_error_of(rc_);
      return false;
    }
    int const rc = sqlite3_step(s_);
    if (rc == SQLITE_ROW) return true;
    if (rc != SQLITE_DONE) ec = sqlite_error_of(rc);
    return false;
  }
  // Runs a statement that returns no rows.
  void run(boost::system::error_code& ec) noexcept {
    while (step(ec)) {
    }
  }

  std::int64_t i64(int c) const noexcept { return sqlite3_column_int64(s_, c); }
  double f64(int c) const noexcept { return sqlite3_column_double(s_, c); }
  bool is_null(int c) const noexcept { return sqlite3_column_type(s_, c) == SQLITE_NULL; }
  std::string_view text(int c) const noexcept {
    auto const* p = reinterpret_cast<char const*>(sqlite3_column_text(s_, c));
    return p ? std::string_view(p, static_cast<std::size_t>(sqlite3_column_bytes(s_, c)))
             : std::string_view();
  }
  std::string_view blob(int c) const noexcept {
    auto const* p = static_cast<char const*>(sqlite3_column_blob(s_, c));
    return p ? std::string_view(p, static_cast<std::size_t>(sqlite3_column_bytes(s_, c)))
             : std::string_view();
  }

private:
  sqlite3_stmt* s_;
  int rc_ = SQLITE_OK;
};

class sqlite_connection {
public:
  void open(std::string const& path, int flags, boost::system::error_code& ec) {
    sqlite3* raw = nullptr;
    int const rc = sqlite3_open_v2(path.c_str(), &raw, flags, nullptr);
    db_.reset(raw);
    if (rc != SQLITE_OK) {
      ec = sqlite_error_of(rc);
      db_.reset();
    }
  }
  sqlite3* get() const noexcept { return db_ ? db_.get() : borrowed_; }
  // Uses a connection someone else owns (the outbox: the caller's); never closed here.
  void borrow(sqlite3* db) noexcept { borrowed_ = db; }

  void exec(char const* sql, boost::system::error_code& ec) noexcept {
    int const rc = sqlite3_exec(get(), sql, nullptr, nullptr, nullptr);
    if (rc != SQLITE_OK) ec = sqlite_error_of(rc);
  }

  // Runs one statement that returns no rows through the statement cache: no parse per call
  // (transaction control runs several times per delivery inside a group).
  void run(char const* sql, boost::system::error_code& ec) {
    auto q = use(sql, ec);
    if (!ec) q.run(ec);
  }

  // The cached statement for `sql` (keyed by the literal's address: every call site passes a
  // string literal). Prepared once with SQLITE_PREPARE_PERSISTENT.
  sqlite_use use(char const* sql, boost::system::error_code& ec) {
    auto it = cache_.find(sql);
    if (it == cache_.end()) {
      sqlite3_stmt* s = nullptr;
      int const rc = sqlite3_prepare_v3(get(), sql, -1, SQLITE_PREPARE_PERSISTENT, &s, nullptr);
      if (rc != SQLITE_OK) {
        sqlite3_finalize(s);
        ec = sqlite_error_of(rc);
        return sqlite_use(nullptr);
      }
      it = cache_.emplace(sql, sqlite_stmt_ptr(s)).first;
    }
    return sqlite_use(it->second.get());
  }

  std::int64_t changes() const noexcept { return sqlite3_changes64(get()); }
  std::int64_t total_changes() const noexcept { return sqlite3_total_changes64(get()); }
  // True when no transaction is open (SQLite ends one by itself on an I/O error or a full disk).
  bool autocommit() const noexcept { return sqlite3_get_autocommit(get()) != 0; }
  std::int64_t last_rowid() const noexcept { return sqlite3_last_insert_rowid(get()); }

  void close() noexcept {
    cache_.clear();
    db_.reset();
    borrowed_ = nullptr;
  }

private:
  sqlite_db_ptr db_;  // declared first: destroyed after the statements
  sqlite3* borrowed_ = nullptr;
  std::unordered_map<char const*, sqlite_stmt_ptr> cache_;
};

// What a store's steps join: nothing (each step is a transaction of its own), a batch (each
// step a savepoint of it) or a group (each step writes straight into the group's transaction).
// A savepoint makes SQLite copy every page the step touches into its sub-journal (a memory
// file: malloc and memcpy of whole pages): ~36 allocations per delivery in the dispatcher's
// groups (heaptrack, docs/performance.md#delivery). So a group has none. Instead, a step that fails after
// it wrote anything spoils the group: the group's later steps fail at once and commit_group
// rolls everything back, which the group's driver already handles as a failed commit.
struct sqlite_scope {
  enum class kind { none, batch, group };
  kind open = kind::none;
  bool spoiled = false;  // group only: a step failed after writing into it
};

// One logical step, all or nothing. Outside a batch or group: BEGIN IMMEDIATE ... COMMIT (the
// writer lock is taken up front, so a step never fails half-way on a lock upgrade). Inside a
// batch: a savepoint, so a failing step still changes nothing. Inside a group: see sqlite_scope.
class sqlite_transaction {
public:
  sqlite_transaction(sqlite_connection& c, sqlite_scope& scope, boost::system::error_code& ec)
      : c_(c), scope_(scope), kind_(scope.open) {
    switch (kind_) {
    case sqlite_scope::kind::none: c_.run("BEGIN IMMEDIATE", ec); break;
    case sqlite_scope::kind::batch: c_.run("SAVEPOINT step", ec); break;
    case sqlite_scope::kind::group:
      if (scope_.spoiled) ec = error::storage_failure;
      changes_ = c_.total_changes();
      break;
    }
    open_ = !ec;
  }
  sqlite_transaction(sqlite_transaction const&) = delete;
  sqlite_transaction& operator=(sqlite_transaction const&) = delete;
  ~sqlite_transaction() {
    if (!open_) return;
    if (kind_ == sqlite_scope::kind::group) {
      // Failed. Nothing written and the transaction still open (a validation failure): the
      // group goes on. Otherwise its writes cannot be taken back alone.
      if (c_.total_changes() != changes_ || c_.autocommit()) scope_.spoiled = true;
      return;
    }
    boost::system::error_code ignored;
    bool const nested = kind_ == sqlite_scope::kind::batch;
    try {
      if (nested) {
        c_.run("ROLLBACK TO step", ignored);
        c_.run("RELEASE step", ignored);
      } else {
        c_.run("ROLLBACK", ignored);
      }
    } catch (...) {  // no memory to prepare the statement: fall back to a one-off parse
      c_.exec(nested ? "ROLLBACK TO step; RELEASE step" : "ROLLBACK", ignored);
    }
  }
  void commit(boost::system::error_code& ec) {
    switch (kind_) {
    case sqlite_scope::kind::none: c_.run("COMMIT", ec); break;
    case sqlite_scope::kind::batch: c_.run("RELEASE step", ec); break;
    case sqlite_scope::kind::group: break;  // commit_group makes it durable
    }
    if (!ec) open_ = false;
  }

private:
  sqlite_connection& c_;
  sqlite_scope& scope_;
  sqlite_scope::kind kind_;
  std::int64_t changes_ = 0;
  bool open_ = false;
};

} // namespace pulsehook::detail

#endif
