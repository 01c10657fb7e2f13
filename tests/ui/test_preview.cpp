// The embedded demo, offscreen: generate_preview against the `droplora generate` command line (an independent
// code path: its own process, model load and adapter load), the Preview panel showing both answers after a click,
// which adapter a run offers to the preview, the Summary tab scoring base and adapted model after a run against
// `droplora eval`, and Run → Compare training a LoRA and a DropLoRA run whose table
// matches the runs' own metrics.jsonl and `droplora eval`. Message boxes are recorded (Dialogs), never shown.
#include <QtTest/QtTest>

#include <QDir>
#include <QFile>
#include <QFileInfo>
#include <QJsonDocument>
#include <QJsonObject>
#include <QProcess>
#include <QPushButton>
#include <QSettings>
#include <QStandardPaths>
#include <QTableWidget>
#include <QTemporaryDir>

#include "common/error.h"
#include "comparedialog.h"
#include "comparesession.h"
#include "config/run_config.h"
#include "dialogs.h"
#include "gui_fixtures.h"
#include "lossplot.h"
#include "mainwindow.h"
#include "metatypes.h"
#include "modelpanel.h"
#include "previewpanel.h"
#include "runspanel.h"
#include "runsummary.h"
#include "train/metrics_log.h"
#include "train/preview.h"
#include "train/run_folder.h"
#include "trainingcontroller.h"

using droplora::config::RunConfig;
using namespace droplora::ui;
using namespace droplora::ui::testing;

namespace {

const QString kAdapter = QStringLiteral(DROPLORA_TEST_DATA "/adapters/gqa-lora");
const QString kPrompt = QStringLiteral("Count from one to five.");
constexpr int kNewTokens = 8;
constexpr int kRunTimeoutMs = 240000;

QString cliPath() {
    return QStringLiteral(DROPLORA_BIN_DIR "/droplora");
}

// Runs the droplora command line; returns its stdout (the test fails when it exits non-zero).
QString runCli(const QStringList& args) {
    QProcess p;
    p.start(cliPath(), args);
    if (!p.waitForFinished(120000) || p.exitStatus() != QProcess::NormalExit || p.exitCode() != 0) {
        qWarning("droplora %s failed: %s", qPrintable(args.join(' ')), p.readAllStandardError().constData());
        return QStringLiteral("<droplora failed>");
    }
    return QString::fromUtf8(p.readAllStandardOutput());
}

// `droplora generate` prints the decoded answer and one newline.
QString cliAnswer(const QStringList& extra) {
    QString out =
        runCli(QStringList{QStringLiteral("generate"), QStringLiteral("--model"), kModel, QStringLiteral("--prompt"),
                           kPrompt, QStringLiteral("--max-new-tokens"), QString::number(kNewTokens)} +
               extra);
    if (out.endsWith(QLatin1Char('\n'))) out.chop(1);
    return out;
}

void copyAdapter(const QString& to) {
    QDir().mkpath(to);
    for (const char* name : {"adapter_config.json", "adapter_model.safetensors"})
        QVERIFY(QFile::copy(kAdapter + QLatin1Char('/') + name, to + QLatin1Char('/') + name));
}

// `droplora eval --data` on the validation file, base model (adapter empty) or adapted.
QJsonObject cliEval(const QString& adapter, const QString& val) {
    QStringList args{QStringLiteral("eval"),
                     QStringLiteral("--model"),
                     kModel,
                     QStringLiteral("--data"),
                     val,
                     QStringLiteral("--template"),
                     QStringLiteral("plain"),
                     QStringLiteral("--max-seq-len"),
                     QStringLiteral("64"),
                     QStringLiteral("--max-new-tokens"),
                     QStringLiteral("64")};
    if (!adapter.isEmpty()) args << QStringLiteral("--adapter") << adapter;
    return QJsonDocument::fromJson(runCli(args).toUtf8()).object();
}

// A 4-step LoRA run of the fixture model under `dir`, with a 3-row validation file.
RunConfig smallRun(const QString& dir) {
    const QString train = dir + QStringLiteral("/train.jsonl");
    const QString val = dir + QStringLiteral("/val.jsonl");
    writeFile(train, alpacaRows(12, 1));
    writeFile(val, alpacaRows(3, 20));
    RunConfig c = tinyRunConfig(train, dir + QStringLiteral("/run"));
    c.data.val = val.toStdString();
    c.data.val_fraction = 0.1;  // the default; unused with a validation file
    c.adapter.method = "lora";
    c.adapter.drop_rate = 0.0;
    c.train.max_steps = 4;
    c.train.eval_every = 0;
    c.train.save_every = 0;
    c.train.seed = 7;
    return c;
}

}  // namespace

