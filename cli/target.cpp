#include "target.h"

#include <malloc.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstring>
#include <tuple>
#include <unordered_map>
#include <filesystem>
#include <map>

#include <fmt/format.h>

#include "attach/proc.h"
#include "attach/unwinder.h"
#include "symbols/debug_files.h"
#include "core/log.h"
#include "core/syscalls.h"
#include "cpython/debug_offsets.h"
#include "cpython/gil.h"
#include "cpython/offsets_cache.h"
#include "cpython/offsets_table.h"
#include "cpython/python_stack.h"
#include "cpython/thread_frames.h"
#include "find_interpreter.h"
#include "cpython/thread_state.h"

namespace pyattach::cli {
namespace {

double ms_since(std::chrono::steady_clock::time_point start) {
  return std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start)
      .count();
}

// How much of each thread's stack is copied while it is stopped: from the
// stack pointer (less the red zone) up to the end of its mapping, at most
// this much. The unwinder then walks the copy after the release. Deeper
// native stacks unwind on through live reads, counted in --stats.
constexpr std::uint64_t kStackCapture = 1 << 20;
// A stack whose mapping appeared after prepare() read /proc/PID/maps.
constexpr std::uint64_t kStackCaptureUnknownMapping = 64 << 10;
constexpr std::uint64_t kRedZone = 128;

// Each module's .eh_frame_hdr at its runtime address, so that libunwind reads
// unwind tables from target memory instead of opening files by host path.
std::vector<attach::UnwindTableLocation> unwind_tables(const symbols::ModuleSymbolizer& symbols) {
  std::vector<attach::UnwindTableLocation> out;
  for (const auto& module : symbols.modules()) {
    if (!module.elf || !module.elf->eh_frame_hdr()) continue;
    const auto& segments = module.elf->load_segments();
    if (segments.empty()) continue;
    std::uint64_t low = ~0ull, high = 0;
    for (const auto& seg : segments) {
      low = std::min(low, seg.vaddr);
      high = std::max(high, seg.vaddr + seg.memsz);
    }
    out.push_back({low + module.bias, high + module.bias,
                   *module.elf->eh_frame_hdr() + module.bias});
  }
  return out;
}

// Memory the heap has never handed out costs a page fault (~1 us) on first
// use. While stopped, the frame walk allocates a few KiB per thread (frame
// records); so fault that much in before the stop and keep it: freed, it
// returns to the top of the heap, and the raised trim threshold stops glibc
// from giving the top back to the kernel. Chunks stay under the mmap
// threshold (128 KiB) so that they come from the heap.
void warm_heap(std::size_t bytes) {
  constexpr std::size_t kChunk = 64 << 10;
  static const bool trim_raised = ::mallopt(M_TRIM_THRESHOLD, 256 << 20) == 1;
  if (!trim_raised) return;
  std::vector<void*> chunks;
  chunks.reserve(bytes / kChunk + 1);
  for (std::size_t done = 0; done < bytes; done += kChunk) {
    void* chunk = std::malloc(kChunk);
    if (!chunk) break;
    std::memset(chunk, 0, kChunk);
    asm volatile("" : : "r"(chunk) : "memory");  // the writes must happen
    chunks.push_back(chunk);
  }
  // Newest first, so that each merges with the top of the heap.
  for (auto it = chunks.rbegin(); it != chunks.rend(); ++it) std::free(*it);
}

// The thread id the target itself sees (its innermost PID namespace's), which
// 3.11+ stores in native_thread_id; `tid` when NSpid cannot be read.
pid_t tid_in_target_namespace(pid_t pid, pid_t tid) {
  auto status = attach::read_thread_status(pid, tid);
  if (!status || status->ns_pids.empty()) return tid;
  return status->ns_pids.back();
}

}  // namespace

std::optional<OffsetsFrom> parse_offsets_from(std::string_view text) {
  if (text == "auto") return OffsetsFrom::kAuto;
  if (text == "dwarf") return OffsetsFrom::kDwarf;
  if (text == "debug-offsets") return OffsetsFrom::kDebugOffsets;
  if (text == "table") return OffsetsFrom::kTable;
  return std::nullopt;
}

