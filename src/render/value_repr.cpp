// python-gdb.py's write_repr family (Tools/gdb/libpython.py, 3.8-3.13), over
// PyValue trees. Where python-gdb.py prints something Python's repr() would
// not, and the difference is a bug or a loss rather than a choice of style,
// we print what repr() prints; each such place says what python-gdb.py
// prints instead.
#include "render/value_repr.h"

#include <fmt/format.h>

#include <charconv>
#include <cmath>
#include <cstdlib>
#include <system_error>

#include "render/unicode_printable.h"

namespace pyattach::render {
namespace {

using cpython::PyValue;
using cpython::ValueKind;

constexpr std::string_view kHex = "0123456789abcdef";

// TruncatedStringIO: keeps the first max_len characters of everything
// written; once more is written it is "full" and ignores the rest.
class Out {
 public:
  explicit Out(std::size_t max_len) : max_(max_len) {}

  void write(std::string_view data) {
    if (full_) return;
    if (max_ == 0) {
      text_ += data;
      return;
    }
    std::size_t i = 0;
    for (; i < data.size(); ++i) {
      auto byte = static_cast<unsigned char>(data[i]);
      if ((byte & 0xc0) != 0x80) {  // a character starts here
        if (chars_ == max_) {
          full_ = true;
          break;
        }
        ++chars_;
      }
    }
    text_.append(data.substr(0, i));
  }
  // The value runs out here (a read limit): end as a cut would.
  void cut() { full_ = true; }
  bool full() const { return full_; }

  std::string finish() && {
    if (full_) text_ += "...(truncated)";
    return std::move(text_);
  }

