// Reading training-data files into Rows (dataset.h, docs/formats.md §2).
//
//   .jsonl / .ndjson  one JSON object per non-blank line; a row is "file:line".
//   .json             an array of objects, or an object whose one list-valued
//                     member holds them ({"data": [...]}); a row is "file:line"
//                     of the line where its element starts. A .json file that
//                     holds JSON lines (what Hugging Face datasets' to_json
//                     writes) is read as .jsonl.
//   .txt              plain text documents separated by blank lines (lines of
//                     only spaces/tabs); a document keeps its inner line breaks.
//                     A row is "file:#N", the N-th document.
//
// Format::Auto is decided by the first valid row's keys; every later row must
// then match that format. A bad row throws Error("file:line: what is wrong"),
// or is counted and skipped with skip_bad_rows.
#include "data/dataset.h"

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <map>
#include <set>
#include <sstream>
#include <stdexcept>

#include <nlohmann/json.hpp>

#include "common/error.h"
#include "common/text.h"

namespace droplora::data {
namespace {

using nlohmann::json;

constexpr size_t kMaxSkippedReasons = 10;

// What is wrong with one row; becomes an Error or a skipped row in load_rows.
struct RowProblem : std::runtime_error {
    using std::runtime_error::runtime_error;
};

std::string read_whole_file(const std::string& path) {
    std::ifstream in(path, std::ios::binary);
    if (!in) fail(path, std::string("cannot open data file (") + std::strerror(errno) + ")");
    std::ostringstream ss;
    ss << in.rdbuf();
    if (in.bad()) fail(path, "read error");
    std::string s = ss.str();
    if (s.compare(0, 3, "\xEF\xBB\xBF") == 0) s.erase(0, 3);  // a UTF-8 byte order mark is not content
    return s;
}

std::string lower_extension(const std::string& path) {
    const size_t slash = path.find_last_of('/');
    const size_t dot = path.find_last_of('.');
    if (dot == std::string::npos || (slash != std::string::npos && dot < slash)) return "";
    std::string ext = path.substr(dot + 1);
    std::transform(ext.begin(), ext.end(), ext.begin(), [](unsigned char c) { return std::tolower(c); });
    return ext;
}

bool is_blank(const std::string& line) {
    return std::all_of(line.begin(), line.end(), [](char c) { return c == ' ' || c == '\t' || c == '\r'; });
}

// Splits into lines, dropping the '\r' of CRLF endings.
std::vector<std::string> split_lines(const std::string& text) {
    std::vector<std::string> lines;
    size_t start = 0;
    while (start <= text.size()) {
        size_t end = text.find('\n', start);
        if (end == std::string::npos) end = text.size();
        std::string line = text.substr(start, end - start);
        if (!line.empty() && line.back() == '\r') line.pop_back();
        lines.push_back(std::move(line));
        if (end == text.size()) break;
        start = end + 1;
    }
    return lines;
}

// Byte offset of the first invalid UTF-8 sequence, or npos. Rejects overlong
// forms, surrogates and code points above U+10FFFF.
size_t invalid_utf8_at(const std::string& s) {
    const auto* p = reinterpret_cast<const unsigned char*>(s.data());
    const size_t n = s.size();
    size_t i = 0;
    while (i < n) {
        const unsigned char c = p[i];
        size_t len = 0;
        uint32_t cp = 0, min = 0;
        if (c < 0x80) {
            ++i;
            continue;
        }
        if ((c & 0xE0) == 0xC0) {
            len = 2;
            cp = c & 0x1F;
            min = 0x80;
        } else if ((c & 0xF0) == 0xE0) {
            len = 3;
            cp = c & 0x0F;
            min = 0x800;
        } else if ((c & 0xF8) == 0xF0) {
            len = 4;
            cp = c & 0x07;
            min = 0x10000;
        } else
            return i;
        if (i + len > n) return i;
        for (size_t k = 1; k < len; ++k) {
            if ((p[i + k] & 0xC0) != 0x80) return i;
            cp = (cp << 6) | (p[i + k] & 0x3F);
        }
        if (cp < min || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) return i;
        i += len;
    }
    return std::string::npos;
}

constexpr size_t kShownBytes = 80;  // how much of a (possibly huge) input a message echoes

// Text from the file for a one-line message: control characters escaped, cut
// after kShownBytes with its full size said.
std::string shown(const std::string& s) {
    std::string out = escape_control_chars(s, false, kShownBytes);
    if (s.size() > kShownBytes) out += " (" + std::to_string(s.size()) + " bytes)";
    return out;
}

// nlohmann refuses a number beyond a double's range ("1e400") with out_of_range, not parse_error
// (a fuzz finding); said as the number, cut to kShownBytes.
std::string out_of_range_text(const json::out_of_range& e) {
    std::string msg = e.what();
    const std::string mark = "number overflow parsing '";
    if (const size_t at = msg.find(mark); at != std::string::npos) {
        std::string number = msg.substr(at + mark.size());
        if (!number.empty() && number.back() == '\'') number.pop_back();
        return "the number " + shown(number) + " is beyond the range of a double";
    }
    return escape_control_chars(msg, false, 400);
}

// nlohmann's message without its "[json.exception...] parse error at line 1, column 5: " prefix,
// the text it last read cut to kShownBytes (it echoes a whole 50 MB string token otherwise), and
// the byte offset of the error in `what` (a line, or the file).
std::string parse_error_text(const json::parse_error& e, const char* what = "line") {
    std::string msg = e.what();
    size_t p = msg.find("column ");
    if (p != std::string::npos) p = msg.find(": ", p);
    if (p != std::string::npos) msg = msg.substr(p + 2);
    const std::string mark = "; last read: '";
    if (const size_t at = msg.find(mark); at != std::string::npos) {
        std::string read = msg.substr(at + mark.size());
        if (!read.empty() && read.back() == '\'') read.pop_back();
        msg = msg.substr(0, at + mark.size()) + shown(read) + "'";
    }
    return escape_control_chars(msg, false, 400) + " (at byte " + std::to_string(e.byte) + " of the " + what + ")";
}

// A key repeated inside one JSON object (nlohmann keeps only the last value).
struct DuplicateKey {
    // From the parsed value's root to the object: a member key, or a list index when is_index.
    struct Step {
        bool is_index = false;
        size_t index = 0;
        std::string key;
    };
    std::vector<Step> path;
    std::string key;
};

// "messages[0].content"-style text for path[from..].
std::string path_text(const std::vector<DuplicateKey::Step>& path, size_t from) {
    std::string out;
    for (size_t i = from; i < path.size(); ++i) {
        if (path[i].is_index)
            out += "[" + std::to_string(path[i].index) + "]";
        else
            out += (out.empty() ? "" : ".") + shown(path[i].key);
    }
    return out;
}

std::string duplicate_text(const DuplicateKey& d, size_t from) {
    const std::string where = path_text(d.path, from);
    return "key \"" + shown(d.key) + "\" appears more than once" + (where.empty() ? "" : " in " + where) +
           " (JSON would keep only the last one)";
}

// json::parse that also records every key repeated within an object.
json parse_recording_duplicates(const std::string& text, std::vector<DuplicateKey>* duplicates) {
    struct Frame {
        bool object = false;
        DuplicateKey::Step step;  // where this container sits in its parent
        std::set<std::string> keys;
        std::string key;  // objects: the last key seen
        size_t items = 0;  // lists: items so far
    };
    std::vector<Frame> stack;
    const auto next_step = [&stack] {
        DuplicateKey::Step step;
        if (stack.empty()) return step;
        Frame& top = stack.back();
        if (top.object) {
            step.key = top.key;
        } else {
            step.is_index = true;
            step.index = top.items++;
        }
        return step;
    };
    const json::parser_callback_t callback = [&](int, json::parse_event_t event, json& parsed) {
        switch (event) {
            case json::parse_event_t::object_start:
            case json::parse_event_t::array_start: {
                Frame f;
                f.object = event == json::parse_event_t::object_start;
                f.step = next_step();
                stack.push_back(std::move(f));
                break;
            }
            case json::parse_event_t::object_end:
            case json::parse_event_t::array_end:
                if (!stack.empty()) stack.pop_back();
                break;
            case json::parse_event_t::key: {
                Frame& top = stack.back();
                const std::string& key = parsed.get_ref<const std::string&>();
                if (!top.keys.insert(key).second) {
                    DuplicateKey d;
                    for (size_t i = 1; i < stack.size(); ++i) d.path.push_back(stack[i].step);
                    d.key = key;
                    duplicates->push_back(std::move(d));
                }
                top.key = key;
                break;
            }
            case json::parse_event_t::value:
                next_step();
                break;
        }
        return true;
    };
    return json::parse(text, callback);
}

std::string described_type(const json& v) {
    const std::string t = v.type_name();
    return (t == "array" || t == "object") ? "an " + t : "a " + t;
}

const std::string& require_string(const json& obj, const char* key, const char* what_row) {
    const auto it = obj.find(key);
    if (it == obj.end()) throw RowProblem(std::string("missing \"") + key + "\" (" + what_row + ")");
    if (!it->is_string()) {
        throw RowProblem(std::string("\"") + key + "\" must be a string, not " + described_type(*it));
    }
    return it->get_ref<const std::string&>();
}

Format detect_format(const json& obj) {
    if (obj.contains("instruction") && obj.contains("output")) return Format::Alpaca;
    if (obj.contains("messages")) return Format::Chat;
    if (obj.contains("prompt") && obj.contains("completion")) return Format::Completion;
    if (obj.contains("text")) return Format::Text;
    return Format::Auto;
}

std::string key_list(const json& obj) {
    std::string keys;
    for (auto it = obj.begin(); it != obj.end(); ++it) keys += (keys.empty() ? "" : ", ") + it.key();
    return "{" + shown(keys) + "}";
}

Row alpaca_row(const json& obj) {
    const char* what = "alpaca rows need instruction and output";
    Row row;
    row.alpaca = true;
    row.instruction = require_string(obj, "instruction", what);
    const auto input = obj.find("input");
    if (input != obj.end() && !input->is_null()) {
        if (!input->is_string()) throw RowProblem("\"input\" must be a string, not " + described_type(*input));
        row.input = input->get<std::string>();
    }
    const std::string& output = require_string(obj, "output", what);
    row.messages.push_back({"user", row.input.empty() ? row.instruction : row.instruction + "\n\n" + row.input});
    row.messages.push_back({"assistant", output});
    return row;
}

Row chat_row(const json& obj) {
    const auto it = obj.find("messages");
    if (it == obj.end()) throw RowProblem("missing \"messages\" (chat rows need a messages list)");
    if (!it->is_array()) throw RowProblem("\"messages\" must be an array, not " + described_type(*it));
    if (it->empty()) throw RowProblem("\"messages\" is empty");
    Row row;
    bool has_assistant = false;
    for (size_t i = 0; i < it->size(); ++i) {
        const json& m = (*it)[i];
        const std::string at = "messages[" + std::to_string(i) + "]";
        if (!m.is_object()) throw RowProblem(at + " must be an object, not " + described_type(m));
        const auto role = m.find("role");
        const auto content = m.find("content");
        if (role == m.end()) throw RowProblem(at + " has no \"role\"");
        if (!role->is_string()) throw RowProblem(at + ".role must be a string, not " + described_type(*role));
        if (content == m.end()) throw RowProblem(at + " has no \"content\"");
        if (!content->is_string()) {
            throw RowProblem(at + ".content must be a string, not " + described_type(*content));
        }
        const std::string& r = role->get_ref<const std::string&>();
        if (r != "system" && r != "user" && r != "assistant") {
            throw RowProblem(at + ".role '" + shown(r) + "' is not system, user or assistant");
        }
        has_assistant = has_assistant || r == "assistant";
        row.messages.push_back({r, content->get<std::string>()});
    }
    if (!has_assistant) throw RowProblem("no assistant message: nothing to learn from this chat");
    return row;
}

Row completion_row(const json& obj) {
    const char* what = "completion rows need prompt and completion";
    Row row;
    row.messages.push_back({"user", require_string(obj, "prompt", what)});
    row.messages.push_back({"assistant", require_string(obj, "completion", what)});
    return row;
}

Row text_row(const json& obj) {
    Row row;
    row.text = require_string(obj, "text", "text rows need text");
    if (row.text.empty()) throw RowProblem("\"text\" is empty");
    return row;
}

class RowCollector {
public:
    RowCollector(const std::string& path, const LoadOptions& opts) : path_(path), opts_(opts) {
        out_.format = opts.format;
    }

