// pyattach's JSON output (--format json), schema docs/pyattach-output.schema.json.
// One document per run:
//   {"schema_version": 1, "pid", "python_version", "interpreter",
//    "threads": [every thread: identity and state],
//    "results": [one object per command and thread, in the order run],
//    "errors": [commands that failed]}
// Addresses are strings ("0x7f..."): JSON numbers lose precision past 2^53.
// Strings from the target are kept as they are (JSON escapes control
// characters); invalid UTF-8 is replaced with U+FFFD when dumped.
#pragma once

#include <cstdint>
#include <string>

#include <nlohmann/json.hpp>

#include "cpython/snapshot.h"
#include "cpython/values.h"
#include "render/backtrace.h"
#include "render/value_repr.h"

namespace pyattach::render {

inline constexpr int kJsonSchemaVersion = 1;

std::string json_address(std::uint64_t address);

// {"number", "tid", "pthread_id", "comm", "python_name", "tstate", "state": {
//   "activity", "gil", "text", "syscall": {"number", "name", "args", "description"}}}
nlohmann::json thread_json(const cpython::ThreadSnapshot& thread, int number);
// The document without results: schema_version, pid, version, threads.
nlohmann::json document_json(const cpython::ProcessSnapshot& snapshot);
// {"kind": "python", "address", "file", "line", "function", "qualname", "source"}
// ("readable": false and no file/line when the frame could not be read).
nlohmann::json python_frame_json(const cpython::PyFrameSnapshot& frame,
                                 const SourceProvider& sources);
// py-bt from native frame `from`: python frames, and {"kind": "native_call",
// "text": "<built-in method ...>"} for python-gdb.py's lines for C functions.
nlohmann::json py_bt_json(const cpython::ThreadSnapshot& thread, const SourceProvider& sources,
                          std::size_t from);
// bt: [{"index", "pc", "symbol", "offset", "module", "is_eval", "python_info",
// "python_frames": [...]}]
nlohmann::json bt_json(const cpython::ThreadSnapshot& thread, const SourceProvider& sources);
// A value: {"repr", "type", "address"} (address null for NULL).
nlohmann::json value_json(const cpython::PyValue& value, const ReprOptions& options);

// The document as text, invalid UTF-8 replaced.
std::string dump_json(const nlohmann::json& document);

}  // namespace pyattach::render
