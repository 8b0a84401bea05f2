#include "cpython/locks.h"

#include <algorithm>
#include <map>
#include <set>
#include <span>
#include <unordered_map>

#include <fmt/format.h>

#include "core/log.h"
#include "cpython/line_table.h"
#include "cpython/python_stack.h"
#include "cpython/strings.h"

namespace pyattach::cpython {
namespace {

constexpr std::size_t kMaxStackSlots = 4096;
constexpr std::size_t kMaxNativeScanBytes = 64 * 1024;
constexpr std::size_t kMaxCodeBytes = 64 * 1024;
constexpr std::size_t kMaxBlocks = 20;  // CO_MAXBLOCKS, 3.8-3.10

// The C functions that block a thread on a _thread lock, in some version.
// PyThread_acquire_lock_timed is exported by every version, so it is named
// even in stripped interpreters.
bool is_lock_wait_function(std::string_view name) {
  static constexpr std::string_view kNames[] = {
      "PyThread_acquire_lock_timed", "PyThread_acquire_lock_timed_with_retries",
      "acquire_timed", "lock_PyThread_acquire_lock", "rlock_acquire",
      "_PyMutex_LockTimed", "_PyMutex_LockSlow", "_PyParkingLot_Park"};
  return std::find(std::begin(kNames), std::end(kNames), name) != std::end(kNames);
}

bool is_sync_module_file(std::string_view file) {
  return file.ends_with("/threading.py") || file.ends_with("/queue.py") ||
         file == "threading.py" || file == "queue.py";
}

std::string qualified_type_name(std::string_view file, const std::string& type_name) {
  static constexpr std::string_view kThreading[] = {
      "Condition", "Event", "Semaphore", "BoundedSemaphore", "Barrier",
      "Thread",    "Timer", "_MainThread", "_DummyThread", "RLock", "_RLock"};
  static constexpr std::string_view kQueue[] = {"Queue", "LifoQueue", "PriorityQueue",
                                                "SimpleQueue", "_PySimpleQueue"};
  if (file.ends_with("threading.py") &&
      std::find(std::begin(kThreading), std::end(kThreading), type_name) != std::end(kThreading))
    return "threading." + type_name;
  if (file.ends_with("queue.py") &&
      std::find(std::begin(kQueue), std::end(kQueue), type_name) != std::end(kQueue))
    return "queue." + type_name;
  return type_name;
}

const PyValue* attribute(const PyValue& instance, std::string_view name) {
  if (instance.kind != ValueKind::kInstance) return nullptr;
  const auto& c = instance.children;
  for (std::size_t i = 0; i + 1 < c.size(); i += 2)
    if (c[i].kind == ValueKind::kStr && c[i].text == name) return &c[i + 1];
  return nullptr;
}

std::optional<std::uint64_t> int_value(const PyValue& v) {
  if (v.kind != ValueKind::kInt || v.text.empty() || v.text[0] == '-') return std::nullopt;
  std::uint64_t out = 0;
  for (char ch : v.text) {
    if (ch < '0' || ch > '9' || out > (~std::uint64_t{0} - 9) / 10) return std::nullopt;
    out = out * 10 + static_cast<std::uint64_t>(ch - '0');
  }
  return out;
}

// A with-block whose __exit__ is live on a frame's value stack.
struct WithExit {
  std::size_t slot = 0;
  std::optional<int> line;  // the `with` statement
};

// The part of a frame's value stack known to be live, and its with-blocks.
struct FrameStack {
  RemoteAddr base;            // slot 0
  std::size_t live = 0;       // slots [0, live) hold live values
  std::size_t size = 0;       // co_stacksize (bounded)
  std::vector<WithExit> withs;
  std::vector<std::uint64_t> slots;  // [0, size) as read; shorter if unreadable
};

class Analyzer {
 public:
  Analyzer(const ProcessSnapshot& snapshot, const LockAnalysisContext& c)
      : snapshot_(snapshot), c_(c), o_(c.offsets) {}

