#ifndef PULSEHOOK_DETAIL_PG_HANDLE_HPP
#define PULSEHOOK_DETAIL_PG_HANDLE_HPP

// Small RAII wrappers over libpq: results, binary parameters, binary result rows, and a
// connection with its own cache of prepared statements, a liveness check, and the SQLSTATE ->
// pulsehook::error mapping (busy = worth retrying, failure = not).
//
// Every statement is sent with PQexecPrepared / PQexecParams and asks for binary results: no
// text parsing, bytea comes back as raw bytes. Scalar parameters are binary too (int8 as 8
// big-endian bytes, text and bytea as raw bytes), so every SQL text casts each `$n` to the type
// it is sent as (`$1::bigint`, `$2::text`, `$3::bytea`); arrays go as text literals.

#include <pulsehook/error.hpp>

#include <libpq-fe.h>

#include <poll.h>

#include <array>
#include <bit>
#include <cstdint>
#include <cstring>
#include <deque>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace pulsehook::detail {

// What a failed statement means for the caller: retry later (a lost connection, a statement or
// lock timeout, a serialisation failure, too many connections, a server shutting down) or not.
inline error pg_error_of_sqlstate(char const* state) noexcept {
  if (!state || std::strlen(state) != 5) return error::storage_busy;  // no server answer
  std::string_view const s(state, 5);
  if (s.starts_with("08")) return error::storage_busy;                  // connection exception
  if (s == "57014" || s == "55P03" || s == "40001" || s == "40P01" || s == "53300" ||
      s == "57P01" || s == "57P02" || s == "57P03")
    return error::storage_busy;
  return error::storage_failure;
}

struct pg_result_deleter {
  void operator()(PGresult* r) const noexcept { PQclear(r); }
};
using pg_result_ptr = std::unique_ptr<PGresult, pg_result_deleter>;

struct pg_conn_deleter {
  void operator()(PGconn* c) const noexcept { PQfinish(c); }
};
using pg_conn_ptr = std::unique_ptr<PGconn, pg_conn_deleter>;

// Rows of a binary-format result.
class pg_rows {
public:
  pg_rows() = default;
  explicit pg_rows(pg_result_ptr r) noexcept : r_(std::move(r)) {}
  int size() const noexcept { return r_ ? PQntuples(r_.get()) : 0; }
  bool empty() const noexcept { return size() == 0; }
  bool is_null(int row, int col) const noexcept { return PQgetisnull(r_.get(), row, col) != 0; }
  // int2 / int4 / int8 / bool, by the value's length; 0 for NULL.
  std::int64_t i64(int row, int col) const noexcept {
    if (is_null(row, col)) return 0;
    auto const* p = reinterpret_cast<unsigned char const*>(PQgetvalue(r_.get(), row, col));
    int const n = PQgetlength(r_.get(), row, col);
    std::uint64_t v = 0;
    for (int i = 0; i < n; ++i) v = (v << 8) | p[i];
    switch (n) {
    case 1: return static_cast<std::int64_t>(v);
    case 2: return static_cast<std::int16_t>(v);
    case 4: return static_cast<std::int32_t>(v);
    default: return static_cast<std::int64_t>(v);
    }
  }
  std::string_view bytes(int row, int col) const noexcept {
    return std::string_view(PQgetvalue(r_.get(), row, col),
                            static_cast<std::size_t>(PQgetlength(r_.get(), row, col)));
  }
  std::string str(int row, int col) const { return std::string(bytes(row, col)); }
  PGresult* get() const noexcept { return r_.get(); }

private:
  pg_result_ptr r_;
};

// A one-dimensional array parameter in binary format (libpq's array_send layout), so a
// statement can take a whole batch of rows through `unnest`: int8 (`$n::bigint[]`) or bytea
// (`$n::bytea[]`) elements, NULLs allowed.
class pg_array {
public:
  static constexpr std::uint32_t int8_oid = 20, bytea_oid = 17;
  explicit pg_array(std::uint32_t element_oid) noexcept : oid_(element_oid) {}

