#include "io/strict_json.h"

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <set>

#include "common/error.h"
#include "common/text.h"

namespace droplora::io::strict {

std::string one_line(const std::string& s, std::size_t max) {
    return escape_control_chars(s, false, max);
}

std::string quoted(const std::string& s) {
    return "'" + one_line(s) + "'";
}

std::string tensor_where(const std::string& where, const std::string& name) {
    return where + ": tensor " + quoted(name);
}

bool valid_utf8(const std::string& s, std::size_t* bad_at) {
    const auto* p = reinterpret_cast<const unsigned char*>(s.data());
    const std::size_t n = s.size();
    std::size_t i = 0;
    while (i < n) {
        const unsigned c = p[i];
        std::size_t len = 0;
        unsigned lo = 0x80, hi = 0xbf;  // allowed range of the second byte
        if (c < 0x80)
            len = 1;
        else if (c >= 0xc2 && c <= 0xdf)
            len = 2;
        else if (c == 0xe0)
            len = 3, lo = 0xa0;
        else if (c == 0xed)
            len = 3, hi = 0x9f;
        else if (c >= 0xe1 && c <= 0xef)
            len = 3;
        else if (c == 0xf0)
            len = 4, lo = 0x90;
        else if (c == 0xf4)
            len = 4, hi = 0x8f;
        else if (c >= 0xf1 && c <= 0xf3)
            len = 4;
        bool ok = len > 0 && i + len <= n;
        for (std::size_t k = 1; ok && k < len; ++k) {
            const unsigned b = p[i + k];
            ok = k == 1 ? (b >= lo && b <= hi) : (b >= 0x80 && b <= 0xbf);
        }
        if (!ok) {
            *bad_at = i;
            return false;
        }
        i += len;
    }
    return true;
}

void append_member(Json& object, std::string key, Json value) {
    // ordered_map's own insert searches the vector for the key first (linear per
    // key, quadratic per object); the caller guarantees the key is new.
    auto& members = static_cast<Json::object_t::Container&>(object.get_ref<Json::object_t&>());
    members.emplace_back(std::move(key), std::move(value));
}

namespace {

// Builds the Json tree from nlohmann's SAX events. Unlike Json::parse (whose
// ordered map looks every key up in a vector: quadratic in the keys of an
// object), each object keeps a std::set of its keys for the duplicate check and
// appends members in file order: O(n log n) in the number of keys.
class StrictBuilder {
public:
    StrictBuilder(std::size_t max_depth, const std::string& where, const DuplicateKeyFn& describe_duplicate)
        : max_depth_(max_depth), where_(where), describe_duplicate_(describe_duplicate) {}

    Json take() { return std::move(root_); }

    bool null() { return place(Json(nullptr)); }
    bool boolean(bool v) { return place(Json(v)); }
    bool number_integer(Json::number_integer_t v) { return place(Json(v)); }
    bool number_unsigned(Json::number_unsigned_t v) { return place(Json(v)); }
    bool number_float(Json::number_float_t v, const std::string&) { return place(Json(v)); }
    bool string(std::string& v) { return place(Json(std::move(v))); }
    bool binary(Json::binary_t&) { return place(Json()); }  // not produced by the JSON reader
    bool start_object(std::size_t) { return open(Json::object()); }
    bool start_array(std::size_t) { return open(Json::array()); }
    bool end_object() { return close(); }
    bool end_array() { return close(); }

    bool key(std::string& k) {
        Frame& top = stack_.back();
        if (!top.keys.insert(k).second) {
            std::vector<std::string> path;
            for (std::size_t i = 0; i + 1 < stack_.size(); ++i)
                if (stack_[i].node->is_object()) path.push_back(stack_[i].key);
            describe_duplicate_(path, k);
            fail(where_, "key " + strict::quoted(k) + " appears more than once");  // in case the callback returned
        }
        top.key = k;
        return true;
    }

    bool parse_error(std::size_t, const std::string&, const nlohmann::detail::exception& e) {
        std::string msg = e.what();
        if (const auto close = msg.find("] "); msg.rfind("[json.exception.", 0) == 0 && close != std::string::npos)
            msg = msg.substr(close + 2);
        fail(where_, "not valid JSON: " + one_line(msg, 300));
    }

private:
    struct Frame {
        Json* node;
        std::set<std::string> keys;  // objects: every key so far
        std::string key;             // objects: the last key seen
        std::size_t items = 0;       // lists: items so far
    };

    // Adds `value` to the open container (or makes it the root); returns where it now lives.
    Json* add(Json&& value) {
        if (stack_.empty()) {
            root_ = std::move(value);
            return &root_;
        }
        Frame& top = stack_.back();
        if (top.node->is_object()) {
            append_member(*top.node, top.key, std::move(value));
            return &top.node->get_ref<Json::object_t&>().back().second;
        }
        if (++top.items > kMaxListItems) {
            std::string under;
            for (const auto& f : stack_)
                if (f.node->is_object()) under = f.key;
            fail(where_, "a list under " + strict::quoted(under) + " has more than " + std::to_string(kMaxListItems) +
                             " items");
        }
        auto& items = top.node->get_ref<Json::array_t&>();
        items.push_back(std::move(value));
        return &items.back();
    }

    bool place(Json&& value) {
        add(std::move(value));
        return true;
    }

    // A child's address stays valid while it is open: its parent grows only
    // after the child is closed.
    bool open(Json&& container) {
        if (stack_.size() >= max_depth_)
            fail(where_, "header JSON nests deeper than " + std::to_string(max_depth_) + " levels");
        Json* node = add(std::move(container));
        stack_.push_back(Frame{node, {}, {}, 0});
        return true;
    }

    bool close() {
        stack_.pop_back();
        return true;
    }

    std::size_t max_depth_;
    const std::string& where_;
    const DuplicateKeyFn& describe_duplicate_;
    Json root_;
    std::vector<Frame> stack_;
};

}  // namespace

Json parse_strict_json(const std::string& text, std::size_t max_depth, const std::string& where,
                       const DuplicateKeyFn& describe_duplicate) {
    StrictBuilder builder(max_depth, where, describe_duplicate);
    if (!Json::sax_parse(text, &builder)) fail(where, "not valid JSON");  // parse_error throws first
    return builder.take();
}

std::string errno_text() {
    return std::strerror(errno);
}

}  // namespace droplora::io::strict
