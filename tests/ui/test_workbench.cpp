// The workbench end to end, offscreen: a tiny CPU run on the fixture model driven through the form, what the
// plots show against the run's own metrics.jsonl, stop and close during a run (a loadable checkpoint is left),
// the signal throttle, a malformed data row reaching the user as a message, the form ↔ YAML round trip, and
// the adapter export. Message boxes are recorded (Dialogs), never shown.
#include <QtTest/QtTest>

#include <qcustomplot.h>
#include <QAction>
#include <QDir>
#include <QDirIterator>
#include <QFile>
#include <QProcess>
#include <QSettings>
#include <QStandardPaths>
#include <QTemporaryDir>
#include <QTextDocument>
#include <cmath>
#include <cstdio>

#include <nlohmann/json.hpp>

#include "channelheatmap.h"
#include "config/run_config.h"
#include "datasetpanel.h"
#include "dialogs.h"
#include "exportjob.h"
#include "gui_fixtures.h"
#include "lossplot.h"
#include "mainwindow.h"
#include "metatypes.h"
#include "io/safetensors.h"
#include "modelpanel.h"
#include "runstatus.h"
#include "subspaceplot.h"
#include "train/metrics_log.h"
#include "train/run_folder.h"
#include "trainingcontroller.h"
#include "trainingpanel.h"

using droplora::config::RunConfig;
using droplora::train::RunOutcome;
using droplora::train::StepMetrics;
using namespace droplora::ui;
using namespace droplora::ui::testing;

namespace {

constexpr int kRunTimeoutMs = 120000;

// Every adapter folder of the run's checkpoints that a PEFT loader would open.
QStringList checkpointAdapters(const QString& runDir) {
    QStringList found;
    QDirIterator it(runDir + QStringLiteral("/checkpoints"), {QStringLiteral("step-*")}, QDir::Dirs);
    while (it.hasNext()) {
        const QString adapter = it.next() + QStringLiteral("/adapter/adapter_config.json");
        if (QFile::exists(adapter)) found.append(adapter);
    }
    return found;
}

// The form's panels, filled one by one the way a user would.
void fillForm(MainWindow& w, const RunConfig& c) {
    w.modelPanel()->setModelDir(QString::fromStdString(c.model));
    w.setConfig(c);
}

}  // namespace

class TestWorkbench : public QObject {
    Q_OBJECT

private slots:
    void initTestCase();
    void init();
    void trainsAndPlotsEveryStep();
    void signalsAreThrottled();
    void pauseHoldsTheRun();
    void stopMidRunLeavesCheckpoint();
    void closeDuringRunStopsCleanly();
    void malformedRowIsReported();
    void previewUsesTheModelsChatTemplate();
    void formRoundTripsThroughYaml();
    void exportsAdapter();
    void trainsInSeveralProcesses();
    void aFailedRankEndsTheRun();

private:
    QTemporaryDir m_tmp;
    QString m_data;
    QString m_finishedRun;  // a finished run folder for the export test
};

