#ifndef PULSEHOOK_DETAIL_NOTIFY_WAITER_HPP
#define PULSEHOOK_DETAIL_NOTIFY_WAITER_HPP

// Waits on an executor for a `notifying_storage` store (storage.hpp) to say that someone else
// committed new work, and calls `on_work` there each time; re-arms itself. A store that cannot
// listen now is asked again after `retry`. For a store without notifications the waiter is
// empty and does nothing, so a driver can hold one unconditionally.
//
// start / stop run on the waiter's executor (a strand): the descriptor and the timer are used
// only there. The store's descriptor is watched through a dup of it (the store may close and
// replace its own on a reconnect); a new one is picked up after every wait.

#include <pulsehook/storage.hpp>
#include <pulsehook/time.hpp>

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/posix/stream_descriptor.hpp>
#include <boost/asio/steady_timer.hpp>

#include <sys/stat.h>
#include <unistd.h>

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <utility>

namespace pulsehook::detail {

template <class Store, bool = notifying_storage<Store>>
class notify_waiter {
public:
  explicit notify_waiter(boost::asio::any_io_executor const&) noexcept {}
  void start(Store&, std::shared_ptr<void>, std::function<void()>, duration) noexcept {}
  void stop() noexcept {}
};

template <class Store>
class notify_waiter<Store, true> {
public:
  explicit notify_waiter(boost::asio::any_io_executor ex) : ex_(std::move(ex)), timer_(ex_) {}

  // `keep` keeps the owner (and so this waiter) alive while a wait is pending.
  void start(Store& store, std::shared_ptr<void> keep, std::function<void()> on_work,
             duration retry) {
    store_ = &store;
    on_work_ = std::move(on_work);
    retry_ = retry.count() > 0 ? retry : duration{1000};
    running_ = true;
    ++generation_;
    arm(std::move(keep));
  }

  void stop() noexcept {
    running_ = false;
    ++generation_;
    timer_.cancel();
    close();
  }

private:
  void arm(std::shared_ptr<void> keep) {
    if (!running_) return;
    auto const gen = generation_;
    boost::system::error_code ec;
    int const fd = store_->notification_fd(ec);
    if (!ec && fd >= 0 && (!desc_ || !same_file(fd))) {
      close();
      int const mine = ::dup(fd);
      if (mine >= 0) {
        desc_.emplace(ex_);
        desc_->assign(mine, ec);
        if (ec) close();
      } else {
        ec = error::storage_failure;
      }
    }
    if (ec || fd < 0 || !desc_) {
      // Cannot listen now (the server is away): ask again later.
      timer_.expires_after(retry_);
      timer_.async_wait([this, keep = std::move(keep), gen](boost::system::error_code e) mutable {
        if (!e && gen == generation_) arm(std::move(keep));
      });
      return;
    }
    desc_->async_wait(boost::asio::posix::stream_descriptor::wait_read,
                      [this, keep = std::move(keep), gen](boost::system::error_code e) mutable {
                        if (e || gen != generation_ || !running_) return;
                        boost::system::error_code ec2;
                        if (store_->consume_notifications(ec2)) on_work_();
                        arm(std::move(keep));
                      });
  }

  // Whether the store's descriptor is still the socket our dup watches. After a reconnect the
  // new socket often gets the old number back, so the number alone does not tell.
  bool same_file(int fd) noexcept {
    struct stat theirs {}, ours {};
    return desc_ && ::fstat(fd, &theirs) == 0 && ::fstat(desc_->native_handle(), &ours) == 0 &&
           theirs.st_ino == ours.st_ino && theirs.st_dev == ours.st_dev;
  }

  void close() noexcept {
    if (desc_) {
      boost::system::error_code ignored;
      desc_->close(ignored);
      desc_.reset();
    }
  }

  boost::asio::any_io_executor ex_;
  boost::asio::steady_timer timer_;
  std::optional<boost::asio::posix::stream_descriptor> desc_;
  Store* store_ = nullptr;
  std::function<void()> on_work_;
  duration retry_{1000};
  bool running_ = false;
  std::uint64_t generation_ = 0;
};

} // namespace pulsehook::detail

#endif
