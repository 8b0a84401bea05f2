#include "thread_names.h"

#include "render/value_repr.h"

namespace pyattach::cli {

std::string python_thread_name(Session& session, const cpython::ThreadSnapshot& t) {
  auto* values = session.values();
  return values ? python_thread_name(*values, t) : std::string();
}

std::string python_thread_name(cpython::ValueReader& values, const cpython::ThreadSnapshot& t) {
  for (auto it = t.python.rbegin(); it != t.python.rend(); ++it) {
    if (!it->readable || it->name != "_bootstrap" || !it->filename.ends_with("threading.py"))
      continue;
    auto locals = values.read_locals(it->address);
    if (!locals) return {};
    for (const auto& local : *locals) {
      if (local.name != "self" || local.value.kind != cpython::ValueKind::kInstance) continue;
      const auto& attrs = local.value.children;
      for (std::size_t i = 0; i + 1 < attrs.size(); i += 2)
        if (attrs[i].kind == cpython::ValueKind::kStr && attrs[i].text == "_name" &&
            attrs[i + 1].kind == cpython::ValueKind::kStr)
          return render::raw_text(attrs[i + 1].text);
    }
    return {};
  }
  return {};
}

}  // namespace pyattach::cli
