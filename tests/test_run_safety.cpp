// Never losing a person's work: exports that refuse to delete what they did
// not create, one process per run folder, failed writes that leave the last
// whole checkpoint newest, NaN and divergence that keep no poisoned weights,
// resume and export that fall back past a damaged checkpoint, and a failed
// start that leaves no run folder behind. The CLI runs as its own process
// where the behaviour is the process's (exit codes, locks, file-size limits).
#include <QtTest/QtTest>

#include <filesystem>
#include <fstream>

#include <nlohmann/json.hpp>

#include "common/error.h"
#include "common/files.h"
#include "config/run_config.h"
#include "test_helpers.h"
#include "train/divergence.h"
#include "train/metrics_log.h"
#include "train/run_folder.h"
#include "train/trainer.h"

using namespace droplora;
using droplora::testing::data_path;
namespace fs = std::filesystem;

namespace {

struct Cli {
    int code = -1;
    QString out, err;
};

// Runs droplora; `shell_prefix` (e.g. "ulimit -f 64;") runs before it in bash.
Cli droplora_cli(const QStringList& args, const QString& shell_prefix = {}) {
    QProcess p;
    if (shell_prefix.isEmpty()) {
        p.start(QString(DROPLORA_BIN_DIR) + "/droplora", args);
    } else {
        QString cmd = shell_prefix + " exec \"$0\"";
        for (int i = 0; i < args.size(); ++i) cmd += QString(" \"${%1}\"").arg(i + 1);
        p.start("bash", QStringList{"-c", cmd, QString(DROPLORA_BIN_DIR) + "/droplora"} + args);
    }
    Cli r;
    if (!p.waitForFinished(300000)) {
        p.kill();
        r.err = "timed out";
        return r;
    }
    r.code = p.exitStatus() == QProcess::NormalExit ? p.exitCode() : 128 + p.exitCode();
    r.out = QString::fromUtf8(p.readAllStandardOutput());
    r.err = QString::fromUtf8(p.readAllStandardError());
    return r;
}

class Recorder : public train::Observer {
public:
    explicit Recorder(train::RunControl* control = nullptr, int64_t stop_at = -1) : control_(control), stop_at_(stop_at) {}
    void on_step(const train::StepMetrics& m) override {
        ++steps;
        if (control_ && m.step == stop_at_) control_->stop = true;
    }
    void on_log(const std::string& line) override { log += line + "\n"; }
    int steps = 0;
    std::string log;

private:
    train::RunControl* control_;
    int64_t stop_at_;
};

std::string write_task(const fs::path& dir, const std::string& name = "task.jsonl", int salt = 0) {
    const fs::path path = dir / name;
    std::ofstream out(path);
    for (int i = 0; i < 24; ++i)
        out << nlohmann::json{{"instruction", "Repeat the number."},
                              {"input", std::to_string(i * 7 + salt)},
                              {"output", std::to_string(i * 7 + salt)}}
                   .dump()
            << "\n";
    return path.string();
}

config::RunConfig tiny_run(const fs::path& dir, const std::string& name) {
    config::RunConfig c;
    c.model = data_path("models/tiny-llama-gqa");
    c.data.train = write_task(dir);
    c.data.max_seq_len = 160;
    c.adapter.rank = 4;
    c.adapter.alpha = 8;
    c.adapter.targets = {"q_proj", "v_proj"};
    c.train.max_steps = 8;
    c.train.batch_size = 2;
    c.train.lr = 1e-2;
    c.train.warmup_steps = 1;
    c.train.eval_every = 0;
    c.train.save_every = 4;
    c.train.stats_every = 0;
    c.train.seed = 5;
    c.device = "cpu";
    c.output = (dir / name).string();
    return c;
}

std::string write_run_file(const config::RunConfig& c, const fs::path& dir) {
    const std::string path = (dir / "run.yaml").string();
    config::save_run_config(c, path);
    return path;
}

QString q(const std::string& s) { return QString::fromStdString(s); }
QString q(const fs::path& p) { return QString::fromStdString(p.string()); }

// A finished 8-step run with checkpoints at steps 4 and 8.
std::string finished_run(const fs::path& dir, const std::string& name = "run") {
    auto c = tiny_run(dir, name);
    train::RunControl control;
    Recorder rec;
    auto r = train::run_training(c, rec, control);
    if (r.outcome != train::RunOutcome::Finished) throw Error("the fixture run failed: " + r.message);
    return r.run_dir;
}

}  // namespace

