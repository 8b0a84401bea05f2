#include "render/backtrace.h"

#include <fmt/format.h>

#include "render/escape.h"

namespace pyattach::render {
namespace {

using cpython::NativeFrameSnapshot;
using cpython::PyFrameSnapshot;
using cpython::ThreadSnapshot;

bool is_python_frame(const NativeFrameSnapshot& n) {
  return n.is_eval || !n.other_python_info.empty();
}

void print_python_frame(std::ostream& out, const PyFrameSnapshot& frame,
                        const SourceProvider& sources, std::string_view indent) {
  if (!frame.readable) {
    out << indent << "(unable to read python frame information)\n";
    return;
  }
  std::string line = frame.line ? std::to_string(*frame.line) : "?";
  out << indent
      << fmt::format("File \"{}\", line {}, in {}\n", escape_for_terminal(frame.filename),
                     line, escape_for_terminal(frame.name));
  if (!frame.line) return;
  if (auto text = sources(frame.filename, *frame.line)) {
    std::string stripped = strip_whitespace(*text);
    out << indent << "  " << escape_for_terminal(stripped) << "\n";
  }
}

}  // namespace

std::string strip_whitespace(std::string_view s) {
  auto is_space = [](char c) {
    return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\v' || c == '\f' ||
           (c >= '\x1c' && c <= '\x1f');
  };
  while (!s.empty() && is_space(s.front())) s.remove_prefix(1);
  while (!s.empty() && is_space(s.back())) s.remove_suffix(1);
  return std::string(s);
}

std::string thread_header(const ThreadSnapshot& thread, int number) {
  return fmt::format("Thread {} (Thread {:#x} (LWP {}) \"{}\"):", number, thread.pthread_id,
                     thread.tid, escape_for_terminal(thread.comm));
}

std::optional<std::size_t> python_frame_at_or_after(const ThreadSnapshot& thread,
                                                    std::size_t from) {
  for (std::size_t i = from; i < thread.native.size(); ++i)
    if (is_python_frame(thread.native[i])) return i;
  return std::nullopt;
}

std::optional<std::size_t> next_python_frame(const ThreadSnapshot& thread, std::size_t from,
                                             bool older) {
  if (older) return python_frame_at_or_after(thread, from + 1);
  for (std::size_t i = std::min(from, thread.native.size()); i-- > 0;)
    if (is_python_frame(thread.native[i])) return i;
  return std::nullopt;
}

std::string native_frame_line(const NativeFrameSnapshot& n, std::size_t index) {
  std::string symbol = n.symbol.empty() ? "??" : escape_for_terminal(n.symbol);
  std::string line = fmt::format("#{:<2} 0x{:016x} in {} ()", index, n.frame.ip, symbol);
  if (!n.module.empty()) line += " from " + escape_for_terminal(n.module);
  // gdb's line says only "??"; say what pyattach recognised without a name.
  if (n.symbol.empty() && n.is_eval)
    line += "  [unnamed: the Python eval loop, recognised by address]";
  else if (n.symbol.empty() && !n.other_python_info.empty())
    line += "  [unnamed: calls the built-in below, proven by its ml_meth]";
  return line;
}

void print_py_bt(std::ostream& out, const ThreadSnapshot& thread,
                 const SourceProvider& sources, std::size_t from) {
  auto first = python_frame_at_or_after(thread, from);
  if (!first) {
    out << "Unable to locate python frame\n";
    return;
  }
  out << "Traceback (most recent call first):\n";
  for (std::size_t i = *first; i < thread.native.size(); ++i) {
    const NativeFrameSnapshot& n = thread.native[i];
    if (n.is_eval) {
      for (std::size_t index : n.python_frames)
        print_python_frame(out, thread.python[index], sources, "  ");
    } else if (!n.other_python_info.empty()) {
      out << "  " << escape_for_terminal(n.other_python_info) << "\n";
    }
  }
}

void print_bt(std::ostream& out, const ThreadSnapshot& thread,
              const SourceProvider& sources) {
  if (thread.mapping == cpython::FrameMapping::kByOrder)
    out << "    (Python frames mapped to C frames by order)\n";
  for (std::size_t i = 0; i < thread.native.size(); ++i) {
    const NativeFrameSnapshot& n = thread.native[i];
    out << native_frame_line(n, i) << "\n";
    if (!n.other_python_info.empty())
      out << "    " << escape_for_terminal(n.other_python_info) << "\n";
    for (std::size_t index : n.python_frames)
      print_python_frame(out, thread.python[index], sources, "    ");
  }
  for (const auto& warning : thread.warnings)
    out << "(" << escape_for_terminal(warning) << ")\n";
}

}  // namespace pyattach::render