Result<void> PreparedTarget::load_offsets(OffsetsFrom from, const symbols::LoadedModule& module,
                                          bool use_cache) {
  auto logger = log::get("cli");
  const cpython::PythonVersion& version = interpreter_.version;
  const std::string where =
      fmt::format("CPython {} in {}", version.to_string(), module.path);

  // DWARF: the interpreter's own, else its separate debug file.
  auto try_dwarf_uncached = [&]() -> Result<cpython::Offsets> {
    const auto wanted = cpython::TypeLayoutOffsetsSource::wanted_types(version);
    std::string host_path = attach::target_path(pid_, module.path);
    auto layouts = symbols::DwarfLayouts::load(host_path, wanted,
                                               cpython::TypeLayoutOffsetsSource::unit_hints());
    if (!layouts) {
      std::optional<std::string> debug_path;
      if (!module.debug_path.empty())
        debug_path = module.debug_path;
      else if (module.elf)
        debug_path = symbols::find_debug_file(
            *module.elf, module.path,
            [this](const std::string& p) { return attach::target_path(pid_, p); });
      if (debug_path) {
        logger->debug("{} has no usable debug info ({}); trying {}", module.path,
                      layouts.error().message, *debug_path);
        layouts = symbols::DwarfLayouts::load(*debug_path, wanted,
                                             cpython::TypeLayoutOffsetsSource::unit_hints());
        if (layouts) dwarf_file_ = *debug_path;
      }
    }
    if (!layouts)
      return fail(ErrorCode::kDebugInfo,
                  fmt::format("no usable debug info for {}: {}", where, layouts.error().message),
                  0,
                  fmt::format("install the interpreter's debug symbols (e.g. apt-get install "
                              "python{}.{}-dbg), or use --offsets-from table",
                              version.major, version.minor));
    if (dwarf_file_.empty()) dwarf_file_ = module.path;
    layouts_ = std::make_unique<symbols::DwarfLayouts>(std::move(*layouts));
    return cpython::TypeLayoutOffsetsSource(*layouts_).load(version);
  };
  // Offsets read from DWARF are kept per build ID: only the first run on an
  // interpreter pays for the DWARF walk.
  const std::string build_id = module.elf ? module.elf->build_id() : std::string();
  // Only while that DWARF is there: not for a stripped interpreter whose
  // debug file is gone or ignored (--no-debug-files, --debug-dir).
  const bool dwarf_present =
      module.elf &&
      (module.elf->has_dwarf() || !module.debug_path.empty() ||
       symbols::find_debug_file(*module.elf, module.path, [this](const std::string& p) {
         return attach::target_path(pid_, p);
       }));
  const auto cache = build_id.empty() || !use_cache || !dwarf_present
                         ? std::nullopt
                         : cpython::OffsetsCache::from_environment();
  auto try_dwarf = [&]() -> Result<cpython::Offsets> {
    if (cache) {
      if (auto cached = cache->load(build_id, version)) {
        times_.offsets_cached = true;
        logger->debug("offsets for build ID {} from {}", build_id,
                      cache->file_for(build_id).string());
        return *cached;
      }
    }
    auto offsets = try_dwarf_uncached();
    if (offsets && cache) {
      if (auto stored = cache->store(build_id, *offsets); !stored)
        logger->info("offsets not cached: {}", stored.error().message);
    }
    return offsets;
  };

  const cpython::TableOffsetsSource table;
  auto try_debug_offsets = [&]() -> Result<cpython::Offsets> {
    auto offsets = cpython::DebugOffsetsSource(memory_, interpreter_.runtime, table).load(version);
    if (!offsets)
      return fail(offsets.error().code,
                  fmt::format("no usable _Py_DebugOffsets for {}: {}", where,
                              offsets.error().message),
                  0, "use --offsets-from table or dwarf");
    return offsets;
  };

  Result<cpython::Offsets> offsets = fail(ErrorCode::kInternal, "no offsets source tried");
  switch (from) {
    case OffsetsFrom::kDwarf:
      offsets = try_dwarf();
      offsets_source_ = "dwarf";
      break;
    case OffsetsFrom::kDebugOffsets:
      offsets = try_debug_offsets();
      offsets_source_ = "debug-offsets";
      break;
    case OffsetsFrom::kTable:
      offsets = table.load(version);
      offsets_source_ = "table";
      break;
    case OffsetsFrom::kAuto:
      offsets = try_dwarf();
      offsets_source_ = "dwarf";
      if (!offsets && version.at_least(3, 13)) {
        logger->info("{}; trying _Py_DebugOffsets", offsets.error().message);
        offsets = try_debug_offsets();
        offsets_source_ = "debug-offsets";
      }
      if (!offsets) {
        logger->info("{}; trying the built-in table", offsets.error().message);
        offsets = table.load(version);
        offsets_source_ = "table";
      }
      break;
  }
  if (!offsets) return std::unexpected(offsets.error());
  offsets_ = *offsets;
  return {};
}

