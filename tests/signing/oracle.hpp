// Independent implementations to check pulsehook against, run at test time: Python's hmac
// module and the openssl command line. Nothing here shares code with the library.
#ifndef PULSEHOOK_TESTS_SIGNING_ORACLE_HPP
#define PULSEHOOK_TESTS_SIGNING_ORACLE_HPP

#include <pulsehook/random.hpp>

#include <boost/test/unit_test.hpp>

#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <memory>
#include <utility>
#include <vector>
#include <stdexcept>
#include <string>
#include <string_view>
#include <unistd.h>

namespace oracle {

// A file under /tmp holding `bytes`, removed when it goes out of scope.
class temp_file {
public:
  explicit temp_file(std::string_view bytes) {
    char name[] = "/tmp/pulsehook-signing-XXXXXX";
    int const fd = ::mkstemp(name);
    if (fd < 0) throw std::runtime_error("mkstemp failed");
    ::close(fd);
    path_ = name;
    std::ofstream(path_, std::ios::binary).write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
  }
  temp_file(temp_file const&) = delete;
  temp_file& operator=(temp_file const&) = delete;
  ~temp_file() { std::remove(path_.c_str()); }
  std::string const& path() const { return path_; }

private:
  std::string path_;
};

// Runs a shell command, returns its stdout without the trailing newline; fails the test on a
// non-zero exit.
inline std::string run(std::string const& cmd) {
  std::FILE* p = ::popen(cmd.c_str(), "r");
  BOOST_TEST_REQUIRE(p != nullptr);
  std::string out;
  char buf[4096];
  std::size_t n;
  while ((n = std::fread(buf, 1, sizeof buf, p)) > 0) out.append(buf, n);
  int const rc = ::pclose(p);
  BOOST_TEST_REQUIRE(rc == 0, "command failed: " << cmd);
  while (!out.empty() && (out.back() == '\n' || out.back() == '\r')) out.pop_back();
  return out;
}

// hex HMAC-SHA256(key, message) by Python's hmac module (any bytes).
inline std::string python_hmac_hex(std::string_view key, std::string_view message) {
  temp_file k{key}, m{message};
  return run("python3 -c \"import hmac,hashlib,sys; print(hmac.new(open(sys.argv[1],'rb').read(),"
             " open(sys.argv[2],'rb').read(), hashlib.sha256).hexdigest())\" " +
             k.path() + " " + m.path());
}

// base64 HMAC-SHA256 by Python, the key given as base64 (Standard Webhooks).
inline std::string python_hmac_b64(std::string_view b64_key, std::string_view message) {
  temp_file k{b64_key}, m{message};
  return run("python3 -c \"import hmac,hashlib,sys,base64; print(base64.b64encode(hmac.new("
             "base64.b64decode(open(sys.argv[1],'rb').read()), open(sys.argv[2],'rb').read(),"
             " hashlib.sha256).digest()).decode())\" " +
             k.path() + " " + m.path());
}

// Many HMACs in one Python process (starting one costs far more than hashing): for each
// (key, message) the hex digest, or with `base64_key_and_output` the key base64-decoded and
// the digest base64-encoded (Standard Webhooks).
inline std::vector<std::string> python_hmac_batch(
    std::vector<std::pair<std::string, std::string>> const& cases, bool base64_key_and_output = false) {
  std::vector<std::unique_ptr<temp_file>> files;
  std::string manifest;
  for (auto const& [k, m] : cases) {
    files.push_back(std::make_unique<temp_file>(k));
    manifest += files.back()->path() + "\n";
    files.push_back(std::make_unique<temp_file>(m));
    manifest += files.back()->path() + "\n";
  }
  temp_file list{manifest};
  auto const out = run(std::string("python3 -c \"import hmac,hashlib,sys,base64\n"
                                   "p=open(sys.argv[1]).read().split()\n"
                                   "for i in range(0,len(p),2):\n"
                                   " k=open(p[i],'rb').read(); m=open(p[i+1],'rb').read()\n") +
                       (base64_key_and_output
                            ? " print(base64.b64encode(hmac.new(base64.b64decode(k),m,hashlib.sha256).digest()).decode())\" "
                            : " print(hmac.new(k,m,hashlib.sha256).hexdigest())\" ") +
                       list.path());
  std::vector<std::string> lines;
  std::size_t start = 0;
  while (start <= out.size() && lines.size() < cases.size()) {
    auto const nl = out.find('\n', start);
    lines.push_back(out.substr(start, nl - start));
    if (nl == std::string::npos) break;
    start = nl + 1;
  }
  BOOST_TEST_REQUIRE(lines.size() == cases.size());
  return lines;
}

// hex HMAC-SHA256 by `openssl dgst -sha256 -hmac <key>` (printable keys only).
inline std::string openssl_hmac_hex(std::string_view key, std::string_view message) {
  temp_file m{message};
  std::string quoted = "'";
  for (char c : key) quoted += c == '\'' ? std::string("'\\''") : std::string(1, c);
  quoted += "'";
  auto const out = run("openssl dgst -sha256 -r -hmac " + quoted + " " + m.path());
  return out.substr(0, out.find(' '));
}

// Random bytes / printable text from a seeded generator (reproducible failures).
inline std::string random_bytes(pulsehook::prng& g, std::size_t n) {
  std::string s(n, '\0');
  for (auto& c : s) c = static_cast<char>(g() & 0xff);
  return s;
}
inline std::string random_printable(pulsehook::prng& g, std::size_t n) {
  std::string s(n, '\0');
  for (auto& c : s) c = static_cast<char>(g.uniform(0x21, 0x7e));
  return s;
}

} // namespace oracle

#endif
