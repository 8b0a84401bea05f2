// libFuzzer target: mutated memory images through the CPython model and the
// value printer (README "Fuzzing"). Target memory is untrusted input; nothing
// here may crash, hang or allocate without bound, whatever the bytes.
//
// Input: [version][mode][root][mutation...]
//   version % 6 picks CPython 3.8..3.13 and its real layout (recorded_offsets).
//   mode % 4:
//     0  value:  the recorded image of live objects of that version
//                (tests/data/values/3.X.txt); read one recorded object with
//                ValueReader::read and print it with value_repr;
//     1  frame:  the same image, the root read as a frame (read_frame,
//                read_locals, lookup), as py-bt-full / py-locals / py-print do;
//     2  stack:  a runtime -> interpreter -> thread states -> frame chain built
//                with that version's layout; read_thread_states,
//                read_python_stack, build_thread_frames over synthetic native
//                frames, then print_py_bt and print_bt;
//     3  raw:    the stack image with the root word pointing anywhere.
//   Each mutation (op, region, offset, ...) overlays bytes, writes a pointer to
//   another place in the image, a small integer, or a recorded object address,
//   so that mutations stay structure-aware.
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <map>
#include <optional>
#include <sstream>
#include <string>
#include <vector>

#include "core/log.h"
#include "cpython/python_stack.h"
#include "cpython/thread_frames.h"
#include "cpython/values.h"
#include "render/backtrace.h"
#include "render/escape.h"
#include "render/value_repr.h"
#include "support/fake_memory.h"
#include "support/python_image.h"
#include "support/quiet_logs.h"
#include "support/recorded_layouts.h"

using namespace pyattach;
using namespace pyattach::cpython;

namespace {

constexpr int kMinors[] = {8, 9, 10, 11, 12, 13};

// Reads input bytes front to back; past the end it yields zeros.
class Input {
 public:
  Input(const std::uint8_t* data, std::size_t size) : data_(data), size_(size) {}
  std::uint8_t u8() { return pos_ < size_ ? data_[pos_++] : 0; }
  std::uint16_t u16() { return static_cast<std::uint16_t>(u8() | (u8() << 8)); }
  std::uint64_t u64() {
    std::uint64_t v = 0;
    for (int i = 0; i < 8; ++i) v |= std::uint64_t{u8()} << (8 * i);
    return v;
  }
  bool done() const { return pos_ >= size_; }