Result<std::unique_ptr<PreparedTarget>> PreparedTarget::prepare(pid_t pid, OffsetsFrom from,
                                                                bool use_offsets_cache) {
  auto logger = log::get("cli");
  if (auto ok = attach::StoppedProcess::check_attachable(pid); !ok)
    return std::unexpected(ok.error());
  auto status = attach::read_status(pid);
  if (!status) return std::unexpected(status.error());
  std::unique_ptr<PreparedTarget> target(new PreparedTarget(pid));
  const auto symbols_start = std::chrono::steady_clock::now();
  target->in_child_pid_namespace_ = status->ns_pids.size() > 1;
  target->maps_ = PYATTACH_TRY(attach::read_maps(pid));
  target->symbols_ = symbols::ModuleSymbolizer::build(
      target->maps_, [pid](const std::string& path) { return attach::target_path(pid, path); });
  target->unwind_tables_ = unwind_tables(target->symbols_);

  auto found = PYATTACH_TRY(
      find_interpreter(pid, status->name, target->maps_, target->symbols_, target->memory_));
  target->interpreter_ = found.interpreter;
  const Interpreter& interp = target->interpreter_;
  const symbols::LoadedModule* interpreter = found.module;

  target->times_.symbols_ms = ms_since(symbols_start);
  const auto offsets_start = std::chrono::steady_clock::now();
  auto loaded = target->load_offsets(from, *interpreter, use_offsets_cache);
  target->times_.offsets_ms = ms_since(offsets_start);
  if (!loaded)
    return std::unexpected(loaded.error());
  logger->info("CPython {} in {}, _PyRuntime at {:#x} (found by {}), offsets from {}{}",
               interp.version.to_string(), interp.module_path, interp.runtime.as_int(),
               cpython::describe(interp.runtime_found_by), target->offsets_source_,
               target->dwarf_file_.empty() ? "" : " (" + target->dwarf_file_ + ")");
  return target;
}

void PreparedTarget::index_all_symbols() {
  const auto start = std::chrono::steady_clock::now();
  symbols_.index_all();
  times_.symbols_ms += ms_since(start);
}

void PreparedTarget::before_stop() {
  cache_.clear();
  // A thread costs a few pages: its stack from the stack pointer up (two or
  // three for a thread blocked in Python code) and the pages around its
  // thread state and frames. What is not used only costs memory.
  constexpr std::size_t kPagesPerThread = 8, kPagesBase = 64;
  auto tids = attach::list_threads(pid_);
  const std::size_t threads = tids ? tids->size() : 1;
  cache_.reserve(kPagesBase + kPagesPerThread * threads);
  constexpr std::size_t kHeapPerThread = 8 << 10, kHeapBase = 256 << 10;
  warm_heap(kHeapBase + kHeapPerThread * threads);
}

