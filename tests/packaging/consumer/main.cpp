// An outside project's program: builds against pulsehook found by find_package or added with
// add_subdirectory, and checks that the umbrella header works.
#include <pulsehook.hpp>

#include <cstdio>

int main() {
  pulsehook::prng rng{2026};
  boost::system::error_code ec = pulsehook::error::no_signature_matched;
  std::printf("consumer: %s, %s, first draw %llu\n", pulsehook::user_agent, ec.message().c_str(),
              static_cast<unsigned long long>(rng() % 1000));
  return ec == pulsehook::condition::bad_input ? 0 : 1;
}
