// A small, strict command-line parser for the droplora subcommands: every
// option is declared, unknown options and missing values are errors.
#pragma once

#include <map>
#include <string>
#include <vector>

namespace droplora::app {

class Args {
public:
    // `flags` take no value; `options` take one (repeatable ones collect all).
    Args(const std::vector<std::string>& argv, const std::vector<std::string>& options,
         const std::vector<std::string>& flags = {}, const std::vector<std::string>& repeatable = {});

    bool has(const std::string& name) const { return values_.count(name) > 0; }
    std::string get(const std::string& name, const std::string& fallback = "") const;
    std::string require(const std::string& name) const;  // throws Error "--name is required"
    double get_double(const std::string& name, double fallback) const;
    long long get_int(const std::string& name, long long fallback) const;
    std::vector<std::string> all(const std::string& name) const;
    const std::vector<std::string>& positional() const { return positional_; }

private:
    std::map<std::string, std::vector<std::string>> values_;
    std::vector<std::string> positional_;
};

}  // namespace droplora::app