StoppedCapture PreparedTarget::read_stopped(const attach::StoppedProcess& stopped) {
  StoppedCapture capture;
  auto part_start = std::chrono::steady_clock::now();
  auto end_part = [&part_start](double& part_ms) {
    part_ms = ms_since(part_start);
    part_start = std::chrono::steady_clock::now();
  };
  // Thread states and 3.11+ frame chains lie in a few neighbouring pages
  // (the frames of one thread in its data-stack chunk, older frames below):
  // fetch two pages below and one above each miss, within its mapping.
  cache_.set_read_around([this](std::uint64_t page) -> std::pair<std::uint64_t, std::uint64_t> {
    constexpr std::uint64_t kPage = CachingMemory::kPageSize;
    const MemoryMapping* m = find_mapping(maps_, page);
    if (!m || !m->readable) return {page, page + kPage};
    return {std::max<std::uint64_t>(m->start, page >= 2 * kPage ? page - 2 * kPage : 0),
            std::min<std::uint64_t>(m->end, page + 2 * kPage)};
  });
  // Every thread's stack in one batch: the unwinder walks these pages after
  // the release.
  std::vector<CachingMemory::Range> stacks;
  for (const auto& thread : stopped.threads()) {
    const std::uint64_t sp = thread.regs.rsp;
    if (sp < kRedZone) continue;
    std::uint64_t end = sp + kStackCaptureUnknownMapping;
    if (const MemoryMapping* m = find_mapping(maps_, sp)) end = std::min(m->end, sp + kStackCapture);
    stacks.push_back({RemoteAddr(sp - kRedZone), end - (sp - kRedZone)});
  }
  cache_.prefetch(stacks);
  end_part(capture.stacks_ms);

  auto states = cpython::read_thread_states(cache_, interpreter_.runtime, offsets_);
  if (!states) {
    capture.error = states.error().message;
    capture.error_code = states.error().code;
    return capture;
  }
  const bool by_native_id = offsets_.tstate.native_thread_id != cpython::kAbsent;
  // The GIL: one per runtime (<= 3.11) or per interpreter (3.12+).
  std::map<RemoteAddr, std::optional<cpython::GilState>> gils;
  auto gil_of = [&](RemoteAddr interp) {
    if (offsets_.gil.runtime_gil != cpython::kAbsent) interp = RemoteAddr();
    auto [it, fresh] = gils.try_emplace(interp);
    if (fresh) {
      if (auto gil = cpython::read_gil(cache_, offsets_, interpreter_.runtime, interp))
        it->second = *gil;
      else
        log::get("cli")->info("GIL unreadable: {}", gil.error().message);
    }
    return it->second;
  };
  // Each thread's state by the id it records (the first one, as a linear
  // search would find): a lookup each instead of a scan of all of them.
  std::unordered_map<std::uint64_t, std::size_t> state_of;
  state_of.reserve(states->size());
  for (std::size_t i = 0; i < states->size(); ++i)
    state_of.try_emplace(by_native_id ? (*states)[i].native_thread_id : (*states)[i].thread_id, i);
  end_part(capture.states_ms);
  capture.threads.reserve(stopped.threads().size());
  for (const auto& thread : stopped.threads()) {
    StoppedCapture::Thread out;
    out.tid = thread.tid;
    out.regs = thread.regs;
    // 3.11+ records the LWP as the target sees it (inside its PID
    // namespace); before, thread_id is the pthread_t, which on x86-64 glibc
    // is the thread pointer, i.e. fs_base.
    const pid_t native_tid = by_native_id && in_child_pid_namespace_
                                 ? tid_in_target_namespace(pid_, thread.tid)
                                 : thread.tid;
    auto match = state_of.find(by_native_id ? static_cast<std::uint64_t>(native_tid)
                                            : thread.regs.fs_base);
    if (match != state_of.end()) {
      const cpython::ThreadStateInfo& state = (*states)[match->second];
      out.tstate = state.tstate;
      out.gil = gil_of(state.interp);
    }
    capture.threads.push_back(std::move(out));
  }
  // Every thread's innermost frames in one batch rather than one read each
  // as each walk starts: a chain's frames lie together (3.11+: in the
  // thread's data stack), so most walks then need no other read.
  std::vector<RemoteAddr> innermost;
  for (const auto& thread : capture.threads)
    if (thread.tstate)
      if (RemoteAddr frame = cpython::innermost_frame_address(cache_, offsets_, thread.tstate))
        innermost.push_back(frame);
  cache_.prefetch_around(innermost);
  end_part(capture.frame_pages_ms);
  for (auto& thread : capture.threads)
    if (thread.tstate)
      thread.stack = cpython::read_python_stack(cache_, offsets_, thread.tstate, capture.codes,
                                                cpython::kMaxPythonFrames, /*decode=*/false);
  end_part(capture.frames_ms);
  return capture;
}

namespace {

// What must not change between the two reads of one attempt.
struct StackFingerprint {
  std::vector<std::tuple<std::uint64_t, std::uint64_t, int>> frames;  // address, code, line
  bool operator==(const StackFingerprint&) const = default;
};

StackFingerprint fingerprint(const cpython::PythonStack& stack) {
  StackFingerprint f;
  for (const auto& frame : stack.frames)
    f.frames.emplace_back(frame.address.as_int(), frame.code.as_int(), frame.line.value_or(-1));
  return f;
}

// glibc keeps a thread's LWP id in its struct pthread (the pthread_t, which
// is what CPython <= 3.10 records as thread_id). Its offset is not ABI, so
// find it: the offset at which every thread state's pthread holds one of the
// process's thread ids. 0x2d0 is glibc 2.26+'s, preferred when it fits.
std::optional<std::uint64_t> pthread_tid_offset(const RemoteMemory& memory,
                                                const std::vector<cpython::ThreadStateInfo>& states,
                                                const std::vector<pid_t>& tids) {
  constexpr std::uint64_t kScan = 1024;
  std::vector<std::vector<std::byte>> images;
  for (const auto& s : states) {
    auto bytes = memory.read_bytes(RemoteAddr(s.thread_id), kScan);
    if (bytes) images.push_back(std::move(*bytes));
  }
  if (images.empty()) return std::nullopt;
  std::vector<std::uint64_t> fits;
  for (std::uint64_t off = 0; off + 4 <= kScan; off += 4) {
    bool all = true;
    for (const auto& image : images) {
      std::int32_t v = 0;
      std::memcpy(&v, image.data() + off, 4);
      all &= std::find(tids.begin(), tids.end(), v) != tids.end();
    }
    if (all) fits.push_back(off);
  }
  if (std::find(fits.begin(), fits.end(), 0x2d0) != fits.end()) return 0x2d0;
  if (fits.empty()) return std::nullopt;
  return fits.front();
}

}  // namespace