// A model folder with its own chat template (Llama 2's, from tests/data/chat_templates) and a chat file:
// the Data panel renders the rows as training will (data::resolve_template) and says which template.
void TestWorkbench::previewUsesTheModelsChatTemplate() {
    const QString model = m_tmp.filePath(QStringLiteral("chat-model"));
    QDir().mkpath(model);
    for (const char* f : {"config.json", "model.safetensors", "tokenizer.model"})
        QVERIFY(QFile::copy(kModel + "/" + f, model + "/" + f));
    QFile jinja(QStringLiteral(DROPLORA_TEST_DATA "/chat_templates/llama2.jinja"));
    QVERIFY(jinja.open(QIODevice::ReadOnly));
    const std::string templ = jinja.readAll().toStdString();
    writeFile(model + QStringLiteral("/tokenizer_config.json"),
              QByteArray::fromStdString(
                  nlohmann::json{{"bos_token", "<s>"}, {"eos_token", "</s>"}, {"chat_template", templ}}.dump()));
    const QString chat = m_tmp.filePath(QStringLiteral("chat.jsonl"));
    writeFile(chat, R"({"messages": [{"role": "user", "content": "Name a colour."}, {"role": "assistant", "content": "Blue."}]})"
                    "\n");
    MainWindow w;
    RunConfig c = tinyRunConfig(chat, m_tmp.filePath(QStringLiteral("run-chat")));
    c.model = model.toStdString();
    c.data.templ = "model";
    QSignalSpy scanned(w.datasetPanel(), &DatasetPanel::scanned);
    fillForm(w, c);
    QVERIFY(scanned.wait(20000));
    QCOMPARE(w.datasetPanel()->detectedFormat(), QStringLiteral("chat"));
    QVERIFY2(w.datasetPanel()->templateInForce().startsWith(QStringLiteral("the model's chat template")),
             qPrintable(w.datasetPanel()->templateInForce()));
    QTextDocument shown;  // the tokens are spans of their own: compare the text a person reads
    shown.setHtml(w.datasetPanel()->previewHtml());
    QVERIFY2(shown.toPlainText().contains(QStringLiteral("[INST] Name a colour. [/INST]")), qPrintable(shown.toPlainText()));
}

void TestWorkbench::initTestCase() {
    QStandardPaths::setTestModeEnabled(true);
    QCoreApplication::setOrganizationName(QStringLiteral("DropLoRA-test"));
    QCoreApplication::setApplicationName(QStringLiteral("WorkbenchTest"));
    QSettings().clear();
    registerMetaTypes();
    Dialogs::setRecording(true, true);
    QVERIFY(m_tmp.isValid());
    m_data = m_tmp.filePath(QStringLiteral("alpaca.jsonl"));
    writeFile(m_data, alpacaRows(12));
}

void TestWorkbench::init() {
    Dialogs::clearRecords();
}

