#include "cpython/gil.h"

#include <fmt/format.h>

namespace pyattach::cpython {

Result<GilState> read_gil(const RemoteMemory& memory, const Offsets& o, RemoteAddr runtime,
                          RemoteAddr interp) {
  if (o.gil.locked == kAbsent || o.gil.last_holder == kAbsent ||
      (o.gil.runtime_gil == kAbsent && o.gil.interp_gil == kAbsent))
    return fail(ErrorCode::kDebugInfo,
                fmt::format("the GIL's layout of CPython {} is unknown",
                            o.version.to_string()));
  GilState gil;
  if (o.gil.runtime_gil != kAbsent) {
    gil.address = runtime + o.gil.runtime_gil;
  } else {
    if (!interp) return fail(ErrorCode::kCorruptData, "no interpreter state for the GIL");
    gil.address = PYATTACH_TRY(memory.read_pointer(interp + o.gil.interp_gil));
    if (!gil.address) return fail(ErrorCode::kCorruptData, "the interpreter has no GIL");
  }
  const auto locked = PYATTACH_TRY(memory.read_value<std::int32_t>(gil.address + o.gil.locked));
  gil.locked = locked == 1;
  gil.last_holder =
      PYATTACH_TRY(memory.read_pointer(gil.address + o.gil.last_holder));
  return gil;
}

GilFutex classify_gil_futex(const GilState& gil, const Offsets& o, RemoteAddr word) {
  auto within = [&](std::uint64_t begin, std::uint64_t end) {
    return begin != kAbsent && end != kAbsent && begin < end && word >= gil.address + begin &&
           word < gil.address + end;
  };
  if (!gil.address || !word) return GilFutex::kNone;
  if (within(o.gil.cond, o.gil.mutex)) return GilFutex::kCond;
  if (within(o.gil.switch_cond, o.gil.switch_mutex)) return GilFutex::kSwitchCond;
  // Each mutex is followed by the next field; a pthread_mutex_t is 40 bytes.
  constexpr std::uint64_t kMutexSize = 40;
  auto mutex_at = [&](std::uint64_t at) {
    return at != kAbsent && word >= gil.address + at && word < gil.address + at + kMutexSize;
  };
  if (mutex_at(o.gil.mutex) || mutex_at(o.gil.switch_mutex)) return GilFutex::kMutex;
  return GilFutex::kNone;
}

}  // namespace pyattach::cpython