class TestPreview : public QObject {
    Q_OBJECT

private slots:
    void initTestCase();
    void init();
    void previewMatchesCommandLine();
    void previewRejectsBadInput();
    void adapterOfRunPrefersFinishedAdapter();
    void panelShowsBothAnswers();
    void livePreviewBeforeFirstCheckpoint();
    void compareTrainsBothMethods();
    void summaryScoresFinishedRun();
    void promptExamplesFromDataFiles();

private:
    QTemporaryDir m_tmp;
};

void TestPreview::initTestCase() {
    QStandardPaths::setTestModeEnabled(true);
    QCoreApplication::setOrganizationName(QStringLiteral("DropLoRA-test"));
    QCoreApplication::setApplicationName(QStringLiteral("PreviewTest"));
    QSettings().clear();
    registerMetaTypes();
    Dialogs::setRecording(true, true);
    QVERIFY(m_tmp.isValid());
    QVERIFY2(QFile::exists(cliPath()), "build the droplora target: the test compares with its output");
}

void TestPreview::init() {
    Dialogs::clearRecords();
}

void TestPreview::previewMatchesCommandLine() {
    const auto raw = droplora::train::generate_preview(kModel.toStdString(), kAdapter.toStdString(),
                                                       kPrompt.toStdString(), "", "none", kNewTokens);
    // Exact text: both are greedy decodings of the same ids by the same fp32 CPU model.
    QCOMPARE(QString::fromStdString(raw.base), cliAnswer({}));
    QCOMPARE(QString::fromStdString(raw.adapted), cliAnswer({QStringLiteral("--adapter"), kAdapter}));
    QVERIFY(raw.base != raw.adapted);
    QVERIFY(!raw.base.empty());

    // Through a template: the shared prompt builder, and the cached model after an adapter came and went.
    const auto templated = droplora::train::generate_preview(kModel.toStdString(), kAdapter.toStdString(),
                                                             kPrompt.toStdString(), "", "plain", kNewTokens);
    QCOMPARE(QString::fromStdString(templated.base),
             cliAnswer({QStringLiteral("--template"), QStringLiteral("plain")}));
    QCOMPARE(QString::fromStdString(templated.adapted),
             cliAnswer({QStringLiteral("--template"), QStringLiteral("plain"), QStringLiteral("--adapter"), kAdapter}));

    // Without an adapter only the base answers, and it is the same as before (the cache holds no adapter).
    const auto base =
        droplora::train::generate_preview(kModel.toStdString(), "", kPrompt.toStdString(), "", "none", kNewTokens);
    QCOMPARE(base.base, raw.base);
    QVERIFY(base.adapted.empty());

    // An alpaca row's input: the "### Input:" block, as `droplora generate --input`.
    const std::string input = "one two three";
    const auto withInput = droplora::train::generate_preview(kModel.toStdString(), kAdapter.toStdString(),
                                                             kPrompt.toStdString(), input, "alpaca", kNewTokens);
    const QStringList inputArgs{QStringLiteral("--template"), QStringLiteral("alpaca"), QStringLiteral("--input"),
                                QString::fromStdString(input)};
    QCOMPARE(QString::fromStdString(withInput.base), cliAnswer(inputArgs));
    QCOMPARE(QString::fromStdString(withInput.adapted),
             cliAnswer(inputArgs + QStringList{QStringLiteral("--adapter"), kAdapter}));
}