    void bad_row(const std::string& source, const std::string& what) {
        if (!opts_.skip_bad_rows) fail(source, what);
        ++out_.skipped;
        if (out_.skipped_reasons.size() < kMaxSkippedReasons) out_.skipped_reasons.push_back(source + ": " + what);
    }

    void add_json(const std::string& source, const json& value) {
        try {
            Row row = convert(value);
            row.source = source;
            out_.rows.push_back(std::move(row));
        } catch (const RowProblem& e) {
            bad_row(source, e.what());
        }
    }

    void add_text(const std::string& source, std::string text) {
        Row row;
        row.source = source;
        row.text = std::move(text);
        out_.rows.push_back(std::move(row));
    }

    LoadedRows finish() {
        if (out_.rows.empty()) {
            fail(path_, out_.skipped > 0 ? "no valid rows (" + std::to_string(out_.skipped) + " skipped as bad)"
                                         : std::string("no rows in the file"));
        }
        return std::move(out_);
    }

private:
    Row convert(const json& value) {
        if (!value.is_object()) throw RowProblem("a row must be a JSON object, not " + described_type(value));
        if (out_.format == Format::Auto) {
            const Format f = detect_format(value);
            if (f == Format::Auto) {
                throw RowProblem("cannot tell the format from the keys " + key_list(value) +
                                 " (expected instruction+output, messages, prompt+completion or text)");
            }
            out_.format = f;
        }
        switch (out_.format) {
            case Format::Alpaca:
                return alpaca_row(value);
            case Format::Chat:
                return chat_row(value);
            case Format::Completion:
                return completion_row(value);
            case Format::Text:
                return text_row(value);
            case Format::Auto:
                break;
        }
        throw RowProblem("no format");
    }