  void i64(std::int64_t v) {
    put32(8);
    auto const u = static_cast<std::uint64_t>(v);
    for (int i = 7; i >= 0; --i) data_ += static_cast<char>((u >> (8 * i)) & 0xff);
    ++n_;
  }
  void opt_i64(bool has, std::int64_t v) {
    if (has) i64(v);
    else null();
  }
  void bytes(std::string_view v) {
    put32(static_cast<std::uint32_t>(v.size()));
    data_.append(v.data() ? v.data() : "", v.size());
    ++n_;
  }
  void null() {
    put32(0xffffffffu);
    nulls_ = true;
    ++n_;
  }
  void clear() noexcept {
    data_.clear();
    n_ = 0;
    nulls_ = false;
  }
  std::uint32_t size() const noexcept { return n_; }

  // The value to send: header (dimensions, NULL flag, element type, length, lower bound 1),
  // then the elements.
  std::string encode() const {
    std::string out;
    out.reserve(data_.size() + 20);
    auto put = [&out](std::uint32_t v) {
      for (int i = 3; i >= 0; --i) out += static_cast<char>((v >> (8 * i)) & 0xff);
    };
    put(n_ ? 1 : 0);
    put(nulls_ ? 1 : 0);
    put(oid_);
    if (n_) {
      put(n_);
      put(1);
    }
    out += data_;
    return out;
  }

private:
  void put32(std::uint32_t v) {
    for (int i = 3; i >= 0; --i) data_ += static_cast<char>((v >> (8 * i)) & 0xff);
  }
  std::string data_;
  std::uint32_t oid_;
  std::uint32_t n_ = 0;
  bool nulls_ = false;
};

// The parameters of one statement. Values are viewed, not copied: the caller keeps them alive
// until the statement has run (integers and array literals are kept here).
class pg_params {
public:
  static constexpr int capacity = 24;

  pg_params& i64(std::int64_t v) noexcept {
    auto& b = ints_[static_cast<std::size_t>(n_)];
    auto u = static_cast<std::uint64_t>(v);
    for (int i = 7; i >= 0; --i, u >>= 8) b[static_cast<std::size_t>(i)] = static_cast<char>(u & 0xff);
    return put(b.data(), 8, 1);
  }
  pg_params& opt_i64(bool has, std::int64_t v) noexcept { return has ? i64(v) : null(); }
  // float8, binary format: the IEEE 754 bits, big-endian (the statement casts the parameter,
  // e.g. `$1::double precision`, so its type is known)
  pg_params& f64(double v) noexcept { return i64(std::bit_cast<std::int64_t>(v)); }
  // text and bytea, binary format: the raw bytes
  pg_params& bytes(std::string_view v) noexcept { return put(v.data() ? v.data() : "", static_cast<int>(v.size()), 1); }
  pg_params& null() noexcept { return put(nullptr, 0, 0); }
  // `{1,2,3}`, sent as text (the statement casts it, e.g. `$1::bigint[]`)
  pg_params& i64_array(std::span<std::int64_t const> vs) {
    std::string s = "{";
    for (std::size_t i = 0; i < vs.size(); ++i) {
      if (i) s += ',';
      s += std::to_string(vs[i]);
    }
    s += '}';
    return owned(std::move(s));
  }
  // `{"a","b"}` with `"` and `\` escaped, sent as text (`$1::text[]`)
  template <class Strings>
  pg_params& text_array(Strings const& vs) {
    std::string s = "{";
    bool first = true;
    for (auto const& v : vs) {
      if (!first) s += ',';
      first = false;
      s += '"';
      for (char c : std::string_view(v)) {
        if (c == '"' || c == '\\') s += '\\';
        s += c;
      }
      s += '"';
    }
    s += '}';
    return owned(std::move(s));
  }

  // a binary array (pg_array), copied
  pg_params& array(pg_array const& a) { return owned(a.encode(), 1); }

