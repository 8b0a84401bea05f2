#include "session.h"

#include <chrono>
#include <cstdlib>
#include <thread>

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
    : out(out_stream), err(err_stream), target_(target), source_files_(target.pid()) {}

Session::~Session() { release(); }

Result<void> Session::stop() {
  release();
  auto stopped = attach::StoppedProcess::stop(target_.pid());
  if (!stopped) return std::unexpected(stopped.error());
  stopped_.emplace(std::move(*stopped));
  // Attaching installs handlers that detach and exit on SIGINT; at the prompt
  // Ctrl-C must only cancel the running command.
  if (interactive) install_interactive_sigint();
  auto snapshot = target_.capture(*stopped_);
  if (!snapshot) {
    release();
    return std::unexpected(snapshot.error());
  }
  snapshot_ = std::move(*snapshot);
  has_snapshot_ = true;
  values_.emplace(target_.memory(), target_.offsets());
  selection_ = {};
  return {};
}

void Session::release() {
  values_.reset();
  if (stopped_) {
    if (stopped_->attached()) hold_stop_for_tests();
    stopped_->detach();
    stopped_.reset();
  }
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
  return [this](const std::string& file, int line) { return source_files_.line(file, line); };
}

}  // namespace pyattach::cli
