#include "rollupd/app/config_loader.hpp"

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <toml++/toml.h>

#include "rollupd/app/settings.hpp"
#include "rollupd/core/hex.hpp"

extern char** environ;  // NOLINT: POSIX

namespace rollup::app {
namespace {

// A value written back the way a person would type it in TOML: strings in
// double quotes with the usual escapes.
std::string quote(std::string_view s) {
  std::string out = "\"";
  for (char c : s) {
    const auto u = static_cast<unsigned char>(c);
    if (c == '"' || c == '\\') {
      out += '\\';
      out += c;
    } else if (u < 0x20 || u == 0x7f) {
      out += "\\u00";
      append_hex(out, u, 2);
    } else {
      out += c;
    }
  }
  return out + "\"";
}

std::string shown(const raw_value& v) {
  switch (v.type) {
    case raw_value::kind::text:
    case raw_value::kind::string: return quote(v.text);
    case raw_value::kind::integer:
    case raw_value::kind::other: return v.text;
  }
  return v.text;
}

// A secret's value as an error shows it: its length, and the first control
// character or space in it (what is most often wrong with a pasted secret).
std::string hidden(std::string_view s) {
  std::string out = "<hidden: " + std::to_string(s.size()) + " bytes";
  for (std::size_t i = 0; i < s.size(); ++i) {
    const auto u = static_cast<unsigned char>(s[i]);
    if (u <= 0x20 || u == 0x7f) {
      out += ", " + (u == 0x20 ? std::string("a space") : quote(s.substr(i, 1))) + " at byte " + std::to_string(i + 1);
      break;
    }
  }
  return out + ">";
}

// A value as an error shows it: quoted, or hidden when it is a secret's text.
bool is_secret_text(const setting& s, const raw_value& v) {
  return s.secret && (v.type == raw_value::kind::text || v.type == raw_value::kind::string);
}
std::string shown(const setting& s, const raw_value& v) { return is_secret_text(s, v) ? hidden(v.text) : shown(v); }

// The value a config_error keeps: as written, or hidden when it is a secret's text.
std::string kept(const setting& s, const raw_value& v) { return is_secret_text(s, v) ? hidden(v.text) : v.text; }

std::size_t edit_distance(std::string_view a, std::string_view b) {
  std::vector<std::size_t> prev(b.size() + 1);
  std::vector<std::size_t> cur(b.size() + 1);
  for (std::size_t j = 0; j <= b.size(); ++j) prev[j] = j;
  for (std::size_t i = 1; i <= a.size(); ++i) {
    cur[0] = i;
    for (std::size_t j = 1; j <= b.size(); ++j) {
      const std::size_t sub = prev[j - 1] + (a[i - 1] == b[j - 1] ? 0 : 1);
      cur[j] = std::min({prev[j] + 1, cur[j - 1] + 1, sub});
    }
    std::swap(prev, cur);
  }
  return prev[b.size()];
}

// "; did you mean X?" when one name is close, else the fallback.
template <class Name>
std::string suggestion(std::string_view wrong, Name name_of, std::string_view prefix = "") {
  std::string best;
  std::size_t best_distance = 4;  // more than 3 edits away is no suggestion
  for (const auto& s : settings()) {
    const std::string candidate = std::string(prefix) + name_of(s);
    const auto d = edit_distance(wrong, candidate);
    if (d < best_distance) {
      best_distance = d;
      best = candidate;
    }
  }
  if (!best.empty()) return "; did you mean " + best + "?";
  return "; rollupd --help lists every setting";
}

raw_value from_toml(const toml::node& n) {
  raw_value v;
  if (const auto* s = n.as_string()) {
    v.type = raw_value::kind::string;
    v.text = s->get();
  } else if (const auto* i = n.as_integer()) {
    v.type = raw_value::kind::integer;
    v.integer = i->get();
    v.text = std::to_string(v.integer);
  } else {
    v.type = raw_value::kind::other;
    std::ostringstream os;
    if (n.is_table()) os << "{ ... }";  // a table where a value belongs
    else n.visit([&os](const auto& x) { os << x; });
    v.text = os.str();
  }
  return v;
}

std::string where(std::string_view origin, const toml::node& n) {
  const auto& src = n.source();
  if (src.begin.line == 0) return " (in " + std::string(origin) + ")";
  return " (" + std::string(origin) + ":" + std::to_string(src.begin.line) + ")";
}

bool is_table_of_some_key(const std::string& path) {
  const auto prefix = path + ".";
  return std::any_of(settings().begin(), settings().end(),
                     [&](const setting& s) { return s.key.compare(0, prefix.size(), prefix) == 0; });
}

std::optional<config_error> walk(config& cfg, const toml::table& table, const std::string& prefix,
                                 std::string_view origin) {
  for (auto&& [k, node] : table) {
    const std::string path = prefix.empty() ? std::string(k.str()) : prefix + "." + std::string(k.str());
    const setting* s = find_setting_by_key(path);
    if (s == nullptr) {
      if (const auto* sub = node.as_table(); sub != nullptr && is_table_of_some_key(path)) {
        if (auto e = walk(cfg, *sub, path, origin)) return e;
        continue;
      }
      return config_error{path, "",
                          "unknown key " + path + where(origin, node) +
                              suggestion(path, [](const setting& x) { return x.key; })};
    }
    const raw_value v = from_toml(node);
    if (auto allowed = s->apply(cfg, v))
      return config_error{path, kept(*s, v), path + " = " + shown(*s, v) + ": " + *allowed + where(origin, node)};
  }
  return std::nullopt;
}

struct flag_value {
  const setting* target;
  std::string value;
};

struct parsed_flags {
  std::optional<std::string> config_file;
  std::vector<flag_value> values;
};

result<parsed_flags, config_error> parse_flags(const std::vector<std::string>& args) {
  parsed_flags out;
  for (std::size_t i = 0; i < args.size(); ++i) {
    const std::string& arg = args[i];
    if (arg.size() < 3 || arg.compare(0, 2, "--") != 0)
      return config_error{arg, arg, "unexpected argument " + quote(arg) + "; settings are given as --flag VALUE"};
    const auto eq = arg.find('=');
    const std::string name = arg.substr(2, eq == std::string::npos ? std::string::npos : eq - 2);
    const setting* s = find_setting_by_flag(name);
    if (s == nullptr && name != "config") {
      return config_error{"--" + name, "",
                          "unknown flag --" + name +
                              suggestion("--" + name, [](const setting& x) { return x.flag; }, "--")};
    }
    std::string value;
    if (eq != std::string::npos) {
      value = arg.substr(eq + 1);
    } else if (i + 1 < args.size()) {
      value = args[++i];
    } else {
      const std::string hint = s != nullptr ? s->value_hint : "FILE";
      return config_error{"--" + name, "", "--" + name + " needs a value: --" + name + " " + hint};
    }
    if (s == nullptr) out.config_file = std::move(value);
    else out.values.push_back({s, std::move(value)});
  }
  return out;
}

std::optional<std::string> read_file(const std::string& path, std::string& error) {
  // A directory opens as a stream that reads nothing: it would pass as an
  // empty file, and rollupd would run on its defaults.
  std::error_code ec;
  if (std::filesystem::is_directory(path, ec)) {
    error = std::strerror(EISDIR);
    return std::nullopt;
  }
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    error = std::strerror(errno);
    return std::nullopt;
  }
  std::ostringstream buf;
  buf << in.rdbuf();
  if (in.bad()) {
    error = "read error";
    return std::nullopt;
  }
  return buf.str();
}

}  // namespace