class TestRunSafety : public QObject {
    Q_OBJECT

private slots:
    void exports_never_delete_what_they_did_not_create() {
        QTemporaryDir tmp;
        const fs::path root(tmp.path().toStdString());
        const std::string run = finished_run(root);

        // A folder of someone's files is left as it was.
        fs::create_directories(root / "mine");
        std::ofstream(root / "mine" / "thesis.tex") << "years of work";
        auto r = droplora_cli({"export", "--run", q(run), "--format", "peft", "--out", q(root / "mine")});
        QVERIFY(r.code != 0);
        QVERIFY2(r.err.contains("mine") && r.err.contains("thesis.tex"), qPrintable(r.err));
        QCOMPARE(QString::fromStdString(droplora::testing::read_file((root / "mine" / "thesis.tex").string())),
                 QString("years of work"));

        // The run folder itself, a folder above it, and the current folder are refused.
        for (const fs::path& out : {fs::path(run), root}) {
            r = droplora_cli({"export", "--run", q(run), "--format", "peft", "--out", q(out)});
            QVERIFY(r.code != 0);
            QVERIFY2(r.err.contains("run or checkpoint folder") || r.err.contains("current folder"), qPrintable(r.err));
        }
        QVERIFY(fs::exists(fs::path(run) / "metrics.jsonl"));
        QVERIFY(!run_folder::list_checkpoints(run).empty());
        r = droplora_cli({"export", "--run", q(run), "--format", "peft", "--out", "."});
        QVERIFY(r.code != 0);
        QVERIFY2(r.err.contains("current folder"), qPrintable(r.err));
        r = droplora_cli({"export", "--run", q(run), "--format", "peft", "--out", ""});
        QVERIFY(r.code != 0);
        QVERIFY2(r.err.contains("--out: is empty"), qPrintable(r.err));
        QVERIFY(!fs::exists(".tmp"));

        // Folders whose names look like our staging folders are someone's too: left as they were.
        const fs::path out = root / "peft";
        for (const char* name : {"peft.tmp", "peft.tmp-1"}) {
            fs::create_directories(root / name);
            std::ofstream(root / name / "mine.txt") << "keep";
        }
        // A new folder works; the same again needs --force, which replaces only an export.
        r = droplora_cli({"export", "--run", q(run), "--format", "peft", "--out", q(out)});
        QVERIFY2(r.code == 0, qPrintable(r.err));
        r = droplora_cli({"export", "--run", q(run), "--format", "peft", "--out", q(out)});
        QVERIFY(r.code != 0);
        QVERIFY2(r.err.contains("--force"), qPrintable(r.err));
        r = droplora_cli({"export", "--run", q(run), "--format", "peft", "--out", q(out), "--force"});
        QVERIFY2(r.code == 0, qPrintable(r.err));
        QVERIFY(run_folder::is_adapter_folder(out.string()));
        std::ofstream(out / "notes.txt") << "mine";
        r = droplora_cli({"export", "--run", q(run), "--format", "peft", "--out", q(out), "--force"});
        QVERIFY(r.code != 0);
        QVERIFY(fs::exists(out / "notes.txt"));
        for (const char* name : {"peft.tmp", "peft.tmp-1"})
            QCOMPARE(QString::fromStdString(droplora::testing::read_file((root / name / "mine.txt").string())), QString("keep"));
    }

