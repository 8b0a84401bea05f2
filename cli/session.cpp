#include "session.h"

#include "thread_names.h"

#include <chrono>
#include <cstdlib>
#include <thread>

#include <nlohmann/json.hpp>

#include "render/json_output.h"
#include "render/value_repr.h"
#include "shell.h"

namespace pyattach::cli {
namespace {

// Test-only (tests/live/test_faults.py): PYATTACH_TEST_HOLD_STOP_MS=N keeps the
// target stopped N more milliseconds before detaching, so that a test can send
// signals to the target or to pyattach while it is stopped. Not for users.
void hold_stop_for_tests() {
  static const long hold_ms = [] {
    const char* value = std::getenv("PYATTACH_TEST_HOLD_STOP_MS");
    return value ? std::strtol(value, nullptr, 10) : 0L;
  }();
  if (hold_ms > 0) std::this_thread::sleep_for(std::chrono::milliseconds(hold_ms));
}

}  // namespace

std::atomic<bool> Session::interrupted{false};

Session::Session(PreparedTarget& target, std::ostream& out_stream, std::ostream& err_stream)
    : out(out_stream),
      err(err_stream),
      target_(target),
      source_files_(target.pid()),
      json_results_(std::make_unique<nlohmann::json>(nlohmann::json::array())),
      json_errors_(std::make_unique<nlohmann::json>(nlohmann::json::array())) {}

Session::~Session() { release(); }

Result<void> Session::stop() {
  release();
  // The snapshot is built before the release: no symbol file may be read then.
  if (!release_after_read) {
    const auto index_start = Clock::now();
    target_.index_all_symbols();
    const double index_ms = ms_between(index_start, Clock::now());
    stats.symbols_ms += index_ms;
    stats.prepare_ms += index_ms;
  }
  target_.before_stop();
  stop_start_ = Clock::now();
  auto stopped = attach::StoppedProcess::stop(target_.pid());
  const auto seized = Clock::now();
  if (!stopped) return std::unexpected(stopped.error());
  stopped_.emplace(std::move(*stopped));
  ++stats.stops;
  stats.seize_ms += ms_between(stop_start_, seized);
  stats.registers_ms += stopped_->registers_ms();
  // Attaching installs handlers that detach and exit on SIGINT; at the prompt
  // Ctrl-C must only cancel the running command.
  if (interactive) install_interactive_sigint();
  auto capture = target_.read_stopped(*stopped_);
  stats.read_ms += ms_between(seized, Clock::now());
  stats.stacks_ms += capture.stacks_ms;
  stats.states_ms += capture.states_ms;
  stats.frame_pages_ms += capture.frame_pages_ms;
  stats.frames_ms += capture.frames_ms;
  if (release_after_read) release(true);
  const auto build_start = Clock::now();
  auto snapshot = target_.build_snapshot(std::move(capture));
  stats.snapshot_ms += ms_between(build_start, Clock::now());
  if (!snapshot) {
    release();
    return std::unexpected(snapshot.error());
  }
  snapshot_ = std::move(*snapshot);
  has_snapshot_ = true;
  values_.emplace(target_.memory(), target_.offsets());
  selection_ = {};
  stats.threads = snapshot_.threads.size();
  stats.native_frames = stats.python_frames = 0;
  for (const auto& t : snapshot_.threads) {
    stats.native_frames += t.native.size();
    stats.python_frames += t.python.size();
  }
  names_read_ = fds_named_ = false;
  if (want_thread_names) read_python_thread_names();
  return {};
}

void Session::release(bool keep_values) {
  if (!keep_values) values_.reset();
  if (stopped_) {
    if (stopped_->attached()) hold_stop_for_tests();
    const auto detach_start = Clock::now();
    stopped_->detach();
    stopped_.reset();
    const auto released = Clock::now();
    stats.detach_ms += ms_between(detach_start, released);
    stats.pause_ms += ms_between(stop_start_, released);
    // From here on the cache is the snapshot. Misses still read the target
    // (native frame decoration reads the called PyCFunctionObject, validated
    // by type and ml_meth); --stats counts them.
    target_.cache().freeze([](RemoteAddr) { return true; });
  }
  name_syscall_fds();
}

void Session::add_json_result(std::string_view key, nlohmann::json value) {
  if (dry_run) return;  // the pass that only fills the page cache
  nlohmann::json result = {{"command", current_command}};
  if (has_snapshot_ && selection_.thread < snapshot_.threads.size())
    result["thread"] = selection_.thread + 1;
  result[std::string(key)] = std::move(value);
  json_results_->push_back(std::move(result));
}

void Session::add_json_error(std::string_view message) {
  if (dry_run) return;
  json_errors_->push_back({{"command", current_command}, {"message", message}});
}

nlohmann::json Session::json_document() {
  name_syscall_fds();
  nlohmann::json document = render::document_json(snapshot_);
  document["results"] = *json_results_;
  document["errors"] = *json_errors_;
  return document;
}

void Session::read_python_thread_names() {
  if (names_read_ || !values_ || !has_snapshot_) return;
  for (auto& thread : snapshot_.threads) thread.python_name = python_thread_name(*values_, thread);
  names_read_ = true;
}

void Session::name_syscall_fds() {
  if (fds_named_ || !has_snapshot_) return;
  cli::name_syscall_fds(snapshot_);
  fds_named_ = true;
}

void Session::adopt_snapshot(cpython::ProcessSnapshot snapshot) {
  release();
  snapshot_ = std::move(snapshot);
  has_snapshot_ = true;
  selection_ = {};
  stats.threads = snapshot_.threads.size();
  stats.native_frames = stats.python_frames = 0;
  for (const auto& t : snapshot_.threads) stats.python_frames += t.python.size();
}

void Session::collect_memory_stats() {
  const auto& c = target_.cache().stats();
  stats.syscalls = target_.live_memory().syscalls();
  stats.bytes = target_.live_memory().bytes_read();
  stats.cache_hits = c.hits;
  stats.cache_misses = c.misses;
  stats.pages = c.pages;
  stats.bad_pages = c.bad_pages;
  stats.pages_after_release = c.live_after_freeze;
  stats.refused_after_release = c.frozen_misses;
}

const cpython::ThreadSnapshot* Session::selected_thread() const {
  if (!has_snapshot_ || selection_.thread >= snapshot_.threads.size()) return nullptr;
  return &snapshot_.threads[selection_.thread];
}

const std::vector<std::size_t>* Session::selected_python_frames() const {
  const auto* thread = selected_thread();
  if (!thread) return nullptr;
  for (std::size_t i = selection_.frame; i < thread->native.size(); ++i)
    if (thread->native[i].is_eval && !thread->native[i].python_frames.empty())
      return &thread->native[i].python_frames;
  return nullptr;
}

render::SourceProvider Session::sources() {
  if (dry_run) return [](const std::string&, int) { return std::optional<std::string>(); };
  return [this](const std::string& file, int line) { return source_files_.line(file, line); };
}

}  // namespace pyattach::cli