void TestPreview::previewRejectsBadInput() {
    const std::string model = kModel.toStdString();
    QVERIFY_THROWS_EXCEPTION(droplora::Error, droplora::train::generate_preview(model, "", "hi", "", "alpacca", 4));
    QVERIFY_THROWS_EXCEPTION(droplora::Error, droplora::train::generate_preview(model, "", "hi", "", "none", 0));
    // An input needs a template to place it.
    QVERIFY_THROWS_EXCEPTION(droplora::Error, droplora::train::generate_preview(model, "", "hi", "x", "none", 4));
    QVERIFY_THROWS_EXCEPTION(droplora::Error, droplora::train::generate_preview(
                                                  model, m_tmp.filePath("missing").toStdString(), "hi", "", "none", 4));
    // A failed adapter load leaves the cached base model clean.
    const auto again = droplora::train::generate_preview(model, "", kPrompt.toStdString(), "", "none", kNewTokens);
    QCOMPARE(QString::fromStdString(again.base), cliAnswer({}));
}

void TestPreview::adapterOfRunPrefersFinishedAdapter() {
    const QString run = m_tmp.filePath(QStringLiteral("run-layout"));
    copyAdapter(run + QStringLiteral("/checkpoints/step-00000002/adapter"));
    copyAdapter(run + QStringLiteral("/checkpoints/step-00000010/adapter"));
    QDir().mkpath(run + QStringLiteral("/checkpoints/step-00000020/adapter"));  // not written yet: no config
    QCOMPARE(PreviewPanel::latestAdapterDir(run, false), run + QStringLiteral("/checkpoints/step-00000010/adapter"));
    copyAdapter(run + QStringLiteral("/adapter"));
    QCOMPARE(PreviewPanel::latestAdapterDir(run, false), run + QStringLiteral("/adapter"));
    // While the run trains, adapter/ may be a previous run's.
    QCOMPARE(PreviewPanel::latestAdapterDir(run, true), run + QStringLiteral("/checkpoints/step-00000010/adapter"));
    QVERIFY(PreviewPanel::latestAdapterDir(m_tmp.filePath(QStringLiteral("nothing")), false).isEmpty());
}

void TestPreview::panelShowsBothAnswers() {
    const QString run = m_tmp.filePath(QStringLiteral("run-panel"));
    copyAdapter(run + QStringLiteral("/adapter"));
    PreviewPanel panel;
    panel.setSourceProvider([run] { return PreviewPanel::Source{kModel, run, false}; });
    panel.setPrompt(kPrompt);
    panel.setTemplate(QStringLiteral("none"));
    panel.setMaxNewTokens(kNewTokens);
    panel.show();
    QVERIFY(QTest::qWaitForWindowExposed(&panel));
    QSignalSpy finished(&panel, &PreviewPanel::finished);
    QTest::mouseClick(panel.generateButton(), Qt::LeftButton);
    QVERIFY(!panel.generateButton()->isEnabled());  // one generation at a time
    QVERIFY(finished.wait(60000));
    QCOMPARE(finished.first().at(0).toBool(), true);
    QVERIFY2(Dialogs::lastError().isEmpty(), qPrintable(Dialogs::lastError()));
    QCOMPARE(panel.adapterDir(), run + QStringLiteral("/adapter"));
    QCOMPARE(panel.baseText(), cliAnswer({}));
    QCOMPARE(panel.adaptedText(), cliAnswer({QStringLiteral("--adapter"), kAdapter}));
    QVERIFY(panel.generateButton()->isEnabled());

    // No model: the user is told, nothing runs.
    panel.setSourceProvider([] { return PreviewPanel::Source{}; });
    QVERIFY(!panel.generate());
    QVERIFY(Dialogs::lastError().contains(QStringLiteral("model")));
}

