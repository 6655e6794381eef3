// The benchmark receiver as a process: wrk and pulsehook_bench_delivery hit the same one.
//   pulsehook_bench_receiver [port] [threads]      prints "port <n>" when listening
#include "bench_receiver.hpp"

#include <csignal>
#include <cstdlib>
#include <iostream>
#include <thread>

int main(int argc, char** argv) {
  auto const port = static_cast<unsigned short>(argc > 1 ? std::atoi(argv[1]) : 0);
  int const threads = argc > 2 ? std::atoi(argv[2]) : 1;
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGINT);
  sigaddset(&set, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &set, nullptr); // I/O threads inherit the mask
  pulsehook::bench::bench_receiver rx{port, threads > 0 ? threads : 1};
  std::cout << "port " << rx.port() << std::endl;
  int sig = 0;
  sigwait(&set, &sig);
  std::cerr << "bench receiver: " << rx.requests() << " requests\n";
  return 0;
}