void TestWorkbench::trainsAndPlotsEveryStep() {
    MainWindow w;
    w.resize(1400, 900);
    w.show();
    QVERIFY(QTest::qWaitForWindowExposed(&w));
    const QString runDir = m_tmp.filePath(QStringLiteral("run-full"));
    fillForm(w, tinyRunConfig(m_data, runDir));
    QVERIFY2(w.modelPanel()->isModelValid(), qPrintable(w.modelPanel()->errorText()));
    QSignalSpy scanned(w.datasetPanel(), &DatasetPanel::scanned);
    QVERIFY(scanned.wait(20000));
    QCOMPARE(w.datasetPanel()->detectedFormat(), QStringLiteral("alpaca"));
    QCOMPARE(w.datasetPanel()->rowCount(), qint64{12});
    QVERIFY(w.datasetPanel()->previewHtml().contains(QStringLiteral("in the loss")));

    QSignalSpy finished(w.controller(), &TrainingController::finished);
    QVERIFY(w.startTraining());
    QVERIFY(finished.wait(kRunTimeoutMs));
    QCOMPARE(finished.first().at(0).value<RunOutcome>(), RunOutcome::Finished);
    QVERIFY2(Dialogs::lastError().isEmpty(), qPrintable(Dialogs::lastError()));

    // The plots against the run's own record.
    const auto history = droplora::train::read_metrics((runDir + QStringLiteral("/metrics.jsonl")).toStdString());
    QCOMPARE(history.steps.size(), size_t{6});
    QCOMPARE(w.lossPlot()->pointCount(), static_cast<int>(history.steps.size()));
    QCOMPARE(w.lossPlot()->evalCount(), static_cast<int>(history.evals.size()));
    QVERIFY(history.evals.size() >= 2);  // steps 3 and 6
    // Smoothed curve = debiased EMA of the logged losses, recomputed here (tolerance: rounding only).
    const double beta = w.lossPlot()->smoothing();
    const QVector<double> smoothed = w.lossPlot()->smoothedLosses();
    QCOMPARE(smoothed.size(), 6);
    double ema = 0;
    for (int i = 0; i < 6; ++i) {
        ema = beta * ema + (1 - beta) * history.steps[static_cast<size_t>(i)].loss;
        const double expected = ema / (1 - std::pow(beta, i + 1));
        QVERIFY2(std::abs(smoothed[i] - expected) <= 1e-12 * std::abs(expected), qPrintable(QString::number(i)));
    }

    // Heatmap: modules × rank cells of the last sample (2 layers × 5 default targets, rank 4).
    QVERIFY(!history.stats.empty());
    const auto& last = history.stats.back();
    QCOMPARE(last.modules.size(), size_t{10});
    QCOMPARE(w.heatmap()->rowCount(), static_cast<int>(last.modules.size()));
    QCOMPARE(w.heatmap()->columnCount(), 4);
    QCOMPARE(w.heatmap()->sampleStep(), static_cast<qint64>(last.step));
    for (int r = 0; r < w.heatmap()->rowCount(); ++r) {
        QCOMPARE(w.heatmap()->moduleNames().at(r), QString::fromStdString(last.modules[static_cast<size_t>(r)].module));
        for (int c = 0; c < 4; ++c)
            QCOMPARE(w.heatmap()->cellValue(r, c),
                     last.modules[static_cast<size_t>(r)].keep_fraction[static_cast<size_t>(c)]);
    }
    QCOMPARE(w.subspacePlot()->sampleCount(), static_cast<int>(history.stats.size()));
    QCOMPARE(w.runStatus()->progressValue(), 6);

    // Clicking a heatmap row selects that module in the subspace plot.
    QCustomPlot* plot = w.heatmap()->plot();
    plot->replot();
    QSignalSpy selected(w.heatmap(), &ChannelHeatmap::moduleSelected);
    const QPoint cell(static_cast<int>(plot->xAxis->coordToPixel(1)), static_cast<int>(plot->yAxis->coordToPixel(3)));
    QTest::mouseClick(plot, Qt::LeftButton, Qt::NoModifier, cell);
    QCOMPARE(selected.count(), 1);
    QCOMPARE(selected.first().at(0).toString(), w.heatmap()->moduleNames().at(3));
    QCOMPARE(w.subspacePlot()->selectedModule(), w.heatmap()->moduleNames().at(3));

    // The finished run reopens from its folder with the same curves.
    MainWindow reopened;
    QVERIFY(reopened.openRunFolder(runDir));
    QCOMPARE(reopened.lossPlot()->pointCount(), 6);
    QCOMPARE(reopened.heatmap()->rowCount(), 10);
    QCOMPARE(reopened.config().model, droplora::config::load_run_config((runDir + "/config.yaml").toStdString()).model);
    QVERIFY(reopened.overlayRuns({runDir}));
    QCOMPARE(reopened.lossPlot()->overlayCount(), 1);
    m_finishedRun = runDir;
}

void TestWorkbench::signalsAreThrottled() {
    TrainingController controller;
    RunConfig c = tinyRunConfig(m_data, m_tmp.filePath(QStringLiteral("run-throttle")));
    c.train.max_steps = 40;
    c.train.eval_every = 0;
    c.train.save_every = 0;
    c.train.stats_every = 1;
    QElapsedTimer clock;
    QVector<qint64> arrivals;
    QVector<qint64> steps;
    connect(&controller, &TrainingController::stepReported, this, [&](const StepMetrics& m) {
        arrivals.append(clock.elapsed());
        steps.append(m.step);
    });
    QSignalSpy finished(&controller, &TrainingController::finished);
    clock.start();
    QVERIFY(controller.start(c));
    QVERIFY(finished.wait(kRunTimeoutMs));
    QCOMPARE(finished.first().at(0).value<RunOutcome>(), RunOutcome::Finished);
    // Nothing is dropped: every step once, in order.
    QCOMPARE(steps.size(), 40);
    for (int i = 0; i < steps.size(); ++i) QCOMPARE(steps[i], qint64{i + 1});
    // Steps arrive in bursts, one per flush: at most one burst per interval (+1 for the final flush).
    int bursts = 1;
    for (int i = 1; i < arrivals.size(); ++i) bursts += arrivals[i] - arrivals[i - 1] > 20 ? 1 : 0;
    const qint64 span = arrivals.last() - arrivals.first();
    QVERIFY2(bursts <= span / controller.flushInterval() + 2,
             qPrintable(QStringLiteral("%1 bursts in %2 ms").arg(bursts).arg(span)));
}