  LockAnalysis run() {
    LockAnalysis out;
    out.threads.resize(snapshot_.threads.size());
    for (std::size_t t = 0; t < snapshot_.threads.size(); ++t) {
      const auto& thread = snapshot_.threads[t];
      out.threads[t].holds = find_holds(thread);
      out.threads[t].waits = find_wait(thread);
    }
    find_local_holders(out);
    for (auto& [addr, state] : locks_) out.locks.push_back(state);
    return out;
  }

 private:
  // --- Objects -------------------------------------------------------------

  std::optional<std::string> type_name_of(RemoteAddr obj) {
    if (obj.as_int() < 4096 || obj.as_int() % 8 != 0) return std::nullopt;
    auto type = c_.memory.read_pointer(obj + o_.object.ob_type);
    if (!type || type->as_int() < 4096 || type->as_int() % 8 != 0) return std::nullopt;
    if (auto it = type_names_.find(type->as_int()); it != type_names_.end()) return it->second;
    auto name_ptr = c_.memory.read_pointer(*type + o_.type.tp_name);
    if (!name_ptr) return std::nullopt;
    auto name = c_.memory.read_c_string(*name_ptr, 128);
    if (!name) return std::nullopt;
    if (type_names_.size() < 4096) type_names_.emplace(type->as_int(), *name);
    return *name;
  }

  // The lock object at `obj`, or nullptr if it is none.
  const LockState* lock_at(RemoteAddr obj) {
    if (auto it = locks_.find(obj); it != locks_.end()) return &it->second;
    if (not_locks_.count(obj)) return nullptr;
    auto name = type_name_of(obj);
    const bool is_lock = name && *name == "_thread.lock";
    const bool is_rlock = name && *name == "_thread.RLock";
    const auto& l = o_.thread_lock;
    if ((!is_lock && !is_rlock) || (is_lock && (l.lock_lock == kAbsent || l.locked == kAbsent)) ||
        (is_rlock && (l.rlock_lock == kAbsent || l.rlock_owner == kAbsent ||
                      l.rlock_count == kAbsent))) {
      if (not_locks_.size() < 100000) not_locks_.insert(obj);
      return nullptr;
    }
    LockState s;
    s.address = obj;
    s.type_name = *name;
    if (is_lock) {
      s.kind = LockKind::kLock;
      auto native = c_.memory.read_pointer(obj + l.lock_lock);
      auto locked = c_.memory.read_value<std::uint8_t>(obj + l.locked);
      if (!native || !locked) return nullptr;
      s.native_lock = *native;
      s.locked = *locked != 0;
    } else {
      s.kind = LockKind::kRLock;
      auto native = c_.memory.read_pointer(obj + l.rlock_lock);
      auto owner = c_.memory.read_u64(obj + l.rlock_owner);
      auto count = c_.memory.read_u64(obj + l.rlock_count);
      if (!native || !owner || !count) return nullptr;
      s.native_lock = *native;
      s.rlock_owner = *owner;
      s.rlock_count = *count;
      s.locked = *count > 0;
    }
    return &locks_.emplace(obj, std::move(s)).first->second;
  }

  // A builtin method object (PyCFunctionObject): its m_self and method name.
  std::optional<std::pair<RemoteAddr, std::string>> builtin_method(RemoteAddr obj) {
    if (obj.as_int() < 4096 || obj.as_int() % 8 != 0) return std::nullopt;
    auto type = c_.memory.read_pointer(obj + o_.object.ob_type);
    if (!type || (*type != c_.cfunction_type &&
                  (c_.cmethod_type.is_null() || *type != c_.cmethod_type)))
      return std::nullopt;
    auto self = c_.memory.read_pointer(obj + o_.cfunction.m_self);
    auto ml = c_.memory.read_pointer(obj + o_.cfunction.m_ml);
    if (!self || !ml) return std::nullopt;
    auto name_ptr = c_.memory.read_pointer(*ml + o_.cfunction.ml_name);
    if (!name_ptr) return std::nullopt;
    auto name = c_.memory.read_c_string(*name_ptr, 64);
    if (!name) return std::nullopt;
    return std::pair{*self, *name};
  }

