#include "common/files.h"

#include <cerrno>
#include <cstring>
#include <filesystem>

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/error.h"

namespace droplora::files {

namespace stdfs = std::filesystem;

std::string errno_text() { return errno_text(errno); }
std::string errno_text(int err) { return std::strerror(err); }

namespace {

void write_all(int fd, const void* data, std::size_t n, const std::string& where) {
    const char* p = static_cast<const char*>(data);
    while (n > 0) {
        const ssize_t w = ::write(fd, p, n);
        if (w < 0) {
            if (errno == EINTR) continue;
            fail(where, "cannot write: " + errno_text());
        }
        p += w;
        n -= static_cast<std::size_t>(w);
    }
}

std::string parent_of(const std::string& path) {
    const stdfs::path parent = stdfs::path(path).parent_path();
    return parent.empty() ? std::string(".") : parent.string();
}

// "<base>.tmp-<pid>", then "<base>.tmp-<pid>-1", ... : the first name `create`
// makes without finding it taken (create returns false on EEXIST, throws otherwise).
template <typename Create>
std::string create_unique_temp(const std::string& base, Create create) {
    const std::string stem = base + ".tmp-" + std::to_string(::getpid());
    for (int i = 0; i < 1000; ++i) {
        const std::string name = i == 0 ? stem : stem + "-" + std::to_string(i);
        if (create(name)) return name;
    }
    fail(base, "cannot find a free temporary name beside it (" + stem + "-*: 1000 taken)");
}

}  // namespace

std::string read_file(const std::string& path, std::size_t max_bytes) {
    std::error_code ec;
    if (stdfs::is_directory(path, ec)) fail(path, "is a folder, expected a file");
    const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0) fail(path, "cannot open: " + errno_text());
    struct stat st {};
    if (::fstat(fd, &st) == 0 && max_bytes > 0 && static_cast<std::size_t>(st.st_size) > max_bytes) {
        ::close(fd);
        fail(path, "is " + std::to_string(st.st_size) + " bytes, more than the " + std::to_string(max_bytes) +
                       " this file may have");
    }
    std::string out;
    if (st.st_size > 0) out.reserve(static_cast<std::size_t>(st.st_size));
    char buf[1 << 16];
    for (;;) {
        const ssize_t r = ::read(fd, buf, sizeof buf);
        if (r < 0) {
            if (errno == EINTR) continue;
            const std::string why = errno_text();
            ::close(fd);
            fail(path, "cannot read: " + why);
        }
        if (r == 0) break;
        out.append(buf, static_cast<std::size_t>(r));
        if (max_bytes > 0 && out.size() > max_bytes) {
            ::close(fd);
            fail(path, "is larger than the " + std::to_string(max_bytes) + " bytes this file may have");
        }
    }
    ::close(fd);
    return out;
}

void sync_folder(const std::string& dir) {
    const int fd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0) fail(dir, "cannot open the folder to flush it: " + errno_text());
    // Some file systems (e.g. some network mounts) do not flush folders: not an error for us.
    if (::fsync(fd) != 0 && errno != EINVAL && errno != ENOTSUP) {
        const std::string why = errno_text();
        ::close(fd);
        fail(dir, "cannot flush the folder to disk: " + why);
    }
    ::close(fd);
}

void rename_into_place(const std::string& from, const std::string& to) {
    if (::rename(from.c_str(), to.c_str()) != 0) fail(to, "cannot move " + from + " into place: " + errno_text());
    sync_folder(parent_of(to));
}

AtomicFile::AtomicFile(std::string path) : path_(std::move(path)) {
    tmp_ = create_unique_temp(path_, [this](const std::string& name) {
        fd_ = ::open(name.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
        if (fd_ >= 0) return true;
        if (errno == EEXIST) return false;
        fail(path_, "cannot create " + name + ": " + errno_text());
    });
}

AtomicFile::~AtomicFile() {
    if (fd_ >= 0) {
        ::close(fd_);
        ::unlink(tmp_.c_str());
    }
}

void AtomicFile::write(const void* data, std::size_t n) {
    if (fd_ < 0) fail(path_, "written after commit");
    write_all(fd_, data, n, path_);
}

void AtomicFile::commit() {
    if (fd_ < 0) fail(path_, "committed twice");
    const int fd = fd_;
    fd_ = -1;
    // Flushed before the rename, so a crash leaves either the old file or the whole new one.
    if (::fsync(fd) != 0) {
        const std::string why = errno_text();
        ::close(fd);
        ::unlink(tmp_.c_str());
        fail(path_, "cannot flush to disk: " + why);
    }
    if (::close(fd) != 0) {
        const std::string why = errno_text();
        ::unlink(tmp_.c_str());
        fail(path_, "cannot write: " + why);
    }
    if (::rename(tmp_.c_str(), path_.c_str()) != 0) {
        const std::string why = errno_text();
        ::unlink(tmp_.c_str());
        fail(path_, "cannot move " + tmp_ + " into place: " + why);
    }
    sync_folder(parent_of(path_));
}

MappedFile::MappedFile(const std::string& path) {
    const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0) fail(path, "cannot open: " + errno_text());
    struct stat st {};
    if (::fstat(fd, &st) != 0) {
        const std::string why = errno_text();
        ::close(fd);
        fail(path, "cannot stat: " + why);
    }
    if (!S_ISREG(st.st_mode)) {
        ::close(fd);
        fail(path, "is not a regular file");
    }
    size_ = static_cast<std::size_t>(st.st_size);
    if (size_ > 0) {
        void* map = ::mmap(nullptr, size_, PROT_READ, MAP_PRIVATE, fd, 0);
        if (map == MAP_FAILED) {
            const std::string why = errno_text();
            ::close(fd);
            fail(path, "cannot map into memory: " + why);
        }
        map_ = map;
    }
    ::close(fd);  // the mapping keeps the file alive
}

