// Runs a libFuzzer-style target without libFuzzer (GCC builds, CI): replays every file of the
// corpus directories given, then `--mutations N` deterministic random mutations of them
// (byte flips, inserts, deletes, splices, interesting bytes). Exit 0 when nothing crashed. On a
// crash (trap, abort, segfault) the input is written to ./replay-crash-input and its length to
// stderr, so it can be added to the corpus once fixed. Corpus files are read in name order so
// the mutations are the same on every machine.
//
//   permcache_http_parsers_fuzz_replay fuzz/corpus/http_parsers --mutations 20000
#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <csignal>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <random>
#include <sstream>
#include <string>
#include <vector>

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size);

namespace {

std::string ReadFile(const std::filesystem::path& p) {
  std::ifstream f(p, std::ios::binary);
  std::stringstream s;
  s << f.rdbuf();
  return s.str();
}

// The input being run, for the crash handler (read only there; set before each run).
const std::string* volatile g_current = nullptr;

void DumpCurrentInput(int sig) {
  // Async-signal-safe calls only.
  if (const std::string* in = g_current) {
    const int fd = open("replay-crash-input", O_WRONLY | O_CREAT | O_TRUNC, 0644);
    if (fd >= 0) {
      [[maybe_unused]] ssize_t n = write(fd, in->data(), in->size());
      close(fd);
    }
    static const char kMsg[] = "crash: input written to ./replay-crash-input\n";
    [[maybe_unused]] ssize_t n = write(2, kMsg, sizeof kMsg - 1);
  }
  signal(sig, SIG_DFL);
  raise(sig);
}

void Run(const std::string& input) {
  g_current = &input;
  LLVMFuzzerTestOneInput(reinterpret_cast<const uint8_t*>(input.data()), input.size());
  g_current = nullptr;
}

std::string Mutate(std::string s, const std::vector<std::string>& corpus, std::mt19937_64& rng) {
  static const char* kTokens[] = {"{", "}", "[", "]", "\"", ":", ",", "\\u0000", "%", "%zz",
                                  "&", "=", "*", "null", "true", "1e400", "-0", "9223372036854775808",
                                  "\"op\"", "\"put_policy\"", "\"permissions\"", "\"tenant\""};
  const int edits = 1 + static_cast<int>(rng() % 4);
  for (int e = 0; e < edits; ++e) {
    const size_t pos = s.empty() ? 0 : rng() % (s.size() + 1);
    switch (rng() % 6) {
      case 0:
        if (!s.empty()) s[pos % s.size()] ^= static_cast<char>(1u << (rng() % 8));
        break;
      case 1:
        s.insert(pos, 1, static_cast<char>(rng() % 256));
        break;
      case 2:
        if (!s.empty()) s.erase(pos % s.size(), 1 + rng() % 8);
        break;
      case 3:
        s.insert(pos, kTokens[rng() % (sizeof kTokens / sizeof *kTokens)]);
        break;
      case 4: {
        const std::string& other = corpus[rng() % corpus.size()];
        if (!other.empty()) s.insert(pos, other.substr(rng() % other.size()));
        break;
      }
      case 5:
        s.insert(pos, std::string(1 + rng() % 64, "[{\"a\":"[rng() % 6]));
        break;
    }
  }
  if (s.size() > 1 << 16) s.resize(1 << 16);
  return s;
}

}  // namespace

int main(int argc, char** argv) {
  std::vector<std::string> corpus;
  long mutations = 0;
  for (int i = 1; i < argc; ++i) {
    if (std::strcmp(argv[i], "--mutations") == 0 && i + 1 < argc) {
      mutations = std::atol(argv[++i]);
      continue;
    }
    std::vector<std::filesystem::path> files;
    for (const auto& entry : std::filesystem::directory_iterator(argv[i])) {
      if (entry.is_regular_file()) files.push_back(entry.path());
    }
    std::sort(files.begin(), files.end());
    for (const auto& f : files) corpus.push_back(ReadFile(f));
  }
  if (corpus.empty()) {
    std::fprintf(stderr, "no corpus files\n");
    return 2;
  }
  for (int sig : {SIGILL, SIGTRAP, SIGABRT, SIGSEGV, SIGBUS, SIGFPE}) signal(sig, DumpCurrentInput);
  for (const std::string& input : corpus) Run(input);
  std::mt19937_64 rng(20261121);
  for (long i = 0; i < mutations; ++i) Run(Mutate(corpus[rng() % corpus.size()], corpus, rng));
  std::printf("replayed %zu corpus inputs and %ld mutations: no crash\n", corpus.size(), mutations);
  return 0;
}