  // `obj` itself if it is a lock, or the lock a builtin method of it is bound to.
  const LockState* lock_or_bound(RemoteAddr obj) {
    if (const auto* lock = lock_at(obj)) return lock;
    if (auto m = builtin_method(obj)) return lock_at(m->first);
    return nullptr;
  }

  // --- Value stacks ----------------------------------------------------------

  std::vector<std::uint64_t> read_words(RemoteAddr at, std::size_t count) {
    std::vector<std::uint64_t> words(count);
    std::size_t got = 0;
    while (got < count) {
      std::uint64_t addr = at.as_int() + got * 8;
      std::size_t in_page = std::max<std::size_t>((4096 - (addr & 4095)) / 8, 1);
      std::size_t n = std::min(count - got, in_page);
      if (!c_.memory.read(RemoteAddr(addr),
                          std::as_writable_bytes(std::span(words).subspan(got, n))))
        break;
      got += n;
    }
    words.resize(got);
    return words;
  }

  std::optional<std::vector<std::byte>> read_bytes_field(RemoteAddr code, std::uint64_t offset) {
    if (offset == kAbsent) return std::nullopt;
    auto obj = c_.memory.read_pointer(code + offset);
    if (!obj) return std::nullopt;
    auto bytes = read_bytes_object(c_.memory, *obj, o_.bytes, kMaxCodeBytes);
    if (!bytes) return std::nullopt;
    // Not memcpy: an empty table (co_exceptiontable is b'' in most functions) gives
    // an empty vector whose data() is null, and memcpy to null is undefined even of
    // 0 bytes (UBSan's report under live.test_deadlock).
    auto raw = std::as_bytes(std::span(bytes->data));
    return std::vector<std::byte>(raw.begin(), raw.end());
  }

  std::optional<int> line_at(RemoteAddr code, int byte_offset) {
    const auto& info = codes_.get(c_.memory, o_, code);
    if (!info.readable) return std::nullopt;
    LineTableFormat format = o_.version.at_least(3, 11)   ? LineTableFormat::kLocationTable
                             : o_.version.at_least(3, 10) ? LineTableFormat::kLinetable310
                                                          : LineTableFormat::kLnotab;
    return addr_to_line(format, info.linetable, info.firstlineno, byte_offset);
  }

  std::optional<FrameStack> frame_stack(const PyFrameSnapshot& frame) {
    if (!frame.readable || !frame.address || !frame.code) return std::nullopt;
    const auto& vs = o_.value_stack;
    if (vs.co_stacksize == kAbsent) return std::nullopt;
    auto stacksize = c_.memory.read_value<std::int32_t>(frame.code + vs.co_stacksize);
    if (!stacksize || *stacksize < 0) return std::nullopt;
    FrameStack fs;
    fs.size = std::min<std::size_t>(static_cast<std::size_t>(*stacksize), kMaxStackSlots);
    if (o_.version.at_least(3, 11)) {
      if (!stack_311(frame, fs)) return std::nullopt;
    } else {
      if (!stack_38(frame, fs)) return std::nullopt;
    }
    fs.live = std::min(fs.live, fs.size);
    fs.slots = read_words(fs.base, fs.size);
    return fs;
  }

