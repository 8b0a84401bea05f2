#include "render/deadlock_report.h"

#include <fmt/format.h>

#include "render/escape.h"
#include "render/json_output.h"

namespace pyattach::render {
namespace {

using cpython::HolderCertainty;
using cpython::LockKind;

std::string frame_place(const cpython::PyFrameSnapshot& f, std::optional<int> line) {
  if (!f.readable) return "(unreadable frame)";
  return fmt::format("{}:{}, in {}", escape_for_terminal(f.filename),
                     line ? std::to_string(*line) : std::string("?"),
                     escape_for_terminal(f.name));
}

std::string what_it_waits_for(const DeadlockReportInput& in, const cpython::ThreadWait& w) {
  std::string text;
  if (w.lock) {
    const auto* lock = in.locks.find(w.lock);
    text = lock ? lock_repr(*lock) : fmt::format("lock at remote {:#x}", w.lock.as_int());
  } else if (w.join_ident) {
    text = fmt::format("the end of thread {:#x}", *w.join_ident);
  } else {
    text = "(unknown)";
  }
  return text;
}

// The frame a waiter is shown waiting in: the innermost one outside
// threading.py/queue.py, else the innermost Python frame.
const cpython::PyFrameSnapshot* wait_frame(const cpython::ThreadSnapshot& thread,
                                           const cpython::ThreadWait& w) {
  if (w.user_frame && *w.user_frame < thread.python.size()) return &thread.python[*w.user_frame];
  if (w.python_frame && *w.python_frame < thread.python.size())
    return &thread.python[*w.python_frame];
  return nullptr;
}

void print_edge(std::ostream& out, const DeadlockReportInput& in, const cpython::WaitEdge& e,
                std::string_view indent) {
  const auto& thread = in.snapshot.threads[e.waiter];
  const auto& w = *e.wait;
  out << indent << thread_label(in, e.waiter) << " waits for " << what_it_waits_for(in, w);
  if (w.evidence) out << " [found by: " << cpython::evidence_name(*w.evidence) << "]";
  out << "\n";
  if (!w.wrappers.empty()) {
    out << indent << "    through";
    for (std::size_t i = 0; i < w.wrappers.size(); ++i) {
      const auto& wr = w.wrappers[i];
      out << (i ? "," : "") << fmt::format(" {}.{}() of <{} object at remote {:#x}>",
                                           escape_for_terminal(wr.type_name),
                                           escape_for_terminal(wr.method),
                                           escape_for_terminal(wr.type_name), wr.address.as_int());
    }
    out << "\n";
  }
  if (w.join_ident && !w.join_name.empty())
    out << indent << "    joining thread \"" << escape_for_terminal(w.join_name) << "\"\n";
  if (const auto* f = wait_frame(thread, w))
    out << indent << "    waits at " << frame_place(*f, f->line) << "\n";
  if (!e.holder) {
    out << indent << "    holder unknown\n";
    return;
  }
  out << indent << "    held by " << thread_label(in, *e.holder) << " ["
      << cpython::certainty_name(e.certainty) << ": " << escape_for_terminal(e.how) << "]\n";
  if (e.hold) {
    const auto& held = in.locks.threads[*e.holder].holds[*e.hold];
    const auto& holder = in.snapshot.threads[*e.holder];
    if (held.python_frame < holder.python.size()) {
      const auto& f = holder.python[held.python_frame];
      if (held.evidence == cpython::HoldEvidence::kWithBlock && held.acquire_line)
        out << indent << "    acquired at " << frame_place(f, held.acquire_line) << "\n";
      else
        out << indent << "    acquired in " << escape_for_terminal(f.name) << " ("
            << escape_for_terminal(f.filename) << "), now at line "
            << (f.line ? std::to_string(*f.line) : "?") << "\n";
    }
  }
}

}  // namespace

std::string lock_repr(const cpython::LockState& lock) {
  const char* state = lock.locked ? "locked" : "unlocked";
  if (lock.kind == LockKind::kRLock)
    return fmt::format("<{} {} object owner={} count={} at remote {:#x}>", state,
                       escape_for_terminal(lock.type_name), lock.rlock_owner, lock.rlock_count,
                       lock.address.as_int());
  return fmt::format("<{} {} object at remote {:#x}>", state, escape_for_terminal(lock.type_name),
                     lock.address.as_int());
}

std::string thread_label(const DeadlockReportInput& in, std::size_t t) {
  const auto& thread = in.snapshot.threads[t];
  std::string name = t < in.python_names.size() && !in.python_names[t].empty()
                         ? in.python_names[t]
                         : thread.comm;
  return fmt::format("Thread {} (LWP {}, \"{}\")", t + 1, thread.tid, escape_for_terminal(name));
}

void print_deadlock_report(std::ostream& out, const DeadlockReportInput& in) {
  const auto& f = in.findings;
  for (std::size_t c = 0; c < f.cycles.size(); ++c) {
    out << fmt::format("Deadlock {}: {} thread{} wait for each other in a cycle\n", c + 1,
                       f.cycles[c].size(), f.cycles[c].size() == 1 ? "" : "s");
    for (std::size_t e : f.cycles[c]) print_edge(out, in, f.edges[e], "  ");
    out << "\n";
  }
  if (!f.behind_cycles.empty()) {
    out << "Waiting on a deadlock without being part of it:\n";
    for (std::size_t e : f.behind_cycles) print_edge(out, in, f.edges[e], "  ");
    out << "\n";
  }
  if (f.gil_holder && !f.gil_waiters.empty()) {
    const auto& t = in.snapshot.threads[*f.gil_holder];
    out << "GIL stall: " << thread_label(in, *f.gil_holder)
        << " holds the GIL while blocked in native code";
    if (!t.native.empty() && !t.native[0].symbol.empty())
      out << " (" << escape_for_terminal(t.native[0].symbol) << ")";
    out << "\n";
    for (const auto& py : t.python)
      if (py.readable) {
        out << "    at " << frame_place(py, py.line) << "\n";
        break;
      }
    out << "  waiting for the GIL behind it:";
    for (std::size_t i = 0; i < f.gil_waiters.size(); ++i)
      out << (i ? ", " : " ") << thread_label(in, f.gil_waiters[i]);
    out << "\n\n";
  }
  for (std::size_t e : f.held_by_gil_waiter) {
    const auto& edge = f.edges[e];
    out << thread_label(in, edge.waiter) << " waits for a lock held by "
        << thread_label(in, *edge.holder) << ", which waits for the GIL\n";
  }
  if (!f.held_by_gil_waiter.empty()) out << "\n";

  if (!f.deadlocked()) out << "No deadlock found.\n";
  // The other waits: not on or behind a cycle.
  std::vector<bool> reported(f.edges.size(), false);
  for (const auto& cycle : f.cycles)
    for (std::size_t e : cycle) reported[e] = true;
  for (std::size_t e : f.behind_cycles) reported[e] = true;
  bool header = false;
  for (std::size_t e = 0; e < f.edges.size(); ++e) {
    if (reported[e]) continue;
    if (!header) out << (f.deadlocked() ? "Other waiting threads:\n" : "Waiting threads:\n");
    header = true;
    print_edge(out, in, f.edges[e], "  ");
  }
}

namespace {

using nlohmann::json;

json place_json(const cpython::PyFrameSnapshot& f, std::optional<int> line) {
  if (!f.readable) return nullptr;
  return {{"file", f.filename}, {"line", line ? json(*line) : json(nullptr)},
          {"function", f.name}};
}

json thread_ref_json(const DeadlockReportInput& in, std::size_t t) {
  const auto& thread = in.snapshot.threads[t];
  const std::string& python_name = t < in.python_names.size() ? in.python_names[t] : "";
  return {{"thread", t + 1},
          {"tid", thread.tid},
          {"name", python_name.empty() ? thread.comm : python_name}};
}

json lock_json(const cpython::LockState& lock) {
  const bool rlock = lock.kind == LockKind::kRLock;
  return {{"repr", lock_repr(lock)},
          {"type", lock.type_name},
          {"address", json_address(lock.address.as_int())},
          {"locked", lock.locked},
          {"owner", rlock ? json(lock.rlock_owner) : json(nullptr)},
          {"count", rlock ? json(lock.rlock_count) : json(nullptr)}};
}

json edge_json(const DeadlockReportInput& in, const cpython::WaitEdge& e) {
  const auto& thread = in.snapshot.threads[e.waiter];
  const auto& w = *e.wait;
  json out = thread_ref_json(in, e.waiter);
  json lock = nullptr;
  if (w.lock) {
    if (const auto* state = in.locks.find(w.lock))
      lock = lock_json(*state);
    else
      lock = {{"repr", nullptr}, {"type", nullptr}, {"address", json_address(w.lock.as_int())},
              {"locked", nullptr}, {"owner", nullptr}, {"count", nullptr}};
  }
  out["lock"] = lock;
  out["evidence"] = w.evidence ? json(std::string(cpython::evidence_name(*w.evidence)))
                               : json(nullptr);
  out["join_ident"] = w.join_ident ? json(*w.join_ident) : json(nullptr);
  json through = json::array();
  for (const auto& wr : w.wrappers)
    through.push_back({{"type", wr.type_name},
                       {"method", wr.method},
                       {"address", json_address(wr.address.as_int())}});
  out["through"] = std::move(through);
  const auto* frame = wait_frame(thread, w);
  out["waits_at"] = frame ? place_json(*frame, frame->line) : json(nullptr);
  if (!e.holder) {
    out["holder"] = nullptr;
    return out;
  }
  json holder = thread_ref_json(in, *e.holder);
  holder["certainty"] = std::string(cpython::certainty_name(e.certainty));
  holder["how"] = e.how;
  holder["acquired_at"] = nullptr;
  if (e.hold) {
    const auto& held = in.locks.threads[*e.holder].holds[*e.hold];
    const auto& holder_thread = in.snapshot.threads[*e.holder];
    if (held.python_frame < holder_thread.python.size()) {
      const auto& f = holder_thread.python[held.python_frame];
      // A with block knows the line of its `with`; a local only the frame.
      const bool exact_line =
          held.evidence == cpython::HoldEvidence::kWithBlock && held.acquire_line;
      holder["acquired_at"] = place_json(f, exact_line ? held.acquire_line : std::nullopt);
    }
  }
  out["holder"] = std::move(holder);
  return out;
}

}  // namespace

json deadlock_json(const DeadlockReportInput& in) {
  const auto& f = in.findings;
  json cycles = json::array();
  for (const auto& cycle : f.cycles) {
    json edges = json::array();
    for (std::size_t e : cycle) edges.push_back(edge_json(in, f.edges[e]));
    cycles.push_back(std::move(edges));
  }
  json behind = json::array();
  for (std::size_t e : f.behind_cycles) behind.push_back(edge_json(in, f.edges[e]));
  json gil_stall = nullptr;
  if (f.gil_holder && !f.gil_waiters.empty()) {
    const auto& t = in.snapshot.threads[*f.gil_holder];
    gil_stall = {{"holder", thread_ref_json(in, *f.gil_holder)},
                 {"native_function", !t.native.empty() && !t.native[0].symbol.empty()
                                         ? json(t.native[0].symbol)
                                         : json(nullptr)},
                 {"at", nullptr}};
    for (const auto& py : t.python)
      if (py.readable) {
        gil_stall["at"] = place_json(py, py.line);
        break;
      }
    json waiters = json::array();
    for (std::size_t w : f.gil_waiters) waiters.push_back(thread_ref_json(in, w));
    gil_stall["waiters"] = std::move(waiters);
  }
  json behind_gil = json::array();
  for (std::size_t e : f.held_by_gil_waiter)
    behind_gil.push_back({{"waiter", thread_ref_json(in, f.edges[e].waiter)},
                          {"holder", thread_ref_json(in, *f.edges[e].holder)}});
  std::vector<bool> reported(f.edges.size(), false);
  for (const auto& cycle : f.cycles)
    for (std::size_t e : cycle) reported[e] = true;
  for (std::size_t e : f.behind_cycles) reported[e] = true;
  json other = json::array();
  for (std::size_t e = 0; e < f.edges.size(); ++e)
    if (!reported[e]) other.push_back(edge_json(in, f.edges[e]));
  return {{"deadlocked", f.deadlocked()},    {"cycles", std::move(cycles)},
          {"behind_cycles", std::move(behind)}, {"gil_stall", std::move(gil_stall)},
          {"held_by_gil_waiter", std::move(behind_gil)}, {"other_waits", std::move(other)}};
}

}  // namespace pyattach::render