  int size() const noexcept { return n_; }
  char const* const* values() const noexcept { return values_.data(); }
  int const* lengths() const noexcept { return lengths_.data(); }
  int const* formats() const noexcept { return formats_.data(); }

private:
  pg_params& owned(std::string s, int fmt = 0) {
    texts_.push_back(std::move(s));  // a deque: earlier strings do not move
    return put(texts_.back().c_str(), static_cast<int>(texts_.back().size()), fmt);
  }
  pg_params& put(char const* p, int len, int fmt) noexcept {
    if (n_ < capacity) {
      auto const i = static_cast<std::size_t>(n_++);
      values_[i] = p;
      lengths_[i] = len;
      formats_[i] = fmt;
    }
    return *this;
  }
  std::array<char const*, capacity> values_{};
  std::array<int, capacity> lengths_{};
  std::array<int, capacity> formats_{};
  std::array<std::array<char, 8>, capacity> ints_{};
  std::deque<std::string> texts_;
  int n_ = 0;
};

// Turns a finished result into rows or an error. A fatal result's SQLSTATE decides busy vs
// failure; no result at all (the connection broke) is busy.
inline pg_rows pg_check(PGconn* c, PGresult* raw, boost::system::error_code& ec) {
  pg_result_ptr r(raw);
  if (!r) {
    ec = error::storage_busy;
    return {};
  }
  switch (PQresultStatus(r.get())) {
  case PGRES_COMMAND_OK:
  case PGRES_TUPLES_OK:
    return pg_rows(std::move(r));
  default:
    ec = PQstatus(c) == CONNECTION_BAD ? error::storage_busy
                                       : pg_error_of_sqlstate(PQresultErrorField(r.get(), PG_DIAG_SQLSTATE));
    return {};
  }
}

// Runs `sql` once, unnamed (for a connection that is not ours: the outbox).
inline pg_rows pg_exec_params(PGconn* c, std::string const& sql, pg_params const& p,
                              boost::system::error_code& ec) {
  return pg_check(c, PQexecParams(c, sql.c_str(), p.size(), nullptr, p.values(), p.lengths(), p.formats(), 1), ec);
}

// A command without parameters (BEGIN, COMMIT, SAVEPOINT ...).
inline void pg_command(PGconn* c, char const* sql, boost::system::error_code& ec) {
  pg_check(c, PQexec(c, sql), ec);
}

// Reads whatever is waiting on an idle connection, without blocking. A server that ends a
// session sends an error first and then closes: libpq takes the error as a notice and notices
// the close only on the next read, so this reads until nothing more is waiting.
// @return false when the connection is closed
inline bool pg_drain(PGconn* c) noexcept {
  for (int i = 0; i < 64 && PQstatus(c) == CONNECTION_OK; ++i) {
    pollfd p{PQsocket(c), POLLIN, 0};
    if (p.fd < 0) return false;
    if (::poll(&p, 1, 0) <= 0) break;
    if (!PQconsumeInput(c)) return false;
  }
  return PQstatus(c) == CONNECTION_OK;
}

// One of our connections: its statement cache, its counter slot, its health.
class pg_connection {
public:
  // Connects with `keys` / `values` (NULL-terminated arrays, libpq's *Params form).
  void connect(char const* const* keys, char const* const* values, boost::system::error_code& ec) {
    c_.reset(PQconnectdbParams(keys, values, 1));
    prepared_.clear();
    slot = -1;
    if (!c_ || PQstatus(c_.get()) != CONNECTION_OK) {
      ec = error::storage_busy;  // a server that is down or refuses may come back: retryable
      return;
    }
    // Notices are not printed. A FATAL one is the server ending the session (terminated
    // backend, shutdown): the connection is marked dead at once, before libpq sees the close.
    PQsetNoticeReceiver(
        c_.get(),
        [](void* self, PGresult const* r) {
          char const* sev = PQresultErrorField(r, PG_DIAG_SEVERITY_NONLOCALIZED);
          if (sev && (std::strcmp(sev, "FATAL") == 0 || std::strcmp(sev, "PANIC") == 0))
            static_cast<pg_connection*>(self)->fatal_ = true;
        },
        this);
  }
  PGconn* get() const noexcept { return c_.get(); }
  explicit operator bool() const noexcept { return c_ != nullptr; }

