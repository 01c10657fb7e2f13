#include "config/run_config.h"

#include <yaml-cpp/eventhandler.h>
#include <yaml-cpp/parser.h>
#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <charconv>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <string_view>
#include <limits>
#include <map>
#include <optional>
#include <set>
#include <sstream>
#include <variant>

#include "common/error.h"
#include "common/files.h"
#include "common/text.h"
#include "io/strict_json.h"

namespace droplora::config {

namespace fs = std::filesystem;

namespace {

// ---------------------------------------------------------------------------------------------------------------
// The schema: one row per setting, bound to the field of a RunConfig. Reading, writing, overrides and
// known_keys() all walk this one table, so a key cannot exist in one of them and be missing in another.

using Slot = std::variant<std::string*, int64_t*, double*, bool*, std::vector<std::string>*>;

struct Field {
    const char* key;
    Slot slot;
    bool is_path = false;  // resolved against the YAML file's folder
};

std::vector<Field> fields_of(RunConfig& c) {
    return {
        {"model", &c.model, true},
        {"data.train", &c.data.train, true},
        {"data.val", &c.data.val, true},
        {"data.val_fraction", &c.data.val_fraction},
        {"data.format", &c.data.format},
        {"data.template", &c.data.templ},
        {"data.max_seq_len", &c.data.max_seq_len},
        {"data.train_on_prompt", &c.data.train_on_prompt},
        {"data.skip_bad_rows", &c.data.skip_bad_rows},
        {"adapter.method", &c.adapter.method},
        {"adapter.rank", &c.adapter.rank},
        {"adapter.alpha", &c.adapter.alpha},
        {"adapter.drop_rate", &c.adapter.drop_rate},
        {"adapter.mask", &c.adapter.mask},
        {"adapter.targets", &c.adapter.targets},
        {"adapter.rslora", &c.adapter.rslora},
        {"adapter.dropout", &c.adapter.dropout},
        {"adapter.init_adapter", &c.adapter.init_adapter, true},
        {"train.max_steps", &c.train.max_steps},
        {"train.epochs", &c.train.epochs},
        {"train.batch_size", &c.train.batch_size},
        {"train.grad_accum", &c.train.grad_accum},
        {"train.lr", &c.train.lr},
        {"train.schedule", &c.train.schedule},
        {"train.warmup_steps", &c.train.warmup_steps},
        {"train.weight_decay", &c.train.weight_decay},
        {"train.max_grad_norm", &c.train.max_grad_norm},
        {"train.seed", &c.train.seed},
        {"train.eval_every", &c.train.eval_every},
        {"train.save_every", &c.train.save_every},
        {"train.stats_every", &c.train.stats_every},
        {"train.log_every", &c.train.log_every},
        {"train.gradient_checkpointing", &c.train.gradient_checkpointing},
        {"train.stop_on_divergence", &c.train.stop_on_divergence},
        {"distributed.backend", &c.distributed.backend},
        {"distributed.timeout_s", &c.distributed.timeout_s},
        {"device", &c.device},
        {"precision", &c.precision},
        {"output", &c.output, true},
    };
}

const std::vector<std::string> kSections = {"data", "adapter", "train", "distributed"};
const std::vector<std::string> kMethods = {"lora", "droplora", "full"};
const std::vector<std::string> kMasks = {"step", "token", "learned"};
const std::vector<std::string> kModules = {"q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj"};
const std::vector<std::string> kFormats = {"auto", "alpaca", "chat", "completion", "text"};
const std::vector<std::string> kTemplates = {"alpaca", "llama2", "chatml", "plain", "llama3", "model"};
const std::vector<std::string> kSchedules = {"linear", "cosine", "constant"};
const std::vector<std::string> kPrecisions = {"auto", "fp32", "bf16"};
const std::vector<std::string> kBackends = {"auto", "gloo", "nccl"};
constexpr const char* kAllLinear = "all-linear";
constexpr int64_t kMaxSeqLen = int64_t{1} << 20;
constexpr double kInf = std::numeric_limits<double>::infinity();

// The allowed values and bounds of each setting: validation below, the
// workbench's combo boxes and spin boxes, and docs/run-config.md follow this table.
const std::map<std::string, const std::vector<std::string>*> kChoiceTable = {
    {"data.format", &kFormats},     {"data.template", &kTemplates}, {"adapter.method", &kMethods},
    {"adapter.mask", &kMasks},      {"adapter.targets", &kModules}, {"train.schedule", &kSchedules},
    {"precision", &kPrecisions},    {"distributed.backend", &kBackends},
};
const std::map<std::string, FieldRange> kRangeTable = {
    {"data.val_fraction", {0, 0.9, false, false}},
    {"data.max_seq_len", {8, static_cast<double>(kMaxSeqLen), false, false}},
    {"adapter.rank", {1, 4096, false, false}},
    {"adapter.alpha", {0, kInf, true, false}},
    {"adapter.drop_rate", {0, 1, false, true}},
    {"adapter.dropout", {0, 1, false, true}},
    {"train.max_steps", {0, kInf, false, false}},
    {"train.epochs", {0, kInf, false, false}},
    {"train.batch_size", {1, kInf, false, false}},
    {"train.grad_accum", {1, kInf, false, false}},
    {"train.lr", {0, kInf, true, false}},
    {"train.warmup_steps", {0, kInf, false, false}},
    {"train.weight_decay", {0, kInf, false, false}},
    {"train.max_grad_norm", {0, kInf, false, false}},
    {"train.eval_every", {0, kInf, false, false}},
    {"train.save_every", {0, kInf, false, false}},
    {"train.stats_every", {0, kInf, false, false}},
    {"train.log_every", {1, kInf, false, false}},
    {"distributed.timeout_s", {1, kInf, false, false}},
};
const FieldRange& range_of(const char* key) { return kRangeTable.at(key); }

bool contains(const std::vector<std::string>& v, const std::string& s) {
    return std::find(v.begin(), v.end(), s) != v.end();
}

std::string join(const std::vector<std::string>& v, const char* sep) {
    std::string out;
    for (std::size_t i = 0; i < v.size(); ++i) out += (i ? sep : "") + v[i];
    return out;
}

std::string section_of(const std::string& key) {
    const auto dot = key.find('.');
    return dot == std::string::npos ? "" : key.substr(0, dot);
}

std::string leaf_of(const std::string& key) {
    return key.substr(key.find('.') + 1);
}

// Text from the file goes into one-line messages: quoted, escaped, length capped.
std::string quoted(const std::string& s) {
    constexpr std::size_t kMax = 80;
    return "'" + escape_control_chars(s, false, kMax) + "'";
}

std::string describe(const YAML::Node& v) {
    switch (v.Type()) {
        case YAML::NodeType::Scalar:
            return quoted(v.Scalar());
        case YAML::NodeType::Sequence:
            return "a list";
        case YAML::NodeType::Map:
            return "a mapping";
        default:
            return "nothing";
    }
}

// "file" or "file:7" (yaml-cpp marks are 0-based; a null mark has line -1).
std::string at_line(const std::string& where, int line0) {
    return line0 < 0 ? where : where + ":" + std::to_string(line0 + 1);
}

// ---------------------------------------------------------------------------------------------------------------
// Scalars. Numbers are parsed with <charconv>: exact, and immune to the process locale (Qt sets LC_ALL from the
// environment, which would make strtod expect "0,5" in some languages).

// YAML allows a leading '+', from_chars does not.
void strip_plus(std::string& s) {
    if (s.size() > 1 && s[0] == '+' && s[1] != '-') s.erase(0, 1);
}

bool parse_int(std::string s, int64_t& out) {
    strip_plus(s);
    int64_t v = 0;
    const auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
    if (s.empty() || ec != std::errc() || end != s.data() + s.size()) return false;
    out = v;
    return true;
}

bool parse_real(std::string s, double& out) {
    strip_plus(s);
    double v = 0;
    const auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
    if (s.empty() || ec != std::errc() || end != s.data() + s.size() || !std::isfinite(v)) return false;
    out = v;
    return true;
}

bool parse_bool(std::string s, bool& out) {
    std::transform(s.begin(), s.end(), s.begin(), [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
    if (s == "true" || s == "yes" || s == "on") return out = true, true;
    if (s == "false" || s == "no" || s == "off") return out = false, true;
    return false;
}

// Shortest text that reads back to the same double; fixed notation in the range people write by hand
// ("0.0003", "32"), scientific outside it ("2e-05").
std::string format_real(double d) {
    char buf[400];
    const double a = std::fabs(d);
    const auto fmt = (a == 0 || (a >= 1e-4 && a < 1e16)) ? std::chars_format::fixed : std::chars_format::scientific;
    const auto res = std::to_chars(buf, buf + sizeof buf, d, fmt);
    return std::string(buf, res.ptr);
}

bool is_plain_safe(const std::string& s) {
    if (s.empty() || s == "~" || s == "null" || s == "Null" || s == "NULL") return false;
    const auto ok_first = [](unsigned char c) { return std::isalnum(c) || c == '_' || c == '.' || c == '/'; };
    if (!ok_first(static_cast<unsigned char>(s[0])) || s.back() == ':') return false;
    for (unsigned char c : s)
        if (!(std::isalnum(c) || std::strchr("_./-+=@~:", c))) return false;
    return true;
}

// A string as a YAML scalar: plain when that reads back unchanged, else double-quoted.
std::string yaml_string(const std::string& s) {
    return is_plain_safe(s) ? s : "\"" + escape_control_chars(s, true) + "\"";
}

std::string yaml_value(const Slot& slot) {
    if (auto* s = std::get_if<std::string*>(&slot)) return yaml_string(**s);
    if (auto* i = std::get_if<int64_t*>(&slot)) return std::to_string(**i);
    if (auto* d = std::get_if<double*>(&slot)) return format_real(**d);
    if (auto* b = std::get_if<bool*>(&slot)) return **b ? "true" : "false";
    std::vector<std::string> items;
    for (const auto& item : *std::get<std::vector<std::string>*>(slot)) items.push_back(yaml_string(item));
    return "[" + join(items, ", ") + "]";
}

// Stores one YAML value into its field; `at` is "file:line" (or "--set") for the message.
void set_value(const Field& f, const YAML::Node& v, const std::string& at) {
    const std::string key = f.key;
    const auto expected = [&](const std::string& what) {
        fail(at, key + ": expected " + what + ", got " + describe(v));
    };
    if (auto* s = std::get_if<std::string*>(&f.slot)) {
        if (v.IsNull())
            (*s)->clear();
        else if (v.IsScalar())
            **s = v.Scalar();
        else
            expected("a string");
    } else if (auto* i = std::get_if<int64_t*>(&f.slot)) {
        if (!v.IsScalar() || !parse_int(v.Scalar(), **i)) expected("an integer");
    } else if (auto* d = std::get_if<double*>(&f.slot)) {
        if (!v.IsScalar() || !parse_real(v.Scalar(), **d)) expected("a finite number");
    } else if (auto* b = std::get_if<bool*>(&f.slot)) {
        if (!v.IsScalar() || !parse_bool(v.Scalar(), **b)) expected("true or false");
    } else {
        auto& list = *std::get<std::vector<std::string>*>(f.slot);
        const std::string what = "a list of module names such as [q_proj, v_proj], or " + std::string(kAllLinear);
        std::vector<std::string> items;
        if (v.IsScalar() && v.Scalar() == kAllLinear) {
            items.push_back(kAllLinear);
        } else if (v.IsSequence()) {
            for (const auto& item : v) {
                if (!item.IsScalar()) expected(what);
                items.push_back(item.Scalar());
            }
        } else {
            expected(what);
        }
        if (contains(items, kAllLinear)) {
            if (items.size() != 1) fail(at, key + ": " + kAllLinear + " cannot be combined with other modules");
            items = kModules;
        }
        list = std::move(items);
    }
}

// ---------------------------------------------------------------------------------------------------------------
// Suggestions for unknown keys.

// Optimal string alignment distance: Levenshtein plus adjacent transpositions ("rnak" → "rank" is 1).
std::size_t edit_distance(const std::string& a, const std::string& b) {
    const std::size_t n = a.size(), m = b.size();
    std::vector<std::vector<std::size_t>> d(n + 1, std::vector<std::size_t>(m + 1));
    for (std::size_t i = 0; i <= n; ++i) d[i][0] = i;
    for (std::size_t j = 0; j <= m; ++j) d[0][j] = j;
    for (std::size_t i = 1; i <= n; ++i) {
        for (std::size_t j = 1; j <= m; ++j) {
            const std::size_t cost = a[i - 1] == b[j - 1] ? 0 : 1;
            d[i][j] = std::min({d[i - 1][j] + 1, d[i][j - 1] + 1, d[i - 1][j - 1] + cost});
            if (i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1])
                d[i][j] = std::min(d[i][j], d[i - 2][j - 2] + 1);
        }
    }
    return d[n][m];
}

// The known key (or section) the user most likely meant, or "" when nothing is close enough.
std::string nearest_key(const std::string& key) {
    std::vector<std::string> candidates = kSections;
    candidates.insert(candidates.end(), known_keys().begin(), known_keys().end());
    const std::string leaf = leaf_of(key);
    std::string best;
    if (key.size() > 64) return best;  // not a typo; keep the quadratic distance cheap
    std::size_t best_score = std::max<std::size_t>(1, std::min<std::size_t>(3, key.size() / 4)) + 1;
    for (const auto& cand : candidates) {
        std::size_t score = edit_distance(key, cand);
        const std::string cand_leaf = leaf_of(cand);
        if (cand_leaf == leaf && leaf.size() >= 2 && section_of(cand) != section_of(key))
            score = 0;  // right name, wrong section: "adapter.lr" → "train.lr"
        else if (section_of(cand) == section_of(key) && leaf.size() >= 3 && cand_leaf.rfind(leaf, 0) == 0)
            score = std::min<std::size_t>(score, 1);  // a prefix: "train.warmup" → "train.warmup_steps"
        if (score < best_score) best_score = score, best = cand;
    }
    return best;
}

std::string unknown_key_message(const std::string& key) {
    const auto& keys = known_keys();
    if (contains(kSections, key)) {  // only reachable from --set; a file's sections are mappings
        const auto first =
            std::find_if(keys.begin(), keys.end(), [&](const std::string& k) { return section_of(k) == key; });
        return quoted(key) + " is a section; set one of its keys, e.g. '" + *first + "'";
    }
    const std::string msg = "unknown key " + quoted(key);
    const std::string near = nearest_key(key);
    if (!near.empty()) return msg + " (did you mean '" + near + "'?)";
    const std::string section = section_of(key);
    std::vector<std::string> names;  // what is valid at that level
    for (const auto& k : keys) {
        const std::string name = contains(kSections, section) ? (section_of(k) == section ? leaf_of(k) : "")
                                                              : (section_of(k).empty() ? k : section_of(k));
        if (!name.empty() && !contains(names, name)) names.push_back(name);
    }
    return msg + " (" + (contains(kSections, section) ? section + " keys: " : "top-level keys: ") + join(names, ", ") +
           ")";
}

// ---------------------------------------------------------------------------------------------------------------
// Validation: the first problem in schema order, as (key, what is wrong).

struct Problem {
    std::string key;
    std::string what;
};

class Checker {
public:
    std::optional<Problem> problem;

    void require(bool ok, const char* key, const std::string& what) {
        if (!problem && !ok) problem = Problem{key, what};
    }
    void choice(const char* key, const std::string& v, const std::vector<std::string>& allowed) {
        require(contains(allowed, v), key, quoted(v) + " is not one of: " + join(allowed, " | "));
    }
    void int_range(const char* key, int64_t v, int64_t lo, int64_t hi) {
        require(v >= lo && v <= hi, key,
                std::to_string(v) + " is out of range [" + std::to_string(lo) + ", " + std::to_string(hi) + "]");
    }
    void int_min(const char* key, int64_t v, int64_t lo) {
        require(v >= lo, key, std::to_string(v) + " must be >= " + std::to_string(lo));
    }
    // [lo, hi) or [lo, hi]
    void real_range(const char* key, double v, double lo, double hi, bool hi_open) {
        const bool ok = std::isfinite(v) && v >= lo && (hi_open ? v < hi : v <= hi);
        require(
            ok, key,
            format_real(v) + " is out of range [" + format_real(lo) + ", " + format_real(hi) + (hi_open ? ")" : "]"));
    }
    void real_min(const char* key, double v, double lo, bool strict) {
        const bool ok = std::isfinite(v) && (strict ? v > lo : v >= lo);
        require(ok, key, format_real(v) + " must be " + (strict ? "> " : ">= ") + format_real(lo));
    }
    // The bounds of kRangeTable, with the messages of the checks above.
    void int_in(const char* key, int64_t v) {
        const FieldRange& r = range_of(key);
        if (std::isinf(r.max)) int_min(key, v, static_cast<int64_t>(r.min));
        else int_range(key, v, static_cast<int64_t>(r.min), static_cast<int64_t>(r.max));
    }
    void real_in(const char* key, double v) {
        const FieldRange& r = range_of(key);
        if (std::isinf(r.max)) real_min(key, v, r.min, r.min_exclusive);
        else real_range(key, v, r.min, r.max, r.max_exclusive);
    }
    void non_empty(const char* key, const std::string& v, const char* what) {
        require(!v.empty(), key, std::string("missing (") + what + ")");
    }
};

bool is_device(const std::string& d) {
    if (d == "auto" || d == "cpu" || d == "cuda") return true;
    if (d.rfind("cuda:", 0) != 0 || d.size() == 5 || d.size() > 9) return false;
    return std::all_of(d.begin() + 5, d.end(), [](unsigned char c) { return std::isdigit(c); });
}

std::optional<Problem> find_problem(const RunConfig& c) {
    Checker k;
    k.non_empty("model", c.model, "the Hugging Face model folder");
    k.non_empty("data.train", c.data.train, "the training data file");
    k.real_in("data.val_fraction", c.data.val_fraction);
    k.choice("data.format", c.data.format, *kChoiceTable.at("data.format"));
    k.choice("data.template", c.data.templ, *kChoiceTable.at("data.template"));
    k.int_in("data.max_seq_len", c.data.max_seq_len);
    const AdapterConfig& a = c.adapter;
    k.choice("adapter.method", a.method, *kChoiceTable.at("adapter.method"));
    k.int_in("adapter.rank", a.rank);
    k.real_in("adapter.alpha", a.alpha);
    k.real_in("adapter.drop_rate", a.drop_rate);
    k.require(
        !(a.method == "lora" && a.drop_rate > 0), "adapter.drop_rate",
        format_real(a.drop_rate) + " with method lora, which has no rank mask; use method droplora, or drop_rate 0");
    k.choice("adapter.mask", a.mask, *kChoiceTable.at("adapter.mask"));
    k.require(!a.targets.empty(), "adapter.targets",
              "empty; list at least one of " + join(kModules, ", ") + " (or " + kAllLinear + ")");
    std::set<std::string> seen;
    for (const auto& t : a.targets) {
        k.require(contains(kModules, t), "adapter.targets", quoted(t) + " is not one of: " + join(kModules, " | "));
        k.require(seen.insert(t).second, "adapter.targets", quoted(t) + " is listed twice");
    }
    k.real_in("adapter.dropout", a.dropout);
    const TrainConfig& t = c.train;
    k.int_in("train.max_steps", t.max_steps);
    k.real_in("train.epochs", t.epochs);
    k.require(t.max_steps > 0 || t.epochs > 0, "train.epochs", "must be > 0 when train.max_steps is 0");
    k.int_in("train.batch_size", t.batch_size);
    k.int_in("train.grad_accum", t.grad_accum);
    k.real_in("train.lr", t.lr);
    k.choice("train.schedule", t.schedule, *kChoiceTable.at("train.schedule"));
    k.int_in("train.warmup_steps", t.warmup_steps);
    k.real_in("train.weight_decay", t.weight_decay);
    k.real_in("train.max_grad_norm", t.max_grad_norm);
    k.int_in("train.eval_every", t.eval_every);
    k.int_in("train.save_every", t.save_every);
    k.int_in("train.stats_every", t.stats_every);
    k.int_in("train.log_every", t.log_every);
    k.choice("distributed.backend", c.distributed.backend, *kChoiceTable.at("distributed.backend"));
    k.int_in("distributed.timeout_s", c.distributed.timeout_s);
    k.require(is_device(c.device), "device", quoted(c.device) + " is not one of: auto | cpu | cuda | cuda:N");
    k.choice("precision", c.precision, *kChoiceTable.at("precision"));
    k.non_empty("output", c.output, "the run folder");
    return k.problem;
}

void resolve_path(std::string& p, const std::string& base_dir) {
    if (p.empty() || base_dir.empty() || base_dir == ".") return;
    const fs::path path(p);
    if (path.is_absolute()) return;
    p = (fs::path(base_dir) / path).lexically_normal().string();
}

// Walks one mapping (the root, or a section when `section` is set), storing values and the line of every key.
void read_map(const YAML::Node& map, const std::string& section, const std::string& where, std::vector<Field>& fields,
              std::map<std::string, int>& lines) {
    for (auto it = map.begin(); it != map.end(); ++it) {
        const YAML::Node k = it->first;  // copies: `it->` hands out a proxy that dies with the expression
        const YAML::Node v = it->second;
        const std::string at = at_line(where, k.Mark().line);
        if (!k.IsScalar()) fail(at, "a key must be a name, got " + describe(k));
        if (k.Scalar().find('.') != std::string::npos)
            fail(at, "dotted key " + quoted(k.Scalar()) + " is for --set; in a file, nest it under its section");
        const std::string key = section.empty() ? k.Scalar() : section + "." + k.Scalar();
        if (lines.count(key))
            fail(at, "duplicate key " + quoted(key) + " (first on line " + std::to_string(lines[key]) + ")");
        lines[key] = k.Mark().line + 1;
        if (section.empty() && contains(kSections, key)) {
            if (v.IsNull()) continue;  // "train:" with nothing under it: all defaults
            if (!v.IsMap()) fail(at, key + ": expected a mapping of " + key + ".* keys, got " + describe(v));
            read_map(v, key, where, fields, lines);
            continue;
        }
        const auto f = std::find_if(fields.begin(), fields.end(), [&](const Field& x) { return key == x.key; });
        if (f == fields.end()) fail(at, unknown_key_message(key));
        set_value(*f, v, at);
    }
}

}  // namespace

const std::vector<std::string>& known_keys() {
    static const std::vector<std::string> keys = [] {
        RunConfig scratch;
        std::vector<std::string> out;
        for (const auto& f : fields_of(scratch)) out.emplace_back(f.key);
        return out;
    }();
    return keys;
}

namespace {

// YAML text is printable Unicode (YAML 1.2, section 5.1): of the C0 controls only tab, LF and CR.
// yaml-cpp 0.7 takes a NUL for a blank, so "\0," hangs it as ",": refused with everything else that
// cannot be in a run file (a UTF-16 file, a binary file picked by mistake).
void refuse_what_is_not_yaml_text(const std::string& text, const std::string& where) {
    const auto line_of = [&](std::size_t at) { return static_cast<int>(std::count(text.begin(), text.begin() + at, '\n')); };
    std::size_t bad = 0;
    if (!io::strict::valid_utf8(text, &bad))
        fail(at_line(where, line_of(bad)),
             "not UTF-8 text (byte " + std::to_string(bad) + "); save the run file as UTF-8");
    for (std::size_t i = 0; i < text.size(); ++i) {
        const auto c = static_cast<unsigned char>(text[i]);
        if ((c < 0x20 && c != '\t' && c != '\n' && c != '\r') || c == 0x7f) {
            char hex[8];
            std::snprintf(hex, sizeof hex, "0x%02X", c);
            fail(at_line(where, line_of(i)), std::string("control character ") + hex + " (byte " + std::to_string(i) +
                                                 "); a run file is text, and YAML allows no control characters but tab and line breaks");
        }
    }
}

// yaml-cpp 0.7 (Debian 12's) never returns from LoadAll when a token cannot start a value at the top of
// a document (",", "&a,b", "x\n---\n- y\n,"; found by tests/fuzz/fuzz_yaml_run_file.cpp): the document
// parser reports a null without consuming the token, and LoadAll asks for the next document forever,
// holding more memory each time (fixed upstream after 0.7, yaml-cpp pull request 1319). So the documents
// are walked here with yaml-cpp's event parser, which builds no nodes, and the walk stops when a document
// starts at the very token the one before it started at. That test is exact: a document that consumes
// any token moves the next one's start forward.
class DocumentWalk : public YAML::EventHandler {
public:
    YAML::Mark start;      // the document's first token
    YAML::Mark root_mark;  // its root value
    bool empty = true;     // the root is null (a document of only comments, or nothing)

