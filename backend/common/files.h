// Files, written and read the one way the engine does it. Torch-free.
//
// Every write that a person's work depends on (checkpoints, exports, metrics,
// run files) goes through write_file_atomic or AtomicFile: the bytes go to a
// temporary file beside the target, are flushed to disk, renamed over the
// target, and the folder entry is flushed too, so a crash or a full disk
// leaves either the old file or the whole new one, never a torn one. Every
// failure is an Error naming the file and the system's reason ("No space left
// on device", "Read-only file system", ...).
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>

namespace droplora::files {

// strerror(errno) (or of `err`), as one phrase.
std::string errno_text();
std::string errno_text(int err);

// The whole file. Throws Error("<path>: cannot open: <reason>") and the like;
// a folder is "is a folder, expected a file". `max_bytes` guards against a
// path that names something huge by mistake (0: no limit).
std::string read_file(const std::string& path, std::size_t max_bytes = 0);

// Writes `bytes` to `path` atomically (see above). The parent folder must exist.
void write_file_atomic(const std::string& path, const std::string& bytes);

// For writers that stream: the constructor creates "<path>.tmp-<pid>" (with a
// counter appended when that name is taken: nothing that exists is ever
// overwritten), write() appends, commit() flushes, renames over `path` and
// flushes the folder. Destroyed without commit(), the temporary file is removed.
class AtomicFile {
public:
    explicit AtomicFile(std::string path);
    ~AtomicFile();
    AtomicFile(const AtomicFile&) = delete;
    AtomicFile& operator=(const AtomicFile&) = delete;

    void write(const void* data, std::size_t n);
    void write(const std::string& s) { write(s.data(), s.size()); }
    void commit();
    const std::string& temp_path() const { return tmp_; }

private:
    std::string path_, tmp_;
    int fd_ = -1;
};

// A folder that is built beside its final place and moved there whole, so a
// crash or an error leaves the earlier folder (or none), never a half-written
// one. The staging folder is "<final>.tmp-<pid>" (a counter appended when that
// name is taken), created by this object (and the final folder's missing
// parents): nothing that existed before is ever removed by it, whatever the
// person named their folders. Destroyed without
// commit(), the staging folder is removed.
class StagingFolder {
public:
    explicit StagingFolder(std::string final_dir);
    ~StagingFolder();
    StagingFolder(const StagingFolder&) = delete;
    StagingFolder& operator=(const StagingFolder&) = delete;

    const std::string& path() const { return tmp_; }
    std::string file(const std::string& name) const;  // path()/name

    // Moves the staging folder to `final_dir`. An existing final folder is an
    // error unless `replace_existing` (the caller has checked it may go): it
    // is first renamed aside (onto a free name made as above), the new one into
    // place, and only then the old one removed, so one of the two is always there.
    void commit(bool replace_existing);

private:
    std::string final_, tmp_;
    bool committed_ = false;
};

// A regular file mapped read-only into memory (the tensor files: safetensors,
// GGUF), unmapped when destroyed. An empty file maps to data() == nullptr.
// Errors name the file: "cannot open", "is not a regular file", "cannot map".
class MappedFile {
public:
    explicit MappedFile(const std::string& path);
    ~MappedFile();
    MappedFile(const MappedFile&) = delete;
    MappedFile& operator=(const MappedFile&) = delete;

    const std::uint8_t* data() const { return static_cast<const std::uint8_t*>(map_); }
    std::size_t size() const { return size_; }

private:
    void* map_ = nullptr;
    std::size_t size_ = 0;
};

// fsync of a folder, so a rename inside it survives a crash. Errors are thrown.
void sync_folder(const std::string& dir);

// Renames `from` over `to` (files or folders) and flushes the parent folder.
void rename_into_place(const std::string& from, const std::string& to);

// Appends one line and flushes it to the kernel; an error (ENOSPC, EIO, ...)
// is thrown, never swallowed, so a log that cannot be written stops the run.
class AppendFile {
public:
    explicit AppendFile(std::string path);
    ~AppendFile();
    AppendFile(const AppendFile&) = delete;
    AppendFile& operator=(const AppendFile&) = delete;
    void append_line(const std::string& line);

private:
    std::string path_;
    int fd_ = -1;
};

}  // namespace droplora::files
