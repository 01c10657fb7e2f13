#include "cli_args.h"

#include <algorithm>

#include "common/error.h"

namespace droplora::app {

Args::Args(const std::vector<std::string>& argv, const std::vector<std::string>& options,
           const std::vector<std::string>& flags, const std::vector<std::string>& repeatable) {
    auto contains = [](const std::vector<std::string>& v, const std::string& s) {
        return std::find(v.begin(), v.end(), s) != v.end();
    };
    for (size_t i = 0; i < argv.size(); ++i) {
        std::string a = argv[i];
        if (a.rfind("--", 0) != 0 || a.size() == 2) {
            positional_.push_back(a);
            continue;
        }
        std::string name = a.substr(2), value;
        bool inline_value = false;
        if (auto eq = name.find('='); eq != std::string::npos) {
            value = name.substr(eq + 1);
            name = name.substr(0, eq);
            inline_value = true;
        }
        if (contains(flags, name)) {
            if (inline_value) fail("--" + name, "takes no value");
            values_[name].push_back("1");
        } else if (contains(options, name) || contains(repeatable, name)) {
            if (!inline_value) {
                if (i + 1 >= argv.size()) fail("--" + name, "needs a value");
                value = argv[++i];
            }
            if (!contains(repeatable, name) && values_.count(name)) fail("--" + name, "given twice");
            values_[name].push_back(value);
        } else {
            fail("--" + name, "unknown option (see --help)");
        }
    }
}

std::string Args::get(const std::string& name, const std::string& fallback) const {
    auto it = values_.find(name);
    return it == values_.end() ? fallback : it->second.back();
}

std::string Args::require(const std::string& name) const {
    if (!has(name)) fail("--" + name, "is required (see --help)");
    return get(name);
}

double Args::get_double(const std::string& name, double fallback) const {
    if (!has(name)) return fallback;
    try {
        size_t used = 0;
        double v = std::stod(get(name), &used);
        if (used != get(name).size()) throw std::invalid_argument("trailing");
        return v;
    } catch (const std::exception&) {
        fail("--" + name, "expects a number, got '" + get(name) + "'");
    }
}

long long Args::get_int(const std::string& name, long long fallback) const {
    if (!has(name)) return fallback;
    try {
        size_t used = 0;
        long long v = std::stoll(get(name), &used);
        if (used != get(name).size()) throw std::invalid_argument("trailing");
        return v;
    } catch (const std::exception&) {
        fail("--" + name, "expects an integer, got '" + get(name) + "'");
    }
}

std::vector<std::string> Args::all(const std::string& name) const {
    auto it = values_.find(name);
    return it == values_.end() ? std::vector<std::string>{} : it->second;
}

}  // namespace droplora::app