 private:
  std::string text_;
  std::size_t max_ = 0;
  std::size_t chars_ = 0;
  bool full_ = false;
};

void hex_escape(std::string& out, char prefix, std::uint32_t cp, int digits) {
  out += '\\';
  out += prefix;
  for (int shift = 4 * (digits - 1); shift >= 0; shift -= 4) out += kHex[(cp >> shift) & 0xf];
}

// The repr of a str's characters; `quote` is the chosen quote character.
void append_str_body(std::string& out, std::string_view wtf8, char quote, int minor) {
  for (std::size_t pos = 0; pos < wtf8.size();) {
    char32_t cp = cpython::next_wtf8(wtf8, pos);
    if (cp & cpython::kInvalidByte) {
      // Not WTF-8 (only target memory that is not a str reaches here).
      hex_escape(out, 'x', cp & 0xff, 2);
      continue;
    }
    if (cp == static_cast<char32_t>(quote) || cp == '\\') {
      out += '\\';
      out += static_cast<char>(cp);
    } else if (cp == '\t') {
      out += "\\t";
    } else if (cp == '\n') {
      out += "\\n";
    } else if (cp == '\r') {
      out += "\\r";
    } else if (cp < ' ' || cp == 0x7f) {
      hex_escape(out, 'x', cp, 2);
    } else if (cp < 0x7f) {
      out += static_cast<char>(cp);
    } else if (is_printable(cp, minor)) {
      // python-gdb.py also escapes printable characters that gdb's locale
      // encoding cannot encode (all of them under LANG=C), and asks gdb's own
      // Python, not the target's, what is printable; repr() does neither.
      cpython::append_wtf8(out, cp);
    } else if (cp <= 0xff) {
      hex_escape(out, 'x', cp, 2);
    } else if (cp <= 0xffff) {
      hex_escape(out, 'u', cp, 4);
    } else {
      hex_escape(out, 'U', cp, 8);
    }
  }
}

// unicode_repr's quote choice: ' unless the text has ' and no ".
char str_quote(std::string_view text) {
  bool single = text.find('\'') != std::string_view::npos;
  bool dbl = text.find('"') != std::string_view::npos;
  return single && !dbl ? '"' : '\'';
}

// The bytes of a bytes repr between the quotes. bytearray_repr always
// escapes ' (even inside "..."); bytes_repr escapes only the quote in use.
void append_bytes_body(std::string& out, std::string_view bytes, char quote,
                       bool bytearray) {
  for (char ch : bytes) {
    auto c = static_cast<unsigned char>(ch);
    if (c == static_cast<unsigned char>(quote) || c == '\\' || (bytearray && c == '\'')) {
      out += '\\';
      out += ch;
    } else if (c == '\t') {
      out += "\\t";
    } else if (c == '\n') {
      out += "\\n";
    } else if (c == '\r') {
      out += "\\r";
    } else if (c < ' ' || c >= 0x7f) {
      hex_escape(out, 'x', c, 2);
    } else {
      out += ch;
    }
  }
}

std::string address(RemoteAddr a) { return fmt::format("{:#x}", a.as_int()); }
std::string at_remote(std::string_view type_name, RemoteAddr a) {
  return fmt::format("<{} at remote {:#x}>", type_name, a.as_int());
}

// PyOS_double_to_string(x, 'r', 0, flags): the shortest round-trip digits,
// in exponent form when the decimal point would be more than 16 places right
// of the first digit or 4 places left of it.
std::string format_double(double x, bool add_dot_0, bool always_sign) {
  std::string sign = std::signbit(x) ? "-" : (always_sign ? "+" : "");
  if (std::isnan(x)) return (always_sign ? "+" : "") + std::string("nan");
  if (std::isinf(x)) return sign + "inf";
  char buf[64];
  auto r = std::to_chars(buf, buf + sizeof buf, std::fabs(x), std::chars_format::scientific);
  std::string_view sci(buf, static_cast<std::size_t>(r.ptr - buf));  // d[.ddd]e[+-]xx
  std::size_t e = sci.find('e');
  std::string digits;
  for (char c : sci.substr(0, e))
    if (c != '.') digits += c;
  int exponent = 0;
  std::string_view exp_text = sci.substr(e + 1);
  if (!exp_text.empty() && exp_text[0] == '+') exp_text.remove_prefix(1);
  std::from_chars(exp_text.data(), exp_text.data() + exp_text.size(), exponent);
  int decpt = exponent + 1;  // digits d1 d2 ... with the point after decpt of them
  std::string out = sign;
  const int n = static_cast<int>(digits.size());
  if (decpt <= -4 || decpt > 16) {
    out += digits[0];
    if (n > 1) {
      out += '.';
      out += digits.substr(1);
    }
    out += fmt::format("e{}{:02d}", exponent < 0 ? '-' : '+', std::abs(exponent));
  } else if (decpt <= 0) {
    out += "0." + std::string(static_cast<std::size_t>(-decpt), '0') + digits;
  } else if (decpt >= n) {
    out += digits + std::string(static_cast<std::size_t>(decpt - n), '0');
    if (add_dot_0) out += ".0";
  } else {
    out += digits.substr(0, static_cast<std::size_t>(decpt)) + "." +
           digits.substr(static_cast<std::size_t>(decpt));
  }
  return out;
}

class Printer {
 public:
  Printer(Out& out, const ReprOptions& options) : out_(out), opt_(options) {}

  void value(const PyValue& v) {
    if (out_.full()) return;
    switch (v.kind) {
      case ValueKind::kNull:
        // FakeRepr: "the NULL pointer, we have no way of knowing a type".
        return out_.write("0x0");
      case ValueKind::kUnreadable:
      case ValueKind::kOther:
        return out_.write(at_remote(v.type_name, v.address));
      case ValueKind::kCycle:
        return out_.write(cycle_marker(v.of));
      case ValueKind::kElided:
        return out_.cut();
      case ValueKind::kNone:
        return out_.write("None");
      case ValueKind::kBool:
        return out_.write(v.flag ? "True" : "False");
      case ValueKind::kInt:
        // python-gdb.py sums at most 1000 digits (safety_limit) and prints a
        // wrong number for larger ints; we convert up to ReadLimits'
        // max_int_digits and print the rest as an object.
        if (v.truncated) return out_.write(at_remote(v.type_name, v.address));
        return out_.write(v.text);
      case ValueKind::kFloat:
        // python-gdb.py has no float printer: <float at remote 0x...>.
        return out_.write(float_repr(v.real));
      case ValueKind::kComplex:
        // Likewise <complex at remote 0x...>.
        return out_.write(complex_repr(v.real, v.imag));
      case ValueKind::kStr:
        return str(v);
      case ValueKind::kBytes:
      case ValueKind::kByteArray:
        return bytes(v);
      case ValueKind::kList:
        return sequence(v, "[", "]");
      case ValueKind::kTuple:
        return sequence(v, "(", v.length == 1 ? ",)" : ")");
      case ValueKind::kDict:
        return dict(v);
      case ValueKind::kSet:
      case ValueKind::kFrozenSet:
        return set(v);
      case ValueKind::kInstance:
        return instance(v);
      case ValueKind::kException:
        return exception(v);
      case ValueKind::kBuiltinFunction:
        return out_.write(fmt::format("<built-in function {}>", v.name));
      case ValueKind::kBuiltinMethod:
        return out_.write(fmt::format("<built-in method {} of {} object at remote {}>", v.name,
                                      v.self_type, address(v.self_address)));
      case ValueKind::kMethodWrapper:
        return out_.write(fmt::format(
            "<method-wrapper {} of {} object at {}>",
            v.flag ? str_repr(v.name, opt_.python_minor) : "<unknown name>",
            v.self_type.empty() ? "<unknown tp_name>" : v.self_type, address(v.self_address)));
      case ValueKind::kFrame:
        return frame(v);
      case ValueKind::kType:
      case ValueKind::kModule:
      case ValueKind::kFunction:
      case ValueKind::kMethod:
      case ValueKind::kCode:
      case ValueKind::kCell:
        return out_.write(opt_.show_names ? named(v) : at_remote(v.type_name, v.address));
    }
  }