void TestPreview::livePreviewBeforeFirstCheckpoint() {
    // A run that saves nothing before its end: the preview answers from the weights being trained.
    RunConfig c = smallRun(m_tmp.filePath(QStringLiteral("live")));
    c.train.max_steps = 400;
    c.train.save_every = 0;
    c.train.lr = 0.05;  // the adapter moves away from zero within a few steps
    const QString runDir = QString::fromStdString(c.output);

    MainWindow w;
    w.modelPanel()->setModelDir(kModel);
    w.setConfig(c);
    w.show();
    QVERIFY(QTest::qWaitForWindowExposed(&w));
    TrainingController* controller = w.controller();
    bool paused = false;
    connect(controller, &TrainingController::stepReported, this, [&](const droplora::train::StepMetrics& m) {
        if (m.step >= 3 && !paused) {
            paused = true;
            controller->pause();
        }
    });
    QVERIFY(w.startTraining());
    QTRY_VERIFY_WITH_TIMEOUT(paused, kRunTimeoutMs);
    QVERIFY(droplora::run_folder::list_checkpoints(runDir.toStdString()).empty());

    PreviewPanel* preview = w.previewPanel();
    preview->setPrompt(kPrompt);
    preview->setTemplate(QStringLiteral("none"));
    preview->setMaxNewTokens(kNewTokens);
    QSignalSpy previewed(preview, &PreviewPanel::finished);
    QTest::mouseClick(preview->generateButton(), Qt::LeftButton);
    QVERIFY(previewed.wait(60000));
    QVERIFY2(previewed.first().at(0).toBool(), qPrintable(Dialogs::lastError()));
    const QString live = preview->adapterDir();
    QVERIFY2(!live.isEmpty() && !live.startsWith(runDir), qPrintable(live));
    QVERIFY(droplora::run_folder::is_adapter_folder(live.toStdString()));
    // The same weights through `droplora generate` (its own process and adapter load).
    QCOMPARE(preview->adaptedText(), cliAnswer({QStringLiteral("--adapter"), live}));
    QCOMPARE(preview->baseText(), cliAnswer({}));
    const qint64 step = controller->lastStep();

    // Later steps, a later snapshot: the previous one is replaced.
    connect(controller, &TrainingController::stepReported, this, [&](const droplora::train::StepMetrics& m) {
        if (m.step >= step + 3 && controller->state() == TrainingController::State::Running) controller->pause();
    });
    controller->resume();
    QTRY_VERIFY_WITH_TIMEOUT(controller->state() == TrainingController::State::Paused, kRunTimeoutMs);
    QTest::mouseClick(preview->generateButton(), Qt::LeftButton);
    QVERIFY(previewed.wait(60000));
    QVERIFY(preview->adapterDir() != live);
    QVERIFY(!QFileInfo::exists(live));
    QCOMPARE(preview->adaptedText(), cliAnswer({QStringLiteral("--adapter"), preview->adapterDir()}));

    QSignalSpy finished(controller, &TrainingController::finished);
    controller->stop();
    QVERIFY(finished.wait(kRunTimeoutMs));
}