    // files::StagingFolder never takes over a name that exists, even its own pattern's.
    void staging_folders_take_only_free_names() {
        QTemporaryDir tmp;
        const fs::path root(tmp.path().toStdString());
        const fs::path taken = root / ("out.tmp-" + std::to_string(::getpid()));
        fs::create_directories(taken);
        std::ofstream(taken / "mine.txt") << "keep";
        std::string staged;
        {
            droplora::files::StagingFolder s((root / "out").string());
            staged = s.path();
            QVERIFY2(staged != taken.string(), staged.c_str());
            std::ofstream(s.file("a.txt")) << "new";
            s.commit(/*replace_existing=*/false);
        }
        QVERIFY(!fs::exists(staged));
        QCOMPARE(QString::fromStdString(droplora::testing::read_file((root / "out" / "a.txt").string())), QString("new"));
        QCOMPARE(QString::fromStdString(droplora::testing::read_file((taken / "mine.txt").string())), QString("keep"));
        // A second commit over it: refused without replace_existing, the first left whole.
        {
            droplora::files::StagingFolder s((root / "out").string());
            std::ofstream(s.file("b.txt")) << "newer";
            QVERIFY(droplora::testing::error_of([&] { s.commit(false); }).find("already exists") != std::string::npos);
        }
        QVERIFY(fs::exists(root / "out" / "a.txt") && !fs::exists(root / "out" / "b.txt"));
        {
            droplora::files::StagingFolder s((root / "out").string());
            std::ofstream(s.file("b.txt")) << "newer";
            s.commit(true);
        }
        QVERIFY(!fs::exists(root / "out" / "a.txt") && fs::exists(root / "out" / "b.txt"));
        // Missing parents are made, as `--out new/deeper/peft` expects.
        {
            droplora::files::StagingFolder s((root / "new" / "deeper" / "out").string());
            std::ofstream(s.file("c.txt")) << "deep";
            s.commit(false);
        }
        QVERIFY(fs::exists(root / "new" / "deeper" / "out" / "c.txt"));
        fs::remove_all(root / "new");
        // Destroyed without commit: only the staging folder goes.
        {
            droplora::files::StagingFolder s((root / "gone").string());
            staged = s.path();
            QVERIFY(fs::is_directory(staged));
        }
        QVERIFY(!fs::exists(staged) && !fs::exists(root / "gone"));
        size_t entries = 0;
        for (const auto& e : fs::directory_iterator(root)) entries += e.path().filename().string().rfind("out", 0) == 0;
        QCOMPARE(entries, size_t{2});  // out and the folder that was there before
    }

    void a_run_folder_has_one_owner() {
        QTemporaryDir tmp;
        const fs::path root(tmp.path().toStdString());
        auto c = tiny_run(root, "shared");
        const QString yaml = q(write_run_file(c, root));
        {
            run_folder::Lock held(c.output, "training");  // another process's training, as far as the CLI can tell
            auto r = droplora_cli({"train", "--config", yaml, "--quiet"});
            QVERIFY(r.code != 0);
            QVERIFY2(r.err.contains("in use by another process") && r.err.contains(QString("pid %1").arg(::getpid())),
                     qPrintable(r.err));
            QCOMPARE(r.err.trimmed().count('\n'), 0);
            QVERIFY(!fs::exists(run_folder::metrics_path(c.output)));
        }
        // A lock file left by a process that died (no flock held) is taken over.
        std::ofstream(run_folder::join(c.output, run_folder::kLock)) << "pid 999999 on elsewhere, training\n";
        auto r = droplora_cli({"train", "--config", yaml, "--quiet"});
        QVERIFY2(r.code == 0, qPrintable(r.err));
        // While an export holds the run, a resume is refused, and the other way round.
        {
            run_folder::Lock exporting(c.output, "export");
            r = droplora_cli({"train", "--resume", q(c.output), "--quiet"});
            QVERIFY(r.code != 0);
            QVERIFY2(r.err.contains("export"), qPrintable(r.err));
        }
    }

