#include "render/json_output.h"

#include <fmt/format.h>

#include "render/thread_state.h"

namespace pyattach::render {

using nlohmann::json;

std::string json_address(std::uint64_t address) { return fmt::format("{:#x}", address); }

namespace {

json nullable_address(RemoteAddr address) {
  return address ? json(json_address(address.as_int())) : json(nullptr);
}

json syscall_json(const cpython::SyscallInfo& call) {
  json args = json::array();
  for (auto a : call.args) args.push_back(json_address(a));
  return {{"number", call.number},
          {"name", call.name},
          {"args", std::move(args)},
          {"restarted", call.restarted},
          {"description", call.description}};
}

}  // namespace

json thread_json(const cpython::ThreadSnapshot& t, int number) {
  json state = {{"activity", activity_key(t.activity)},
                {"gil", gil_key(t.gil)},
                {"text", thread_state_text(t)},
                {"syscall", t.syscall ? syscall_json(*t.syscall) : json(nullptr)}};
  return {{"number", number},
          {"tid", t.tid},
          {"pthread_id", json_address(t.pthread_id)},
          {"comm", t.comm},
          {"python_name", t.python_name.empty() ? json(nullptr) : json(t.python_name)},
          {"tstate", nullable_address(t.tstate)},
          {"state", std::move(state)}};
}

json document_json(const cpython::ProcessSnapshot& s) {
  json threads = json::array();
  for (std::size_t i = 0; i < s.threads.size(); ++i)
    threads.push_back(thread_json(s.threads[i], static_cast<int>(i + 1)));
  return {{"schema_version", kJsonSchemaVersion},
          {"pid", s.pid},
          {"python_version", s.version.to_string()},
          {"interpreter", s.interpreter_path},
          {"threads", std::move(threads)},
          {"results", json::array()},
          {"errors", json::array()}};
}

json python_frame_json(const cpython::PyFrameSnapshot& f, const SourceProvider& sources) {
  json out = {{"kind", "python"}, {"address", json_address(f.address.as_int())},
              {"readable", f.readable}};
  if (!f.readable) return out;
  out["file"] = f.filename;
  out["line"] = f.line ? json(*f.line) : json(nullptr);
  out["function"] = f.name;
  out["qualname"] = f.qualname;
  std::optional<std::string> source;
  if (f.line && sources) source = sources(f.filename, *f.line);
  out["source"] = source ? json(strip_whitespace(*source)) : json(nullptr);
  return out;
}

json py_bt_json(const cpython::ThreadSnapshot& t, const SourceProvider& sources,
                std::size_t from) {
  json frames = json::array();
  auto first = python_frame_at_or_after(t, from);
  if (!first) return frames;
  for (std::size_t i = *first; i < t.native.size(); ++i) {
    const auto& n = t.native[i];
    if (n.is_eval) {
      for (std::size_t index : n.python_frames)
        frames.push_back(python_frame_json(t.python[index], sources));
    } else if (!n.other_python_info.empty()) {
      frames.push_back({{"kind", "native_call"}, {"text", n.other_python_info}});
    }
  }
  return frames;
}

json bt_json(const cpython::ThreadSnapshot& t, const SourceProvider& sources) {
  json frames = json::array();
  for (std::size_t i = 0; i < t.native.size(); ++i) {
    const auto& n = t.native[i];
    json python = json::array();
    for (std::size_t index : n.python_frames)
      python.push_back(python_frame_json(t.python[index], sources));
    frames.push_back({{"index", i},
                      {"pc", json_address(n.frame.ip)},
                      {"symbol", n.symbol.empty() ? json(nullptr) : json(n.symbol)},
                      {"offset", n.symbol_offset},
                      {"module", n.module.empty() ? json(nullptr) : json(n.module)},
                      {"is_eval", n.is_eval},
                      {"python_info",
                       n.other_python_info.empty() ? json(nullptr) : json(n.other_python_info)},
                      {"python_frames", std::move(python)}});
  }
  return frames;
}

json value_json(const cpython::PyValue& v, const ReprOptions& options) {
  return {{"repr", value_repr(v, options)},
          {"type", v.type_name},
          {"address", nullable_address(v.address)}};
}

std::string dump_json(const json& document) {
  return document.dump(2, ' ', false, json::error_handler_t::replace) + "\n";
}

}  // namespace pyattach::render