 private:
  static std::string_view cycle_marker(ValueKind of) {
    switch (of) {
      case ValueKind::kList:
        return "[...]";
      case ValueKind::kDict:
        return "{...}";
      case ValueKind::kInstance:
        return "<...>";
      case ValueKind::kFrame:  // python-gdb.py recurses until the output is cut
        return "<...>";
      default:  // tuple, set, frozenset (PySetObjectPtr writes "(...)"), exception
        return "(...)";
    }
  }

  // Children from `from` on, separated by ", "; a kElided child ends them.
  void items(const PyValue& v, std::string_view sep = ", ") {
    for (std::size_t i = 0; i < v.children.size(); ++i) {
      if (i > 0) out_.write(sep);
      value(v.children[i]);
    }
  }

  void str(const PyValue& v) {
    // python-gdb.py reads at most 1000 characters of a str and then closes
    // the quote, as if the str ended there; we read up to max_str_chars and
    // cut the output where the data ends.
    std::string s(1, str_quote(v.text));
    append_str_body(s, v.text, s[0], opt_.python_minor);
    if (!v.truncated) s += s[0];
    out_.write(s);
    if (v.truncated) out_.cut();
  }

  void bytes(const PyValue& v) {
    // Bytes likewise (python-gdb.py: at most 1000). bytearray has no printer
    // in python-gdb.py (<bytearray at remote 0x...>).
    bool bytearray = v.kind == ValueKind::kByteArray;
    char quote = str_quote(v.text);
    std::string s = bytearray ? "bytearray(b" : "b";
    s += quote;
    append_bytes_body(s, v.text, quote, bytearray);
    if (!v.truncated) {
      s += quote;
      if (bytearray) s += ')';
    }
    out_.write(s);
    if (v.truncated) out_.cut();
  }

  void sequence(const PyValue& v, std::string_view open, std::string_view close) {
    out_.write(open);
    items(v);
    out_.write(close);
  }

  void dict(const PyValue& v) {
    out_.write("{");
    pairs(v, ": ", /*raw_keys=*/false);
    out_.write("}");
  }

  // key<sep>value pairs from children; raw_keys: str keys without quotes.
  void pairs(const PyValue& v, std::string_view sep, bool raw_keys) {
    for (std::size_t i = 0; i < v.children.size(); i += 2) {
      if (i > 0) out_.write(", ");
      const PyValue& key = v.children[i];
      if (raw_keys && key.kind == ValueKind::kStr) {
        out_.write(raw_text(key.text));
        if (key.truncated) out_.cut();
      } else {
        // python-gdb.py writes an instance attribute name with out.write(),
        // which raises for a key that is not a str; we write its repr.
        value(key);
      }
      if (i + 1 >= v.children.size()) break;  // a budget cut between key and value
      out_.write(sep);
      value(v.children[i + 1]);
    }
  }