  // 3.8-3.10: the block stack says how deep the live stack is, and each
  // SETUP_FINALLY block that SETUP_WITH made sits right above its __exit__.
  bool stack_38(const PyFrameSnapshot& frame, FrameStack& fs) {
    const auto& vs = o_.value_stack;
    if (vs.f_valuestack == kAbsent || vs.f_iblock == kAbsent || vs.f_blockstack == kAbsent ||
        vs.try_block_size == kAbsent || vs.b_type == kAbsent || vs.b_handler == kAbsent ||
        vs.b_level == kAbsent)
      return false;
    auto base = c_.memory.read_pointer(frame.address + vs.f_valuestack);
    auto iblock = c_.memory.read_value<std::int32_t>(frame.address + vs.f_iblock);
    if (!base || !iblock || *iblock < 0) return false;
    fs.base = *base;
    std::optional<std::vector<std::byte>> code;
    const int blocks = std::min<int>(*iblock, kMaxBlocks);
    for (int i = 0; i < blocks; ++i) {
      RemoteAddr block = frame.address + vs.f_blockstack +
                         static_cast<std::uint64_t>(i) * vs.try_block_size;
      auto type = c_.memory.read_value<std::int32_t>(block + vs.b_type);
      auto handler = c_.memory.read_value<std::int32_t>(block + vs.b_handler);
      auto level = c_.memory.read_value<std::int32_t>(block + vs.b_level);
      if (!type || !handler || !level || *level < 0) return false;
      fs.live = std::max(fs.live, static_cast<std::size_t>(*level));
      constexpr int kSetupFinally = 122;  // SETUP_WITH pushes this block kind
      if (*type != kSetupFinally || *level == 0) continue;
      WithExit w;
      w.slot = static_cast<std::size_t>(*level - 1);
      if (!code) code = read_bytes_field(frame.code, vs.co_code);
      if (code) w.line = setup_with_line(frame.code, *code, *handler);
      fs.withs.push_back(w);
    }
    return true;
  }

  // The line of the SETUP_WITH whose block handler is `handler` (3.8-3.10).
  std::optional<int> setup_with_line(RemoteAddr code_object, const std::vector<std::byte>& code,
                                     int handler) {
    constexpr int kSetupWith = 143, kExtendedArg = 144;
    const bool units = o_.version.at_least(3, 10);  // 3.10 jumps count code units
    std::uint32_t ext = 0;
    for (std::size_t i = 0; i + 1 < code.size(); i += 2) {
      int op = static_cast<int>(code[i]);
      std::uint32_t arg = (ext << 8) | static_cast<std::uint32_t>(code[i + 1]);
      if (op == kExtendedArg) {
        ext = arg;
        continue;
      }
      ext = 0;
      if (op != kSetupWith) continue;
      std::int64_t next = static_cast<std::int64_t>(i + 2);
      std::int64_t target = units ? next / 2 + arg : next + arg;
      if (target == handler) return line_at(code_object, static_cast<int>(i));
    }
    return std::nullopt;
  }

  // 3.11+: the exception table entry that covers the current instruction
  // gives the live depth; each with-block's handler entry sits right after
  // its BEFORE_WITH.
  bool stack_311(const PyFrameSnapshot& frame, FrameStack& fs) {
    const auto& fv = o_.frame_vars;
    if (o_.iframe.localsplus == kAbsent || fv.co_nlocalsplus == kAbsent ||
        o_.code.code_adaptive == kAbsent || o_.iframe.instr == kAbsent)
      return false;
    auto nlocalsplus = c_.memory.read_value<std::int32_t>(frame.code + fv.co_nlocalsplus);
    auto instr = c_.memory.read_pointer(frame.address + o_.iframe.instr);
    if (!nlocalsplus || *nlocalsplus < 0 || *nlocalsplus > 1 << 16 || !instr) return false;
    fs.base = frame.address + o_.iframe.localsplus + static_cast<std::uint64_t>(*nlocalsplus) * 8;
    RemoteAddr first = frame.code + o_.code.code_adaptive;
    if (*instr < first || instr->as_int() - first.as_int() > kMaxCodeBytes) return false;
    const std::int64_t current = static_cast<std::int64_t>((instr->as_int() - first.as_int()) / 2);
    auto table = read_bytes_field(frame.code, o_.value_stack.co_exceptiontable);
    if (!table) return false;
    struct Entry {
      std::int64_t start, end, target, depth;
      bool lasti;
    };
    std::vector<Entry> entries;
    std::size_t pos = 0;
    auto varint = [&](std::int64_t& out) {
      if (pos >= table->size()) return false;
      auto b = static_cast<std::uint8_t>((*table)[pos++]);
      out = b & 63;
      for (int n = 0; (b & 64) && n < 8; ++n) {
        if (pos >= table->size()) return false;
        b = static_cast<std::uint8_t>((*table)[pos++]);
        out = (out << 6) | (b & 63);
      }
      return true;
    };
    while (pos < table->size() && entries.size() < 1 << 14) {
      std::int64_t start, length, target, dl;
      if (!varint(start) || !varint(length) || !varint(target) || !varint(dl)) break;
      entries.push_back({start, start + length, target, dl >> 1, (dl & 1) != 0});
    }
    for (const auto& e : entries)
      if (e.start <= current && current < e.end) {
        fs.live = static_cast<std::size_t>(std::max<std::int64_t>(e.depth, 0));
        break;
      }
    const int before_with = o_.version.at_least(3, 13) ? 2 : 53;
    for (std::size_t slot = 0; slot < fs.live && slot < kMaxStackSlots; ++slot) {
      // The handler protecting a with-body keeps depth slot+1 (the __exit__
      // and everything below it); its first range starts right after BEFORE_WITH.
      std::map<std::int64_t, std::int64_t> first_start;  // target -> lowest start
      for (const auto& e : entries)
        if (e.lasti && e.depth == static_cast<std::int64_t>(slot + 1) && e.start <= current) {
          auto [it, inserted] = first_start.emplace(e.target, e.start);
          if (!inserted) it->second = std::min(it->second, e.start);
        }
      std::optional<std::int64_t> best;
      for (const auto& [target, start] : first_start)
        if (!best || start > *best) best = start;
      WithExit w;
      w.slot = slot;
      if (best && *best >= 1) {
        auto op = c_.memory.read_value<std::uint8_t>(first + static_cast<std::uint64_t>(*best - 1) * 2);
        if (op && *op == before_with)
          w.line = line_at(frame.code, static_cast<int>((*best - 1) * 2));
      }
      fs.withs.push_back(w);
    }
    return true;
  }