    void a_failed_checkpoint_write_keeps_the_last_whole_one() {
        QTemporaryDir tmp;
        const fs::path root(tmp.path().toStdString());
        // The sizes of a checkpoint's files, from a run that succeeds.
        const std::string good = finished_run(root, "sizes");
        const auto ckpt = run_folder::list_checkpoints(good).back().dir;
        const auto trainable = fs::file_size(fs::path(ckpt) / run_folder::kTrainable);
        const auto optimizer = fs::file_size(fs::path(ckpt) / run_folder::kOptimizer);
        QVERIFY(optimizer > trainable + 2048);
        // A file-size limit between the two: the optimizer state (torch's serialiser) cannot be written.
        auto c = tiny_run(root, "full");
        const QString yaml = q(write_run_file(c, root));
        const auto limit_kb = (trainable + optimizer) / 2 / 1024;
        auto r = droplora_cli({"train", "--config", yaml, "--quiet"},
                              QString("trap '' XFSZ; ulimit -f %1;").arg(limit_kb));
        QVERIFY2(r.code == 1, qPrintable(QString("exit %1: %2").arg(r.code).arg(r.err)));
        QCOMPARE(r.err.trimmed().count('\n'), 0);
        QVERIFY2(r.err.contains("optimizer.pt") && r.err.contains("File too large"), qPrintable(r.err));
        // Nothing half-written stays behind, and what is there verifies.
        for (const auto& e : fs::directory_iterator(run_folder::checkpoints_dir(c.output)))
            QVERIFY2(e.path().filename().string().find(".tmp") == std::string::npos, e.path().c_str());
        for (const auto& ck : run_folder::list_checkpoints(c.output)) QCOMPARE(run_folder::checkpoint_problem(ck.dir), std::string());
    }

    void nan_keeps_no_poisoned_checkpoint_and_resume_can_lower_the_lr() {
        QTemporaryDir tmp;
        const fs::path root(tmp.path().toStdString());
        auto c = tiny_run(root, "nan");
        c.train.max_steps = 12;
        train::RunControl control;
        Recorder stopper(&control, 4);
        auto r = train::run_training(c, stopper, control);
        QVERIFY2(r.outcome == train::RunOutcome::Cancelled, r.message.c_str());
        QCOMPARE(run_folder::list_checkpoints(r.run_dir).back().step, int64_t{4});

        // An absurd learning rate on resume: the weights blow up and the loss turns non-finite.
        train::RunControl control2;
        Recorder rec;
        r = train::run_training(c, rec, control2, r.run_dir, {"train.lr=1e30", "train.max_grad_norm=0"});
        QVERIFY(r.outcome == train::RunOutcome::Failed);
        QVERIFY2(QString::fromStdString(r.message).contains("step-00000004") &&
                     QString::fromStdString(r.message).contains("train.lr"),
                 r.message.c_str());
        const auto kept = run_folder::list_checkpoints(c.output);
        QCOMPARE(kept.back().step, int64_t{4});  // no "after error" checkpoint of the poisoned weights
        QCOMPARE(run_folder::checkpoint_problem(kept.back().dir), std::string());
        // The change of learning rate is in the run's history.
        const auto h = train::read_metrics(run_folder::metrics_path(c.output));
        QVERIFY(!h.notes.empty());
        QVERIFY(QString::fromStdString(h.notes.back().second).contains("train.lr=1e30"));
        QCOMPARE(h.bad_lines, int64_t{0});

        // A sane learning rate resumes from the good checkpoint and finishes.
        train::RunControl control3;
        Recorder rec3;
        r = train::run_training(c, rec3, control3, c.output, {"train.lr=0.001"});
        QVERIFY2(r.outcome == train::RunOutcome::Finished, r.message.c_str());
        QCOMPARE(rec3.steps, 8);
        // Keys that change what the checkpoint means stay fixed.
        train::RunControl control4;
        Recorder rec4;
        r = train::run_training(c, rec4, control4, c.output, {"adapter.rank=8"});
        QVERIFY(r.outcome == train::RunOutcome::Failed);
        QVERIFY2(QString::fromStdString(r.message).contains("adapter.rank cannot change on --resume"), r.message.c_str());
    }