  // False when the server closed the connection (terminated backend, restart): detected without
  // blocking, by reading what is waiting on the idle connection (see pg_drain).
  bool alive() noexcept {
    if (!c_ || !pg_drain(c_.get())) return false;
    PQisBusy(c_.get());  // parses what was read: a FATAL notice marks the connection dead
    return !fatal_;
  }

  // Reconnects with the same parameters; prepared statements and the slot are gone then.
  void reset(boost::system::error_code& ec) {
    prepared_.clear();
    pending_.clear();
    pipeline_ = false;
    slot = -1;
    fatal_ = false;
    if (!c_) {
      ec = error::storage_busy;
      return;
    }
    PQreset(c_.get());
    if (PQstatus(c_.get()) != CONNECTION_OK) ec = error::storage_busy;
  }

  // Runs statement number `id` (text `sql`), preparing it on first use on this connection.
  // In pipeline mode (a group) it reads first every result still pending, in order.
  pg_rows run(std::size_t id, std::string const& sql, pg_params const& p,
              boost::system::error_code& ec) {
    ++statements_;
    if (pipeline_) {
      send(id, sql, p, nullptr, 0, ec);
      if (ec) return {};
      return resolve(ec);
    }
    auto const name = statement_name(id);
    if (!is_prepared(id)) {
      pg_check(c_.get(), PQprepare(c_.get(), name.c_str(), sql.c_str(), 0, nullptr), ec);
      if (ec) return {};
      prepared_[id] = true;
    }
    return pg_check(c_.get(),
                    PQexecPrepared(c_.get(), name.c_str(), p.size(), p.values(), p.lengths(), p.formats(), 1),
                    ec);
  }
  // Runs two statements, one after the other; in pipeline mode both go out before either
  // result is read (one round trip).
  void run_two(std::size_t id1, std::string const& sql1, pg_params const& p1, pg_rows& r1,
               std::size_t id2, std::string const& sql2, pg_params const& p2, pg_rows& r2,
               boost::system::error_code& ec) {
    if (!pipeline_) {
      r1 = run(id1, sql1, p1, ec);
      if (!ec) r2 = run(id2, sql2, p2, ec);
      return;
    }
    statements_ += 2;
    send(id1, sql1, p1, nullptr, 0, ec, true);
    if (!ec) send(id2, sql2, p2, nullptr, 0, ec, true);
    if (ec) return;
    std::vector<pg_rows> kept;
    resolve(ec, &kept);
    if (ec) return;
    if (kept.size() != 2) {
      ec = error::storage_failure;
      return;
    }
    r1 = std::move(kept[0]);
    r2 = std::move(kept[1]);
  }
  void command(char const* sql, boost::system::error_code& ec) {
    ++statements_;
    if (pipeline_) {
      if (!PQsendQueryParams(c_.get(), sql, 0, nullptr, nullptr, nullptr, nullptr, 1)) {
        ec = error::storage_busy;
        return;
      }
      pending_.push_back({nullptr, 0, false});
      resolve(ec);
      return;
    }
    pg_command(c_.get(), sql, ec);
  }

  // ---- pipeline mode (postgres_store's groups) -------------------------------------------------
  // Statements are sent ahead without waiting; their results are read in order when a result
  // is needed (`run`, `resolve`, `end_pipeline`). A deferred statement's result is judged by
  // its check when read: a result it refuses is counted in `refused()`.
  using check_fn = bool (*)(pg_rows const&, std::int64_t);

