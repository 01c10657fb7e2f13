// MainWindow's run operations: open, overlay, start, resume, export and
// compare runs, and what happens when a run, an export or a comparison ends
// (the Summary tab). The window's construction is in mainwindow.cpp.
#include <QApplication>
#include <QDir>
#include <QDockWidget>
#include <QFileInfo>
#include <algorithm>
#include <exception>
#include <optional>

#include "channelheatmap.h"
#include "comparedialog.h"
#include "comparesession.h"
#include "dialogs.h"
#include "exportdialog.h"
#include "export/export_folder.h"
#include "exportjob.h"
#include "lossplot.h"
#include "mainwindow.h"
#include "modelpanel.h"
#include "numberedit.h"
#include "previewpanel.h"
#include "runspanel.h"
#include "runstatus.h"
#include "runsummary.h"
#include "runworkspace.h"
#include "subspaceplot.h"
#include "train/run_folder.h"
#include "train/metrics_log.h"
#include "trainingcontroller.h"
#include "trainingpanel.h"

#include <QStatusBar>
#include <QTabWidget>

namespace droplora::ui {

using droplora::train::RunOutcome;


bool MainWindow::openRunFolder(const QString& dir) {
    return loadRun(dir, -1);
}

bool MainWindow::loadRun(const QString& dir, qint64 untilStep) {
    if (m_controller->isRunning()) {
        Dialogs::error(this, tr("Open run"), tr("%1: stop the current run before opening another").arg(dir));
        return false;
    }
    QString error;
    QApplication::setOverrideCursor(Qt::WaitCursor);
    const auto run = m_workspace->openRun(dir, untilStep, &error);
    QApplication::restoreOverrideCursor();
    if (!run) {
        Dialogs::error(this, tr("Open run"), error);
        return false;
    }
    if (run->config) setConfig(*run->config);
    const auto& history = run->history;
    clearPlots();
    m_lossPlot->setHistory(QVector<droplora::train::StepMetrics>(history.steps.begin(), history.steps.end()),
                           QVector<droplora::train::EvalMetrics>(history.evals.begin(), history.evals.end()));
    m_subspace->setHistory(QVector<droplora::train::StatsSample>(history.stats.begin(), history.stats.end()));
    if (run->config)
        m_heatmap->setDropRate(run->config->adapter.method == "droplora" ? run->config->adapter.drop_rate : 0.0);
    if (!history.stats.empty()) m_heatmap->setSample(history.stats.back());
    m_status->showOpenedRun(run->lastStep, run->maxSteps, run->state);
    m_clearOnStart = false;
    m_runsPanel->addRecentRun(run->dir);
    appendLog(tr("opened run %1: %2 steps, %3 evaluations, %4 statistics samples")
                  .arg(run->dir)
                  .arg(history.steps.size())
                  .arg(history.evals.size())
                  .arg(history.stats.size()));
    if (history.bad_lines > 0)
        appendLog(tr("%1 unreadable lines in metrics.jsonl were skipped").arg(history.bad_lines));
    m_summary->showRun(run->dir, run->config.value_or(config()), history);
    updateActions();
    updateTitle();
    return true;
}

bool MainWindow::overlayRuns(const QStringList& dirs) {
    for (const QString& dir : dirs) {
        try {
            const auto history =
                droplora::train::read_metrics(droplora::run_folder::metrics_path(dir.toStdString()));
            QVector<double> steps, losses;
            for (const auto& m : history.steps) {
                steps.append(static_cast<double>(m.step));
                losses.append(m.loss);
            }
            m_lossPlot->addOverlay(QFileInfo(dir).fileName(), steps, losses);
        } catch (const std::exception& e) {
            Dialogs::error(this, tr("Overlay runs"), QString::fromUtf8(e.what()));
            return false;
        }
    }
    return true;
}

QString MainWindow::formProblem(int* tab) const {
    const auto found = [&](int index, const QString& what) {
        if (tab) *tab = index;
        return QStringLiteral("%1 tab: %2").arg(m_formTabs->tabText(index), what);
    };
    // Fields that show an error (red) come first: their text is not what the config holds.
    for (int i = 0; i < m_formTabs->count(); ++i) {
        QWidget* page = m_formTabs->widget(i);
        for (NumberEdit* edit : page->findChildren<NumberEdit*>())
            if (!edit->isTextValid() && edit->isEnabledTo(page)) return found(i, edit->problem());
    }
    if (!m_modelPanel->isModelValid()) {
        const QString error = m_modelPanel->errorText();
        return found(kModelTabIndex, error.isEmpty() ? tr("choose a model folder") : error);
    }
    try {
        droplora::config::validate(config(), "form");
    } catch (const std::exception& e) {
        const QString message = QString::fromUtf8(e.what());
        return found(tabOfConfigField(message), message);
    }
    if (tab) *tab = -1;
    return {};
}

QString MainWindow::freshRunFolder(const QString& dir) { return RunWorkspace::freshRunFolder(dir); }

bool MainWindow::startTraining() {
    if (m_controller->isRunning()) return false;
    int tab = -1;
    const QString problem = formProblem(&tab);
    if (!problem.isEmpty()) {
        if (tab >= 0) m_formTabs->setCurrentIndex(tab);
        Dialogs::error(this, tr("Start training"), problem);
        return false;
    }
    droplora::config::RunConfig cfg = config();
    // Last, once everything else is known to be right: a folder that already holds a run.
    QDir out(QDir::current().absoluteFilePath(QString::fromStdString(cfg.output)));
    if (RunWorkspace::holdsRun(out.absolutePath())) {
        const QString fresh = RunWorkspace::freshRunFolder(QString::fromStdString(cfg.output));
        const QString question =
            tr("%1 already holds a run.\n\nStart this run in a fresh folder, %2, or replace the run there "
               "(its metrics and checkpoints are overwritten)? Runs → Resume continues it instead.")
                .arg(QDir::toNativeSeparators(out.absolutePath()), QDir::toNativeSeparators(fresh));
        const int choice = Dialogs::choose(
            this, tr("Start training"), question,
            {tr("Start in %1").arg(QFileInfo(fresh).fileName()), tr("Replace the run"), tr("Cancel")}, 0);
        if (choice != 0 && choice != 1) return false;
        if (choice == 0) {
            cfg.output = fresh.toStdString();
            m_trainingPanel->setOutput(fresh);
            out.setPath(QDir::current().absoluteFilePath(fresh));
        }
    }
    // What is on screen stays until the run has really started (a failed start keeps it).
    m_clearOnStart = true;
    appendLog(tr("— new run into %1 —").arg(out.absolutePath()));
    m_workspace->startRun(cfg, m_trainingPanel->processes());
    updateActions();
    return true;
}

bool MainWindow::resumeRun(const QString& dir) {
    if (m_controller->isRunning()) return false;
    if (!RunsPanel::isRunFolder(dir)) {
        Dialogs::error(this, tr("Resume run"), tr("%1: not a run folder (no config.yaml)").arg(dir));
        return false;
    }
    if (!loadRun(dir, RunWorkspace::newestCheckpointStep(dir))) return false;
    // A checkpoint continues only in as many processes as trained it (docs/distributed.md).
    const int processes = RunWorkspace::processesForResume(dir, m_trainingPanel->processes());
    m_trainingPanel->setProcesses(processes);
    appendLog(processes > 1 ? tr("— resuming %1 in %2 processes, as its checkpoint was trained —").arg(dir).arg(processes)
                            : tr("— resuming %1 —").arg(dir));
    m_clearOnStart = false;  // the plots show the run up to its checkpoint and go on from there
    m_workspace->resumeRun(dir, config(), processes);
    updateActions();
    return true;
}

bool MainWindow::exportRun(droplora::exports::ExportFormat format, const QString& source, const QString& outDir,
                           const QString& ggufType) {
    if (m_exportJob->isRunning()) return false;
    if (source.isEmpty() || outDir.isEmpty()) {
        Dialogs::error(this, tr("Export"), tr("choose a run folder and an output folder first"));
        return false;
    }
    // The engine's own rules first: a folder it refuses is an error now, and one
    // that holds an earlier export is replaced only when the person says so.
    droplora::exports::ExportOptions options;
    options.gguf_type = ggufType.toStdString();
    QString refused;
    const bool replaces = RunWorkspace::exportWouldReplace(source, outDir, &refused);
    if (!refused.isEmpty()) {
        Dialogs::error(this, tr("Export"), refused);
        return false;
    }
    if (replaces) {
        if (!Dialogs::confirm(this, tr("Replace the export?"),
                              tr("%1 already holds an export. Replace it with this one?").arg(outDir)))
            return false;
        options.replace = true;
    }
    appendLog(tr("exporting the %1 of %2 to %3").arg(ExportJob::formatName(format), source, outDir));
    m_status->setBusy(tr("exporting…"));
    m_workspace->startExport(format, source, outDir, options);
    if (m_exportDialog) m_exportDialog->setBusy(true);
    updateActions();
    return true;
}

bool MainWindow::compareMethods() {
    if (m_controller->isRunning() || m_compare->isRunning()) return false;
    const QStringList occupied = RunWorkspace::comparisonFoldersInUse(config());
    if (!occupied.isEmpty() &&
        !Dialogs::confirm(this, tr("Compare"),
                          tr("%1 already hold runs. Train the comparison there (their metrics are replaced)?")
                              .arg(occupied.join(QStringLiteral(", ")))))
        return false;
    QString error;
    if (!m_workspace->startComparison(config(), &error)) {
        if (!error.isEmpty()) Dialogs::error(this, tr("Compare"), error);
        return false;
    }
    m_lossPlot->clearOverlays();
    showCompareDialog(QString());
    updateActions();
    return true;
}

bool MainWindow::compareRuns(const QStringList& dirs) {
    if (m_controller->isRunning() || m_compare->isRunning()) return false;
    if (!m_compare->compareRuns(dirs)) {
        Dialogs::error(this, tr("Compare"), m_compare->errorText());
        return false;
    }
    m_lossPlot->clearOverlays();
    overlayRuns(dirs);
    showCompareDialog(QString());
    updateActions();
    return true;
}

void MainWindow::showCompareDialog(const QString& note) {
    if (!m_compareDialog) m_compareDialog = new CompareDialog(this);
    m_compareDialog->setRows(m_compare->rows(), note);
    m_compareDialog->show();
    m_compareDialog->raise();
}

void MainWindow::onCompareFinished(bool ok, const QString& message) {
    updateActions();
    if (!ok) {
        // A failed run has already been reported by onFinished; a stop needs no dialog.
        appendLog(tr("compare stopped: %1").arg(message));
        return;
    }
    QStringList dirs;
    for (const auto& row : m_compare->rows())
        if (!row.isBase) dirs.append(row.runDir);
    m_lossPlot->clear();
    overlayRuns(dirs);
    if (!message.isEmpty()) appendLog(tr("compare: %1").arg(message));
    showCompareDialog(message);
}

void MainWindow::onExportFinished(bool ok, const QString& text) {
    m_status->clearBusy();
    updateActions();
    const bool inDialog = m_exportDialog && m_exportDialog->isVisible();
    if (m_exportDialog) {
        m_exportDialog->setBusy(false);
        m_exportDialog->showResult(ok, text, m_workspace->exportOutDir());
    }
    if (ok) {
        // The engine's summary names the folder, both losses and whether they agree.
        appendLog(text);
        // The Export window shows it with "open folder", "copy path" and how to load it.
        if (inDialog)
            Dialogs::note(Dialogs::Kind::Information, tr("Export finished"), text);
        else
            Dialogs::information(this, tr("Export finished"), text);
    } else {
        appendLog(tr("export failed: %1").arg(text));
        Dialogs::error(this, tr("Export failed"), text);
    }
    if (m_closeWhenIdle) QTimer::singleShot(0, this, &QWidget::close);
}

void MainWindow::onFinished(RunOutcome outcome, const QString& message) {
    appendLog(tr("run %1 at step %2").arg(outcomeName(outcome)).arg(m_controller->lastStep()));
    if (!m_controller->lastCheckpoint().isEmpty())
        appendLog(tr("last checkpoint: %1").arg(m_controller->lastCheckpoint()));
    // A run that failed before it started replaced nothing: the previous run stays on screen.
    const bool neverStarted = m_clearOnStart;
    m_clearOnStart = false;
    m_status->setFinished(outcome, m_controller->lastStep());
    if (!neverStarted) m_runsPanel->addRecentRun(m_controller->runDir());
    updateActions();
    // A comparison tables its own scores; a single finished run is scored here.
    if (!m_compare->isRunning() && !neverStarted)
        showSummary(m_controller->runDir(), outcome == RunOutcome::Finished && !m_closeWhenIdle);
    if (m_closeWhenIdle) {
        QTimer::singleShot(0, this, &QWidget::close);
        return;
    }
    if (!neverStarted) {
        const QString run = QDir(m_controller->runDir()).dirName();
        const qint64 step = m_controller->lastStep();
        QString text;
        switch (outcome) {
        case RunOutcome::Finished: text = tr("%1 finished at step %2").arg(run).arg(step); break;
        case RunOutcome::Cancelled: text = tr("%1 stopped at step %2; its checkpoint can be resumed").arg(run).arg(step); break;
        case RunOutcome::Failed: text = tr("%1 failed at step %2: %3").arg(run).arg(step).arg(message); break;
        }
        Dialogs::notify(this, tr("DropLoRA Workbench"), text);
    }
    if (outcome == RunOutcome::Failed) Dialogs::error(this, tr("Training failed"), message);
}

void MainWindow::showSummary(const QString& runDir, bool measure) {
    // Read as an opened run is, without making it the shown run.
    QString error;
    const auto run = RunWorkspace::readRun(runDir, -1, &error);
    if (!run) appendLog(error);
    m_summary->showRun(runDir, run && run->config ? *run->config : config(),
                       run ? run->history : droplora::train::MetricsHistory{});
    if (measure && m_summary->measure()) m_summaryDock->raise();
}

}  // namespace droplora::ui