  // --- Holders ---------------------------------------------------------------

  std::vector<HeldLock> find_holds(const ThreadSnapshot& thread) {
    std::vector<HeldLock> holds;
    for (std::size_t f = 0; f < thread.python.size() && f < 1024; ++f) {
      auto fs = frame_stack(thread.python[f]);
      if (!fs) continue;
      for (const auto& w : fs->withs) {
        if (w.slot >= fs->slots.size()) continue;
        RemoteAddr exit(fs->slots[w.slot]);
        HeldLock held;
        held.python_frame = f;
        held.acquire_line = w.line;
        if (auto m = builtin_method(exit); m && m->second == "__exit__") {
          if (!lock_at(m->first)) continue;
          held.lock = m->first;
        } else if (auto via = condition_lock(exit)) {
          held.lock = via->second;
          held.via = via->first;
        } else {
          continue;
        }
        holds.push_back(held);
      }
    }
    return holds;
  }

  // `exit` is Condition.__exit__ bound to a Condition: (condition, its _lock).
  std::optional<std::pair<RemoteAddr, RemoteAddr>> condition_lock(RemoteAddr exit) {
    auto name = type_name_of(exit);
    if (!name || *name != "method") return std::nullopt;
    PyValue m = c_.values.read(exit);
    if (m.kind != ValueKind::kMethod || !m.name.ends_with(".__exit__") || !m.self_address)
      return std::nullopt;
    PyValue self = c_.values.read(m.self_address);
    const PyValue* lock = attribute(self, "_lock");
    if (!lock || !lock_at(lock->address)) return std::nullopt;
    return std::pair{m.self_address, lock->address};
  }