environment process_environment() {
  environment env;
  for (char** e = environ; e != nullptr && *e != nullptr; ++e) {
    const std::string_view entry(*e);
    if (entry.substr(0, 8) != "ROLLUPD_") continue;
    const auto eq = entry.find('=');
    if (eq == std::string_view::npos) continue;
    env.emplace_back(std::string(entry.substr(0, eq)), std::string(entry.substr(eq + 1)));
  }
  return env;
}

std::optional<config_error> apply_toml(config& cfg, std::string_view toml_text, std::string_view origin) {
  toml::table table;
  try {
    table = toml::parse(toml_text, origin);
  } catch (const toml::parse_error& e) {
    const auto& src = e.source();
    return config_error{"", "",
                        std::string(origin) + ":" + std::to_string(src.begin.line) + ":" +
                            std::to_string(src.begin.column) + ": not valid TOML: " + std::string(e.description())};
  }
  return walk(cfg, table, "", origin);
}

config_result load_config(const config_sources& sources) {
  auto flags = parse_flags(sources.args);
  if (!flags) return flags.err();

  loaded_config out;

  // 2. the file
  std::string file_source = "--config";
  std::optional<std::string> file = flags->config_file;
  if (!file) {
    for (const auto& [name, value] : sources.env) {
      if (name == "ROLLUPD_CONFIG" && !value.empty()) {
        file = value;
        file_source = "ROLLUPD_CONFIG";
      }
    }
  }
  if (file) {
    if (file->empty()) return config_error{file_source, "", file_source + " needs a file path"};
    std::string why;
    const auto text = read_file(*file, why);
    if (!text) return config_error{file_source, *file, "cannot read the config file " + *file + ": " + why};
    if (auto e = apply_toml(out.cfg, *text, *file)) return *e;
    out.file = *file;
  }

  // 3. the environment
  for (const auto& [name, value] : sources.env) {
    if (name.compare(0, 8, "ROLLUPD_") != 0 || name == "ROLLUPD_CONFIG") continue;
    const setting* s = find_setting_by_env(name);
    if (s == nullptr) {
      out.warnings.push_back("ignoring unknown environment variable " + name +
                             suggestion(name, [](const setting& x) { return x.env; }));
      continue;
    }
    const raw_value v{raw_value::kind::text, value, 0};
    if (auto allowed = s->apply(out.cfg, v))
      return config_error{name, kept(*s, v), name + "=" + shown(*s, v) + ": " + *allowed};
  }

  // 4. the flags, later ones winning
  for (const auto& f : flags->values) {
    const raw_value v{raw_value::kind::text, f.value, 0};
    if (auto allowed = f.target->apply(out.cfg, v)) {
      const auto flag = "--" + f.target->flag;
      return config_error{flag, kept(*f.target, v), flag + " " + shown(*f.target, v) + ": " + *allowed};
    }
  }
  return out;
}

}  // namespace rollup::app