 private:
  const std::uint8_t* data_;
  std::size_t size_;
  std::size_t pos_ = 0;
};

struct Region {
  std::uint64_t start;
  std::vector<std::byte> bytes;
};

// One base image: regions plus interesting addresses (objects, frames).
struct Image {
  Offsets offsets;
  std::vector<Region> regions;
  std::vector<std::uint64_t> roots;
  std::uint64_t runtime = 0;  // stack images: &_PyRuntime
  std::vector<std::uint64_t> eval_frames_sp;  // stack images: C stack marks
};

std::string data_dir() {
  if (const char* env = std::getenv("PYATTACH_FUZZ_DATA_DIR")) return env;
  return PYATTACH_TEST_DATA_DIR;
}

std::vector<std::byte> from_hex(std::string_view hex) {
  std::vector<std::byte> out(hex.size() / 2);
  for (std::size_t i = 0; i < out.size(); ++i)
    out[i] = static_cast<std::byte>(std::stoi(std::string(hex.substr(2 * i, 2)), nullptr, 16));
  return out;
}

// tests/data/values/3.X.txt (scripts/record_value_images.py's format).
Image load_value_image(int minor) {
  Image image{testing::recorded_offsets(minor), {}, {}, 0, {}};
  std::ifstream in(data_dir() + "/values/3." + std::to_string(minor) + ".txt");
  if (!in) {
    std::fprintf(stderr, "fuzz_model: cannot read %s/values/3.%d.txt\n", data_dir().c_str(), minor);
    std::abort();
  }
  for (std::string line; std::getline(in, line);) {
    if (line.empty() || line[0] == '#') continue;
    std::istringstream words(line);
    std::string key, a, b;
    words >> key >> a >> b;
    if (key == "region")
      image.regions.push_back({std::stoull(a, nullptr, 16), from_hex(b)});
    else if (key == "value")
      image.roots.push_back(std::stoull(b, nullptr, 16));
  }
  return image;
}

// A runtime with one interpreter, two thread states and a frame chain of
// three code objects each, in the version's real layout.
Image build_stack_image(int minor) {
  Offsets o = testing::recorded_offsets(minor);
  testing::PythonImage py(o);
  const std::string linetable =
      minor >= 11 ? std::string("\xef\x04\xd8\x08", 4)   // location table entries
      : minor == 10 ? std::string("\x10\x02\x08\x01", 4)  // 3.10 linetable
                    : std::string("\x04\x01\x08\x02", 4); // lnotab
  std::uint64_t runtime = py.alloc(1024);
  std::uint64_t interp = py.alloc(8192);
  py.put_u64(runtime + o.runtime.interpreters_head, interp);
  std::vector<std::uint64_t> tstates;
  std::vector<std::uint64_t> roots;
  std::vector<std::uint64_t> marks;
  for (int t = 0; t < 2; ++t) {
    std::uint64_t ts = py.alloc(512);
    tstates.push_back(ts);
    py.put_u64(ts + o.tstate.interp, interp);
    py.put_u64(ts + o.tstate.thread_id, 0x7f0000001000ull + 0x1000ull * t);
    if (o.tstate.native_thread_id != kAbsent) py.put_u64(ts + o.tstate.native_thread_id, 100 + t);
    std::uint64_t previous = 0;
    std::uint64_t innermost = 0;
    for (int f = 0; f < 3; ++f) {
      std::string name = "fn" + std::to_string(t) + std::to_string(f);
      std::uint64_t code = py.code("/app/mod.py", name, 10 * (f + 1), linetable);
      std::uint64_t frame = py.alloc(256);
      if (minor <= 10) {
        py.put_u64(frame + o.frame_object.f_back, previous);
        py.put_u64(frame + o.frame_object.f_code, code);
        py.put_i32(frame + o.frame_object.f_lasti, 2);
        py.put_i32(frame + o.frame_object.f_lineno, 10 * (f + 1));
      } else {
        py.put_u64(frame + o.iframe.code, code);
        py.put_u64(frame + o.iframe.previous, previous);
        py.put_u64(frame + o.iframe.instr, code + o.code.code_adaptive + 4);
        if (minor == 11 && o.iframe.is_entry != kAbsent) py.put_u8(frame + o.iframe.is_entry, f == 0);
        if (minor >= 12 && f == 0) {
          // An entry shim (owned by the C stack) below the outermost frame.
          std::uint64_t shim = py.alloc(256);
          py.put_u8(shim + o.iframe.owner, 3);
          py.put_u64(frame + o.iframe.previous, shim);
          marks.push_back(shim);
        }
      }
      roots.push_back(frame);
      previous = frame;
      innermost = frame;
    }
    if (minor <= 10) {
      py.put_u64(ts + o.tstate.frame, innermost);
    } else if (o.tstate.current_frame != kAbsent) {
      py.put_u64(ts + o.tstate.current_frame, innermost);
    } else {
      std::uint64_t cframe = py.alloc(64);
      py.put_u64(cframe + o.cframe.current_frame, innermost);
      py.put_u64(ts + o.tstate.cframe, cframe);
      marks.push_back(cframe);
    }
  }
  py.put_u64(tstates[0] + o.tstate.next, tstates[1]);
  py.put_u64(interp + o.interp.threads_head, tstates[0]);
  Image image{o, {}, roots, runtime, marks};
  // The used part of the heap only: mutations should land on objects.
  constexpr std::size_t kUsed = 64 * 1024;
  std::vector<std::byte> heap(kUsed);
  (void)py.memory.read(RemoteAddr(testing::PythonImage::kHeap), heap);
  image.regions.push_back({testing::PythonImage::kHeap, std::move(heap)});
  return image;
}

struct Images {
  std::map<int, Image> values, stacks;
};

const Images& images() {
  static const Images all = [] {
    Images out;
    for (int minor : kMinors) {
      out.values.emplace(minor, load_value_image(minor));
      out.stacks.emplace(minor, build_stack_image(minor));
    }
    return out;
  }();
  return all;
}

// Some address inside the image, chosen by the input.
std::uint64_t pick_address(const Image& image, Input& in) {
  const Region& r = image.regions[in.u8() % image.regions.size()];
  return r.start + (r.bytes.empty() ? 0 : in.u16() % r.bytes.size());
}

void mutate(Image& image, Input& in) {
  for (int n = 0; n < 64 && !in.done(); ++n) {
    std::uint8_t op = in.u8();
    Region& r = image.regions[in.u8() % image.regions.size()];
    if (r.bytes.empty()) continue;
    std::size_t at = in.u16() % r.bytes.size();
    std::byte word[8];
    std::size_t len = 8;
    switch (op % 5) {
      case 0: {  // raw bytes
        len = 1 + in.u8() % 16;
        for (std::size_t i = 0; i < len && at + i < r.bytes.size(); ++i)
          r.bytes[at + i] = static_cast<std::byte>(in.u8());
        continue;
      }
      case 1: {  // a pointer into the image
        std::uint64_t p = pick_address(image, in);
        std::memcpy(word, &p, 8);
        break;
      }
      case 2: {  // a small (or negative) number
        std::int64_t v = static_cast<std::int8_t>(in.u8());
        std::memcpy(word, &v, 8);
        break;
      }
      case 3: {  // a known object or frame
        std::uint64_t p = image.roots.empty() ? 0 : image.roots[in.u8() % image.roots.size()];
        std::memcpy(word, &p, 8);
        break;
      }
      default: {  // a full word from the input
        std::uint64_t v = in.u64();
        std::memcpy(word, &v, 8);
      }
    }
    at &= ~std::size_t{7};
    for (std::size_t i = 0; i < len && at + i < r.bytes.size(); ++i) r.bytes[at + i] = word[i];
  }
}

testing::FakeMemory to_memory(const Image& image) {
  testing::FakeMemory memory;
  for (const Region& r : image.regions) {
    memory.add_region(r.start, r.bytes.size());
    memory.write(r.start, r.bytes.data(), r.bytes.size());
  }
  return memory;
}

class FakeSymbols final : public Symbolizer {
 public:
  static constexpr std::uint64_t kEval = 0x400000, kCFunction = 0x401000, kEnd = 0x402000;
  std::optional<SymbolInfo> symbolize(RemoteAddr addr) const override {
    std::uint64_t a = addr.as_int();
    if (a >= kEval && a < kCFunction)
      return SymbolInfo{"_PyEval_EvalFrameDefault", RemoteAddr(kEval), 0x1000, "libpython"};
    if (a >= kCFunction && a < kEnd)
      return SymbolInfo{"cfunction_vectorcall_O", RemoteAddr(kCFunction), 0x1000, "libpython"};
    return std::nullopt;
  }
  std::string module_of(RemoteAddr addr) const override {
    return addr.as_int() < kEnd ? "/usr/lib/libpython3.so" : "";
  }
  std::optional<RemoteAddr> address_of(std::string_view, std::string_view) const override {
    return std::nullopt;
  }
};

void fuzz_values(const Image& base, int minor, bool as_frame, Input& in) {
  Image image = base;
  std::size_t root_index = in.u8();
  mutate(image, in);
  testing::FakeMemory memory = to_memory(image);
  ReadLimits limits;
  limits.max_nodes = 2000;
  limits.max_total_nodes = 20000;
  ValueReader reader(memory, image.offsets, limits);
  render::ReprOptions options;
  options.python_minor = minor;
  RemoteAddr root(image.roots.empty() ? 0 : image.roots[root_index % image.roots.size()]);
  if (!as_frame) {
    PyValue v = reader.read(root);
    std::string text = render::escape_for_terminal(render::value_repr(v, options));
    if (v.node_count() > limits.max_nodes + 64) std::abort();
    options.max_len = 0;
    (void)render::value_repr(v, options);
    (void)text;
    return;
  }
  (void)render::value_repr(reader.read_frame(root), options);
  if (auto locals = reader.read_locals(root, LocalsScope::kAll))
    for (const auto& local : *locals) (void)render::value_repr(local.value, options);
  (void)reader.lookup(root, "x");
}

void fuzz_stack(const Image& base, bool raw_root, Input& in) {
  Image image = base;
  std::uint64_t runtime = raw_root ? pick_address(image, in) : image.runtime;
  // Synthetic native frames: eval frames whose [sp, cfa) may hold a mark.
  std::vector<NativeFrame> native;
  std::size_t count = in.u8() % 24;
  for (std::size_t i = 0; i < count; ++i) {
    NativeFrame f;
    std::uint8_t kind = in.u8();
    f.ip = kind % 3 == 0 ? FakeSymbols::kEval + 16 : kind % 3 == 1 ? FakeSymbols::kCFunction + 8 : 0x500000;
    if (!image.eval_frames_sp.empty() && kind & 0x80) {
      std::uint64_t mark = image.eval_frames_sp[in.u8() % image.eval_frames_sp.size()];
      f.sp = mark - in.u8();
      f.cfa = mark + in.u8();
    } else {
      f.sp = pick_address(image, in);
      f.cfa = f.sp + in.u8();
    }
    for (auto& reg : f.callee_saved)
      if (in.u8() & 1) reg = pick_address(image, in);
    native.push_back(f);
  }
  mutate(image, in);
  testing::FakeMemory memory = to_memory(image);
  auto states = read_thread_states(memory, RemoteAddr(runtime), image.offsets);
  if (!states) return;
  FakeSymbols symbols;
  FrameContext context{memory, image.offsets, symbols, RemoteAddr(0x600000), RemoteAddr(0x600100)};
  CodeCache codes;
  std::ostringstream out;
  render::SourceProvider no_sources = [](const std::string&, int) { return std::nullopt; };
  std::size_t n = 0;
  for (const auto& state : *states) {
    if (++n > 8) break;
    ThreadSnapshot thread;
    thread.tid = static_cast<pid_t>(state.native_thread_id & 0x7fffffff);
    thread.tstate = state.tstate;
    thread.comm = "python";
    PythonStack stack = read_python_stack(memory, image.offsets, state.tstate, codes, 512);
    build_thread_frames(thread, native, std::move(stack), context);
    out << render::thread_header(thread, static_cast<int>(n));
    render::print_py_bt(out, thread, no_sources);
    render::print_bt(out, thread, no_sources);
  }
}

}  // namespace

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  // Quiet: the model logs what it rejects, which is nearly every input.
  static const testing::QuietLogs quiet{"cpython", "mem", "render"};
  (void)images();
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  Input in(data, size);
  int minor = kMinors[in.u8() % 6];
  std::uint8_t mode = in.u8() % 4;
  const Images& all = images();
  if (mode <= 1)
    fuzz_values(all.values.at(minor), minor, mode == 1, in);
  else
    fuzz_stack(all.stacks.at(minor), mode == 3, in);
  return 0;
}