Result<PreparedTarget::NonblockingResult> PreparedTarget::read_nonblocking(
    int max_attempts) const {
  NonblockingResult result;
  auto tids = PYATTACH_TRY(attach::list_threads(pid_));
  const bool by_native_id = offsets_.tstate.native_thread_id != cpython::kAbsent;
  struct Read {
    std::vector<cpython::ThreadStateInfo> states;
    std::vector<cpython::PythonStack> stacks;
  };
  auto read_all = [&]() -> Result<Read> {
    Read r;
    r.states = PYATTACH_TRY(cpython::read_thread_states(memory_, interpreter_.runtime, offsets_));
    cpython::CodeCache codes;
    for (const auto& s : r.states)
      r.stacks.push_back(cpython::read_python_stack(memory_, offsets_, s.tstate, codes));
    return r;
  };
  Read first;
  std::vector<bool> stable;
  for (int attempt = 1; attempt <= std::max(1, max_attempts); ++attempt) {
    result.attempts = attempt;
    first = PYATTACH_TRY(read_all());
    auto second = read_all();
    stable.assign(first.states.size(), false);
    bool all_stable = second && second->states.size() == first.states.size();
    for (std::size_t i = 0; i < first.states.size(); ++i) {
      stable[i] = second && i < second->states.size() &&
                  second->states[i].tstate == first.states[i].tstate &&
                  fingerprint(second->stacks[i]) == fingerprint(first.stacks[i]);
      all_stable &= stable[i];
    }
    if (all_stable) break;
  }

  std::optional<std::uint64_t> tid_offset;
  if (!by_native_id) tid_offset = pthread_tid_offset(memory_, first.states, tids);
  // native_thread_id is the id inside the target's PID namespace.
  std::unordered_map<pid_t, pid_t> host_tid;
  if (by_native_id && in_child_pid_namespace_)
    for (pid_t tid : tids) host_tid[tid_in_target_namespace(pid_, tid)] = tid;
  auto tid_of = [&](const cpython::ThreadStateInfo& s) -> pid_t {
    if (by_native_id && in_child_pid_namespace_) {
      auto it = host_tid.find(static_cast<pid_t>(s.native_thread_id));
      return it == host_tid.end() ? 0 : it->second;
    }
    if (by_native_id) return static_cast<pid_t>(s.native_thread_id);
    if (!tid_offset) return 0;
    auto v = memory_.read_value<std::int32_t>(RemoteAddr(s.thread_id + *tid_offset));
    return v ? *v : 0;
  };

  cpython::ProcessSnapshot& snapshot = result.snapshot;
  snapshot.pid = pid_;
  snapshot.version = interpreter_.version;
  snapshot.interpreter_path = interpreter_.module_path;
  // Threads in /proc order (main thread first), as a stopped snapshot lists them.
  std::vector<bool> used(first.states.size(), false);
  for (pid_t tid : tids) {
    cpython::ThreadSnapshot out;
    out.tid = tid;
    out.comm = attach::read_thread_name(pid_, tid);
    for (std::size_t i = 0; i < first.states.size(); ++i) {
      if (used[i] || tid_of(first.states[i]) != tid) continue;
      used[i] = true;
      out.tstate = first.states[i].tstate;
      out.pthread_id = first.states[i].thread_id;
      if (!stable[i]) result.inconsistent_tids.push_back(tid);
      cpython::PythonStack& stack = first.stacks[i];
      out.python = std::move(stack.frames);
      for (auto& w : stack.warnings) out.warnings.push_back(std::move(w));
      cpython::NativeFrameSnapshot eval;
      eval.is_eval = true;
      eval.symbol = "_PyEval_EvalFrameDefault";
      for (std::size_t k = 0; k < out.python.size(); ++k) eval.python_frames.push_back(k);
      if (!out.python.empty()) out.native.push_back(std::move(eval));
      out.mapping = cpython::FrameMapping::kByOrder;
      break;
    }
    snapshot.threads.push_back(std::move(out));
  }
  return result;
}