    void OnDocumentStart(const YAML::Mark& mark) override { start = mark; }
    void OnDocumentEnd() override {}
    void OnNull(const YAML::Mark& mark, YAML::anchor_t) override { node(mark, true); }
    void OnAlias(const YAML::Mark& mark, YAML::anchor_t) override { node(mark, false); }
    void OnScalar(const YAML::Mark& mark, const std::string&, YAML::anchor_t, const std::string&) override {
        node(mark, false);
    }
    void OnSequenceStart(const YAML::Mark& mark, const std::string&, YAML::anchor_t, YAML::EmitterStyle::value) override {
        node(mark, false);
        ++depth_;
    }
    void OnSequenceEnd() override { --depth_; }
    void OnMapStart(const YAML::Mark& mark, const std::string&, YAML::anchor_t, YAML::EmitterStyle::value) override {
        node(mark, false);
        ++depth_;
    }
    void OnMapEnd() override { --depth_; }

private:
    void node(const YAML::Mark& mark, bool null) {
        if (depth_ != 0 || seen_root_) return;
        seen_root_ = true;
        root_mark = mark;
        empty = null;
    }
    int depth_ = 0;
    bool seen_root_ = false;
};

// The run file's one document (a null node when it has none). A second document that is not empty is an
// error: YAML::Load would silently ignore it.
YAML::Node load_one_document(const std::string& text, const std::string& where) {
    std::istringstream in(text);
    YAML::Parser parser(in);
    int previous_start = -1;
    for (int index = 0;; ++index) {
        DocumentWalk doc;
        if (!parser.HandleNextDocument(doc)) break;
        if (doc.start.pos == previous_start) {
            const std::size_t at = static_cast<std::size_t>(doc.start.pos);
            const std::string token = at < text.size() ? text.substr(at, 1) : std::string("the end");
            const std::string column = " (column " + std::to_string(doc.start.column + 1) + ")";
            fail(at_line(where, doc.start.line),
                 token == "," ? "malformed YAML: ',' outside [ ] or { }" + column
                              : "malformed YAML: " + quoted(token) + " cannot start a value here" + column);
        }
        previous_start = doc.start.pos;
        if (index > 0 && !doc.empty)
            fail(at_line(where, doc.root_mark.line),
                 "a second YAML document (after '---'): a run file holds one mapping; merge the two or use two files");
    }
    return YAML::Load(text);  // the first document, parsed again into nodes (a run file is small)
}

}  // namespace

RunConfig parse_run_config(const std::string& yaml_text, const std::string& where, const std::string& base_dir) {
    refuse_what_is_not_yaml_text(yaml_text, where);
    YAML::Node root;
    try {
        root = load_one_document(yaml_text, where);
    } catch (const YAML::ParserException& e) {
        // yaml-cpp quotes the offending character raw (a newline, a NUL): escaped, the message stays one line.
        fail(at_line(where, e.mark.line), "malformed YAML: " + escape_control_chars(e.msg, false, 200));
    } catch (const YAML::Exception& e) {
        fail(where, "malformed YAML: " + escape_control_chars(e.what(), false, 200));
    }
    if (root.IsNull())
        fail(where, "empty run file; it needs at least 'model: <model folder>' and 'data: {train: <file>}'");
    if (!root.IsMap())
        fail(at_line(where, root.Mark().line), "expected a mapping of keys (model, data, ...), got " + describe(root));

    RunConfig cfg;
    auto fields = fields_of(cfg);
    std::map<std::string, int> lines;  // dotted key → 1-based line
    read_map(root, "", where, fields, lines);
    if (!lines.count("model")) fail(where, "missing key 'model' (the Hugging Face model folder)");
    // drop_rate's default belongs to droplora; a plain LoRA file need not write "drop_rate: 0".
    if (cfg.adapter.method == "lora" && !lines.count("adapter.drop_rate")) cfg.adapter.drop_rate = 0;

    for (auto& f : fields)
        if (f.is_path) resolve_path(*std::get<std::string*>(f.slot), base_dir);

    if (const auto p = find_problem(cfg)) {
        const auto line = lines.find(p->key);
        fail(line == lines.end() ? where : at_line(where, line->second - 1), p->key + ": " + p->what);
    }
    return cfg;
}

RunConfig load_run_config(const std::string& yaml_path) {
    std::error_code ec;
    if (fs::is_directory(yaml_path, ec)) fail(yaml_path, "is a folder, not a YAML run file");
    std::ifstream in(yaml_path, std::ios::binary);
    if (!in) fail(yaml_path, std::string("cannot open: ") + std::strerror(errno));
    std::ostringstream text;
    text << in.rdbuf();
    if (in.bad()) fail(yaml_path, std::string("cannot read: ") + std::strerror(errno));
    fs::path base = fs::absolute(fs::path(yaml_path), ec).parent_path();
    if (ec) base = fs::path(yaml_path).parent_path();
    return parse_run_config(text.str(), yaml_path, base.string());
}

void apply_override(RunConfig& cfg, const std::string& assignment) {
    const std::string where = "--set";
    const auto eq = assignment.find('=');
    const auto trim = [](std::string s) {
        const auto b = s.find_first_not_of(" \t"), e = s.find_last_not_of(" \t");
        return b == std::string::npos ? std::string() : s.substr(b, e - b + 1);
    };
    const std::string key = eq == std::string::npos ? "" : trim(assignment.substr(0, eq));
    if (key.empty()) fail(where, "expected key=value (e.g. train.lr=1e-4), got " + quoted(assignment));
    auto fields = fields_of(cfg);
    const auto f = std::find_if(fields.begin(), fields.end(), [&](const Field& x) { return key == x.key; });
    if (f == fields.end()) fail(where, unknown_key_message(key));
    const std::string text = assignment.substr(eq + 1);
    YAML::Node value;
    try {
        value = YAML::Load(text);
    } catch (const YAML::Exception& e) {
        fail(where, key + ": cannot parse value " + quoted(text) + " as YAML: " + e.msg);
    }
    set_value(*f, value, where);
}

void validate(const RunConfig& cfg, const std::string& where) {
    if (const auto p = find_problem(cfg)) fail(where, p->key + ": " + p->what);
}

std::string to_yaml(const RunConfig& cfg) {
    RunConfig copy = cfg;  // fields_of binds mutable pointers; writing only reads them
    std::string out =
        "# DropLoRA Workbench run configuration. Every key is written; types, ranges and meanings are in\n"
        "# docs/run-config.md. Relative paths are relative to this file's folder.\n";
    std::string section = "?";
    for (const auto& f : fields_of(copy)) {
        const std::string key = f.key, sec = section_of(key);
        if (sec != section) {
            out += sec.empty() ? "\n" : "\n" + sec + ":\n";
            section = sec;
        }
        out += (sec.empty() ? key : "  " + leaf_of(key)) + ": " + yaml_value(f.slot) + "\n";
    }
    return out;
}

void save_run_config(const RunConfig& cfg, const std::string& yaml_path) {
    const std::string text = to_yaml(cfg);
    const fs::path path(yaml_path);
    std::error_code ec;
    if (path.has_parent_path()) fs::create_directories(path.parent_path(), ec);  // a failure shows at open
    // Written beside the target and renamed over it: a reader never sees a half-written config.
    files::write_file_atomic(yaml_path, text);
}

const std::vector<std::string>& choices(const std::string& key) {
    static const std::vector<std::string> none;
    const auto it = kChoiceTable.find(key);
    return it == kChoiceTable.end() ? none : *it->second;
}

std::optional<FieldRange> range(const std::string& key) {
    const auto it = kRangeTable.find(key);
    if (it == kRangeTable.end()) return std::nullopt;
    return it->second;
}

}  // namespace droplora::config
