// --stats: where the time of one pyattach run goes, printed to stderr.
#pragma once

#include <chrono>
#include <cstdint>
#include <ostream>

namespace pyattach::cli {

using Clock = std::chrono::steady_clock;

inline double ms_between(Clock::time_point from, Clock::time_point to) {
  return std::chrono::duration<double, std::milli>(to - from).count();
}

struct RunStats {
  Clock::time_point start = Clock::now();
  double prepare_ms = 0;     // everything before the first stop
  double symbols_ms = 0;     //   of which /proc maps and ELF symbol tables
  double offsets_ms = 0;     //   of which struct offsets (DWARF, cache, table)
  bool offsets_cached = false;
  double pause_ms = 0;       // first seize .. last thread resumed, all stops
  double seize_ms = 0;       //   of which seizing and interrupting every thread
  double registers_ms = 0;   //     of which reading their registers
  double read_ms = 0;        //   of which reading memory while stopped
  double stacks_ms = 0;      //     of which copying the thread stacks
  double states_ms = 0;      //     of which listing the thread states
  double frame_pages_ms = 0; //     of which fetching the Python frames' pages
  double frames_ms = 0;      //     of which walking the Python frame chains
  double detach_ms = 0;      //   of which resuming and detaching every thread
  double commands_while_stopped_ms = 0;  // value commands' reading pass (one-shot)
  double snapshot_ms = 0;    // unwinding, symbols, frame mapping (after the release)
  double render_ms = 0;      // commands' output
  int stops = 0;
  std::uint64_t threads = 0, native_frames = 0, python_frames = 0;
  // Memory, from the page cache and the live reader.
  std::uint64_t syscalls = 0, bytes = 0, cache_hits = 0, cache_misses = 0, pages = 0,
                bad_pages = 0, pages_after_release = 0, refused_after_release = 0;

  void print(std::ostream& err) const;
};

}  // namespace pyattach::cli