  void set(const PyValue& v) {
    // PySetObjectPtr.write_repr, after Python's set_repr.
    if (v.length == 0 && v.children.empty()) return out_.write(v.type_name + "()");
    bool plain = v.type_name == "set";
    if (!plain) out_.write(v.type_name + "(");
    out_.write("{");
    items(v);
    out_.write("}");
    if (!plain) out_.write(")");
  }

  void instance(const PyValue& v) {
    out_.write("<" + v.type_name);
    if (v.flag) {
      out_.write("(");
      pairs(v, "=", /*raw_keys=*/true);
      out_.write(")");
    }
    out_.write(" at remote " + address(v.address) + ">");
  }

  void exception(const PyValue& v) {
    out_.write(v.type_name);
    if (v.children.empty()) return out_.cut();
    const PyValue& args = v.children[0];
    // python-gdb.py writes the args tuple, ValueError('msg',); Python 3.7+
    // writes a single argument without the comma: ValueError('msg').
    if (args.kind == ValueKind::kTuple && args.length == 1 && args.children.size() == 1) {
      out_.write("(");
      value(args.children[0]);
      out_.write(")");
      return;
    }
    value(args);
  }

  void frame(const PyValue& v) {
    out_.write(fmt::format("Frame {}, for file {}, line {}, in {} (", address(v.address),
                           raw_text(v.text), v.line ? std::to_string(*v.line) : "?",
                           raw_text(v.name)));
    pairs(v, "=", /*raw_keys=*/true);
    out_.write(")");
  }

  std::string named(const PyValue& v) const {
    if (v.name.empty() && v.kind != ValueKind::kCell) return at_remote(v.type_name, v.address);
    std::string addr = address(v.address);
    std::string name = raw_text(v.name);
    switch (v.kind) {
      case ValueKind::kType:
        return fmt::format("<class '{}' at remote {}>", name, addr);
      case ValueKind::kModule:
        return fmt::format("<module '{}' at remote {}>", name, addr);
      case ValueKind::kFunction:
        return fmt::format("<function {} at remote {}>", name, addr);
      case ValueKind::kMethod:
        return fmt::format("<bound method {} of <{} object at remote {}>>", name, v.self_type,
                           address(v.self_address));
      case ValueKind::kCode:
        return fmt::format("<code object {} at remote {}>", name, addr);
      case ValueKind::kCell:
        if (!v.self_address) return fmt::format("<cell at remote {}: empty>", addr);
        return fmt::format("<cell at remote {}: {} object at remote {}>", addr, v.self_type,
                           address(v.self_address));
      default:
        return at_remote(v.type_name, v.address);
    }
  }

  Out& out_;
  const ReprOptions& opt_;
};

}  // namespace

std::string value_repr(const PyValue& value, const ReprOptions& options) {
  Out out(options.max_len);
  Printer(out, options).value(value);
  return std::move(out).finish();
}

std::string str_repr(std::string_view wtf8, int python_minor) {
  char quote = str_quote(wtf8);
  std::string out(1, quote);
  append_str_body(out, wtf8, quote, python_minor);
  out += quote;
  return out;
}

std::string bytes_repr(std::string_view bytes) {
  char quote = str_quote(bytes);
  std::string out = "b";
  out += quote;
  append_bytes_body(out, bytes, quote, false);
  out += quote;
  return out;
}

std::string float_repr(double value) { return format_double(value, true, false); }

std::string complex_repr(double real, double imag) {
  // complex_repr: a +0.0 real part is left out, with the parentheses.
  if (real == 0.0 && !std::signbit(real)) return format_double(imag, false, false) + "j";
  std::string re = std::isnan(real) ? "nan" : format_double(real, false, false);
  return "(" + re + format_double(imag, false, true) + "j)";
}

std::string raw_text(std::string_view wtf8) {
  std::string out;
  out.reserve(wtf8.size());
  for (std::size_t pos = 0; pos < wtf8.size();) {
    std::size_t start = pos;
    char32_t cp = cpython::next_wtf8(wtf8, pos);
    if (cp >= 0xd800 && cp <= 0xdfff) {
      hex_escape(out, 'u', cp, 4);
    } else {
      // Valid UTF-8, or a stray byte that escape_for_terminal will escape.
      out.append(wtf8.substr(start, pos - start));
    }
  }
  return out;
}

}  // namespace pyattach::render
