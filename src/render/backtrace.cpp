#include "render/backtrace.h"

#include <fmt/format.h>

#include "render/escape.h"

namespace pyattach::render {
namespace {

using cpython::NativeFrameSnapshot;
using cpython::PyFrameSnapshot;
using cpython::ThreadSnapshot;

bool has_python_frames(const ThreadSnapshot& thread) {
  for (const auto& n : thread.native)
    if (!n.python_frames.empty() || !n.other_python_info.empty()) return true;
  return false;
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

void print_py_bt(std::ostream& out, const ThreadSnapshot& thread,
                 const SourceProvider& sources) {
  if (!has_python_frames(thread)) {
    out << "Unable to locate python frame\n";
    return;
  }
  out << "Traceback (most recent call first):\n";
  for (const NativeFrameSnapshot& n : thread.native) {
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
    std::string symbol = n.symbol.empty() ? "??" : escape_for_terminal(n.symbol);
    if (n.symbol.empty() && n.is_eval) symbol = "?? [Python eval loop, unnamed]";
    out << fmt::format("#{:<2} 0x{:016x} in {} ()", i, n.frame.ip, symbol);
    if (!n.module.empty()) out << " from " << escape_for_terminal(n.module);
    out << "\n";
    if (!n.other_python_info.empty())
      out << "    " << escape_for_terminal(n.other_python_info) << "\n";
    for (std::size_t index : n.python_frames)
      print_python_frame(out, thread.python[index], sources, "    ");
  }
  for (const auto& warning : thread.warnings)
    out << "(" << escape_for_terminal(warning) << ")\n";
}

}  // namespace pyattach::render