    void divergence_monitor_tells_stuck_and_growing_from_learning() {
        const int64_t vocab = 32000;
        const double uniform = std::log(static_cast<double>(vocab));
        train::DivergenceMonitor learning(vocab);
        for (int i = 0; i < 200; ++i) QCOMPARE(learning.observe(i + 1, 5.0 / (1 + 0.05 * i), 0.7), std::string());

        train::DivergenceMonitor stuck(vocab);
        std::string said;
        int at = 0;
        for (int i = 0; i < 60 && said.empty(); ++i) {
            said = stuck.observe(i + 1, uniform + 1e-4, 0.0);
            at = i + 1;
        }
        QVERIFY2(QString::fromStdString(said).contains("ln(vocab)"), said.c_str());
        QCOMPARE(at, 20);
        QCOMPARE(stuck.observe(61, uniform, 0.0), std::string());  // said once

        train::DivergenceMonitor growing(vocab);
        said.clear();
        for (int i = 0; i < 30; ++i) growing.observe(i + 1, 4.0 - 0.1 * i, 1.0);  // best 1.1
        for (int i = 0; i < 40 && said.empty(); ++i) said = growing.observe(31 + i, 20.0, 1.0);
        QVERIFY2(QString::fromStdString(said).contains("lowest value"), said.c_str());

        // A noisy but healthy run is not flagged: short spikes reset the count.
        train::DivergenceMonitor noisy(vocab);
        for (int i = 0; i < 300; ++i) QCOMPARE(noisy.observe(i + 1, (i % 15 == 0) ? 9.0 : 2.0, 1.0), std::string());
    }

    void resume_and_export_fall_back_past_a_damaged_checkpoint() {
        QTemporaryDir tmp;
        const fs::path root(tmp.path().toStdString());
        const std::string run = finished_run(root);
        auto all = run_folder::list_checkpoints(run);
        QCOMPARE(all.size(), size_t{2});
        const fs::path newest(all.back().dir);
        fs::resize_file(newest / run_folder::kTrainable, fs::file_size(newest / run_folder::kTrainable) / 2);
        QVERIFY(run_folder::checkpoint_problem(newest.string()).find("trainable.safetensors") != std::string::npos);

        auto r = droplora_cli({"export", "--run", q(run), "--format", "peft", "--out", q(root / "peft")});
        QVERIFY2(r.code == 0, qPrintable(r.err));
        QVERIFY2(r.out.contains("skipped a damaged checkpoint") && r.out.contains("step-00000008") &&
                     r.out.contains("exporting " + q(all.front().dir)),
                 qPrintable(r.out));

        // Leftovers of interrupted writes are cleaned at the next start.
        fs::create_directories(fs::path(run) / "checkpoints" / "step-00000009.tmp");
        fs::create_directories(fs::path(run) / "checkpoints" / "step-00000010");
        fs::create_directories(fs::path(run) / "checkpoints" / "step-00000011.tmp-4242-1");
        fs::create_directories(fs::path(run) / "adapter.tmp-4242");
        std::ofstream(fs::path(run) / "config.yaml.tmp-4242") << "half";
        // Names that only look like ours stay.
        fs::create_directories(fs::path(run) / "adapter.tmp-notes");
        std::ofstream(fs::path(run) / "notes.tmp") << "mine";
        auto c = tiny_run(root, "run");
        train::RunControl control;
        Recorder rec;
        auto result = train::run_training(c, rec, control, run);
        QVERIFY2(result.outcome == train::RunOutcome::Finished, result.message.c_str());
        QVERIFY2(QString::fromStdString(rec.log).contains("skipped a damaged checkpoint"), rec.log.c_str());
        QVERIFY2(QString::fromStdString(rec.log).contains(q("resumed from " + all.front().dir + " at step 4")), rec.log.c_str());
        QCOMPARE(rec.steps, 4);
        QVERIFY(!fs::exists(fs::path(run) / "checkpoints" / "step-00000009.tmp"));
        QVERIFY(!fs::exists(fs::path(run) / "checkpoints" / "step-00000010"));
        QVERIFY(!fs::exists(fs::path(run) / "checkpoints" / "step-00000011.tmp-4242-1"));
        QVERIFY(!fs::exists(fs::path(run) / "adapter.tmp-4242"));
        QVERIFY(!fs::exists(fs::path(run) / "config.yaml.tmp-4242"));
        QVERIFY(fs::exists(fs::path(run) / "adapter.tmp-notes"));
        QVERIFY(fs::exists(fs::path(run) / "notes.tmp"));
    }

