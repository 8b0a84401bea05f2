// Coverage feedback for libFuzzer from GCC-instrumented code.
//
// pyattach needs C++23's <expected>, which clang 14 cannot compile against
// libstdc++ 12, so the fuzz target is built by GCC, which has no
// -fsanitize=fuzzer. GCC's -fsanitize-coverage=trace-pc calls
// __sanitizer_cov_trace_pc() in every basic block; libFuzzer 14 stopped
// counting those calls (its own definition, weakened in the copy CMake links,
// only reports that). This one hashes the caller's address into a table of
// 8-bit counters that libFuzzer reads as inline counters. trace-cmp hooks are
// libFuzzer's own. Compiled without coverage instrumentation.
#include <cstddef>
#include <cstdint>

extern "C" void __sanitizer_cov_8bit_counters_init(std::uint8_t* start, std::uint8_t* stop);

namespace {
constexpr std::size_t kCounters = 1 << 16;
alignas(4096) std::uint8_t g_counters[kCounters];

__attribute__((constructor)) void register_counters() {
  __sanitizer_cov_8bit_counters_init(g_counters, g_counters + kCounters);
}
}  // namespace

extern "C" __attribute__((no_sanitize("address", "undefined"))) void __sanitizer_cov_trace_pc() {
  auto pc = reinterpret_cast<std::uintptr_t>(__builtin_return_address(0));
  ++g_counters[(pc ^ (pc >> 16)) & (kCounters - 1)];
}

// GCC's trace-cmp also reports float and double comparisons, which libFuzzer
// has no hooks for; they carry no useful guidance here.
extern "C" void __sanitizer_cov_trace_cmpf(float, float) {}
extern "C" void __sanitizer_cov_trace_cmpd(double, double) {}
