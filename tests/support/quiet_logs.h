// Silences topic loggers for a test that feeds garbage on purpose.
#pragma once

#include <initializer_list>
#include <memory>
#include <utility>
#include <vector>

#include <spdlog/spdlog.h>

#include "core/log.h"

namespace pyattach::testing {

class QuietLogs {
 public:
  QuietLogs(std::initializer_list<const char*> topics) {
    for (const char* t : topics) {
      auto logger = log::get(t);
      saved_.emplace_back(logger, logger->level());
      logger->set_level(spdlog::level::off);
    }
  }
  ~QuietLogs() {
    for (auto& [logger, level] : saved_) logger->set_level(level);
  }

 private:
  std::vector<std::pair<std::shared_ptr<spdlog::logger>, spdlog::level::level_enum>> saved_;
};

}  // namespace pyattach::testing
