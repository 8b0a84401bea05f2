#include "target.h"

#include <unistd.h>

#include <filesystem>
#include <regex>

#include <fmt/format.h>

#include "attach/proc.h"
#include "attach/unwinder.h"
#include "symbols/debug_files.h"
#include "core/log.h"
#include "cpython/debug_offsets.h"
#include "cpython/offsets_table.h"
#include "cpython/python_stack.h"
#include "cpython/thread_frames.h"

namespace pyattach::cli {
namespace {

std::string basename_of(const std::string& path) {
  auto slash = path.rfind('/');
  return slash == std::string::npos ? path : path.substr(slash + 1);
}

// "libpython3.12.so.1.0" -> (3, 12); "python3.11" -> (3, 11); "python2.7" -> (2, 7).
std::optional<std::pair<int, int>> version_from_file_name(const std::string& path) {
  static const std::regex kPattern(R"((?:^|lib)python(\d)\.(\d+))");
  std::smatch m;
  std::string base = basename_of(path);
  if (!std::regex_search(base, m, kPattern)) return std::nullopt;
  return std::pair{std::stoi(m[1]), std::stoi(m[2])};
}

// PY_VERSION ("3.10.13") is a string literal in the binary's .rodata, next to
// the build info that Py_GetVersion() prints: "3.10.13 (main, ...".
std::optional<cpython::PythonVersion> version_from_rodata(const symbols::ElfFile& elf,
                                                          int major, int minor) {
  auto data = elf.section_data(".rodata");
  if (!data) return std::nullopt;
  std::string_view text(reinterpret_cast<const char*>(data->data()), data->size());
  std::string prefix = fmt::format("{}.{}.", major, minor);
  std::optional<cpython::PythonVersion> suffix_match;
  for (std::size_t at = text.find(prefix); at != std::string_view::npos;
       at = text.find(prefix, at + 1)) {
    // The linker merges a string into the tail of a longer one: pyenv's
    // 3.8-3.10 keep PY_VERSION only as the end of "/root/.pyenv/versions/3.8.18".
    // Take such a tail when no string starts with the version.
    const bool starts = at == 0 || text[at - 1] == '\0';
    if (!starts && (suffix_match || text[at - 1] == '.' ||
                    (text[at - 1] >= '0' && text[at - 1] <= '9')))
      continue;
    std::size_t end = at;
    while (end < text.size() && end - at < 24 && text[end] != '\0' && text[end] != ' ') ++end;
    if (end < text.size() && text[end] == '\0')
      if (auto v = cpython::PythonVersion::parse(text.substr(at, end - at)))
        if (v->major == major && v->minor == minor) {
          if (starts) return v;
          suffix_match = v;
        }
  }
  return suffix_match;
}

}  // namespace

std::optional<OffsetsFrom> parse_offsets_from(std::string_view text) {
  if (text == "auto") return OffsetsFrom::kAuto;
  if (text == "dwarf") return OffsetsFrom::kDwarf;
  if (text == "debug-offsets") return OffsetsFrom::kDebugOffsets;
  if (text == "table") return OffsetsFrom::kTable;
  return std::nullopt;
}

Result<void> PreparedTarget::load_offsets(OffsetsFrom from, const symbols::LoadedModule& module) {
  auto logger = log::get("cli");
  const cpython::PythonVersion& version = interpreter_.version;
  const std::string where =
      fmt::format("CPython {} in {}", version.to_string(), module.path);

  // DWARF: the interpreter's own, else its separate debug file.
  auto try_dwarf = [&]() -> Result<cpython::Offsets> {
    const auto wanted = cpython::TypeLayoutOffsetsSource::wanted_types();
    std::string host_path = attach::target_path(pid_, module.path);
    auto layouts = symbols::DwarfLayouts::load(host_path, wanted);
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
        layouts = symbols::DwarfLayouts::load(*debug_path, wanted);
      }
    }
    if (!layouts)
      return fail(ErrorCode::kDebugInfo,
                  fmt::format("no usable debug info for {}: {}", where, layouts.error().message),
                  0,
                  fmt::format("install the interpreter's debug symbols (e.g. apt-get install "
                              "python{}.{}-dbg), or use --offsets-from table",
                              version.major, version.minor));
    layouts_ = std::make_unique<symbols::DwarfLayouts>(std::move(*layouts));
    return cpython::TypeLayoutOffsetsSource(*layouts_).load(version);
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

Result<std::unique_ptr<PreparedTarget>> PreparedTarget::prepare(pid_t pid, OffsetsFrom from) {
  auto logger = log::get("cli");
  if (auto ok = attach::StoppedProcess::check_attachable(pid); !ok)
    return std::unexpected(ok.error());
  auto status = attach::read_status(pid);
  if (!status) return std::unexpected(status.error());
  std::unique_ptr<PreparedTarget> target(new PreparedTarget(pid));
  target->maps_ = PYATTACH_TRY(attach::read_maps(pid));
  target->symbols_ = symbols::ModuleSymbolizer::build(
      target->maps_, [pid](const std::string& path) { return attach::target_path(pid, path); });

  // The interpreter is the module that defines _PyRuntime (3.7+): a shared
  // libpython, or the executable when libpython is linked in statically.
  const symbols::LoadedModule* interpreter = nullptr;
  std::optional<std::pair<int, int>> named_version;
  for (const auto& module : target->symbols_.modules()) {
    if (auto v = version_from_file_name(module.path); v && !named_version) named_version = v;
    if (module.elf && module.elf->find_symbol("_PyRuntime")) {
      interpreter = &module;
      break;
    }
  }
  std::string comm = status->name;
  if (!interpreter) {
    if (named_version && (named_version->first < 3 || named_version->second < 8))
      return fail(ErrorCode::kUnsupportedVersion,
                  fmt::format("process {} ({}) runs CPython {}.{}, which pyattach does not "
                              "support",
                              pid, comm, named_version->first, named_version->second),
                  0, "pyattach supports CPython 3.8 to 3.13");
    return fail(ErrorCode::kNotPython,
                fmt::format("process {} ({}) is not a Python process: no CPython "
                            "interpreter (_PyRuntime) found in its mapped files",
                            pid, comm),
                0, "pass the PID of a CPython 3.8-3.13 process");
  }
  Interpreter& interp = target->interpreter_;
  interp.module_path = interpreter->path;
  interp.runtime = *target->symbols_.address_of("_PyRuntime", interpreter->path);

  // Py_Version exists from 3.11; before that, the file name and PY_VERSION.
  if (auto addr = target->symbols_.address_of("Py_Version", interpreter->path)) {
    auto hex = target->memory_.read_value<std::uint32_t>(*addr);
    if (!hex) return std::unexpected(hex.error());
    interp.version = cpython::PythonVersion::from_hex(*hex);
  } else {
    auto v = version_from_file_name(interpreter->path);
    if (!v) v = named_version;
    if (!v)
      return fail(ErrorCode::kUnsupportedVersion,
                  fmt::format("cannot tell the CPython version of process {} ({})", pid, comm),
                  0, "pyattach supports CPython 3.8 to 3.13");
    auto full = version_from_rodata(*interpreter->elf, v->first, v->second);
    interp.version = full ? *full : cpython::PythonVersion{v->first, v->second, 0};
  }
  if (!cpython::is_supported(interp.version))
    return fail(ErrorCode::kUnsupportedVersion,
                fmt::format("process {} ({}) runs CPython {}, which pyattach does not support",
                            pid, comm, interp.version.to_string()),
                0, "pyattach supports CPython 3.8 to 3.13");
  interp.cfunction_type =
      target->symbols_.address_of("PyCFunction_Type", interpreter->path).value_or(RemoteAddr());
  interp.cmethod_type =
      target->symbols_.address_of("PyCMethod_Type", interpreter->path).value_or(RemoteAddr());

  if (auto loaded = target->load_offsets(from, *interpreter); !loaded)
    return std::unexpected(loaded.error());
  logger->info("CPython {} in {}, _PyRuntime at {:#x}, offsets from {}",
               interp.version.to_string(), interp.module_path, interp.runtime.as_int(),
               target->offsets_source_);
  return target;
}

Result<cpython::ProcessSnapshot> PreparedTarget::capture(
    const attach::StoppedProcess& stopped) const {
  cpython::ProcessSnapshot snapshot;
  snapshot.pid = pid_;
  snapshot.version = interpreter_.version;
  snapshot.interpreter_path = interpreter_.module_path;

  auto states = cpython::read_thread_states(memory_, interpreter_.runtime, offsets_);
  if (!states) return std::unexpected(states.error());
  const bool by_native_id = offsets_.tstate.native_thread_id != cpython::kAbsent;

  attach::Unwinder unwinder(pid_);
  cpython::CodeCache codes;
  cpython::FrameContext context{memory_, offsets_, symbols_, interpreter_.cfunction_type,
                                interpreter_.cmethod_type};
  for (const auto& thread : stopped.threads()) {
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
    // 3.11+ records the LWP; before, thread_id is the pthread_t, which on
    // x86-64 glibc is the thread pointer, i.e. fs_base.
    for (const auto& state : *states) {
      bool match = by_native_id
                       ? state.native_thread_id == static_cast<std::uint64_t>(thread.tid)
                       : state.thread_id == thread.regs.fs_base;
      if (match) {
        out.tstate = state.tstate;
        break;
      }
    }
    std::vector<NativeFrame> native;
    if (auto frames = unwinder.unwind(thread.tid, thread.regs, memory_)) {
      native = std::move(*frames);
    } else {
      out.warnings.push_back("native unwinding failed: " + frames.error().message);
    }
    cpython::PythonStack stack;
    if (out.tstate) stack = cpython::read_python_stack(memory_, offsets_, out.tstate, codes);
    cpython::build_thread_frames(out, native, std::move(stack), context);
    snapshot.threads.push_back(std::move(out));
  }
  return snapshot;
}

}  // namespace pyattach::cli
