// The workbench for a working day, offscreen: the layout at a laptop's 1366×768 keeps every plot usable and the
// log collapsed, Start is blocked by a field with an error (naming its tab) and a reverted value says why, the
// question about a folder that already holds a run comes last and offers a fresh folder, the mouse wheel leaves
// an unfocused spin box alone, the gauges are cleared when a run stops and an opened run shows its steps, export
// waits for something to export, the runs table sorts by its numbers, and the heatmap's tooltip and caption.
// Message boxes are recorded (Dialogs), never shown.
#include <QtTest/QtTest>

#include <QAction>
#include <QComboBox>
#include <QDockWidget>
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

#include "adapterpanel.h"
#include "channelheatmap.h"
#include "config/run_config.h"
#include "datasetpanel.h"
#include "dialogs.h"
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
#include "trainingcontroller.h"
#include "trainingpanel.h"
#include "workbenchsettings.h"

using droplora::config::RunConfig;
using droplora::train::RunOutcome;
using namespace droplora::ui;
using namespace droplora::ui::testing;

namespace {

constexpr int kRunTimeoutMs = 120000;
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
    void exportDialogOffersGgufTypes();
    void formsOfferWhatTheSchemaAllows();
    void workspaceDecidesWithoutAWindow();

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

QTEST_MAIN(TestUsability)
#include "test_usability.moc"
