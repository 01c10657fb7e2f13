// The workbench for a working day, offscreen: the layout at a laptop's 1366×768 keeps every plot usable and the
// log collapsed, Start is blocked by a field with an error (naming its tab) and a reverted value says why, the
// question about a folder that already holds a run comes last and offers a fresh folder, the mouse wheel leaves
// an unfocused spin box alone, the gauges are cleared when a run stops and an opened run shows its steps, export
// waits for something to export, the runs table sorts by its numbers, the heatmap's tooltip and caption, the
// estimates before Start (trainable parameters; peak memory within 25 % of the measured; time from a warm-up) and
// the presets.
// Message boxes are recorded (Dialogs), never shown.
#include <QtTest/QtTest>

#include <QAction>
#include <QComboBox>
#include <QDockWidget>
#include <QJsonDocument>
#include <QJsonObject>
#include <QFormLayout>
#include <QLabel>
#include <QPushButton>
#include <QSettings>
#include <QSpinBox>
#include <QSplitter>
#include <QStandardPaths>
#include <QStatusBar>
#include <QTableWidget>
#include <QTemporaryDir>
#include <QWheelEvent>
#include <cmath>
#include <qcustomplot.h>
#include <fcntl.h>
#include <spawn.h>
#include <sys/resource.h>
#include <sys/wait.h>

#include "adapterpanel.h"
#include "channelheatmap.h"
#include "config/run_config.h"
#include "datasetpanel.h"
#include "config/run_presets.h"
#include "dialogs.h"
#include "estimatepanel.h"
#include "exportdialog.h"
#include "gui_fixtures.h"
#include "lossplot.h"
#include "mainwindow.h"
#include "metatypes.h"
#include "modelpanel.h"
#include "numberedit.h"
#include "runspanel.h"
#include "runstatus.h"
#include "runworkspace.h"
#include "subspaceplot.h"
#include "train/footprint.h"
#include "trainingcontroller.h"
#include "trainingpanel.h"
#include "workbenchsettings.h"

using droplora::config::RunConfig;
using droplora::train::RunOutcome;
using namespace droplora::ui;
using namespace droplora::ui::testing;