void TestWorkbench::pauseHoldsTheRun() {
    TrainingController controller;
    RunConfig c = tinyRunConfig(m_data, m_tmp.filePath(QStringLiteral("run-pause")));
    c.train.max_steps = 100000;
    c.train.save_every = 0;
    c.train.eval_every = 0;
    QSignalSpy steps(&controller, &TrainingController::stepReported);
    QSignalSpy finished(&controller, &TrainingController::finished);
    QVERIFY(controller.start(c));
    QVERIFY(steps.wait(kRunTimeoutMs));
    controller.pause();
    QCOMPARE(controller.state(), TrainingController::State::Paused);
    // The step in flight finishes and is delivered; after that nothing moves (a running tiny model logs a
    // step every few tens of milliseconds, so a still window of 700 ms only happens when paused).
    qint64 heldAt = -1;
    for (int tries = 0; tries < 20 && controller.lastStep() != heldAt; ++tries) {
        heldAt = controller.lastStep();
        QTest::qWait(700);
    }
    QCOMPARE(controller.lastStep(), heldAt);
    QTest::qWait(700);
    QCOMPARE(controller.lastStep(), heldAt);
    controller.resume();
    QCOMPARE(controller.state(), TrainingController::State::Running);
    QTRY_VERIFY_WITH_TIMEOUT(controller.lastStep() > heldAt, kRunTimeoutMs);
    controller.pause();
    controller.stop();  // a stop while paused ends the run too
    QVERIFY(finished.wait(kRunTimeoutMs));
    QCOMPARE(finished.first().at(0).value<RunOutcome>(), RunOutcome::Cancelled);
}

void TestWorkbench::stopMidRunLeavesCheckpoint() {
    MainWindow w;
    const QString runDir = m_tmp.filePath(QStringLiteral("run-stop"));
    RunConfig c = tinyRunConfig(m_data, runDir);
    c.train.max_steps = 100000;
    c.train.save_every = 0;  // the only checkpoint is the one the stop writes
    fillForm(w, c);
    QSignalSpy finished(w.controller(), &TrainingController::finished);
    bool stopped = false;
    connect(w.controller(), &TrainingController::stepReported, this, [&] {
        if (stopped) return;
        stopped = true;
        w.controller()->stop();
        QCOMPARE(w.controller()->state(), TrainingController::State::Stopping);
    });
    QVERIFY(w.startTraining());
    QVERIFY(finished.wait(kRunTimeoutMs));
    QVERIFY(stopped);
    QCOMPARE(finished.first().at(0).value<RunOutcome>(), RunOutcome::Cancelled);
    QVERIFY(w.controller()->lastStep() < 100000);
    QVERIFY2(!checkpointAdapters(runDir).isEmpty(), qPrintable(runDir));
    QVERIFY(QFile::exists(w.controller()->lastCheckpoint() + QStringLiteral("/adapter/adapter_model.safetensors")));
    QCOMPARE(w.controller()->state(), TrainingController::State::Idle);

    // Resuming shows the run up to its checkpoint and continues with the next step.
    const qint64 stoppedAt = w.controller()->lastStep();
    MainWindow resumed;
    QSignalSpy resumedFinished(resumed.controller(), &TrainingController::finished);
    qint64 firstResumedStep = -1;
    connect(resumed.controller(), &TrainingController::stepReported, this, [&](const StepMetrics& m) {
        if (firstResumedStep >= 0) return;
        firstResumedStep = m.step;
        resumed.controller()->stop();
    });
    QVERIFY(resumed.resumeRun(runDir));
    QCOMPARE(resumed.lossPlot()->pointCount(), static_cast<int>(stoppedAt));
    QVERIFY(resumedFinished.wait(kRunTimeoutMs));
    QCOMPARE(resumedFinished.first().at(0).value<RunOutcome>(), RunOutcome::Cancelled);
    QCOMPARE(firstResumedStep, stoppedAt + 1);
}

