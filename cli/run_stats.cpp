#include "run_stats.h"

#include <fmt/format.h>

namespace pyattach::cli {

void RunStats::print(std::ostream& err) const {
  const double total = ms_between(start, Clock::now());
  err << fmt::format("pyattach: stats: pause {:.3f} ms over {} stop(s) (seize+interrupt {:.3f} ms, "
                     "reading {:.3f} ms, value commands {:.3f} ms, detaching {:.3f} ms)\n",
                     pause_ms, stops, seize_ms, read_ms, commands_while_stopped_ms, detach_ms);
  err << fmt::format("pyattach: stats: pause parts: registers {:.3f} ms (in seize+interrupt); "
                     "reading: stacks {:.3f} ms, thread states {:.3f} ms, frame pages {:.3f} ms, "
                     "frame walk {:.3f} ms\n",
                     registers_ms, stacks_ms, states_ms, frame_pages_ms, frames_ms);
  err << fmt::format("pyattach: stats: threads {}, native frames {}, Python frames {}\n", threads,
                     native_frames, python_frames);
  err << fmt::format(
      "pyattach: stats: memory: {} syscalls, {} bytes, {} pages cached ({} unreadable), "
      "cache hits {}, misses {}; after the release {} pages read live, {} reads refused\n",
      syscalls, bytes, pages, bad_pages, cache_hits, cache_misses, pages_after_release,
      refused_after_release);
  err << fmt::format(
      "pyattach: stats: before the stop {:.1f} ms (maps and ELF symbols {:.1f} ms, offsets "
      "{:.1f} ms{}); after: snapshot {:.1f} ms, rendering {:.1f} ms; total {:.1f} ms\n",
      prepare_ms, symbols_ms, offsets_ms, offsets_cached ? " from the cache" : "", snapshot_ms,
      render_ms, total);
}

}  // namespace pyattach::cli
