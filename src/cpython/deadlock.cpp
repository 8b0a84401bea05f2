#include "cpython/deadlock.h"

#include <algorithm>

#include <fmt/format.h>

namespace pyattach::cpython {
namespace {

std::optional<std::size_t> thread_by_ident(const ProcessSnapshot& s, std::uint64_t ident) {
  if (ident == 0) return std::nullopt;
  for (std::size_t t = 0; t < s.threads.size(); ++t)
    if (s.threads[t].pthread_id == ident) return t;
  return std::nullopt;
}

bool at(const std::vector<bool>& v, std::size_t i) { return i < v.size() && v[i]; }

// Who holds what `edge.wait` waits for.
void resolve_holder(const ProcessSnapshot& s, const LockAnalysis& a, WaitEdge& edge) {
  const ThreadWait& w = *edge.wait;
  auto hold_in = [&](std::size_t thread, RemoteAddr lock) -> std::optional<std::size_t> {
    const auto& holds = a.threads[thread].holds;
    for (std::size_t h = 0; h < holds.size(); ++h)
      if (holds[h].lock == lock) return h;
    return std::nullopt;
  };
  if (w.lock) {
    const LockState* lock = a.find(w.lock);
    if (lock && lock->kind == LockKind::kRLock) {
      if (lock->rlock_count > 0)
        if (auto t = thread_by_ident(s, lock->rlock_owner)) {
          edge.holder = t;
          edge.certainty = HolderCertainty::kExact;
          edge.how = "rlock_owner";
          edge.hold = hold_in(*t, w.lock);
        }
      return;  // an RLock's owner field is authoritative
    }
    if (lock && !lock->locked) return;  // released in the meantime
    // A plain Lock: the threads whose frames show it held.
    std::vector<std::pair<std::size_t, std::size_t>> with_blocks, locals;
    for (std::size_t t = 0; t < a.threads.size(); ++t) {
      const auto& holds = a.threads[t].holds;
      for (std::size_t h = 0; h < holds.size(); ++h) {
        if (holds[h].lock != w.lock) continue;
        if (holds[h].evidence == HoldEvidence::kWithBlock)
          with_blocks.push_back({t, h});
        else if (t != edge.waiter)
          locals.push_back({t, h});
        break;
      }
    }
    const auto& pick = !with_blocks.empty() ? with_blocks : locals;
    if (pick.size() == 1) {
      edge.holder = pick[0].first;
      edge.hold = pick[0].second;
      edge.certainty = HolderCertainty::kInferred;
      const auto& held = a.threads[pick[0].first].holds[pick[0].second];
      edge.how = held.evidence == HoldEvidence::kWithBlock
                     ? std::string("with block")
                     : fmt::format("local variable '{}'", held.variable);
    }
    // Lock waited for by a Thread.join on 3.8-3.12 (_tstate_lock): the
    // joined thread holds it until it ends.
    if (!edge.holder && w.join_ident)
      if (auto t = thread_by_ident(s, *w.join_ident)) {
        edge.holder = t;
        edge.certainty = HolderCertainty::kExact;
        edge.how = "Thread._ident";
      }
    return;
  }
  if (w.join_ident)
    if (auto t = thread_by_ident(s, *w.join_ident)) {
      edge.holder = t;
      edge.certainty = HolderCertainty::kExact;
      edge.how = "Thread._ident";
    }
}

}  // namespace

std::string_view certainty_name(HolderCertainty c) {
  switch (c) {
    case HolderCertainty::kUnknown: return "unknown";
    case HolderCertainty::kExact: return "exact";
    case HolderCertainty::kInferred: return "inferred";
  }
  return "?";
}

DeadlockFindings find_deadlocks(const ProcessSnapshot& s, const LockAnalysis& a,
                                const GilView& gil) {
  DeadlockFindings out;
  std::vector<std::optional<std::size_t>> edge_of(s.threads.size());
  for (std::size_t t = 0; t < s.threads.size() && t < a.threads.size(); ++t) {
    if (!a.threads[t].waits) continue;
    WaitEdge edge;
    edge.waiter = t;
    edge.wait = &*a.threads[t].waits;
    resolve_holder(s, a, edge);
    edge_of[t] = out.edges.size();
    out.edges.push_back(std::move(edge));
  }

  // Each thread waits for one thing, so following holders from any edge
  // either ends or enters one cycle.
  std::vector<int> state(out.edges.size(), 0);  // 0 new, 1 on the current path, 2 done
  std::vector<bool> on_cycle(out.edges.size(), false);
  for (std::size_t start = 0; start < out.edges.size(); ++start) {
    if (state[start]) continue;
    std::vector<std::size_t> path;
    std::optional<std::size_t> e = start;
    while (e && state[*e] == 0) {
      state[*e] = 1;
      path.push_back(*e);
      auto holder = out.edges[*e].holder;
      e = holder ? edge_of[*holder] : std::nullopt;
    }
    if (e && state[*e] == 1) {
      std::vector<std::size_t> cycle;
      auto from = std::find(path.begin(), path.end(), *e);
      for (auto it = from; it != path.end(); ++it) {
        cycle.push_back(*it);
        on_cycle[*it] = true;
      }
      out.cycles.push_back(std::move(cycle));
    }
    for (std::size_t p : path) state[p] = 2;
  }
  for (std::size_t i = 0; i < out.edges.size(); ++i) {
    if (on_cycle[i]) continue;
    // Bounded by the number of edges: the chain is functional.
    std::optional<std::size_t> e = i;
    for (std::size_t steps = 0; e && steps <= out.edges.size(); ++steps) {
      if (on_cycle[*e]) {
        out.behind_cycles.push_back(i);
        break;
      }
      auto holder = out.edges[*e].holder;
      e = holder ? edge_of[*holder] : std::nullopt;
    }
  }

  for (std::size_t i = 0; i < out.edges.size(); ++i)
    if (auto h = out.edges[i].holder; h && at(gil.waits_for_gil, *h))
      out.held_by_gil_waiter.push_back(i);
  for (std::size_t t = 0; t < s.threads.size(); ++t)
    if (at(gil.holds_gil, t) && at(gil.blocked_in_native, t)) out.gil_holder = t;
  if (out.gil_holder)
    for (std::size_t t = 0; t < s.threads.size(); ++t)
      if (t != *out.gil_holder && at(gil.waits_for_gil, t)) out.gil_waiters.push_back(t);
  return out;
}

}  // namespace pyattach::cpython