void TestWorkbench::closeDuringRunStopsCleanly() {
    MainWindow w;
    w.show();
    const QString runDir = m_tmp.filePath(QStringLiteral("run-close"));
    RunConfig c = tinyRunConfig(m_data, runDir);
    c.train.max_steps = 100000;
    c.train.save_every = 0;
    fillForm(w, c);
    QSignalSpy steps(w.controller(), &TrainingController::stepReported);
    QSignalSpy finished(w.controller(), &TrainingController::finished);
    QVERIFY(w.startTraining());
    QVERIFY(steps.wait(kRunTimeoutMs));
    QVERIFY(!w.close());  // asks (recorded: yes), stops, and closes once the run has ended
    QCOMPARE(Dialogs::records().last().kind, Dialogs::Kind::Question);
    QVERIFY(w.isVisible());
    QVERIFY(finished.wait(kRunTimeoutMs));
    QCOMPARE(finished.first().at(0).value<RunOutcome>(), RunOutcome::Cancelled);
    QTRY_VERIFY_WITH_TIMEOUT(!w.isVisible(), 5000);
    QVERIFY(!checkpointAdapters(runDir).isEmpty());
}

void TestWorkbench::malformedRowIsReported() {
    const QString bad = m_tmp.filePath(QStringLiteral("bad.jsonl"));
    writeFile(bad, alpacaRows(8, 1, 3));
    MainWindow w;
    // A folder that is not a model: the engine's message in place, in the model panel.
    w.modelPanel()->setModelDir(m_tmp.filePath(QStringLiteral("no-such-model")));
    QVERIFY(!w.modelPanel()->isModelValid());
    QVERIFY2(w.modelPanel()->errorText().contains(QStringLiteral("no-such-model")),
             qPrintable(w.modelPanel()->errorText()));
    fillForm(w, tinyRunConfig(bad, m_tmp.filePath(QStringLiteral("run-bad"))));
    QVERIFY(w.modelPanel()->isModelValid());
    // In place, in the data panel.
    QSignalSpy scanFailed(w.datasetPanel(), &DatasetPanel::scanFailed);
    QVERIFY(scanFailed.wait(20000));
    QVERIFY2(w.datasetPanel()->errorText().contains(QStringLiteral("bad.jsonl:3")),
             qPrintable(w.datasetPanel()->errorText()));
    // And as the training's failure, through the message box.
    QSignalSpy finished(w.controller(), &TrainingController::finished);
    QVERIFY(w.startTraining());
    QVERIFY(finished.wait(kRunTimeoutMs));
    QCOMPARE(finished.first().at(0).value<RunOutcome>(), RunOutcome::Failed);
    QVERIFY2(Dialogs::lastError().contains(QStringLiteral("bad.jsonl:3")), qPrintable(Dialogs::lastError()));
    // The window is usable again: the form is editable and a bad config is refused with a message.
    QCOMPARE(w.controller()->state(), TrainingController::State::Idle);
    QVERIFY(w.modelPanel()->isEnabled());
    RunConfig noData = tinyRunConfig(QString(), m_tmp.filePath(QStringLiteral("run-none")));
    w.setConfig(noData);
    Dialogs::clearRecords();
    QVERIFY(!w.startTraining());
    QVERIFY(Dialogs::lastError().contains(QStringLiteral("data.train")));
}

