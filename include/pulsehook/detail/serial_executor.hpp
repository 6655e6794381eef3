#ifndef PULSEHOOK_DETAIL_SERIAL_EXECUTOR_HPP
#define PULSEHOOK_DETAIL_SERIAL_EXECUTOR_HPP

// A strand over `ex`, as an `any_io_executor`, built so that copying it does not allocate.
//
// `any_io_executor` stores executors of up to three words in place; larger ones go to the heap,
// shared. A `strand<any_io_executor>` is larger (it holds the type-erased executor it wraps),
// so every timer, socket, coroutine and completion bound to it allocated, and every query or
// `prefer` on it allocated again: about forty allocations per delivery in the HTTP transport
// and the dispatcher (measured with heaptrack, see docs/performance.md#delivery). When `ex` is
// an `io_context`'s executor, the strand is built over that concrete type instead: a
// `strand<io_context::executor_type>` fits in place. Any other executor keeps the general form.

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/strand.hpp>

namespace pulsehook::detail {

inline boost::asio::any_io_executor make_serial_executor(boost::asio::any_io_executor const& ex) {
  if (auto const* io = ex.target<boost::asio::io_context::executor_type>())
    return boost::asio::make_strand(*io);
  return boost::asio::make_strand(ex);
}

} // namespace pulsehook::detail

#endif