    void resume_refuses_other_data_with_the_same_row_count() {
        QTemporaryDir tmp;
        const fs::path root(tmp.path().toStdString());
        auto c = tiny_run(root, "data");
        c.train.max_steps = 12;
        train::RunControl control;
        Recorder stopper(&control, 4);
        QVERIFY(train::run_training(c, stopper, control).outcome == train::RunOutcome::Cancelled);
        write_task(root, "task.jsonl", /*salt=*/1);  // same 24 rows, other numbers
        train::RunControl control2;
        Recorder rec;
        auto r = train::run_training(c, rec, control2, c.output);
        QVERIFY(r.outcome == train::RunOutcome::Failed);
        QVERIFY2(QString::fromStdString(r.message).contains("task.jsonl") &&
                     QString::fromStdString(r.message).contains("same data"),
                 r.message.c_str());
    }

    void a_failed_start_leaves_no_run_folder() {
        QTemporaryDir tmp;
        const fs::path root(tmp.path().toStdString());
        auto c = tiny_run(root, "typo");
        c.model = (root / "no-such-model").string();
        train::RunControl control;
        Recorder rec;
        auto r = train::run_training(c, rec, control);
        QVERIFY(r.outcome == train::RunOutcome::Failed);
        QVERIFY2(QString::fromStdString(r.message).contains("no-such-model"), r.message.c_str());
        QVERIFY(!fs::exists(c.output));

        // A data file that breaks after the run folder was made: the folder goes again.
        c = tiny_run(root, "baddata");
        std::ofstream(c.data.train, std::ios::app) << "{\"instruction\": 1}\n";
        r = train::run_training(c, rec, control);
        QVERIFY(r.outcome == train::RunOutcome::Failed);
        QVERIFY(!fs::exists(c.output));

        // A file named as the model is not a model folder.
        c = tiny_run(root, "file");
        c.model = c.data.train;
        r = train::run_training(c, rec, control);
        QVERIFY(r.outcome == train::RunOutcome::Failed);
        QVERIFY2(QString::fromStdString(r.message).contains("is a file"), r.message.c_str());
        QVERIFY(!fs::exists(c.output));

        // A folder the user made and filled is never removed.
        c = tiny_run(root, "kept");
        fs::create_directories(c.output);
        std::ofstream(run_folder::join(c.output, "README")) << "mine";
        c.model = (root / "no-such-model").string();
        r = train::run_training(c, rec, control);
        QVERIFY(r.outcome == train::RunOutcome::Failed);
        QVERIFY(fs::exists(run_folder::join(c.output, "README")));
    }
};

QTEST_GUILESS_MAIN(TestRunSafety)
#include "test_run_safety.moc"