  // A plain Lock that someone waits for and no with-block explains: a local
  // of another thread's frame (outside threading.py/queue.py) that refers to
  // it makes that thread the inferred holder. Weak, so only when exactly one
  // thread has such a reference.
  void find_local_holders(LockAnalysis& out) {
    std::set<RemoteAddr> unexplained;
    for (const auto& t : out.threads)
      if (t.waits && t.waits->lock)
        if (const auto* lock = lock_at(t.waits->lock);
            lock && lock->kind == LockKind::kLock && lock->locked)
          unexplained.insert(lock->address);
    for (const auto& t : out.threads)
      for (const auto& h : t.holds) unexplained.erase(h.lock);
    if (unexplained.empty()) return;
    std::map<RemoteAddr, std::vector<std::pair<std::size_t, HeldLock>>> refs;
    for (std::size_t t = 0; t < snapshot_.threads.size(); ++t) {
      const auto& thread = snapshot_.threads[t];
      RemoteAddr waits = out.threads[t].waits ? out.threads[t].waits->lock : RemoteAddr();
      std::set<RemoteAddr> seen_here;
      for (std::size_t f = 0; f < thread.python.size() && f < 1024; ++f) {
        const auto& frame = thread.python[f];
        if (!frame.readable || is_sync_module_file(frame.filename)) continue;
        auto locals = c_.values.read_locals(frame.address);
        if (!locals) continue;
        for (const auto& local : *locals) {
          RemoteAddr a = local.value.address;
          if (!unexplained.count(a) || a == waits || !seen_here.insert(a).second) continue;
          HeldLock held;
          held.lock = a;
          held.python_frame = f;
          held.evidence = HoldEvidence::kLocalReference;
          held.variable = local.name;
          refs[a].push_back({t, held});
        }
      }
    }
    for (auto& [lock, list] : refs)
      if (list.size() == 1) out.threads[list[0].first].holds.push_back(list[0].second);
  }

  // --- Waits -----------------------------------------------------------------

  std::optional<ThreadWait> find_wait(const ThreadSnapshot& thread) {
    // The innermost eval frame: below it, the C call that blocks.
    std::size_t eval = thread.native.size();
    for (std::size_t i = 0; i < thread.native.size(); ++i)
      if (!thread.native[i].python_frames.empty()) {
        eval = i;
        break;
      }
    if (eval == thread.native.size() || eval == 0) return std::nullopt;
    ThreadWait wait;
    wait.python_frame = thread.native[eval].python_frames.front();
    add_wrappers(thread, wait);

    bool in_lock_wait = false;
    for (std::size_t i = 0; i < eval; ++i)
      in_lock_wait |= is_lock_wait_function(c_function_name(thread.native[i].symbol));

    // The futex the thread sleeps on, matched against every lock met so far
    // and those on this thread's stacks.
    std::set<RemoteAddr> candidates;
    RemoteAddr from_cfunction;
    for (std::size_t i = 0; i < eval && !from_cfunction; ++i)
      if (thread.native[i].cfunction)
        if (auto m = builtin_method(thread.native[i].cfunction);
            m && (m->second == "acquire" || m->second == "__enter__" ||
                  m->second == "acquire_lock") && lock_at(m->first))
          from_cfunction = m->first;
    if (from_cfunction) candidates.insert(from_cfunction);
    auto native_locks = native_stack_locks(thread, eval);
    candidates.insert(native_locks.begin(), native_locks.end());
    RemoteAddr from_value_stack;
    if (auto fs = frame_stack(thread.python[*wait.python_frame]))
      for (std::size_t s = fs->live; s < fs->slots.size(); ++s)
        if (const auto* lock = lock_or_bound(RemoteAddr(fs->slots[s]))) {
          from_value_stack = lock->address;
          candidates.insert(lock->address);
          break;
        }

    RemoteAddr futex = c_.futex_word ? c_.futex_word(thread) : RemoteAddr();
    if (futex) {
      for (RemoteAddr a : candidates)
        if (const auto* lock = lock_at(a); lock && lock->native_lock == futex) {
          wait.lock = a;
          wait.evidence = WaitEvidence::kFutexAddress;
        }
      if (!wait.lock)
        for (const auto& [a, lock] : locks_)
          if (lock.native_lock == futex) {
            wait.lock = a;
            wait.evidence = WaitEvidence::kFutexAddress;
          }
    }
    if (!wait.lock && from_cfunction) {
      wait.lock = from_cfunction;
      wait.evidence = WaitEvidence::kCFunctionSelf;
    }
    if (!wait.lock && in_lock_wait && native_locks.size() == 1) {
      wait.lock = *native_locks.begin();
      wait.evidence = WaitEvidence::kNativeStack;
    }
    if (!wait.lock && in_lock_wait && from_value_stack) {
      wait.lock = from_value_stack;
      wait.evidence = WaitEvidence::kValueStack;
    }
    if (!wait.lock && !wait.join_ident) return std::nullopt;
    return wait;
  }

