// common/install_paths: the user's run folder ($XDG_DATA_HOME rules), run files in
// writable and unwritable places, and the build tree's (not installed) layout.
// The installed layout itself (/usr/bin, /usr/share/droplora-workbench) is checked
// by packaging/test-deb.sh on the installed package.
#include <QRegularExpression>
#include <QTemporaryDir>
#include <QtTest/QtTest>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>
#include <unistd.h>

#include "common/install_paths.h"

namespace fs = std::filesystem;
namespace common = droplora::common;

namespace {

// Sets an environment variable for one scope, restoring the old value after.
class ScopedEnv {
public:
    ScopedEnv(const char* name, const char* value) : name_(name) {
        if (const char* old = std::getenv(name)) old_ = old;
        had_ = std::getenv(name) != nullptr;
        if (value) ::setenv(name, value, 1);
        else ::unsetenv(name);
    }
    ~ScopedEnv() {
        if (had_) ::setenv(name_.c_str(), old_.c_str(), 1);
        else ::unsetenv(name_.c_str());
    }

private:
    std::string name_, old_;
    bool had_ = false;
};

}  // namespace

class TestInstallPaths : public QObject {
    Q_OBJECT

private slots:
    void version_is_dotted() {
        QVERIFY(QRegularExpression("^[0-9]+\\.[0-9]+\\.[0-9]+$").match(QString::fromStdString(common::version())).hasMatch());
    }

    void user_runs_dir_follows_xdg_data_home() {
        ScopedEnv home("HOME", "/home/someone");
        {
            ScopedEnv xdg("XDG_DATA_HOME", "/data/xdg");
            QCOMPARE(common::user_runs_dir(), std::string("/data/xdg/droplora-workbench/runs"));
        }
        {
            ScopedEnv xdg("XDG_DATA_HOME", "relative/xdg");  // invalid by the spec: ignored
            QCOMPARE(common::user_runs_dir(), std::string("/home/someone/.local/share/droplora-workbench/runs"));
        }
        {
            ScopedEnv xdg("XDG_DATA_HOME", nullptr);
            QCOMPARE(common::user_runs_dir(), std::string("/home/someone/.local/share/droplora-workbench/runs"));
        }
    }

    void writable_run_file_keeps_its_run_folder() {
        QTemporaryDir tmp;
        QVERIFY(tmp.isValid());
        const fs::path root = tmp.path().toStdString();
        fs::create_directories(root / "configs");
        std::ofstream(root / "configs" / "demo.yaml") << "model: m\n";
        std::string output = (root / "runs" / "demo").string();
        const std::string before = output;
        QCOMPARE(common::place_run_folder((root / "configs" / "demo.yaml").string(), output), std::string());
        QCOMPARE(output, before);
    }

    void unwritable_run_folder_goes_to_user_runs() {
        if (::geteuid() == 0) QSKIP("root may write anywhere; packaging/test-deb.sh checks the installed demo");
        QTemporaryDir tmp, data;
        QVERIFY(tmp.isValid() && data.isValid());
        const fs::path root = tmp.path().toStdString();
        fs::create_directories(root / "share" / "configs");
        std::ofstream(root / "share" / "configs" / "demo.yaml") << "model: m\n";
        fs::permissions(root / "share", fs::perms::owner_read | fs::perms::owner_exec);
        ScopedEnv xdg("XDG_DATA_HOME", data.path().toUtf8().constData());
        std::string output = (root / "share" / "runs" / "demo" / "").string();  // trailing slash: the name is demo
        const std::string note = common::place_run_folder((root / "share" / "configs" / "demo.yaml").string(), output);
        fs::permissions(root / "share", fs::perms::owner_all);
        const std::string expected = data.path().toStdString() + "/droplora-workbench/runs/demo";
        QCOMPARE(output, expected);
        QVERIFY2(note.find(expected) != std::string::npos && note.find("cannot write") != std::string::npos, note.c_str());
    }

    void build_tree_is_not_an_installed_layout() {
        // build/bin/../share/droplora-workbench does not exist: the source tree's demo is the default.
        QCOMPARE(common::installed_data_dir(), std::string());
        QCOMPARE(common::private_lib_dir(), std::string());
        QCOMPARE(common::demo_run_file(), std::string(DROPLORA_SOURCE_DIR "/resources/configs/demo.yaml"));
        QCOMPARE(common::executable_dir(), fs::weakly_canonical(DROPLORA_BIN_DIR).string());
    }
};

QTEST_GUILESS_MAIN(TestInstallPaths)
#include "test_install_paths.moc"
