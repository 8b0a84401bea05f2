#include "attach/unwinder.h"

#include <libunwind-ptrace.h>
#include <libunwind.h>

#include <sys/stat.h>

#include <algorithm>
#include <array>
#include <memory>
#include <optional>
#include <string>
#include <type_traits>
#include <unordered_map>

#include "core/log.h"

// libunwind's binary search of a .eh_frame_hdr table, exported (libunwind-ptrace
// calls it) but not declared in its public headers.
extern "C" int _Ux86_64_dwarf_search_unwind_table(unw_addr_space_t as, unw_word_t ip,
                                                  unw_dyn_info_t* di, unw_proc_info_t* pi,
                                                  int need_unwind_info, void* arg);

namespace pyattach::attach {
namespace {

const std::shared_ptr<spdlog::logger>& logger() {
  static const auto l = log::get("unwind");
  return l;
}

// One module's unwind table; `info` is read from the target on first use.
struct ModuleTable {
  UnwindTableLocation where;
  bool looked = false;
  std::optional<unw_dyn_info_t> info;  // nullopt: no usable .eh_frame_hdr
};

// libunwind 1.6 (checked on Debian's 1.6.2) opens a mapped file as
// /proc/PID/root + its path; older releases open the path on the host.
constexpr bool kUptOpensThroughProcRoot =
    UNW_VERSION_MAJOR > 1 || (UNW_VERSION_MAJOR == 1 && UNW_VERSION_MINOR >= 6);

struct UnwindTables {
  std::vector<ModuleTable> modules;  // sorted by start
  // libunwind's _UPT_* lookups open the file the target mapped (not another
  // one at the same path on the host): its own /proc/PID/root handling, or
  // the target sees our root directory.
  bool upt_opens_targets_files = false;
};

// What libunwind hands back to our accessors as `arg` for one unwind.
struct Context {
  void* upt = nullptr;  // _UPT_create(tid) handle, for the _UPT_* callbacks
  const user_regs_struct* regs = nullptr;
  const RemoteMemory* memory = nullptr;
  UnwindTables* tables = nullptr;
};

// Bytes of a fixed-size DWARF pointer encoding (DW_EH_PE_*: low nibble is
// the format, 0xff "omit"); nullopt for the variable-size LEB128 forms.
std::optional<std::uint64_t> encoded_size(std::uint8_t encoding) {
  if (encoding == 0xff) return 0;
  switch (encoding & 0x0f) {
    case 0x00: return 8;               // absptr
    case 0x02: case 0x0a: return 2;    // udata2, sdata2
    case 0x03: case 0x0b: return 4;    // udata4, sdata4
    case 0x04: case 0x0c: return 8;    // udata8, sdata8
    default: return std::nullopt;
  }
}

// .eh_frame_hdr (LSB Core Specification, "Exception Frames"): version 1,
// eh_frame_ptr_enc, fde_count_enc, table_enc, then eh_frame_ptr, fde_count and
// fde_count (initial location, FDE address) pairs relative to the header,
// each a signed 32-bit value (table_enc DW_EH_PE_datarel|DW_EH_PE_sdata4; the
// only table libunwind searches). Everything is target memory: bounded by the
// module's span.
std::optional<unw_dyn_info_t> read_eh_frame_hdr(const RemoteMemory& memory,
                                                const UnwindTableLocation& where) {
  constexpr std::uint8_t kDatarelSdata4 = 0x3b;
  const std::uint64_t hdr = where.eh_frame_hdr;
  if (hdr < where.start || hdr >= where.end || where.end - hdr < 4) return std::nullopt;
  auto head = memory.read_value<std::array<std::uint8_t, 4>>(RemoteAddr(hdr));
  if (!head || (*head)[0] != 1 || (*head)[3] != kDatarelSdata4) return std::nullopt;
  const std::uint8_t count_enc = (*head)[2];
  auto ptr_size = encoded_size((*head)[1]);
  auto count_size = encoded_size(count_enc);
  // fde_count must be a plain number: no pc-/data-relative application.
  if (!ptr_size || !count_size || *count_size == 0 || (count_enc & 0x70) != 0)
    return std::nullopt;
  const std::uint64_t count_at = hdr + 4 + *ptr_size;
  auto raw = memory.read_u64(RemoteAddr(count_at));
  if (!raw) return std::nullopt;
  std::uint64_t count = *raw;
  if (*count_size == 2) count &= 0xffff;
  if (*count_size == 4) count &= 0xffffffff;
  if ((count_enc & 0x08) != 0 && *count_size == 4 && (count & 0x80000000u)) return std::nullopt;
  const std::uint64_t table = count_at + *count_size;
  if (table > where.end || count > (where.end - table) / 8) return std::nullopt;
  unw_dyn_info_t di{};
  di.start_ip = where.start;
  di.end_ip = where.end;
  di.format = UNW_INFO_FORMAT_REMOTE_TABLE;
  di.u.rti.name_ptr = 0;
  di.u.rti.segbase = hdr;  // "datarel" is relative to the header
  // In words: libunwind multiplies by sizeof(unw_word_t); one entry is 8 bytes.
  di.u.rti.table_len = count * 8 / sizeof(unw_word_t);
  di.u.rti.table_data = table;
  return di;
}

// The table of the module covering ip; nullptr when none does or its header
// is unusable.
const unw_dyn_info_t* table_for(UnwindTables& tables, const RemoteMemory& memory,
                                unw_word_t ip) {
  auto& modules = tables.modules;
  auto it = std::upper_bound(modules.begin(), modules.end(), ip,
                             [](unw_word_t v, const ModuleTable& m) { return v < m.where.start; });
  if (it == modules.begin()) return nullptr;
  ModuleTable& m = *std::prev(it);
  if (ip >= m.where.end) return nullptr;
  if (!m.looked) {
    m.looked = true;
    m.info = read_eh_frame_hdr(memory, m.where);
    if (!m.info)
      log::get("unwind")->debug("no usable .eh_frame_hdr at {:#x} for [{:#x}, {:#x})",
                                m.where.eh_frame_hdr, m.where.start, m.where.end);
  }
  return m.info ? &*m.info : nullptr;
}

// /proc/PID/root is our own root directory (same device and inode).
bool same_root_as_ours(pid_t pid) {
  struct stat theirs {}, ours {};
  const std::string root = "/proc/" + std::to_string(pid) + "/root";
  return ::stat(root.c_str(), &theirs) == 0 && ::stat("/", &ours) == 0 &&
         theirs.st_dev == ours.st_dev && theirs.st_ino == ours.st_ino;
}

// _UPT_find_proc_info calls back into our access_mem with *its* arg, the UPT
// handle, not our Context (libunwind src/ptrace/_UPT_find_proc_info.c passes it
// down to tdep_search_unwind_table). The unwind in progress on this thread
// lets us map either pointer back to the Context.
thread_local Context* t_active = nullptr;

Context* resolve(void* arg) {
  Context* ctx = t_active;
  if (ctx == nullptr) return nullptr;
  if (arg == ctx || arg == ctx->upt) return ctx;
  return nullptr;
}

// Frame-0 register values from the saved user_regs_struct.
bool reg_value(const user_regs_struct& r, unw_regnum_t reg, unw_word_t& out) {
  switch (reg) {
    case UNW_X86_64_RAX: out = r.rax; return true;
    case UNW_X86_64_RDX: out = r.rdx; return true;
    case UNW_X86_64_RCX: out = r.rcx; return true;
    case UNW_X86_64_RBX: out = r.rbx; return true;
    case UNW_X86_64_RSI: out = r.rsi; return true;
    case UNW_X86_64_RDI: out = r.rdi; return true;
    case UNW_X86_64_RBP: out = r.rbp; return true;
    case UNW_X86_64_RSP: out = r.rsp; return true;
    case UNW_X86_64_R8: out = r.r8; return true;
    case UNW_X86_64_R9: out = r.r9; return true;
    case UNW_X86_64_R10: out = r.r10; return true;
    case UNW_X86_64_R11: out = r.r11; return true;
    case UNW_X86_64_R12: out = r.r12; return true;
    case UNW_X86_64_R13: out = r.r13; return true;
    case UNW_X86_64_R14: out = r.r14; return true;
    case UNW_X86_64_R15: out = r.r15; return true;
    case UNW_X86_64_RIP: out = r.rip; return true;
    default: return false;
  }
}

extern "C" {

int acc_find_proc_info(unw_addr_space_t as, unw_word_t ip, unw_proc_info_t* pi,
                       int need_unwind_info, void* arg) {
  Context* ctx = resolve(arg);
  if (!ctx) return -UNW_EINVAL;
  if (ctx->tables) {
    if (const unw_dyn_info_t* di = table_for(*ctx->tables, *ctx->memory, ip)) {
      unw_dyn_info_t copy = *di;  // the search takes a non-const pointer
      int r = _Ux86_64_dwarf_search_unwind_table(as, ip, &copy, pi, need_unwind_info, ctx);
      if (r != -UNW_ENOINFO) return r;
    }
    // An old libunwind would open the host's file at the target's path: in
    // a container that is another file, or none.
    if (!ctx->tables->upt_opens_targets_files) return -UNW_ENOINFO;
  }
  return _UPT_find_proc_info(as, ip, pi, need_unwind_info, ctx->upt);
}

void acc_put_unwind_info(unw_addr_space_t as, unw_proc_info_t* pi, void* arg) {
  Context* ctx = resolve(arg);
  // _UPT_put_unwind_info only frees pi->unwind_info; it ignores its arg.
  _UPT_put_unwind_info(as, pi, ctx ? ctx->upt : arg);
}

int acc_get_dyn_info_list_addr(unw_addr_space_t as, unw_word_t* addr, void* arg) {
  Context* ctx = resolve(arg);
  if (!ctx) return -UNW_ENOINFO;
  return _UPT_get_dyn_info_list_addr(as, addr, ctx->upt);
}

int acc_access_mem(unw_addr_space_t, unw_word_t addr, unw_word_t* val, int write,
                   void* arg) {
  Context* ctx = resolve(arg);
  if (!ctx || write) return -UNW_EINVAL;  // we never write to the target
  auto v = ctx->memory->read_u64(RemoteAddr(addr));
  if (!v) {
    logger()->trace("access_mem({:#x}) failed: {}", addr, v.error().message);
    return -UNW_EINVAL;
  }
  *val = *v;
  return 0;
}

int acc_access_reg(unw_addr_space_t, unw_regnum_t reg, unw_word_t* val, int write,
                   void* arg) {
  Context* ctx = resolve(arg);
  if (!ctx || write) return -UNW_EINVAL;
  return reg_value(*ctx->regs, reg, *val) ? 0 : -UNW_EBADREG;
}

int acc_access_fpreg(unw_addr_space_t, unw_regnum_t, unw_fpreg_t*, int, void*) {
  return -UNW_EINVAL;
}

int acc_resume(unw_addr_space_t, unw_cursor_t*, void*) { return -UNW_EINVAL; }

int acc_get_proc_name(unw_addr_space_t as, unw_word_t addr, char* buf, size_t len,
                      unw_word_t* offp, void* arg) {
  Context* ctx = resolve(arg);
  if (!ctx) return -UNW_EINVAL;
  // Names come from symbols::ModuleSymbolizer; an old _UPT_get_proc_name
  // would open the file by its host path.
  if (ctx->tables && !ctx->tables->upt_opens_targets_files) return -UNW_ENOINFO;
  return _UPT_get_proc_name(as, addr, buf, len, offp, ctx->upt);
}

}  // extern "C"

unw_accessors_t g_accessors = {
    acc_find_proc_info, acc_put_unwind_info, acc_get_dyn_info_list_addr,
    acc_access_mem,     acc_access_reg,      acc_access_fpreg,
    acc_resume,         acc_get_proc_name,
};

struct UptDeleter {
  void operator()(void* upt) const {
    if (upt) _UPT_destroy(upt);
  }
};
using UptHandle = std::unique_ptr<void, UptDeleter>;

struct AddrSpaceDeleter {
  void operator()(unw_addr_space_t as) const {
    if (as) unw_destroy_addr_space(as);
  }
};
using AddrSpace =
    std::unique_ptr<std::remove_pointer_t<unw_addr_space_t>, AddrSpaceDeleter>;

// Sets t_active for the duration of one unwind, restoring any outer value.
class ActiveContext {
 public:
  explicit ActiveContext(Context* ctx) : saved_(t_active) { t_active = ctx; }
  ~ActiveContext() { t_active = saved_; }
  ActiveContext(const ActiveContext&) = delete;
  ActiveContext& operator=(const ActiveContext&) = delete;