  // Lock objects in the callee-saved registers and on the C stack of the
  // frames below the innermost eval frame: the self of the C method.
  std::set<RemoteAddr> native_stack_locks(const ThreadSnapshot& thread, std::size_t eval) {
    std::set<RemoteAddr> found;
    for (std::size_t i = 0; i <= eval && i < thread.native.size(); ++i)
      for (const auto& reg : thread.native[i].frame.callee_saved)
        if (reg && lock_at(RemoteAddr(*reg))) found.insert(RemoteAddr(*reg));
    std::uint64_t begin = thread.native[0].frame.sp & ~std::uint64_t{7};
    std::uint64_t end = thread.native[eval].frame.sp;  // the eval frame's own stack is not ours
    if (end > begin) {
      end = std::min(end, begin + kMaxNativeScanBytes);
      for (std::uint64_t w : read_words(RemoteAddr(begin), (end - begin) / 8))
        if (lock_at(RemoteAddr(w))) found.insert(RemoteAddr(w));
    }
    return found;
  }

  void add_wrappers(const ThreadSnapshot& thread, ThreadWait& wait) {
    for (std::size_t f = *wait.python_frame; f < thread.python.size() && f < 64; ++f) {
      const auto& frame = thread.python[f];
      if (!frame.readable || !is_sync_module_file(frame.filename)) {
        wait.user_frame = f;
        return;
      }
      auto locals = c_.values.read_locals(frame.address);
      if (!locals) continue;
      for (const auto& local : *locals) {
        if (local.name != "self" || local.value.kind != ValueKind::kInstance) continue;
        if (!wait.wrappers.empty() && wait.wrappers.back().address == local.value.address) {
          // Thread.join -> _wait_for_tstate_lock: name the outer call, the one
          // the program made.
          wait.wrappers.back().method = frame.name;
          wait.wrappers.back().python_frame = f;
          break;
        }
        LockWrapper w;
        w.type_name = qualified_type_name(frame.filename, local.value.type_name);
        w.address = local.value.address;
        w.python_frame = f;
        w.method = frame.name;
        if ((frame.name == "join" || frame.name == "_wait_for_tstate_lock") && !wait.join_ident)
          if (const auto* ident = attribute(local.value, "_ident")) {
            wait.join_ident = int_value(*ident);
            if (const auto* name = attribute(local.value, "_name");
                name && name->kind == ValueKind::kStr)
              wait.join_name = name->text;
          }
        wait.wrappers.push_back(std::move(w));
        break;
      }
    }
  }

  const ProcessSnapshot& snapshot_;
  const LockAnalysisContext& c_;
  const Offsets& o_;
  CodeCache codes_;
  std::unordered_map<std::uint64_t, std::string> type_names_;
  std::map<RemoteAddr, LockState> locks_;
  std::set<RemoteAddr> not_locks_;
};

}  // namespace

std::string_view evidence_name(WaitEvidence e) {
  switch (e) {
    case WaitEvidence::kFutexAddress: return "futex address";
    case WaitEvidence::kCFunctionSelf: return "self of the called method";
    case WaitEvidence::kNativeStack: return "C stack";
    case WaitEvidence::kValueStack: return "Python value stack";
  }
  return "?";
}

std::string_view evidence_name(HoldEvidence e) {
  switch (e) {
    case HoldEvidence::kWithBlock: return "with block";
    case HoldEvidence::kLocalReference: return "local variable";
  }
  return "?";
}

const LockState* LockAnalysis::find(RemoteAddr lock) const {
  for (const auto& l : locks)
    if (l.address == lock) return &l;
  return nullptr;
}

LockAnalysis analyze_locks(const ProcessSnapshot& snapshot, const LockAnalysisContext& context) {
  return Analyzer(snapshot, context).run();
}

}  // namespace pyattach::cpython