MappedFile::~MappedFile() {
    if (map_ != nullptr) ::munmap(map_, size_);
}

StagingFolder::StagingFolder(std::string final_dir)
    : final_(stdfs::path(std::move(final_dir)).lexically_normal().string()) {
    while (final_.size() > 1 && final_.back() == '/') final_.pop_back();  // "out/" stages as "out.tmp-<pid>"
    std::error_code ec;
    stdfs::create_directories(parent_of(final_), ec);  // "--out new/deeper/peft"; a failure shows at mkdir below
    tmp_ = create_unique_temp(final_, [this](const std::string& name) {
        if (::mkdir(name.c_str(), 0755) == 0) return true;
        if (errno == EEXIST) return false;
        fail(final_, "cannot create the folder " + name + " to write into: " + errno_text());
    });
}

StagingFolder::~StagingFolder() {
    if (committed_) return;
    std::error_code ec;
    stdfs::remove_all(tmp_, ec);  // ours: created by the constructor
}

std::string StagingFolder::file(const std::string& name) const { return (stdfs::path(tmp_) / name).string(); }

void StagingFolder::commit(bool replace_existing) {
    if (committed_) fail(final_, "committed twice");
    std::error_code ec;
    const bool exists = stdfs::exists(stdfs::symlink_status(final_, ec));
    if (exists && !replace_existing) fail(final_, "already exists; it was not replaced");
    std::string old;
    if (exists) {
        // Aside onto an empty folder made here (rename replaces an empty folder), never onto a name someone holds.
        old = create_unique_temp(final_, [this](const std::string& name) {
            if (::mkdir(name.c_str(), 0755) == 0) return true;
            if (errno == EEXIST) return false;
            fail(final_, "cannot create the folder " + name + " to move the earlier one aside: " + errno_text());
        });
        if (::rename(final_.c_str(), old.c_str()) != 0) {
            const std::string why = errno_text();
            ::rmdir(old.c_str());
            fail(final_, "cannot move the earlier folder aside to replace it: " + why);
        }
    }
    if (::rename(tmp_.c_str(), final_.c_str()) != 0) {
        const std::string why = errno_text();
        if (!old.empty()) (void)::rename(old.c_str(), final_.c_str());  // put the earlier one back
        fail(final_, "cannot move " + tmp_ + " into place: " + why);
    }
    committed_ = true;
    sync_folder(parent_of(final_));
    if (!old.empty()) stdfs::remove_all(old, ec);  // the new folder is in place; a leftover is only disk space
}

void write_file_atomic(const std::string& path, const std::string& bytes) {
    AtomicFile f(path);
    f.write(bytes);
    f.commit();
}

AppendFile::AppendFile(std::string path) : path_(std::move(path)) {
    fd_ = ::open(path_.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
    if (fd_ < 0) fail(path_, "cannot open for appending: " + errno_text());
}

AppendFile::~AppendFile() {
    if (fd_ >= 0) ::close(fd_);
}

void AppendFile::append_line(const std::string& line) {
    // One write() per line: O_APPEND keeps lines whole against other appenders,
    // and a short write (disk full) is an error, not a torn line left behind.
    std::string buf = line;
    buf.push_back('\n');
    const ssize_t w = ::write(fd_, buf.data(), buf.size());
    if (w < 0) fail(path_, "cannot append: " + errno_text());
    if (static_cast<std::size_t>(w) != buf.size()) {
        // Undo the partial line so the log stays parseable.
        struct stat st {};
        if (::fstat(fd_, &st) == 0) (void)::ftruncate(fd_, st.st_size - w);
        fail(path_, "cannot append: " + errno_text(ENOSPC));
    }
}

}  // namespace droplora::files