void TestWorkbench::formRoundTripsThroughYaml() {
    MainWindow w;
    RunConfig c = tinyRunConfig(m_data, m_tmp.filePath(QStringLiteral("run-yaml")));
    c.data.val = m_data.toStdString();
    c.data.format = "alpaca";
    c.data.templ = "chatml";
    c.data.train_on_prompt = true;
    c.data.skip_bad_rows = true;
    c.data.val_fraction = 0.15;
    c.adapter.rank = 12;
    c.adapter.alpha = 24.5;
    c.adapter.drop_rate = 0.123456789;
    c.adapter.mask = "token";
    c.adapter.targets = {"q_proj", "o_proj", "down_proj"};
    c.adapter.rslora = true;
    c.adapter.dropout = 0.05;
    c.train.max_steps = 0;
    c.train.epochs = 2.5;
    c.train.grad_accum = 3;
    c.train.lr = 1.5e-4;
    c.train.schedule = "cosine";
    c.train.warmup_steps = 7;
    c.train.weight_decay = 0.01;
    c.train.max_grad_norm = 0.3;
    c.train.seed = 1234567890123;
    c.train.log_every = 2;
    c.train.gradient_checkpointing = true;
    c.precision = "bf16";
    fillForm(w, c);
    // The form holds exactly what it was given...
    QCOMPARE(droplora::config::to_yaml(w.config()), droplora::config::to_yaml(c));
    // ...and its YAML loads back to the same config.
    const QString yaml = m_tmp.filePath(QStringLiteral("form.yaml"));
    QVERIFY(w.saveRunFile(yaml));
    const RunConfig loaded = droplora::config::load_run_config(yaml.toStdString());
    QCOMPARE(droplora::config::to_yaml(loaded), droplora::config::to_yaml(w.config()));
    MainWindow other;
    QVERIFY(other.openRunFile(yaml));
    QCOMPARE(droplora::config::to_yaml(other.config()), droplora::config::to_yaml(loaded));
    // A broken run file is reported, and the form keeps its values.
    const QString broken = m_tmp.filePath(QStringLiteral("broken.yaml"));
    writeFile(broken, "model: x\ndata:\n  train: y\nadapter:\n  rnak: 4\n");
    QVERIFY(!other.openRunFile(broken));
    QVERIFY2(Dialogs::lastError().contains(QStringLiteral("adapter.rank")), qPrintable(Dialogs::lastError()));
    QCOMPARE(droplora::config::to_yaml(other.config()), droplora::config::to_yaml(loaded));
}

void TestWorkbench::exportsAdapter() {
    QVERIFY2(!m_finishedRun.isEmpty(), "trainsAndPlotsEveryStep must run first");
    MainWindow w;
    const QString out = m_tmp.filePath(QStringLiteral("export-peft"));
    QSignalSpy succeeded(w.exportJob(), &ExportJob::succeeded);
    QSignalSpy failed(w.exportJob(), &ExportJob::failed);
    QVERIFY(w.exportRun(droplora::exports::ExportFormat::Peft, m_finishedRun, out));
    QTRY_VERIFY_WITH_TIMEOUT(succeeded.count() + failed.count() == 1, kRunTimeoutMs);
    QVERIFY2(failed.isEmpty(), failed.isEmpty() ? "" : qPrintable(failed.first().at(0).toString()));
    QVERIFY(QFile::exists(out + QStringLiteral("/adapter_config.json")));
    QVERIFY(QFile::exists(out + QStringLiteral("/adapter_model.safetensors")));
    QVERIFY(w.exportJob()->report().verified);
    QCOMPARE(Dialogs::records().last().kind, Dialogs::Kind::Information);

    // The same folder again: the person is asked first; "No" leaves the export as it was.
    const QDateTime written = QFileInfo(out + QStringLiteral("/adapter_model.safetensors")).lastModified();
    Dialogs::clearRecords();
    Dialogs::setRecording(true, /*confirmAnswer=*/false);
    QVERIFY(!w.exportRun(droplora::exports::ExportFormat::Peft, m_finishedRun, out));
    QCOMPARE(Dialogs::records().size(), 1);
    QCOMPARE(Dialogs::records().first().kind, Dialogs::Kind::Question);
    QVERIFY2(Dialogs::records().first().text.contains(out), qPrintable(Dialogs::records().first().text));
    QVERIFY(!w.exportJob()->isRunning());
    QCOMPARE(QFileInfo(out + QStringLiteral("/adapter_model.safetensors")).lastModified(), written);
    // "Yes" replaces it.
    Dialogs::setRecording(true, /*confirmAnswer=*/true);
    QVERIFY(w.exportRun(droplora::exports::ExportFormat::Peft, m_finishedRun, out));
    QTRY_VERIFY_WITH_TIMEOUT(succeeded.count() + failed.count() == 2, kRunTimeoutMs);
    QVERIFY2(failed.isEmpty(), failed.isEmpty() ? "" : qPrintable(failed.first().at(0).toString()));
    QVERIFY(w.exportJob()->report().verified);
    // A folder the engine refuses even with replace (the run itself) is an error, not a question.
    Dialogs::clearRecords();
    QVERIFY(!w.exportRun(droplora::exports::ExportFormat::Peft, m_finishedRun, m_finishedRun));
    QCOMPARE(Dialogs::records().size(), 1);
    QCOMPARE(Dialogs::records().first().kind, Dialogs::Kind::Error);
}