  void enter_pipeline(boost::system::error_code& ec) {
    if (!c_ || !PQenterPipelineMode(c_.get())) {
      ec = error::storage_busy;
      return;
    }
    pipeline_ = true;
    refused_ = 0;
  }
  bool pipelined() const noexcept { return pipeline_; }
  std::size_t refused() const noexcept { return refused_; }

  // Sends statement `id` without reading its result; `check(rows, arg)` judges it later, and
  // with `keep` its rows go to the `kept` list of the `resolve` that reads them.
  void send_deferred(std::size_t id, std::string const& sql, pg_params const& p, check_fn check,
                     std::int64_t arg, boost::system::error_code& ec, bool keep = false,
                     std::vector<pg_rows>* kept = nullptr) {
    ++statements_;
    send(id, sql, p, check, arg, ec, keep);
    if (!ec && pending_.size() >= 128) resolve(ec, kept);  // bounded: no side's buffers fill up
  }

  // Reads every pending result, in order; returns the last one's rows and appends those sent
  // with `keep` to `kept`. `ec`: the first error.
  pg_rows resolve(boost::system::error_code& ec, std::vector<pg_rows>* kept = nullptr) {
    pg_rows last;
    if (pending_.empty()) return last;
    if (!PQsendFlushRequest(c_.get()) || PQflush(c_.get()) != 0) ec = error::storage_busy;
    while (!pending_.empty()) {
      auto const op = pending_.front();
      pending_.pop_front();
      boost::system::error_code one;
      last = read_one(one);
      if (one) {
        if (!ec) ec = one;
      } else if (op.check && !op.check(last, op.arg)) {
        ++refused_;
      }
      if (op.keep && kept) kept->push_back(std::move(last));
      if (PQstatus(c_.get()) != CONNECTION_OK) {
        pending_.clear();
        if (!ec) ec = error::storage_busy;
      }
    }
    return last;
  }

  // A command without parameters sent ahead (pipeline mode): its result is read with the
  // next statement's.
  void command_deferred(char const* sql, boost::system::error_code& ec) {
    ++statements_;
    if (!PQsendQueryParams(c_.get(), sql, 0, nullptr, nullptr, nullptr, nullptr, 1)) {
      ec = error::storage_busy;
      return;
    }
    pending_.push_back({nullptr, 0, false});
  }

  // A statement to run last inside the transaction, in the same round trip as the COMMIT
  // (see end_pipeline).
  struct last_statement {
    std::size_t id;
    std::string const& sql;
    pg_params const& params;
    pg_rows& rows;  // its rows, when the transaction committed
  };

  // Ends the pipeline: COMMIT when `commit` and nothing failed or was refused, else ROLLBACK;
  // `last`, if any, runs just before a COMMIT, sent with it. `ec` clear only when the commit
  // succeeded. The connection is idle and out of pipeline mode afterwards (or closed).
  void end_pipeline(bool commit, boost::system::error_code& ec, last_statement const* last = nullptr) {
    boost::system::error_code pend;
    resolve(pend);
    bool const ok = commit && !pend && refused_ == 0 && PQstatus(c_.get()) == CONNECTION_OK;
    bool committed = false;
    bool const with_last = ok && last;
    if (with_last) {
      send(last->id, last->sql, last->params, nullptr, 0, pend, true);
      if (pend) return end_pipeline(false, ec);
    }
    std::vector<pg_rows> kept;
    bool last_failed = false;
    if (PQstatus(c_.get()) == CONNECTION_OK &&
        PQsendQueryParams(c_.get(), ok ? "COMMIT" : "ROLLBACK", 0, nullptr, nullptr, nullptr, nullptr, 1) &&
        PQpipelineSync(c_.get())) {
      // `last`'s results (its PREPARE's too, the first time), then the COMMIT / ROLLBACK's
      // result (or "aborted"), its NULL, then the sync point.
      while (with_last && !pending_.empty()) {
        auto const op = pending_.front();
        pending_.pop_front();
        boost::system::error_code one;
        auto rows = read_one(one);
        if (one) last_failed = true;
        else if (op.keep) kept.push_back(std::move(rows));
        if (PQstatus(c_.get()) != CONNECTION_OK) break;
      }
      for (int nulls = 0; nulls < 2 && PQstatus(c_.get()) == CONNECTION_OK;) {
        PGresult* r = PQgetResult(c_.get());
        if (!r) {
          ++nulls;
          continue;
        }
        auto const st = PQresultStatus(r);
        PQclear(r);
        if (st == PGRES_PIPELINE_SYNC) break;
        if (st == PGRES_COMMAND_OK && ok && !last_failed) committed = true;
      }
    }
    if (committed && with_last && kept.size() == 1) last->rows = std::move(kept[0]);
    if (PQstatus(c_.get()) == CONNECTION_OK) PQexitPipelineMode(c_.get());
    pipeline_ = false;
    pending_.clear();
    refused_ = 0;
    if (c_ && PQstatus(c_.get()) == CONNECTION_OK && PQtransactionStatus(c_.get()) != PQTRANS_IDLE) {
      boost::system::error_code ignored;  // a failed transaction still open: end it
      pg_command(c_.get(), "ROLLBACK", ignored);
    }
    if (!committed)
      ec = PQstatus(c_.get()) != CONNECTION_OK ? error::storage_busy : pend ? pend : error::storage_failure;
  }

