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

Json parse_strict_json(const std::string& text, std::size_t max_depth, const std::string& where,
                       const DuplicateKeyFn& describe_duplicate) {
    struct Frame {
        bool object;
        std::set<std::string> keys;
        std::string key;  // the last key seen (objects)
        std::size_t items = 0;
    };
    std::vector<Frame> stack;
    auto enter = [&](bool object) {
        if (stack.size() >= max_depth)
            fail(where, "header JSON nests deeper than " + std::to_string(max_depth) + " levels");
        stack.push_back(Frame{object, {}, {}, 0});
    };
    auto count_item = [&]() {
        if (stack.empty() || stack.back().object) return;
        if (++stack.back().items > kMaxListItems) {
            std::vector<std::string> path;
            for (const auto& f : stack)
                if (f.object) path.push_back(f.key);
            fail(where, "a list under " + quoted(path.empty() ? std::string() : path.back()) + " has more than " +
                            std::to_string(kMaxListItems) + " items");
        }
    };
    auto callback = [&](int, Json::parse_event_t event, Json& parsed) -> bool {
        switch (event) {
            case Json::parse_event_t::object_start:
                count_item();
                enter(true);
                break;
            case Json::parse_event_t::array_start:
                count_item();
                enter(false);
                break;
            case Json::parse_event_t::object_end:
            case Json::parse_event_t::array_end:
                if (!stack.empty()) stack.pop_back();
                break;
            case Json::parse_event_t::key: {
                Frame& top = stack.back();
                const std::string& key = parsed.get_ref<const std::string&>();
                if (!top.keys.insert(key).second) {
                    std::vector<std::string> path;
                    for (std::size_t i = 0; i + 1 < stack.size(); ++i)
                        if (stack[i].object) path.push_back(stack[i].key);
                    describe_duplicate(path, key);
                }
                top.key = key;
                break;
            }
            case Json::parse_event_t::value:
                count_item();
                break;
        }
        return true;
    };
    try {
        return Json::parse(text, callback);
    } catch (const Json::exception& e) {
        std::string msg = e.what();
        if (const auto close = msg.find("] "); msg.rfind("[json.exception.", 0) == 0 && close != std::string::npos)
            msg = msg.substr(close + 2);
        fail(where, "not valid JSON: " + one_line(msg, 300));
    }
}

std::string errno_text() {
    return std::strerror(errno);
}

}  // namespace droplora::io::strict
