// Torch-free helpers that every test may use: files as bytes, the message of a
// droplora::Error, and a child process (the droplora CLI, node, llama.cpp)
// run to its end. tests/test_helpers.h adds the LibTorch ones.
#pragma once

#include <QProcess>
#include <QString>
#include <QStringList>
#include <QtTest/QtTest>

#include <cctype>
#include <exception>
#include <fstream>
#include <functional>
#include <iterator>
#include <sstream>
#include <string>

#include "common/error.h"

namespace droplora::testing {

inline std::string data_path(const std::string& rel) { return std::string(DROPLORA_TEST_DATA) + "/" + rel; }

// The whole file ("" when it cannot be read: the comparison that follows fails).
inline std::string read_file(const std::string& path) {
    std::ifstream in(path, std::ios::binary);
    return std::string(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
}
inline std::string read_file(const QString& path) { return read_file(path.toStdString()); }

// Writes `bytes` (replacing the file); a failed write fails the calling test.
inline void write_file(const std::string& path, const std::string& bytes) {
    std::ofstream out(path, std::ios::binary | std::ios::trunc);
    out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
    out.close();
    QVERIFY2(out.good(), path.c_str());
}
inline void write_file(const QString& path, const std::string& bytes) { write_file(path.toStdString(), bytes); }

// What error_of returns when `f` throws nothing.
inline const std::string kNoError = "<no error>";

// The message of the droplora::Error `f` throws; kNoError when it throws none;
// any other exception comes back marked, so a comparison with the expected message fails.
inline std::string error_of(const std::function<void()>& f) {
    try {
        f();
    } catch (const droplora::Error& e) {
        return e.what();
    } catch (const std::exception& e) {
        return std::string("<wrong exception type> ") + e.what();
    }
    return kNoError;
}

struct ProcessResult {
    int code = -1;         // the exit code; -1 when it crashed or timed out
    bool crashed = false;  // ended by a signal
    QString out, err;
};

// Waits for a started process to end (killed after `timeout_ms`, then err says "timed out").
inline ProcessResult finish_process(QProcess& p, int timeout_ms = 300000) {
    ProcessResult r;
    if (!p.waitForFinished(timeout_ms)) {
        p.kill();
        p.waitForFinished();
        r.err = QStringLiteral("timed out");
        return r;
    }
    r.crashed = p.exitStatus() != QProcess::NormalExit;
    r.code = r.crashed ? -1 : p.exitCode();
    r.out = QString::fromUtf8(p.readAllStandardOutput());
    r.err = QString::fromUtf8(p.readAllStandardError());
    return r;
}

// Runs `program` to its end (killed after `timeout_ms`, then err says "timed out").
inline ProcessResult run_process(const QString& program, const QStringList& args, const QString& cwd = QString(),
                                 int timeout_ms = 300000) {
    QProcess p;
    if (!cwd.isEmpty()) p.setWorkingDirectory(cwd);
    p.start(program, args);
    return finish_process(p, timeout_ms);
}

// The engine tests' tiny task at `path`: 32 alpaca rows "Write the word in capital letters." over 16
// words (twice), short enough for the 128-position fixtures. Returns `path`.
inline std::string write_capitals_task(const std::string& path) {
    const char* words[] = {"apple", "river", "stone", "cloud", "paper", "green", "light", "music",
                           "table", "water", "house", "night", "bread", "chair", "plant", "smile"};
    std::ofstream out(path);
    for (int rep = 0; rep < 2; ++rep)
        for (const char* w : words) {
            std::string up(w);
            for (auto& c : up) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
            out << "{\"instruction\": \"Write the word in capital letters.\", \"input\": \"" << w
                << "\", \"output\": \"" << up << "\"}\n";
        }
    return path;
}

#ifdef DROPLORA_BIN_DIR
// The droplora CLI of this build.
inline ProcessResult droplora_cli(const QStringList& args, const QString& cwd = QString(), int timeout_ms = 300000) {
    return run_process(QStringLiteral(DROPLORA_BIN_DIR "/droplora"), args, cwd, timeout_ms);
}
#endif

}  // namespace droplora::testing