bool PreparedTarget::is_immutable(RemoteAddr addr) const {
  const MemoryMapping* m = find_mapping(maps_, addr.as_int());
  return m && !m->writable && m->is_file();
}

Result<cpython::ProcessSnapshot> PreparedTarget::build_snapshot(StoppedCapture capture) const {
  if (!capture.error.empty()) return fail(capture.error_code, capture.error);
  cpython::ProcessSnapshot snapshot;
  snapshot.pid = pid_;
  snapshot.version = interpreter_.version;
  snapshot.interpreter_path = interpreter_.module_path;

  attach::Unwinder unwinder(pid_, unwind_tables_);
  cpython::FrameContext context{cache_, offsets_, symbols_, interpreter_.cfunction_type,
                                interpreter_.cmethod_type};
  // Every thread unwound first, so that all the frames' addresses are looked
  // up in one pass per module instead of sorting each module's symbols.
  std::vector<Result<std::vector<NativeFrame>>> unwound;
  std::vector<RemoteAddr> pcs;
  for (const auto& thread : capture.threads) {
    unwound.push_back(unwinder.unwind(thread.tid, thread.regs, cache_));
    if (unwound.back())
      for (std::size_t i = 0; i < unwound.back()->size(); ++i)
        pcs.emplace_back((*unwound.back())[i].lookup_pc(i == 0));
  }
  symbols_.prefetch(pcs);
  for (std::size_t t = 0; t < capture.threads.size(); ++t) {
    auto& thread = capture.threads[t];
    cpython::ThreadSnapshot out;
    out.tid = thread.tid;
    out.pthread_id = thread.regs.fs_base;
    out.comm = attach::read_thread_name(pid_, thread.tid);
    out.regs = {.rip = thread.regs.rip,
                .rsp = thread.regs.rsp,
                .rax = thread.regs.rax,
                .orig_rax = static_cast<std::int64_t>(thread.regs.orig_rax),
                .rdi = thread.regs.rdi,
                .rsi = thread.regs.rsi,
                .rdx = thread.regs.rdx,
                .r10 = thread.regs.r10,
                .r8 = thread.regs.r8,
                .r9 = thread.regs.r9};
    out.tstate = thread.tstate;
    if (stopped_in_syscall(out.regs.orig_rax, out.regs.rax)) {
      cpython::SyscallInfo call;
      call.number = out.regs.orig_rax;
      std::string_view name = syscall_name(call.number);
      call.name = name.empty() ? fmt::format("syscall_{}", call.number) : std::string(name);
      call.args = out.regs.syscall_args();
      // fds are named after the target runs again (describe_syscalls).
      call.description = describe_syscall(call.number, call.args, nullptr);
      out.syscall = std::move(call);
    }
    std::vector<NativeFrame> native;
    if (auto& frames = unwound[t]) {
      native = std::move(*frames);
    } else {
      out.warnings.push_back("native unwinding failed: " + frames.error().message);
    }
    cpython::decode_frames(thread.stack, capture.codes);
    cpython::build_thread_frames(out, native, std::move(thread.stack), context);
    if (out.syscall && out.syscall->number == kSysRestartSyscall && !out.native.empty())
      if (auto original = syscall_from_wrapper_name(out.native.front().symbol)) {
        out.syscall->number = *original;
        out.syscall->name = std::string(syscall_name(*original));
        out.syscall->restarted = true;
        out.syscall->description = describe_syscall(*original, out.syscall->args, nullptr);
      }
    cpython::classify_thread(out, out.tstate ? thread.gil : std::nullopt, offsets_,
                             interpreter_.module_path);
    snapshot.threads.push_back(std::move(out));
  }
  return snapshot;
}

void name_syscall_fds(cpython::ProcessSnapshot& snapshot) {
  const pid_t pid = snapshot.pid;
  auto name_fd = [pid](int fd) { return attach::read_fd_target(pid, fd); };
  for (auto& thread : snapshot.threads)
    if (thread.syscall)
      thread.syscall->description =
          describe_syscall(thread.syscall->number, thread.syscall->args, name_fd);
}

}  // namespace pyattach::cli