namespace {

// The largest difference between two adapters' tensors (F32 only; every name in both).
double largestDifference(const QString& a, const QString& b) {
    const auto fa = droplora::io::SafetensorsFile::open(a.toStdString());
    const auto fb = droplora::io::SafetensorsFile::open(b.toStdString());
    if (fa->tensors().size() != fb->tensors().size()) return INFINITY;
    double worst = 0;
    for (const auto& t : fa->tensors()) {
        const auto& u = fb->at(t.name);
        if (t.dtype != droplora::io::DType::F32 || u.dtype != t.dtype || u.shape != t.shape) return INFINITY;
        const auto* x = reinterpret_cast<const float*>(fa->data(t));
        const auto* y = reinterpret_cast<const float*>(fb->data(u));
        for (size_t i = 0; i < (t.end - t.begin) / sizeof(float); ++i)
            worst = std::max(worst, static_cast<double>(std::abs(x[i] - y[i])));
    }
    return worst;
}

}  // namespace

// Processes = 2 in the Training panel: rank 0 trains in the workbench (its plots), rank 1 is a
// `droplora train` process beside it. The adapter equals the CLI's `--nproc-per-node 2` run of the
// same settings (same shards, same reduction, one thread per rank in both: tolerance 1e-6, expected 0),
// the checkpoints say two processes trained them, Pause is off and the status says 2 processes.
void TestWorkbench::trainsInSeveralProcesses() {
    MainWindow w;
    const QString runDir = m_tmp.filePath(QStringLiteral("run-two"));
    RunConfig c = tinyRunConfig(m_data, runDir);
    fillForm(w, c);
    w.trainingPanel()->setProcesses(2);
    QSignalSpy started(w.controller(), &TrainingController::started);
    QSignalSpy finished(w.controller(), &TrainingController::finished);
    QVERIFY(w.startTraining());
    QCOMPARE(w.controller()->processes(), 2);
    QVERIFY(!w.pauseAction()->isEnabled());
    QVERIFY(started.wait(kRunTimeoutMs) || !finished.isEmpty());
    if (finished.isEmpty()) QVERIFY2(w.runStatus()->stateText().contains(QStringLiteral("2 processes")),
                                     qPrintable(w.runStatus()->stateText()));
    QVERIFY(!finished.isEmpty() || finished.wait(kRunTimeoutMs));
    QCOMPARE(finished.first().at(0).value<RunOutcome>(), RunOutcome::Finished);
    const auto checkpoints = droplora::run_folder::list_checkpoints(runDir.toStdString());
    QCOMPARE(checkpoints.size(), size_t{2});  // steps 3 and 6
    for (const auto& cp : checkpoints) QCOMPARE(droplora::run_folder::checkpoint_world_size(cp.dir), int64_t{2});
    QVERIFY(w.logText().contains(QStringLiteral("data-parallel: 2 processes")));

    // The same settings through the CLI's own launcher.
    const QString cliRun = m_tmp.filePath(QStringLiteral("run-two-cli"));
    c.output = cliRun.toStdString();
    const QString runFile = m_tmp.filePath(QStringLiteral("two.yaml"));
    droplora::config::save_run_config(c, runFile.toStdString());
    QProcess cli;
    cli.start(QStringLiteral(DROPLORA_BIN_DIR "/droplora"),
              {QStringLiteral("train"), QStringLiteral("--config"), runFile, QStringLiteral("--nproc-per-node"),
               QStringLiteral("2"), QStringLiteral("--quiet")});
    QVERIFY(cli.waitForFinished(kRunTimeoutMs));
    QVERIFY2(cli.exitStatus() == QProcess::NormalExit && cli.exitCode() == 0, cli.readAllStandardError().constData());
    const double diff = largestDifference(runDir + QStringLiteral("/adapter/adapter_model.safetensors"),
                                          cliRun + QStringLiteral("/adapter/adapter_model.safetensors"));
    QVERIFY2(diff <= 1e-6, qPrintable(QString::number(diff)));
}

