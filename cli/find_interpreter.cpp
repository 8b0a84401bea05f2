#include "find_interpreter.h"

#include <regex>

#include <fmt/format.h>

#include "core/log.h"
#include "cpython/offsets_table.h"
#include "cpython/runtime_locator.h"

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

// A symbol of the module, from its own file or its separate debug file, at
// its runtime address.
std::optional<RemoteAddr> module_symbol(const symbols::LoadedModule& module,
                                        std::string_view name) {
  for (const auto* elf : {module.elf.get(), module.debug_elf.get()})
    if (elf)
      if (const auto* sym = elf->find_symbol(name)) return RemoteAddr(sym->value + module.bias);
  return std::nullopt;
}

// The symbols find_interpreter looks up, _PyRuntime first.
constexpr std::string_view kInterpreterSymbols[] = {"_PyRuntime", "Py_Version",
                                                    "PyCFunction_Type", "PyCMethod_Type"};

// What the runtime locator needs of each module.
std::vector<cpython::ModuleImage> module_images(const std::vector<MemoryMapping>& maps,
                                                const symbols::ModuleSymbolizer& symbols) {
  std::vector<cpython::ModuleImage> images;
  for (const auto& module : symbols.modules()) {
    cpython::ModuleImage image;
    image.path = module.path;
    image.bias = module.bias;
    if (module.elf)
      if (auto section = module.elf->section(".PyRuntime"))
        image.pyruntime_section = cpython::AddressRange{section->addr, section->size};
    for (const auto* elf : {module.elf.get(), module.debug_elf.get()}) {
      if (!elf || image.runtime_symbol) continue;
      // The interpreter's module is asked for the others next: one pass
      // over its symbols finds all of them.
      if (const auto* sym = elf->find_symbols(kInterpreterSymbols).front()) {
        image.runtime_symbol = sym->value;
        image.runtime_symbol_dynamic = sym->dynamic && elf == module.elf.get();
      }
    }
    for (const auto& m : maps)
      if (m.writable && m.readable && m.path == module.path && m.start >= module.start &&
          m.end <= module.end)
        image.writable.push_back({m.start, m.end - m.start});
    images.push_back(std::move(image));
  }
  return images;
}

// The version of the interpreter in `module` whose runtime is `candidate`.
std::optional<cpython::PythonVersion> version_of(const symbols::LoadedModule& module,
                                                 const cpython::RuntimeCandidate& candidate,
                                                 const RemoteMemory& memory,
                                                 std::optional<std::pair<int, int>> named) {
  if (auto addr = module_symbol(module, "Py_Version"))
    if (auto hex = memory.read_value<std::uint32_t>(*addr))
      return cpython::PythonVersion::from_hex(*hex);
  if (candidate.header_version) return candidate.header_version;
  if (auto v = cpython::read_debug_offsets_version(memory, candidate.address)) return v;
  auto v = version_from_file_name(module.path);
  if (!v) v = named;
  if (!v) return std::nullopt;
  if (module.elf)
    if (auto full = version_from_rodata(*module.elf, v->first, v->second)) return full;
  return cpython::PythonVersion{v->first, v->second, 0};
}

}  // namespace

Result<FoundInterpreter> find_interpreter(pid_t pid, const std::string& comm,
                                     const std::vector<MemoryMapping>& maps,
                                     const symbols::ModuleSymbolizer& symbols,
                                     const RemoteMemory& memory) {
  auto logger = log::get("cli");
  const auto& modules = symbols.modules();
  std::optional<std::pair<int, int>> named_version;
  for (const auto& module : modules)
    if (auto v = version_from_file_name(module.path)) {
      named_version = v;
      break;
    }

  const auto images = module_images(maps, symbols);
  const auto candidates = cpython::find_runtime_candidates(images, memory);
  if (candidates.empty()) {
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

  std::vector<std::optional<cpython::PythonVersion>> versions;
  for (const auto& c : candidates) {
    versions.push_back(version_of(modules[c.module], c, memory, named_version));
    logger->debug("_PyRuntime candidate at {:#x} in {} (by {}), CPython {}",
                  c.address.as_int(), modules[c.module].path, cpython::describe(c.found_by),
                  versions.back() ? versions.back()->to_string() : "of unknown version");
  }
  const cpython::TableOffsetsSource table;
  auto head_offset = [&](const cpython::RuntimeCandidate& c) -> std::optional<std::uint64_t> {
    const auto& v = versions[static_cast<std::size_t>(&c - candidates.data())];
    if (!v || !cpython::is_supported(*v)) return std::nullopt;
    auto offsets = table.load(*v);
    if (!offsets || offsets->runtime.interpreters_head == cpython::kAbsent) return std::nullopt;
    return offsets->runtime.interpreters_head;
  };
  const std::size_t chosen = *cpython::choose_live_runtime(candidates, memory, head_offset);
  const auto& candidate = candidates[chosen];
  const auto& module = modules[candidate.module];

  Interpreter interp;
  interp.module_path = module.path;
  interp.runtime = candidate.address;
  interp.runtime_found_by = candidate.found_by;
  interp.debug_file = module.debug_path;
  if (!versions[chosen])
    return fail(ErrorCode::kUnsupportedVersion,
                fmt::format("cannot tell the CPython version of process {} ({})", pid, comm), 0,
                "pyattach supports CPython 3.8 to 3.13");
  interp.version = *versions[chosen];
  if (!cpython::is_supported(interp.version))
    return fail(ErrorCode::kUnsupportedVersion,
                fmt::format("process {} ({}) runs CPython {}, which pyattach does not support",
                            pid, comm, interp.version.to_string()),
                0, "pyattach supports CPython 3.8 to 3.13");
  interp.cfunction_type = module_symbol(module, "PyCFunction_Type").value_or(RemoteAddr());
  interp.cmethod_type = module_symbol(module, "PyCMethod_Type").value_or(RemoteAddr());
  return FoundInterpreter{interp, &module};
}

}  // namespace pyattach::cli