namespace {

constexpr int kRunTimeoutMs = 120000;

// Runs `droplora args…` to its end; returns its peak resident memory (MiB, the
// kernel's ru_maxrss) and its standard output, or -1 when it did not exit 0.
double peakResidentMiB(const QStringList& args, QString* out) {
    QTemporaryDir tmp;
    const QByteArray program = QByteArrayLiteral(DROPLORA_BIN_DIR "/droplora");
    const QByteArray outPath = tmp.filePath(QStringLiteral("stdout")).toLocal8Bit();
    std::vector<QByteArray> storage{program};
    for (const QString& a : args) storage.push_back(a.toLocal8Bit());
    std::vector<char*> argv;
    for (auto& a : storage) argv.push_back(a.data());
    argv.push_back(nullptr);
    posix_spawn_file_actions_t actions;
    posix_spawn_file_actions_init(&actions);
    posix_spawn_file_actions_addopen(&actions, 1, outPath.constData(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    pid_t pid = 0;
    const int spawned = posix_spawn(&pid, program.constData(), &actions, nullptr, argv.data(), environ);
    posix_spawn_file_actions_destroy(&actions);
    if (spawned != 0) return -1;
    int status = 0;
    rusage usage{};
    if (wait4(pid, &status, 0, &usage) != pid || !WIFEXITED(status) || WEXITSTATUS(status) != 0) return -1;
    QFile f(QString::fromLocal8Bit(outPath));
    if (out && f.open(QIODevice::ReadOnly)) *out = QString::fromUtf8(f.readAll());
    return double(usage.ru_maxrss) / 1024.0;  // KiB on Linux
}
constexpr int kMinLossPlotHeight = 200;  // the window's promise (mainwindow.cpp)

// The field of a form row by its label text ("Batch size").
QWidget* fieldByLabel(QWidget* root, const QString& label) {
    for (QFormLayout* form : root->findChildren<QFormLayout*>()) {
        for (int r = 0; r < form->rowCount(); ++r) {
            auto* l = form->itemAt(r, QFormLayout::LabelRole);
            auto* f = form->itemAt(r, QFormLayout::FieldRole);
            if (!l || !f) continue;
            auto* text = qobject_cast<QLabel*>(l->widget());
            if (text && text->text() == label) return f->widget();
        }
    }
    return nullptr;
}

void fillForm(MainWindow& w, const RunConfig& c) {
    w.modelPanel()->setModelDir(QString::fromStdString(c.model));
    w.setConfig(c);
}

int tabIndex(MainWindow& w, const QString& text) {
    for (int i = 0; i < w.formTabs()->count(); ++i)
        if (w.formTabs()->tabText(i) == text) return i;
    return -1;
}

}  // namespace

class TestUsability : public QObject {
    Q_OBJECT

private slots:
    void initTestCase();
    void init();
    void layoutFitsLaptop();
    void startBlockedByInvalidField();
    void overwriteQuestionComesLastAndOffersFreshFolder();
    void wheelLeavesUnfocusedSpinBox();
    void gaugesResetAtStop();
    void runsTableSorts();
    void heatmapExplainsItself();
    void heatmapGroupsRealModels();
    void exportDialogOffersGgufTypes();
    void formsOfferWhatTheSchemaAllows();
    void workspaceDecidesWithoutAWindow();
    void estimatesBeforeStart();
    void presetsFillTheForm();

private:
    QTemporaryDir m_tmp;
    QString m_data;
    QString m_stoppedRun;
};

void TestUsability::initTestCase() {
    QStandardPaths::setTestModeEnabled(true);
    QCoreApplication::setOrganizationName(QStringLiteral("DropLoRA-test"));
    QCoreApplication::setApplicationName(QStringLiteral("UsabilityTest"));
    registerMetaTypes();
    Dialogs::setRecording(true, true);
    QVERIFY(m_tmp.isValid());
    m_data = m_tmp.filePath(QStringLiteral("alpaca.jsonl"));
    writeFile(m_data, alpacaRows(12));
}

void TestUsability::init() {
    QSettings().clear();  // no remembered geometry, splitters or runs
    Dialogs::clearRecords();
    Dialogs::setChoiceAnswer(-1);
}

void TestUsability::layoutFitsLaptop() {
    MainWindow w;
    // The log starts collapsed; its newest line is in the status bar.
    QVERIFY(w.logDock()->isHidden());
    w.resize(1366, 768 - 30);  // a laptop screen less the title bar
    w.show();
    QVERIFY(QTest::qWaitForWindowExposed(&w));
    QCoreApplication::processEvents();
    // It fits: no minimum size pushes the window past the screen.
    QCOMPARE(w.size(), QSize(1366, 768 - 30));
    QVERIFY(!w.logDock()->isVisible());
    QVERIFY2(w.lossPlot()->height() >= kMinLossPlotHeight, qPrintable(QString::number(w.lossPlot()->height())));
    QVERIFY2(w.heatmap()->height() >= 150, qPrintable(QString::number(w.heatmap()->height())));
    QVERIFY2(w.subspacePlot()->height() >= 150, qPrintable(QString::number(w.subspacePlot()->height())));
    // The status bar and its gauges are inside the window.
    QVERIFY(w.statusBar()->isVisible());
    QVERIFY(w.statusBar()->geometry().bottom() < w.height());
    w.appendLog(QStringLiteral("first line"));
    w.appendLog(QStringLiteral("the newest line"));
    QCOMPARE(w.lastLogLine(), QStringLiteral("the newest line"));
    QVERIFY(w.logText().contains(QStringLiteral("first line")));
    // Splitter positions are remembered.
    auto* plots = w.findChild<QSplitter*>(QStringLiteral("PlotsSplitter"));
    QVERIFY(plots);
    const QList<int> sizes = plots->sizes();
    plots->setSizes({sizes[0] + 60, sizes[1] - 60});
    const QList<int> moved = plots->sizes();
    QVERIFY(w.close());
    MainWindow again;
    again.resize(1366, 768 - 30);
    again.show();
    QVERIFY(QTest::qWaitForWindowExposed(&again));
    auto* restored = again.findChild<QSplitter*>(QStringLiteral("PlotsSplitter"));
    QVERIFY2(std::abs(restored->sizes().value(0) - moved.value(0)) <= 2,
             qPrintable(QStringLiteral("%1 vs %2").arg(restored->sizes().value(0)).arg(moved.value(0))));
}

void TestUsability::startBlockedByInvalidField() {
    MainWindow w;
    w.show();
    QVERIFY(QTest::qWaitForWindowExposed(&w));
    fillForm(w, tinyRunConfig(m_data, m_tmp.filePath(QStringLiteral("run-invalid"))));
    QVERIFY2(w.startAction()->isEnabled(), qPrintable(w.formProblem()));
    auto* lr = qobject_cast<NumberEdit*>(fieldByLabel(w.trainingPanel(), QStringLiteral("Learning rate")));
    QVERIFY(lr);
    w.formTabs()->setCurrentIndex(tabIndex(w, QStringLiteral("Training")));
    lr->setFocus();
    lr->selectAll();
    QTest::keyClicks(lr, QStringLiteral("fast"));
    QVERIFY(!lr->isTextValid());  // red while the cursor is in it (leaving it puts the good value back)
    // Start is blocked, says why, and shows the tab.
    QVERIFY(!w.startAction()->isEnabled());
    QVERIFY(w.startAction()->toolTip().contains(QStringLiteral("Learning rate")));
    QVERIFY(!w.startTraining());
    QVERIFY(!w.controller()->isRunning());
    const QString error = Dialogs::lastError();
    QVERIFY2(error.contains(QStringLiteral("Training tab")) && error.contains(QStringLiteral("Learning rate")) &&
                 error.contains(QStringLiteral("fast")),
             qPrintable(error));
    QCOMPARE(w.formTabs()->currentIndex(), tabIndex(w, QStringLiteral("Training")));
    // Leaving the field puts the last good value back and says so.
    QSignalSpy reverted(lr, &NumberEdit::reverted);
    QTest::keyClick(lr, Qt::Key_Return);
    QCOMPARE(reverted.count(), 1);
    const QString why = reverted.first().at(0).toString();
    QVERIFY2(why.contains(QStringLiteral("fast")) && why.contains(QStringLiteral("kept 0.001")), qPrintable(why));
    QVERIFY(w.statusBar()->currentMessage().contains(QStringLiteral("kept 0.001")));
    QVERIFY(lr->isTextValid());
    QCOMPARE(lr->value(), 1e-3);
    QVERIFY(w.startAction()->isEnabled());
    // A model folder that is not a model blocks Start too, naming the Model tab and showing it.
    QCOMPARE(w.formTabs()->currentIndex(), tabIndex(w, QStringLiteral("Training")));
    w.modelPanel()->setModelDir(m_tmp.filePath(QStringLiteral("no-model")));
    QVERIFY(!w.startAction()->isEnabled());
    QVERIFY(!w.startTraining());
    QVERIFY2(Dialogs::lastError().startsWith(QStringLiteral("Model tab")), qPrintable(Dialogs::lastError()));
    QCOMPARE(w.formTabs()->currentIndex(), tabIndex(w, QStringLiteral("Model")));
}

void TestUsability::overwriteQuestionComesLastAndOffersFreshFolder() {
    const QString runDir = m_tmp.filePath(QStringLiteral("runs/demo"));
    writeFile(runDir + QStringLiteral("/metrics.jsonl"), "");
    QCOMPARE(MainWindow::freshRunFolder(runDir), m_tmp.filePath(QStringLiteral("runs/demo-2")));
    writeFile(m_tmp.filePath(QStringLiteral("runs/demo-2/metrics.jsonl")), "");
    QCOMPARE(MainWindow::freshRunFolder(runDir), m_tmp.filePath(QStringLiteral("runs/demo-3")));
    QCOMPARE(MainWindow::freshRunFolder(m_tmp.filePath(QStringLiteral("runs/demo-2"))),
             m_tmp.filePath(QStringLiteral("runs/demo-3")));

    MainWindow w;
    RunConfig c = tinyRunConfig(m_data, runDir);
    c.train.max_steps = 100000;
    c.train.save_every = 0;
    fillForm(w, c);
    // With a field in error, Start refuses before it asks anything.
    auto* lr = qobject_cast<NumberEdit*>(fieldByLabel(w.trainingPanel(), QStringLiteral("Learning rate")));
    lr->setText(QStringLiteral("-1"));
    emit lr->textEdited(lr->text());  // as typing does
    QVERIFY(!lr->isTextValid());
    QVERIFY(!w.startTraining());
    for (const auto& r : Dialogs::records()) QVERIFY(r.kind != Dialogs::Kind::Question);
    lr->setValue(1e-3);

    // Cancel: nothing starts, the form keeps its folder.
    Dialogs::clearRecords();
    Dialogs::setChoiceAnswer(2);
    QVERIFY(!w.startTraining());
    QVERIFY(!w.controller()->isRunning());
    QCOMPARE(Dialogs::records().size(), 1);
    QCOMPARE(Dialogs::records().last().kind, Dialogs::Kind::Question);
    QCOMPARE(QString::fromStdString(w.config().output), runDir);

    // The default answer: a fresh folder, which the form then holds.
    Dialogs::clearRecords();
    Dialogs::setChoiceAnswer(-1);
    QSignalSpy finished(w.controller(), &TrainingController::finished);
    connect(w.controller(), &TrainingController::stepReported, this, [&] { w.controller()->stop(); });
    QVERIFY(w.startTraining());
    const QString question = Dialogs::records().last().text;
    QVERIFY2(question.contains(QStringLiteral("demo-3")) && question.contains(QStringLiteral("already holds a run")),
             qPrintable(question));
    const QString fresh = m_tmp.filePath(QStringLiteral("runs/demo-3"));
    QCOMPARE(QString::fromStdString(w.config().output), fresh);
    QCOMPARE(w.controller()->runDir(), fresh);
    QVERIFY(finished.wait(kRunTimeoutMs));
    QVERIFY(QFile::exists(fresh + QStringLiteral("/config.yaml")));
    // The occupied folder was left alone.
    QCOMPARE(QFileInfo(runDir + QStringLiteral("/metrics.jsonl")).size(), qint64{0});
}

void TestUsability::wheelLeavesUnfocusedSpinBox() {
    MainWindow w;
    fillForm(w, tinyRunConfig(m_data, m_tmp.filePath(QStringLiteral("run-wheel"))));
    w.formTabs()->setCurrentIndex(tabIndex(w, QStringLiteral("Training")));
    w.show();
    QVERIFY(QTest::qWaitForWindowExposed(&w));
    auto* batch = qobject_cast<QSpinBox*>(fieldByLabel(w.trainingPanel(), QStringLiteral("Batch size")));
    QVERIFY(batch);
    QCOMPARE(batch->value(), 2);
    QCOMPARE(batch->focusPolicy(), Qt::StrongFocus);
    const auto wheel = [batch] {
        const QPointF at(batch->width() / 2.0, batch->height() / 2.0);
        QWheelEvent event(at, batch->mapToGlobal(at), QPoint(), QPoint(0, 120), Qt::NoButton, Qt::NoModifier,
                          Qt::NoScrollPhase, false);
        QApplication::sendEvent(batch, &event);
    };
    QVERIFY(!batch->hasFocus());
    wheel();
    QCOMPARE(batch->value(), 2);  // passing over it changes nothing
    QVERIFY(!batch->hasFocus());
    // Once clicked into (focused), the wheel works.
    w.activateWindow();
    batch->setFocus(Qt::MouseFocusReason);
    QTRY_VERIFY(batch->hasFocus());
    wheel();
    QCOMPARE(batch->value(), 3);
}

void TestUsability::gaugesResetAtStop() {
    MainWindow w;
    const QString runDir = m_tmp.filePath(QStringLiteral("run-gauges"));
    RunConfig c = tinyRunConfig(m_data, runDir);
    c.train.max_steps = 100000;
    c.train.save_every = 0;
    fillForm(w, c);
    QVERIFY(!w.exportAction()->isEnabled());  // nothing to export yet
    QSignalSpy finished(w.controller(), &TrainingController::finished);
    QString etaWhileRunning, stepWhileRunning;
    int steps = 0;
    connect(w.controller(), &TrainingController::stepReported, this, [&] {
        if (++steps != 3) return;
        etaWhileRunning = w.runStatus()->etaText();
        stepWhileRunning = w.runStatus()->stepText();
        w.controller()->stop();
    });
    QVERIFY(w.startTraining());
    QVERIFY(finished.wait(kRunTimeoutMs));
    QCOMPARE(finished.first().at(0).value<RunOutcome>(), RunOutcome::Cancelled);
    QVERIFY2(etaWhileRunning != QStringLiteral("ETA –"), qPrintable(etaWhileRunning));
    QVERIFY2(stepWhileRunning.endsWith(QStringLiteral("/ 100000")), qPrintable(stepWhileRunning));
    // Stopped: the live gauges are cleared, the state says so, the step stays.
    RunStatus* status = w.runStatus();
    QCOMPARE(status->etaText(), QStringLiteral("ETA –"));
    QCOMPARE(status->rateText(), QStringLiteral("– tok/s"));
    QCOMPARE(status->elapsedText(), QStringLiteral("elapsed –"));
    const qint64 last = w.controller()->lastStep();
    QCOMPARE(status->stateText(), QStringLiteral("stopped at step %1").arg(last));
    QCOMPARE(status->stepText(), QStringLiteral("step %1 / 100000").arg(last));
    // The desktop is told (a notification; recorded here).
    bool notified = false;
    for (const auto& r : Dialogs::records())
        if (r.kind == Dialogs::Kind::Notification && r.text.contains(QStringLiteral("stopped at step %1").arg(last)))
            notified = true;
    QVERIFY(notified);
    // The stop left a checkpoint: now there is something to export, with a snippet for its folder.
    QVERIFY(w.exportAction()->isEnabled());
    w.exportAction()->trigger();
    QVERIFY(w.exportDialog() && w.exportDialog()->isVisible());
    QVERIFY(w.exportDialog()->outputDir().startsWith(runDir));
    QVERIFY2(w.exportDialog()->snippetText().contains(QStringLiteral("PeftModel.from_pretrained")),
             qPrintable(w.exportDialog()->snippetText()));
    QVERIFY(w.exportDialog()->snippetText().contains(w.exportDialog()->outputDir()));
    QVERIFY(!w.exportDialog()->openFolderButton()->isEnabled());  // nothing exported yet
    m_stoppedRun = runDir;

    // Opened from its folder: its steps of its max, its state, no live gauges.
    MainWindow opened;
    QVERIFY(opened.openRunFolder(runDir));
    QCOMPARE(opened.runStatus()->stepText(), QStringLiteral("step %1 / 100000").arg(last));
    QCOMPARE(opened.runStatus()->etaText(), QStringLiteral("ETA –"));
    QVERIFY2(opened.runStatus()->stateText().startsWith(QStringLiteral("stopped")) ||
                 opened.runStatus()->stateText() == QStringLiteral("finished"),
             qPrintable(opened.runStatus()->stateText()));
    QVERIFY(opened.exportAction()->isEnabled());
}

void TestUsability::runsTableSorts() {
    // Ranks 16, 4, 8: sorted as numbers 4 < 8 < 16 (as text "16" would come first).
    const QString root = m_tmp.filePath(QStringLiteral("runs-table"));
    const QList<int> ranks{16, 4, 8};
    for (int rank : ranks) {
        const QString dir = root + QStringLiteral("/rank-%1").arg(rank);
        QDir().mkpath(dir);
        RunConfig c = tinyRunConfig(m_data, dir);
        c.adapter.rank = rank;
        c.adapter.method = rank == 4 ? "lora" : "droplora";
        if (rank == 4) c.adapter.drop_rate = 0;  // plain LoRA has no rank mask (a rate would make the file invalid)
        droplora::config::save_run_config(c, (dir + QStringLiteral("/config.yaml")).toStdString());
    }
    WorkbenchSettings::setRunsRoot(root);
    RunsPanel panel;
    QTableWidget* table = panel.table();
    QCOMPARE(table->rowCount(), 3);
    table->sortByColumn(RunsPanel::kRank, Qt::AscendingOrder);
    const auto names = [&] {
        QStringList n;
        for (const QString& d : panel.runDirs()) n.append(QFileInfo(d).fileName());
        return n;
    };
    QCOMPARE(names(), (QStringList{"rank-4", "rank-8", "rank-16"}));
    table->sortByColumn(RunsPanel::kRank, Qt::DescendingOrder);
    QCOMPARE(names(), (QStringList{"rank-16", "rank-8", "rank-4"}));
    QCOMPARE(table->item(2, RunsPanel::kMethod)->text(), QStringLiteral("lora"));
    QCOMPARE(table->item(2, RunsPanel::kDropRate)->text(), QStringLiteral("0.00"));
    QCOMPARE(table->item(0, RunsPanel::kDropRate)->text(), QStringLiteral("0.50"));
    table->sortByColumn(RunsPanel::kMethod, Qt::AscendingOrder);
    QCOMPARE(table->item(0, RunsPanel::kMethod)->text(), QStringLiteral("droplora"));
    QCOMPARE(table->item(2, RunsPanel::kMethod)->text(), QStringLiteral("lora"));
    // A refresh keeps the order and the selection.
    table->sortByColumn(RunsPanel::kRank, Qt::AscendingOrder);
    panel.selectRuns({root + QStringLiteral("/rank-8")});
    panel.refresh();
    QCOMPARE(names(), (QStringList{"rank-4", "rank-8", "rank-16"}));
    QCOMPARE(panel.selectedRuns(), QStringList{root + QStringLiteral("/rank-8")});
}

void TestUsability::heatmapExplainsItself() {
    ChannelHeatmap heatmap;
    droplora::train::StatsSample sample;
    sample.step = 12;
    droplora::train::ModuleStats m;
    m.module = "model.layers.3.self_attn.q_proj";
    m.keep_fraction = {0.4505943264631461, 0.55};
    m.energy = {0.1, 0.2};
    m.grad_norm = {0.0, 0.3};
    sample.modules.push_back(m);
    heatmap.setDropRate(0.5);
    heatmap.setSample(sample);
    QCOMPARE(heatmap.cellToolTip(0, 0), QStringLiteral("layer 3 · q_proj · channel 0\nkeep frequency: 0.451"));
    // Mean keep frequency (0.4506 + 0.55) / 2 = 0.5003 → "0.5", against 1 − p = 0.5.
    QVERIFY2(heatmap.captionText().contains(QStringLiteral("mean 0.5,")) &&
                 heatmap.captionText().contains(QStringLiteral("1−p = 0.5")),
             qPrintable(heatmap.captionText()));
    heatmap.setDropRate(0.25);
    QVERIFY(heatmap.captionText().contains(QStringLiteral("1−p = 0.75")));
    heatmap.setStatistic(ChannelHeatmap::Statistic::Energy);
    QCOMPARE(heatmap.cellToolTip(0, 1), QStringLiteral("layer 3 · q_proj · channel 1\nenergy: 0.2"));
    // Every plot has its "?" text.
    for (const QString& help : {ChannelHeatmap::helpHtml(), LossPlot::helpHtml(), SubspacePlot::helpHtml()})
        QVERIFY(help.size() > 200);
    QVERIFY(ChannelHeatmap::helpHtml().contains(QStringLiteral("1−p")));
}

void TestUsability::exportDialogOffersGgufTypes() {
    ExportDialog dialog;
    dialog.setSource(m_tmp.filePath(QStringLiteral("some-run")), QStringLiteral("/models/base"));
    dialog.show();
    auto* types = dialog.findChild<QComboBox*>(QStringLiteral("GgufType"));
    QVERIFY(types);
    dialog.setFormat(droplora::exports::ExportFormat::Peft);
    QVERIFY(!types->isVisible());
    dialog.setFormat(droplora::exports::ExportFormat::GgufModel);
    QVERIFY(types->isVisible());
    QCOMPARE(dialog.ggufType(), QStringLiteral("f16"));
    QStringList offered;
    for (int i = 0; i < types->count(); ++i) offered << types->itemData(i).toString();
    // Each one the engine accepts (export/export.cpp parses them with io::parse_ggml_type).
    QCOMPARE(offered, (QStringList{"f16", "q8_0", "bf16", "f32"}));
    dialog.setGgufType(QStringLiteral("q8_0"));
    QCOMPARE(dialog.ggufType(), QStringLiteral("q8_0"));
    dialog.setFormat(droplora::exports::ExportFormat::GgufAdapter);
    QVERIFY(!types->isVisible());  // adapters are always f32
}

void TestUsability::formsOfferWhatTheSchemaAllows() {
    // The combo boxes list exactly config::choices() (ui/configfields.h), so a template such
    // as "model" (the model's own chat template) can be chosen in the form.
    MainWindow w;
    const auto comboItems = [](QWidget* panel, const QString& label) {
        QStringList items;
        if (auto* combo = qobject_cast<QComboBox*>(fieldByLabel(panel, label)))
            for (int i = 0; i < combo->count(); ++i) items << combo->itemText(i);
        return items;
    };
    const auto schema = [](const char* key) {
        QStringList items;
        for (const std::string& v : droplora::config::choices(key)) items << QString::fromStdString(v);
        return items;
    };
    QCOMPARE(comboItems(w.datasetPanel(), QStringLiteral("Template")), schema("data.template"));
    QVERIFY(schema("data.template").contains(QStringLiteral("model")));
    QCOMPARE(comboItems(w.datasetPanel(), QStringLiteral("Format")), schema("data.format"));
    QCOMPARE(comboItems(w.adapterPanel(), QStringLiteral("Mask")), schema("adapter.mask"));
    QCOMPARE(comboItems(w.trainingPanel(), QStringLiteral("Schedule")), schema("train.schedule"));
    // A learning rate of 20 is valid for the engine (lr > 0), so the form takes it too.
    auto* lr = qobject_cast<NumberEdit*>(fieldByLabel(w.trainingPanel(), QStringLiteral("Learning rate")));
    QVERIFY(lr);
    w.show();
    w.formTabs()->setCurrentIndex(tabIndex(w, QStringLiteral("Training")));
    lr->setFocus();
    lr->selectAll();
    QTest::keyClicks(lr, QStringLiteral("20"));
    QVERIFY(lr->isTextValid());
    lr->selectAll();
    QTest::keyClicks(lr, QStringLiteral("0"));
    QVERIFY(!lr->isTextValid());  // lr > 0, as the engine says
}

// The rules MainWindow shows, asked of RunWorkspace with no window: a run trained through it, read back
// whole and as a resume would keep it, the processes a resume needs, the overwrite rule and fresh folder,
// the export refusal for the run folder itself, and one job at a time.
void TestUsability::workspaceDecidesWithoutAWindow() {
    RunWorkspace workspace;
    const QString runDir = m_tmp.filePath(QStringLiteral("workspace-run"));
    QVERIFY(!RunWorkspace::holdsRun(runDir));
    QSignalSpy finished(workspace.controller(), &TrainingController::finished);
    QVERIFY(workspace.startRun(tinyRunConfig(m_data, runDir), 1));
    QVERIFY(workspace.isBusy());
    QVERIFY(!workspace.startRun(tinyRunConfig(m_data, runDir + QStringLiteral("-other")), 1));  // one at a time
    QVERIFY(finished.wait(kRunTimeoutMs));
    QCOMPARE(finished.first().at(0).value<RunOutcome>(), RunOutcome::Finished);
    QVERIFY(!workspace.isBusy());

    QString error;
    const auto whole = workspace.openRun(runDir, -1, &error);
    QVERIFY2(whole, qPrintable(error));
    QCOMPARE(workspace.currentRunDir(), QDir::cleanPath(runDir));
    QVERIFY(workspace.hasSomethingToExport());
    QCOMPARE(whole->state, QStringLiteral("finished"));
    QCOMPARE(whole->lastStep, qint64{6});
    QCOMPARE(whole->maxSteps, qint64{6});
    QVERIFY(whole->config.has_value());
    QCOMPARE(RunWorkspace::newestCheckpointStep(runDir), qint64{6});
    const auto resumed = RunWorkspace::readRun(runDir, 3, &error);  // what a resume from step 3 shows
    QVERIFY(resumed);
    QCOMPARE(resumed->lastStep, qint64{3});
    QCOMPARE(resumed->state, QStringLiteral("opened"));
    for (const auto& e : resumed->history.evals) QVERIFY(e.step <= 3);

    QCOMPARE(RunWorkspace::processesForResume(runDir, 5), 1);  // its checkpoints were trained by one process
    QCOMPARE(RunWorkspace::processesForResume(m_tmp.filePath(QStringLiteral("empty")), 5), 5);
    QVERIFY(RunWorkspace::holdsRun(runDir));
    QCOMPARE(RunWorkspace::freshRunFolder(runDir), runDir + QStringLiteral("-2"));
    error.clear();
    QVERIFY(!RunWorkspace::exportWouldReplace(runDir, runDir, &error));
    QVERIFY2(!error.isEmpty(), "exporting into the run folder itself must be refused");
    error.clear();
    QVERIFY(!RunWorkspace::exportWouldReplace(runDir, m_tmp.filePath(QStringLiteral("workspace-export")), &error));
    QVERIFY2(error.isEmpty(), qPrintable(error));
}

void TestUsability::heatmapGroupsRealModels() {
    // TinyLlama's shape: 22 layers × 5 adapted modules × rank 32, values that tell the cells apart.
    const QStringList types{"self_attn.q_proj", "self_attn.k_proj", "self_attn.v_proj", "mlp.up_proj", "mlp.down_proj"};
    droplora::train::StatsSample sample;
    sample.step = 40;
    for (int layer = 0; layer < 22; ++layer)
        for (int t = 0; t < types.size(); ++t) {
            droplora::train::ModuleStats m;
            m.module = QStringLiteral("model.layers.%1.%2").arg(layer).arg(types[t]).toStdString();
            for (int c = 0; c < 32; ++c) {
                m.keep_fraction.push_back(0.001 * layer + 0.01 * t + 0.0001 * c);
                m.energy.push_back(1.0 + layer);
                m.grad_norm.push_back(t);
            }
            sample.modules.push_back(m);
        }
    ChannelHeatmap heatmap;
    heatmap.resize(600, 400);
    heatmap.setSample(sample);
    QCOMPARE(heatmap.rowCount(), 110);
    // 110 rows would not fit: auto groups by layer, and the last row is the mean of every module.
    QCOMPARE(heatmap.effectiveGrouping(), ChannelHeatmap::Grouping::Layers);
    QCOMPARE(heatmap.displayRowCount(), 23);
    QCOMPARE(heatmap.displayLabel(3), QStringLiteral("layer 3"));
    QCOMPARE(heatmap.displayMembers(3).size(), 5);
    // Layer 3's mean at channel 7: 0.003 + 0.01 · mean(0..4) + 0.0007.
    QVERIFY(std::fabs(heatmap.displayValue(3, 7) - (0.003 + 0.02 + 0.0007)) < 1e-12);
    QVERIFY(std::fabs(heatmap.displayValue(22, 0) - (0.001 * 10.5 + 0.02)) < 1e-12);  // all 110
    QVERIFY2(heatmap.cellToolTip(3, 7).startsWith(QStringLiteral("layer 3 · 5 modules · channel 7\nkeep frequency: mean 0.0237")),
             qPrintable(heatmap.cellToolTip(3, 7)));
    heatmap.setGrouping(ChannelHeatmap::Grouping::ModuleTypes);
    QCOMPARE(heatmap.displayRowCount(), 6);
    QCOMPARE(heatmap.displayLabel(1), QStringLiteral("k_proj"));
    QCOMPARE(heatmap.displayMembers(1).size(), 22);
    QVERIFY(std::fabs(heatmap.displayValue(1, 0) - (0.001 * 10.5 + 0.01)) < 1e-12);
    heatmap.setGrouping(ChannelHeatmap::Grouping::Modules);
    QCOMPARE(heatmap.displayRowCount(), 111);
    QCOMPARE(heatmap.displayValue(6, 2), heatmap.cellValue(6, 2));

    // Clicking a group selects its first module.
    heatmap.setGrouping(ChannelHeatmap::Grouping::Layers);
    heatmap.show();
    QVERIFY(QTest::qWaitForWindowExposed(&heatmap));
    QCustomPlot* plot = heatmap.plot();
    plot->replot();
    QSignalSpy selected(&heatmap, &ChannelHeatmap::moduleSelected);
    const QPoint cell(int(plot->xAxis->coordToPixel(5)), int(plot->yAxis->coordToPixel(4)));
    QTest::mouseClick(plot, Qt::LeftButton, Qt::NoModifier, cell);
    QCOMPARE(selected.count(), 1);
    QCOMPARE(selected.first().at(0).toString(), QStringLiteral("model.layers.4.self_attn.q_proj"));
}

void TestUsability::estimatesBeforeStart() {
    // The demo in the window: the estimate once the Data tab has measured the rows' token lengths.
    const QString demo = QStringLiteral(DROPLORA_SOURCE_DIR "/resources/configs/demo.yaml");
    RunConfig c = droplora::config::load_run_config(demo.toStdString());
    c.output = m_tmp.filePath(QStringLiteral("estimate/run")).toStdString();
    MainWindow w;
    w.setConfig(c);
    w.show();
    QVERIFY(QTest::qWaitForWindowExposed(&w));
    QTRY_VERIFY_WITH_TIMEOUT(w.datasetPanel()->longestRow() > 0, 30000);
    EstimatePanel* estimate = w.estimatePanel();
    QVERIFY(estimate->hasEstimate());
    const droplora::train::Footprint f = estimate->footprint();
    // Trainable parameters: rank × (in + out) of q, k, v, up and down in each of the 4 layers (config.json:
    // hidden 192, 6 heads and 2 KV heads of 32, intermediate 512), of the model's 2.1 M.
    const int64_t perLayer = 8 * ((192 + 192) + 2 * (192 + 64) + (192 + 512) + (512 + 192));
    QCOMPARE(f.trainable_parameters, 4 * perLayer);
    QVERIFY(f.model_parameters > 2000000 && f.model_parameters < 2300000);
    QVERIFY2(estimate->parametersText().contains(QStringLiteral("%1 %").arg(f.trainable_percent, 0, 'f', 1)),
             qPrintable(estimate->parametersText()));
    QVERIFY(estimate->memoryText().contains(QStringLiteral("with gradient checkpointing")));
    QVERIFY(f.peak_flipped_mib < f.peak_mib);

    // Within 25 % of what `droplora train` keeps resident on the same run (6 steps, its own process).
    QString out;
    const double demoMeasured = peakResidentMiB(
        {QStringLiteral("train"), QStringLiteral("--config"), demo, QStringLiteral("--set"), QStringLiteral("train.max_steps=6"),
         QStringLiteral("--set"), QStringLiteral("train.eval_every=0"), QStringLiteral("--set"),
         QStringLiteral("output=") + m_tmp.filePath(QStringLiteral("estimate/measured")), QStringLiteral("--quiet")},
        &out);
    QVERIFY(demoMeasured > 0);
    qInfo("demo: estimated %.0f MiB, measured %.0f MiB", f.peak_mib, demoMeasured);
    QVERIFY2(std::fabs(f.peak_mib - demoMeasured) <= 0.25 * demoMeasured, qPrintable(estimate->memoryText()));

    // The bench's `small` shape (134 M parameters, seq 256, batch 4, rank 16) in fp32 and in bf16: the estimate
    // it prints for its shapes against its own process's peak.
    for (const QString precision : {QStringLiteral("fp32"), QStringLiteral("bf16")}) {
        const double smallMeasured = peakResidentMiB(
            {QStringLiteral("bench"), QStringLiteral("--preset"), QStringLiteral("small"), QStringLiteral("--seq"),
             QStringLiteral("256"), QStringLiteral("--batch"), QStringLiteral("4"), QStringLiteral("--rank"),
             QStringLiteral("16"), QStringLiteral("--steps"), QStringLiteral("1"), QStringLiteral("--warmup"),
             QStringLiteral("0"), QStringLiteral("--rounds"), QStringLiteral("1"), QStringLiteral("--only"),
             QStringLiteral("lora"), QStringLiteral("--stats-every"), QStringLiteral("0"), QStringLiteral("--precision"),
             precision, QStringLiteral("--json")},
            &out);
        QVERIFY(smallMeasured > 0);
        const QJsonObject row =
            QJsonDocument::fromJson(out.split(QLatin1Char('\n'), Qt::SkipEmptyParts).last().toUtf8()).object();
        const double smallEstimate = row.value(QStringLiteral("estimated_peak_mb")).toDouble();
        qInfo("small %s: estimated %.0f MiB, measured %.0f MiB", qPrintable(precision), smallEstimate, smallMeasured);
        QVERIFY2(std::fabs(smallEstimate - smallMeasured) <= 0.25 * smallMeasured, qPrintable(out));
    }

    // Time: a three-step warm-up of the form's run, scaled to its 500 steps.
    QSignalSpy measured(estimate, &EstimatePanel::timeMeasured);
    QVERIFY(estimate->measureTime());
    QVERIFY(!estimate->measureButton()->isEnabled());
    QVERIFY(measured.wait(kRunTimeoutMs));
    QVERIFY(estimate->secondsPerStep() > 0);
    QVERIFY2(estimate->timeText().contains(QStringLiteral("for 500 steps")), qPrintable(estimate->timeText()));
    QVERIFY(!QFileInfo::exists(QString::fromStdString(c.output)));  // the warm-up trains elsewhere
    // A changed form says the figure is stale.
    RunConfig bigger = w.config();
    bigger.train.batch_size = 16;
    w.setConfig(bigger);
    QTRY_VERIFY(estimate->timeText().contains(QStringLiteral("measure again")));
}

void TestUsability::presetsFillTheForm() {
    MainWindow w;
    RunConfig c = tinyRunConfig(m_tmp.filePath(QStringLiteral("train.jsonl")), m_tmp.filePath(QStringLiteral("preset")));
    c.train.batch_size = 4;
    c.train.grad_accum = 2;
    w.setConfig(c);
    QComboBox* box = w.estimatePanel()->presetBox();
    QCOMPARE(box->count(), int(droplora::config::run_presets().size()) + 1);
    const auto pick = [&](const QString& name) {
        const int i = box->findText(name);
        QVERIFY(i > 0);
        box->setCurrentIndex(i);
        emit box->activated(i);
        QCOMPARE(box->currentIndex(), 0);  // ready for the next pick
    };
    pick(QStringLiteral("Paper's settings"));
    RunConfig after = w.config();
    QCOMPARE(QString::fromStdString(after.adapter.method), QStringLiteral("droplora"));
    QCOMPARE(after.adapter.rank, int64_t{32});
    QCOMPARE(after.adapter.alpha, 64.0);
    QCOMPARE(after.adapter.drop_rate, 0.5);
    QCOMPARE(after.train.lr, 3e-4);
    QCOMPARE(after.adapter.targets, (std::vector<std::string>{"q_proj", "k_proj", "v_proj", "up_proj", "down_proj"}));
    QCOMPARE(after.output, c.output);  // the run folder and data stay
    QCOMPARE(after.data.train, c.data.train);
    pick(QStringLiteral("Low memory"));
    after = w.config();
    QCOMPARE(after.train.batch_size, int64_t{1});
    QCOMPARE(after.train.grad_accum, int64_t{8});
    QVERIFY(after.train.gradient_checkpointing);
    QCOMPARE(after.adapter.rank, int64_t{32});  // earlier picks stay
}

QTEST_MAIN(TestUsability)
#include "test_usability.moc"