    std::string path_;
    LoadOptions opts_;
    LoadedRows out_;
};

void read_json_lines(const std::string& path, const std::string& content, RowCollector& rows) {
    const std::vector<std::string> lines = split_lines(content);
    for (size_t i = 0; i < lines.size(); ++i) {
        if (is_blank(lines[i])) continue;
        const std::string source = path + ":" + std::to_string(i + 1);
        json value;
        std::vector<DuplicateKey> duplicates;
        try {
            value = parse_recording_duplicates(lines[i], &duplicates);
        } catch (const json::parse_error& e) {
            rows.bad_row(source, "invalid JSON: " + parse_error_text(e));
            continue;
        } catch (const json::out_of_range& e) {
            rows.bad_row(source, "invalid JSON: " + out_of_range_text(e));
            continue;
        }
        if (!duplicates.empty()) {
            rows.bad_row(source, duplicate_text(duplicates.front(), 0));
            continue;
        }
        rows.add_json(source, value);
    }
}

// 1-based line where each element of the rows array starts. `text` is valid
// JSON; the rows array is the root, or the one array-valued member of the root
// object, i.e. the first '[' met at depth 1 there.
std::vector<size_t> element_lines(const std::string& text, bool root_is_array) {
    std::vector<size_t> lines;
    size_t line = 1;
    int depth = 0, target_depth = -1;  // target_depth: depth inside the rows array once it is open
    bool in_string = false, escaped = false, expect_element = false;
    for (char c : text) {
        if (c == '\n') ++line;
        if (in_string) {
            if (escaped)
                escaped = false;
            else if (c == '\\')
                escaped = true;
            else if (c == '"')
                in_string = false;
            continue;
        }
        if (c == ' ' || c == '\t' || c == '\n' || c == '\r') continue;
        if (expect_element && c != ']') lines.push_back(line);
        expect_element = false;
        if (c == '"') {
            in_string = true;
        } else if (c == '[' || c == '{') {
            if (target_depth < 0 && c == '[' && depth == (root_is_array ? 0 : 1)) {
                target_depth = depth + 1;
                expect_element = true;
            }
            ++depth;
        } else if (c == ']' || c == '}') {
            if (depth == target_depth) break;
            --depth;
        } else if (c == ',' && depth == target_depth) {
            expect_element = true;
        }
    }
    return lines;
}

void read_json_document(const std::string& path, const std::string& content, RowCollector& rows) {
    json doc;
    std::vector<DuplicateKey> duplicates;
    try {
        doc = parse_recording_duplicates(content, &duplicates);
    } catch (const json::parse_error& e) {
        const size_t first = content.find_first_not_of(" \t\r\n");
        if (first != std::string::npos && content[first] == '{') {
            read_json_lines(path, content, rows);  // JSON lines saved as .json
            return;
        }
        const size_t upto = std::min<size_t>(e.byte > 0 ? e.byte - 1 : 0, content.size());
        const size_t line = 1 + std::count(content.begin(), content.begin() + upto, '\n');
        fail(path + ":" + std::to_string(line), "invalid JSON: " + parse_error_text(e, "file"));
    } catch (const json::out_of_range& e) {
        const size_t first = content.find_first_not_of(" \t\r\n");
        if (first != std::string::npos && content[first] == '{') {
            read_json_lines(path, content, rows);  // JSON lines saved as .json: the line says which
            return;
        }
        fail(path, "invalid JSON: " + out_of_range_text(e));
    }
    const json* list = nullptr;
    std::string list_key;  // its key in the root object
    bool root_is_array = false;
    if (doc.is_array()) {
        list = &doc;
        root_is_array = true;
    } else if (doc.is_object() && detect_format(doc) != Format::Auto) {
        if (!duplicates.empty()) {  // one row on its own
            rows.bad_row(path + ":1", duplicate_text(duplicates.front(), 0));
            return;
        }
        rows.add_json(path + ":1", doc);
        return;
    } else if (doc.is_object()) {
        for (auto member = doc.begin(); member != doc.end(); ++member) {
            if (!member->is_array()) continue;
            if (list)
                fail(path, "the object has more than one list; expected one list of rows (like {\"data\": [...]})");
            list = &*member;
            list_key = member.key();
        }
    }
    if (!list) fail(path, "expected an array of rows, or an object with one list of rows (like {\"data\": [...]})");
    // A duplicate inside a row makes that row bad; one anywhere else spoils the file.
    const size_t row_depth = root_is_array ? 0 : 1;  // path index of the row number
    std::map<size_t, const DuplicateKey*> bad_rows;
    for (const DuplicateKey& d : duplicates) {
        const bool in_row = d.path.size() > row_depth && d.path[row_depth].is_index &&
                            (root_is_array || (!d.path[0].is_index && d.path[0].key == list_key));
        if (!in_row) fail(path, duplicate_text(d, 0));
        bad_rows.emplace(d.path[row_depth].index, &d);  // keeps the first one of each row
    }
    const std::vector<size_t> lines = element_lines(content, root_is_array);
    const bool lines_known = lines.size() == list->size();
    for (size_t i = 0; i < list->size(); ++i) {
        const std::string at = lines_known ? std::to_string(lines[i]) : "#" + std::to_string(i);
        if (const auto bad = bad_rows.find(i); bad != bad_rows.end())
            rows.bad_row(path + ":" + at, duplicate_text(*bad->second, row_depth + 1));
        else
            rows.add_json(path + ":" + at, (*list)[i]);
    }
}

void read_text_documents(const std::string& path, const std::string& content, RowCollector& rows) {
    const std::vector<std::string> lines = split_lines(content);
    std::string doc;
    size_t doc_count = 0, doc_first_line = 0;  // doc_first_line 0: no document open
    bool doc_valid = true;
    const auto close_document = [&] {
        if (doc_first_line == 0) return;
        ++doc_count;
        if (doc_valid) rows.add_text(path + ":#" + std::to_string(doc_count), std::move(doc));
        doc.clear();
        doc_first_line = 0;
        doc_valid = true;
    };
    for (size_t i = 0; i < lines.size(); ++i) {
        if (is_blank(lines[i])) {
            close_document();
            continue;
        }
        if (doc_first_line == 0) {
            doc_first_line = i + 1;
        } else {
            doc += '\n';
        }
        doc += lines[i];
        const size_t bad = invalid_utf8_at(lines[i]);
        if (bad != std::string::npos && doc_valid) {
            doc_valid = false;
            rows.bad_row(path + ":#" + std::to_string(doc_count + 1),
                         "invalid UTF-8 on line " + std::to_string(i + 1) + ", byte " + std::to_string(bad + 1));
        }
    }
    close_document();
}

}  // namespace

LoadedRows load_rows(const std::string& path, const LoadOptions& opts) {
    std::error_code ec;
    if (std::filesystem::is_directory(path, ec))
        fail(path, "is a folder, expected a data file (.jsonl, .json or .txt)");
    const std::string ext = lower_extension(path);
    if (ext != "jsonl" && ext != "ndjson" && ext != "json" && ext != "txt") {
        fail(path, (ext.empty() ? std::string("no file extension") : "unknown file extension '." + ext + "'") +
                       ": expected .jsonl, .json or .txt");
    }
    if (ext == "txt" && opts.format != Format::Auto && opts.format != Format::Text) {
        fail(path, std::string("a .txt file holds plain text documents; format '") + format_name(opts.format) +
                       "' needs .jsonl or .json rows");
    }
    const std::string content = read_whole_file(path);
    if (ext == "txt") {
        LoadOptions text_opts = opts;
        text_opts.format = Format::Text;
        RowCollector rows(path, text_opts);
        read_text_documents(path, content, rows);
        return rows.finish();
    }
    RowCollector rows(path, opts);
    if (ext == "json") {
        read_json_document(path, content, rows);
    } else {
        read_json_lines(path, content, rows);
    }
    return rows.finish();
}

}  // namespace droplora::data