// A rank that dies ends the run with its name in the message, the last checkpoint loads and a resume
// (in the checkpoint's two processes) finishes the run; a rank
// that cannot even start ends the rendezvous at once (not after distributed.timeout_s) and leaves no
// run folder.
void TestWorkbench::aFailedRankEndsTheRun() {
    {
        MainWindow w;
        const QString runDir = m_tmp.filePath(QStringLiteral("run-rank-dies"));
        RunConfig c = tinyRunConfig(m_data, runDir);
        c.train.save_every = 2;
        fillForm(w, c);
        w.trainingPanel()->setProcesses(2);
        qputenv("DROPLORA_FAULT", "exit:1:3");  // rank 1 exits (status 86) after step 3; inherited by it only
        QSignalSpy finished(w.controller(), &TrainingController::finished);
        QVERIFY(w.startTraining());
        const bool ended = finished.wait(kRunTimeoutMs);
        qunsetenv("DROPLORA_FAULT");
        QVERIFY(ended);
        QCOMPARE(finished.first().at(0).value<RunOutcome>(), RunOutcome::Failed);
        const QString message = finished.first().at(1).toString();
        QVERIFY2(message.contains(QStringLiteral("rank 1 of 2 exited with status 86")), qPrintable(message));
        QVERIFY2(!message.contains(QLatin1Char('\n')), qPrintable(message));
        const auto newest = droplora::run_folder::newest_good_checkpoint(runDir.toStdString());
        QVERIFY(!newest.dir.empty());
        QVERIFY(newest.step >= 2 && newest.step <= 3);

        // Resume takes the checkpoint's count of processes, whatever the panel says, and finishes.
        w.trainingPanel()->setProcesses(1);
        finished.clear();
        QVERIFY(w.resumeRun(runDir));
        QCOMPARE(w.controller()->processes(), 2);
        QCOMPARE(w.trainingPanel()->processes(), 2);
        QVERIFY(finished.wait(kRunTimeoutMs));
        QCOMPARE(finished.first().at(0).value<RunOutcome>(), RunOutcome::Finished);
        QVERIFY(QFile::exists(runDir + QStringLiteral("/adapter/adapter_model.safetensors")));
    }
    {
        MainWindow w;
        const QString runDir = m_tmp.filePath(QStringLiteral("run-rank-never-starts"));
        RunConfig c = tinyRunConfig(m_data, runDir);
        c.distributed.timeout_s = 600;
        fillForm(w, c);
        w.trainingPanel()->setProcesses(2);
        w.controller()->setWorkerProgram(QStringLiteral("/bin/false"));
        QSignalSpy finished(w.controller(), &TrainingController::finished);
        QElapsedTimer clock;
        clock.start();
        QVERIFY(w.startTraining());
        QVERIFY(finished.wait(60000));
        QVERIFY2(clock.elapsed() < 60000, qPrintable(QString::number(clock.elapsed())));
        QCOMPARE(finished.first().at(0).value<RunOutcome>(), RunOutcome::Failed);
        const QString message = finished.first().at(1).toString();
        QVERIFY2(message.contains(QStringLiteral("rank 1 of 2 exited with status 1")), qPrintable(message));
        QVERIFY(!QDir(runDir).exists());
    }
}

QTEST_MAIN(TestWorkbench)
#include "test_workbench.moc"
