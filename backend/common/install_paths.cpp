#include "common/install_paths.h"

#include <cstdlib>
#include <filesystem>
#include <pwd.h>
#include <system_error>
#include <unistd.h>

// Set for this file alone by backend/CMakeLists.txt from CMake's project() and GNUInstallDirs.
#ifndef DROPLORA_VERSION
#error "DROPLORA_VERSION must be defined (backend/CMakeLists.txt)"
#endif

namespace fs = std::filesystem;

namespace droplora::common {

namespace {

constexpr const char* kAppFolder = "droplora-workbench";

// `rel` (a path relative to the executable's folder) as a canonical folder, "" when it is not one.
std::string folder_from_executable(const char* rel) {
    const std::string exe = executable_dir();
    if (exe.empty()) return {};
    std::error_code ec;
    const fs::path dir = fs::weakly_canonical(fs::path(exe) / rel, ec);
    if (ec || !fs::is_directory(dir, ec)) return {};
    return dir.string();
}

bool is_inside(const fs::path& file, const fs::path& dir) {
    auto f = file.begin();
    for (auto d = dir.begin(); d != dir.end(); ++d, ++f)
        if (f == file.end() || *f != *d) return false;
    return true;
}

// The nearest folder of `path` (itself or an ancestor) that exists.
fs::path nearest_existing(fs::path path) {
    std::error_code ec;
    while (!fs::exists(path, ec) && path.has_parent_path() && path.parent_path() != path) path = path.parent_path();
    return path;
}

std::string home_dir() {
    if (const char* home = std::getenv("HOME"); home != nullptr && *home != '\0') return home;
    if (const passwd* pw = getpwuid(getuid()); pw != nullptr && pw->pw_dir != nullptr) return pw->pw_dir;
    return "/tmp";
}

std::string last_name(const std::string& output) {
    fs::path p = fs::path(output).lexically_normal();
    if (p.filename().empty()) p = p.parent_path();  // "runs/demo/"
    const std::string name = p.filename().string();
    return name.empty() || name == "." || name == ".." ? "run" : name;
}

}  // namespace

std::string version() { return DROPLORA_VERSION; }

std::string executable_dir() {
    std::error_code ec;
    const fs::path exe = fs::read_symlink("/proc/self/exe", ec);
    return ec ? std::string() : exe.parent_path().string();
}

std::string installed_data_dir() {
#ifdef DROPLORA_DATA_REL
    return folder_from_executable(DROPLORA_DATA_REL);
#else
    return {};
#endif
}

std::string private_lib_dir() {
#ifdef DROPLORA_PRIVATE_LIB_REL
    return folder_from_executable(DROPLORA_PRIVATE_LIB_REL);
#else
    return {};
#endif
}

std::string demo_run_file() {
    std::error_code ec;
    // An installed binary uses its installed demo and never the source tree it was built from.
    if (const std::string data = installed_data_dir(); !data.empty()) {
        const fs::path demo = fs::path(data) / "configs" / "demo.yaml";
        return fs::is_regular_file(demo, ec) ? demo.string() : std::string();
    }
#ifdef DROPLORA_SOURCE_DIR
    const fs::path demo = fs::path(DROPLORA_SOURCE_DIR) / "resources" / "configs" / "demo.yaml";
    if (fs::is_regular_file(demo, ec)) return demo.string();
#endif
    return {};
}

std::string user_runs_dir() {
    // The XDG base directory spec: a relative $XDG_DATA_HOME is invalid and ignored.
    const char* xdg = std::getenv("XDG_DATA_HOME");
    const fs::path base = xdg != nullptr && fs::path(xdg).is_absolute() ? fs::path(xdg)
                                                                         : fs::path(home_dir()) / ".local" / "share";
    return (base / kAppFolder / "runs").lexically_normal().string();
}

std::string place_run_folder(const std::string& run_file, std::string& output) {
    std::error_code ec;
    const fs::path file = fs::weakly_canonical(fs::absolute(run_file, ec), ec);
    const std::string data = installed_data_dir();
    std::string why;
    if (!data.empty() && is_inside(file, data)) {
        why = "it is part of the installed data in " + data;
    } else {
        const fs::path target = nearest_existing(fs::absolute(output, ec).lexically_normal());
        if (::access(target.c_str(), W_OK) == 0) return {};
        why = "this user cannot write " + target.string();
    }
    const std::string moved = (fs::path(user_runs_dir()) / last_name(output)).string();
    const std::string note = run_file + ": run folder " + moved + " instead of " + output + " (" + why + ")";
    output = moved;
    return note;
}

}  // namespace droplora::common