void TestPreview::compareTrainsBothMethods() {
    // The form is LoRA: DropLoRA then gets drop rate 0.5 with the step mask.
    const RunConfig c = smallRun(m_tmp.filePath(QStringLiteral("cmp")));
    const QString val = QString::fromStdString(c.data.val);

    MainWindow w;
    w.modelPanel()->setModelDir(kModel);
    w.setConfig(c);
    w.show();
    QVERIFY(QTest::qWaitForWindowExposed(&w));
    QSignalSpy finished(w.compareSession(), &CompareSession::finished);
    QSignalSpy starting(w.compareSession(), &CompareSession::runStarting);
    QVERIFY(w.compareMethods());
    QVERIFY(!w.compareMethods());  // one comparison at a time
    QVERIFY(finished.wait(kRunTimeoutMs));
    QVERIFY2(finished.first().at(0).toBool(), qPrintable(finished.first().at(1).toString()));
    QVERIFY2(Dialogs::lastError().isEmpty(), qPrintable(Dialogs::lastError()));
    QCOMPARE(starting.size(), 2);

    const QString loraDir = m_tmp.filePath(QStringLiteral("cmp/run-lora"));
    const QString dropDir = m_tmp.filePath(QStringLiteral("cmp/run-droplora"));
    const QStringList dirs{loraDir, dropDir};
    // The two runs differ in the method only.
    const RunConfig lora = droplora::config::load_run_config((loraDir + "/config.yaml").toStdString());
    const RunConfig drop = droplora::config::load_run_config((dropDir + "/config.yaml").toStdString());
    QCOMPARE(QString::fromStdString(lora.adapter.method), QStringLiteral("lora"));
    QCOMPARE(lora.adapter.drop_rate, 0.0);
    QCOMPARE(QString::fromStdString(drop.adapter.method), QStringLiteral("droplora"));
    QCOMPARE(drop.adapter.drop_rate, 0.5);
    QCOMPARE(QString::fromStdString(drop.adapter.mask), QStringLiteral("step"));
    for (const RunConfig* r : {&lora, &drop}) {
        QCOMPARE(r->train.seed, int64_t{7});
        QCOMPARE(r->train.max_steps, int64_t{4});
        QCOMPARE(r->data.train, c.data.train);
        QCOMPARE(r->data.val, c.data.val);
    }

    // Both curves overlaid; the table from each run's own metrics.jsonl.
    QCOMPARE(w.lossPlot()->overlayCount(), 2);
    QVERIFY(w.compareDialog() && w.compareDialog()->isVisible());
    QTableWidget* table = w.compareDialog()->table();
    QCOMPARE(table->rowCount(), 3);  // LoRA, DropLoRA, the base model alone
    for (int r = 0; r < 3; ++r) {
        const bool base = r == 2;
        if (!base) {
            const auto history = droplora::train::read_metrics((dirs[r] + "/metrics.jsonl").toStdString());
            QCOMPARE(history.steps.size(), size_t{4});
            QVERIFY(!history.evals.empty());
            QCOMPARE(table->item(r, CompareDialog::kFolder)->text(), dirs[r]);
            QCOMPARE(table->item(r, CompareDialog::kValLoss)->text(), QString::number(history.evals.back().loss, 'f', 4));
            QCOMPARE(table->item(r, CompareDialog::kPerplexity)->text(),
                     QString::number(history.evals.back().perplexity, 'f', 2));
        }
        // Exact match and its count against `droplora eval` on the same validation file and adapter (none: the base).
        const QJsonObject eval = cliEval(base ? QString() : dirs[r] + QStringLiteral("/adapter"), val);
        QVERIFY(eval.contains(QStringLiteral("exact_match")));
        QCOMPARE(table->item(r, CompareDialog::kExactMatch)->text(),
                 QStringLiteral("%1 %").arg(100 * eval.value(QStringLiteral("exact_match")).toDouble(), 0, 'f', 1));
        QCOMPARE(table->item(r, CompareDialog::kAnswered)->text(),
                 QStringLiteral("%1 of %2")
                     .arg(eval.value(QStringLiteral("matched")).toInteger())
                     .arg(eval.value(QStringLiteral("examples")).toInteger()));
        QCOMPARE(table->item(r, CompareDialog::kStatus)->text(), QStringLiteral("scored"));
    }
    QCOMPARE(table->item(0, 0)->text(), QStringLiteral("LoRA"));
    QCOMPARE(table->item(1, 0)->text(), QStringLiteral("DropLoRA"));
    QVERIFY(table->item(2, 0)->text().startsWith(QStringLiteral("Base model")));
    QCOMPARE(table->item(2, CompareDialog::kFolder)->text(), kModel);
    // The better run is highlighted, never the base model; 3 rows cannot separate anything.
    const int best = w.compareDialog()->highlightedRow();
    QVERIFY(best == 0 || best == 1);
    QVERIFY(table->item(best, 0)->font().bold());
    QVERIFY(!table->item(1 - best, 0)->font().bold());
    QVERIFY2(w.compareDialog()->noteText().contains(QStringLiteral("on 3 rows")), qPrintable(w.compareDialog()->noteText()));
    QVERIFY(w.compareDialog()->noteText().contains(QStringLiteral("noise")));

    // The CSV holds the table: header, then every cell, read back with quoting undone.
    const QString csvPath = m_tmp.filePath(QStringLiteral("cmp/compare.csv"));
    QString csvError;
    QVERIFY2(w.compareDialog()->saveCsv(csvPath, &csvError), qPrintable(csvError));
    QFile csvFile(csvPath);
    QVERIFY(csvFile.open(QIODevice::ReadOnly));
    const QStringList lines = QString::fromUtf8(csvFile.readAll()).split(QLatin1Char('\n'), Qt::SkipEmptyParts);
    QCOMPARE(lines.size(), table->rowCount() + 1);
    const auto fields = [](const QString& line) {  // RFC 4180: "a, ""b""" → a, "b"
        QStringList out;
        QString field;
        bool quoted = false;
        for (int i = 0; i < line.size(); ++i) {
            const QChar ch = line[i];
            if (quoted && ch == QLatin1Char('"') && i + 1 < line.size() && line[i + 1] == QLatin1Char('"')) {
                field += ch;
                ++i;
            } else if (ch == QLatin1Char('"')) {
                quoted = !quoted;
            } else if (ch == QLatin1Char(',') && !quoted) {
                out << field;
                field.clear();
            } else {
                field += ch;
            }
        }
        return out << field;
    };
    QCOMPARE(fields(lines[0]).size(), table->columnCount());
    for (int c = 0; c < table->columnCount(); ++c)
        QCOMPARE(fields(lines[0])[c], table->horizontalHeaderItem(c)->text());
    for (int r = 0; r < table->rowCount(); ++r)
        for (int c = 0; c < table->columnCount(); ++c) QCOMPARE(fields(lines[r + 1])[c], table->item(r, c)->text());

    // The scores stay in each run folder: the runs table shows them.
    RunsPanel* runs = w.runsPanel();
    runs->refresh();
    for (int r = 0; r < 2; ++r) {
        const auto kept = droplora::run_folder::read_scores(dirs[r].toStdString());
        QVERIFY(kept.has_value());
        QVERIFY(kept->has_base);
        const int row = static_cast<int>(runs->runDirs().indexOf(dirs[r]));
        QVERIFY(row >= 0);
        QCOMPARE(runs->table()->item(row, RunsPanel::kExactMatch)->text(), table->item(r, CompareDialog::kExactMatch)->text());
    }

    // Runs → Compare on the same two finished folders: the same table, without training them again.
    QStringList before;
    for (int r = 0; r < 3; ++r)
        for (int c = CompareDialog::kValLoss; c <= CompareDialog::kAnswered; ++c) before << table->item(r, c)->text();
    finished.clear();
    QVERIFY(w.compareRuns(dirs));
    QVERIFY(finished.wait(kRunTimeoutMs));
    QVERIFY(finished.first().at(0).toBool());
    QCOMPARE(table->rowCount(), 3);
    QCOMPARE(table->item(0, 0)->text(), QStringLiteral("run-lora"));
    QStringList after;
    for (int r = 0; r < 3; ++r)
        for (int c = CompareDialog::kValLoss; c <= CompareDialog::kAnswered; ++c) after << table->item(r, c)->text();
    QCOMPARE(after, before);
    QCOMPARE(w.lossPlot()->overlayCount(), 2);
    // A folder that is not a finished run is refused, with the reason.
    QVERIFY(!w.compareRuns({dirs[0], m_tmp.filePath(QStringLiteral("nothing"))}));
    QVERIFY(!Dialogs::lastError().isEmpty());
    Dialogs::clearRecords();

    // The preview in the window now offers the DropLoRA run's final adapter.
    QSignalSpy previewed(w.previewPanel(), &PreviewPanel::finished);
    w.previewPanel()->setPrompt(kPrompt);
    w.previewPanel()->setTemplate(QStringLiteral("none"));
    w.previewPanel()->setMaxNewTokens(kNewTokens);
    QTest::mouseClick(w.previewPanel()->generateButton(), Qt::LeftButton);
    QVERIFY(previewed.wait(60000));
    QCOMPARE(w.previewPanel()->adapterDir(), dropDir + QStringLiteral("/adapter"));
    QCOMPARE(w.previewPanel()->baseText(), cliAnswer({}));
    QCOMPARE(w.previewPanel()->adaptedText(),
             cliAnswer({QStringLiteral("--adapter"), dropDir + QStringLiteral("/adapter")}));
}