 private:
  Context* saved_;
};

constexpr std::array<unw_regnum_t, static_cast<int>(CalleeSaved::count)> kCalleeSaved = {
    UNW_X86_64_RBX, UNW_X86_64_RBP, UNW_X86_64_R12,
    UNW_X86_64_R13, UNW_X86_64_R14, UNW_X86_64_R15,
};

}  // namespace

struct Unwinder::Impl {
  pid_t pid = 0;
  AddrSpace addr_space;
  std::optional<UnwindTables> tables;  // none given: libunwind's own lookup
  // One UPT handle per thread; each caches the ELF image it last looked at.
  std::unordered_map<pid_t, UptHandle> upts;
};

Unwinder::Unwinder(pid_t pid, std::vector<UnwindTableLocation> tables)
    : impl_(std::make_unique<Impl>()) {
  impl_->pid = pid;
  if (!tables.empty()) {
    UnwindTables t;
    for (const auto& where : tables)
      if (where.start < where.end) t.modules.push_back({where, false, std::nullopt});
    std::sort(t.modules.begin(), t.modules.end(),
              [](const auto& a, const auto& b) { return a.where.start < b.where.start; });
    t.upt_opens_targets_files = kUptOpensThroughProcRoot || same_root_as_ours(pid);
    logger()->debug("{} unwind tables from target memory; libunwind's own lookup {}",
                    t.modules.size(),
                    t.upt_opens_targets_files ? "as fallback" : "off (it would open host paths)");
    impl_->tables = std::move(t);
  }
  impl_->addr_space.reset(unw_create_addr_space(&g_accessors, 0));
  if (impl_->addr_space) {
    // Caches proc-info per address space across unwinds of all threads.
    unw_set_caching_policy(impl_->addr_space.get(), UNW_CACHE_GLOBAL);
  } else {
    logger()->error("unw_create_addr_space failed");
  }
}

Unwinder::~Unwinder() = default;

void Unwinder::flush_cache() {
  if (impl_->addr_space) unw_flush_cache(impl_->addr_space.get(), 0, 0);
  impl_->upts.clear();
  if (impl_->tables)
    for (auto& m : impl_->tables->modules) {
      m.looked = false;
      m.info.reset();
    }
}

Result<std::vector<NativeFrame>> Unwinder::unwind(pid_t tid, const user_regs_struct& regs,
                                                  const RemoteMemory& memory,
                                                  const UnwindOptions& options) {
  if (!impl_->addr_space)
    return fail(ErrorCode::kInternal, "libunwind address space could not be created");
  // One handle for the whole process: its proc-info lookups only read
  // /proc/PID/maps and the mapped files, so they work for a thread that has
  // exited since, and after the release.
  auto& upt = impl_->upts[impl_->pid];
  if (!upt) {
    upt.reset(_UPT_create(impl_->pid));
    if (!upt) {
      impl_->upts.erase(impl_->pid);
      return fail(ErrorCode::kInternal,
                  "_UPT_create failed for thread " + std::to_string(tid));
    }
  }
  Context ctx{upt.get(), &regs, &memory, impl_->tables ? &*impl_->tables : nullptr};
  ActiveContext active(&ctx);

  unw_cursor_t cursor;
  if (int r = unw_init_remote(&cursor, impl_->addr_space.get(), &ctx); r < 0)
    return fail(ErrorCode::kInternal,
                "unw_init_remote for thread " + std::to_string(tid) + ": " +
                    unw_strerror(r));

  std::vector<NativeFrame> frames;
  const char* why = "max_frames";
  while (frames.size() < options.max_frames) {
    NativeFrame f;
    unw_word_t ip = 0, sp = 0;
    if (unw_get_reg(&cursor, UNW_REG_IP, &ip) < 0 ||
        unw_get_reg(&cursor, UNW_REG_SP, &sp) < 0) {
      why = "registers unreadable";
      break;
    }
    if (ip == 0) {
      why = "ip 0";
      break;
    }
    f.ip = ip;
    f.sp = sp;
    for (std::size_t i = 0; i < kCalleeSaved.size(); ++i) {
      unw_word_t v = 0;
      if (unw_get_reg(&cursor, kCalleeSaved[i], &v) >= 0) f.callee_saved[i] = v;
    }
    unw_proc_info_t proc{};
    if (unw_get_proc_info(&cursor, &proc) == 0 && proc.start_ip != 0 && proc.start_ip <= ip &&
        ip <= proc.end_ip)
      f.function_start = proc.start_ip;
    bool signal_frame = unw_is_signal_frame(&cursor) > 0;
    frames.push_back(f);
    logger()->trace("thread {} #{} ip {:#x} sp {:#x}", tid, frames.size() - 1, ip, sp);

    int step = unw_step(&cursor);
    if (step <= 0) {
      why = step == 0 ? "end of stack" : unw_strerror(step);
      break;
    }
    unw_word_t next_sp = 0;
    if (unw_get_reg(&cursor, UNW_REG_SP, &next_sp) < 0) {
      why = "caller sp unreadable";
      break;
    }
    // Stacks grow down, so a caller's sp is above its callee's. Across a
    // signal frame the handler may run on a sigaltstack, anywhere in memory.
    if (next_sp <= sp && !signal_frame) {
      why = "sp did not increase";
      break;
    }
    frames.back().cfa = next_sp > sp ? next_sp : 0;
  }
  logger()->debug("thread {}: {} frames (stopped: {})", tid, frames.size(), why);
  return frames;
}

}  // namespace pyattach::attach