  // Statements run so far: a step inside a group compares it to know whether it wrote.
  std::uint64_t statements() const noexcept { return statements_; }
  bool in_transaction() const noexcept {
    return c_ && PQtransactionStatus(c_.get()) != PQTRANS_IDLE;
  }
  bool transaction_failed() const noexcept {
    return !c_ || PQtransactionStatus(c_.get()) == PQTRANS_INERROR ||
           PQstatus(c_.get()) != CONNECTION_OK;
  }

  int slot = -1;  // this connection's row of the per-endpoint counters (see postgres_store)
  int backend_pid() const noexcept { return c_ ? PQbackendPID(c_.get()) : 0; }

private:
  struct pending {
    check_fn check;
    std::int64_t arg;
    bool keep = false;
  };
  static std::string statement_name(std::size_t id) { return "ph" + std::to_string(id); }
  bool is_prepared(std::size_t id) {
    if (id >= prepared_.size()) prepared_.resize(id + 1, false);
    return prepared_[id];
  }
  // Pipeline mode: queues the statement (and its PREPARE on first use) without reading.
  void send(std::size_t id, std::string const& sql, pg_params const& p, check_fn check,
            std::int64_t arg, boost::system::error_code& ec, bool keep = false) {
    auto const name = statement_name(id);
    if (!is_prepared(id)) {
      if (!PQsendPrepare(c_.get(), name.c_str(), sql.c_str(), 0, nullptr)) {
        ec = error::storage_busy;
        return;
      }
      pending_.push_back({nullptr, 0, false});
      prepared_[id] = true;
    }
    if (!PQsendQueryPrepared(c_.get(), name.c_str(), p.size(), p.values(), p.lengths(), p.formats(), 1)) {
      ec = error::storage_busy;
      return;
    }
    pending_.push_back({check, arg, keep});
  }
  // One statement's results, up to the NULL that ends them (pipeline mode).
  pg_rows read_one(boost::system::error_code& ec) {
    pg_rows rows;
    bool first = true;
    while (PGresult* r = PQgetResult(c_.get())) {
      if (first) rows = pg_check(c_.get(), r, ec);
      else PQclear(r);
      first = false;
    }
    if (first && !ec) ec = error::storage_busy;  // no result at all: the connection broke
    return rows;
  }

  pg_conn_ptr c_;
  std::vector<bool> prepared_;
  std::deque<pending> pending_;
  std::uint64_t statements_ = 0;
  std::size_t refused_ = 0;
  bool pipeline_ = false;
  bool fatal_ = false;
};

} // namespace pulsehook::detail

#endif