void TestPreview::summaryScoresFinishedRun() {
    const QString dir = m_tmp.filePath(QStringLiteral("summary"));
    RunConfig c = smallRun(dir);
    c.adapter.method = "droplora";
    c.adapter.drop_rate = 0.5;
    MainWindow w;
    w.modelPanel()->setModelDir(kModel);
    w.setConfig(c);
    w.show();
    QVERIFY(QTest::qWaitForWindowExposed(&w));
    RunSummary* summary = w.runSummary();
    QVERIFY(!summary->measure());  // no run yet: nothing to measure, nothing starts
    QSignalSpy measured(summary, &RunSummary::measured);
    QVERIFY(w.startTraining());
    // The run finishes, then base and adapted model are scored without a click.
    QVERIFY(measured.wait(kRunTimeoutMs));
    QVERIFY2(measured.first().at(0).toBool(), qPrintable(w.logText()));
    const QString runDir = QDir::cleanPath(QString::fromStdString(c.output));
    QCOMPARE(QDir::cleanPath(summary->runDir()), runDir);

    // The metrics line is the run's own metrics.jsonl.
    const auto history = droplora::train::read_metrics((runDir + "/metrics.jsonl").toStdString());
    QVERIFY(!history.evals.empty());
    QVERIFY2(summary->metricsText().contains(QString::number(history.evals.back().loss, 'f', 4)),
             qPrintable(summary->metricsText()));
    QVERIFY2(summary->metricsText().contains(QStringLiteral("4 of 4 steps")), qPrintable(summary->metricsText()));

    // Both rows equal `droplora eval` (its own process) on the validation file.
    QTableWidget* table = summary->table();
    QCOMPARE(table->rowCount(), 2);
    const QStringList adapters{QString(), runDir + QStringLiteral("/adapter")};
    for (int r = 0; r < 2; ++r) {
        const QJsonObject eval = cliEval(adapters[r], QString::fromStdString(c.data.val));
        QVERIFY(eval.contains(QStringLiteral("exact_match")));
        QCOMPARE(table->item(r, 1)->text(), QString::number(eval.value(QStringLiteral("loss")).toDouble(), 'f', 4));
        QCOMPARE(table->item(r, 3)->text(),
                 QStringLiteral("%1 % (%2 of %3)")
                     .arg(100 * eval.value(QStringLiteral("exact_match")).toDouble(), 0, 'f', 1)
                     .arg(eval.value(QStringLiteral("matched")).toInt())
                     .arg(eval.value(QStringLiteral("examples")).toInt()));
    }
    // The adapter changed the model: the two losses differ.
    QVERIFY(table->item(0, 1)->text() != table->item(1, 1)->text());
    QVERIFY(w.logText().contains(QStringLiteral("held-out")));

    // Opening the run folder again shows its metrics; measuring on demand gives the same table.
    const QString adaptedLoss = table->item(1, 1)->text();
    QVERIFY(w.openRunFolder(runDir));
    QCOMPARE(summary->table()->isVisible(), false);
    QVERIFY(summary->measure());
    QVERIFY(!summary->measure());  // one measurement at a time
    QVERIFY(measured.wait(60000));
    QCOMPARE(summary->table()->rowCount(), 2);
    QCOMPARE(summary->table()->item(1, 1)->text(), adaptedLoss);

    // A held-out example in the Preview: the validation file's first row, answered as `droplora generate` does,
    // and each answer marked against the file's answer.
    PreviewPanel* preview = w.previewPanel();
    QSignalSpy previewed(preview, &PreviewPanel::finished);
    preview->setMaxNewTokens(kNewTokens);
    QTest::mouseClick(preview->exampleButton(), Qt::LeftButton);
    QVERIFY(previewed.wait(60000));
    const auto first = droplora::train::prompt_example(c.data.val, "auto", 0);
    QCOMPARE(preview->referenceText(), QString::fromStdString(first.reference));
    const QString cliBase =
        runCli({QStringLiteral("generate"), QStringLiteral("--model"), kModel, QStringLiteral("--prompt"),
                QString::fromStdString(first.prompt), QStringLiteral("--template"), QStringLiteral("plain"),
                QStringLiteral("--max-new-tokens"), QString::number(kNewTokens)});
    QCOMPARE(preview->baseText() + QLatin1Char('\n'), cliBase);
    QVERIFY2(preview->verdictText().contains(QStringLiteral("1 of 3")), qPrintable(preview->verdictText()));
    QVERIFY2(preview->verdictText().contains(QStringLiteral("base: different")), qPrintable(preview->verdictText()));
    QVERIFY(preview->verdictText().contains(QStringLiteral("with the adapter:")));
    // Editing the prompt forgets the reference.
    preview->setPrompt(QStringLiteral("something else"));
    QVERIFY(preview->referenceText().isEmpty());

    // A run without a validation file has nothing to score.
    RunConfig noVal = c;
    noVal.data.val.clear();
    summary->showRun(runDir, noVal, droplora::train::MetricsHistory{});
    QVERIFY(!summary->measure());
}

