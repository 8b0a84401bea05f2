#include "frame_summary.h"

#include <fmt/format.h>

#include "render/escape.h"
#include "render/json_output.h"
#include "render/value_repr.h"

namespace pyattach::cli {

std::string frame_repr(Session& session, const cpython::PyFrameSnapshot& frame) {
  if (auto* values = session.values()) {
    cpython::PyValue value = values->read_frame(frame.address);
    if (value.kind == cpython::ValueKind::kFrame) {
      value.line = frame.line;  // the line the snapshot computed, for consistency
      render::ReprOptions options;
      options.python_minor = session.snapshot().version.minor;
      return render::escape_for_terminal(render::value_repr(value, options));
    }
  }
  // Released target (no values to read): the frame without its locals.
  return fmt::format("Frame {:#x}, for file {}, line {}, in {} ()", frame.address.as_int(),
                     render::escape_for_terminal(frame.filename),
                     frame.line ? std::to_string(*frame.line) : "?",
                     render::escape_for_terminal(frame.name));
}

nlohmann::json locals_json(Session& session, const cpython::PyFrameSnapshot& frame) {
  auto* values = session.values();
  if (!values || !frame.readable) return nullptr;
  auto locals = values->read_locals(frame.address);
  if (!locals) return nullptr;
  render::ReprOptions options;
  options.python_minor = session.snapshot().version.minor;
  nlohmann::json out = nlohmann::json::array();
  for (const auto& v : *locals)
    out.push_back({{"name", render::raw_text(v.name)},
                   {"value", render::value_json(v.value, options)}});
  return out;
}

void print_frame_summary(Session& session, const cpython::ThreadSnapshot& thread,
                         std::size_t native_index) {
  const auto& native = thread.native[native_index];
  if (native.is_eval) {
    auto sources = session.sources();
    for (std::size_t index : native.python_frames) {
      const auto& frame = thread.python[index];
      if (!frame.readable) {
        session.out << fmt::format("#{} (unable to read python frame information)\n",
                                   native_index);
        return;
      }
      session.out << fmt::format("#{} {}\n", native_index, frame_repr(session, frame));
      if (frame.line)
        if (auto text = sources(frame.filename, *frame.line))
          session.out << "    " << render::escape_for_terminal(render::strip_whitespace(*text))
                      << "\n";
    }
  } else if (!native.other_python_info.empty()) {
    session.out << fmt::format("#{} {}\n", native_index,
                               render::escape_for_terminal(native.other_python_info));
  } else {
    session.out << fmt::format("#{}\n", native_index);
  }
}

}  // namespace pyattach::cli