void TestPreview::promptExamplesFromDataFiles() {
    const QString alpaca = m_tmp.filePath(QStringLiteral("examples/alpaca.jsonl"));
    writeFile(
        alpaca,
        "{\"instruction\": \"Extract the year.\", \"input\": \"In 1270 Will found a table.\", \"output\": \"1270\"}\n"
        "{\"instruction\": \"Say hi.\", \"output\": \"hi\"}\n");
    auto ex = droplora::train::prompt_example(alpaca.toStdString(), "auto", 0);
    QCOMPARE(QString::fromStdString(ex.prompt), QStringLiteral("Extract the year."));
    QCOMPARE(QString::fromStdString(ex.input), QStringLiteral("In 1270 Will found a table."));
    QCOMPARE(QString::fromStdString(ex.reference), QStringLiteral("1270"));
    QCOMPARE(ex.count, int64_t{2});
    QVERIFY(QString::fromStdString(ex.source).endsWith(QStringLiteral("alpaca.jsonl:1")));
    // Indices wrap both ways.
    QCOMPARE(droplora::train::prompt_example(alpaca.toStdString(), "auto", 3).reference, std::string("hi"));
    QCOMPARE(droplora::train::prompt_example(alpaca.toStdString(), "auto", -1).index, int64_t{1});

    // A chat row: its last user turn and the assistant's answer.
    const QString chat = m_tmp.filePath(QStringLiteral("examples/chat.jsonl"));
    writeFile(chat,
              "{\"messages\": [{\"role\": \"system\", \"content\": \"Be brief.\"}, {\"role\": \"user\", "
              "\"content\": \"What is the last word? a b c\"}, {\"role\": \"assistant\", \"content\": \"c\"}]}\n");
    ex = droplora::train::prompt_example(chat.toStdString(), "auto", 0);
    QCOMPARE(QString::fromStdString(ex.prompt), QStringLiteral("What is the last word? a b c"));
    QVERIFY(ex.input.empty());
    QCOMPARE(QString::fromStdString(ex.reference), QStringLiteral("c"));

    // Plain text has no answers to compare: an error naming the file.
    const QString text = m_tmp.filePath(QStringLiteral("examples/notes.txt"));
    writeFile(text, "just some text\n");
    try {
        droplora::train::prompt_example(text.toStdString(), "auto", 0);
        QFAIL("a text file has no examples");
    } catch (const droplora::Error& e) {
        QVERIFY2(QString::fromUtf8(e.what()).contains(QStringLiteral("notes.txt")), e.what());
    }
}

QTEST_MAIN(TestPreview)
#include "test_preview.moc"
