#include "mainwindow.h"

#include <QAction>
#include <QApplication>
#include <QCloseEvent>
#include <QDateTime>
#include <QDir>
#include <QDockWidget>
#include <QFileDialog>
#include <QFileInfo>
#include <QFontDatabase>
#include <QMenuBar>
#include <QPlainTextEdit>
#include <QScrollArea>
#include <QSplitter>
#include <QStatusBar>
#include <QStyle>
#include <QTabWidget>
#include <QTimer>
#include <QToolBar>
#include <algorithm>
#include <exception>
#include <optional>

#include "adapterpanel.h"
#include "channelheatmap.h"
#include "comparedialog.h"
#include "comparesession.h"
#include "datasetpanel.h"
#include "dialogs.h"
#include "exportjob.h"
#include "lossplot.h"
#include "modelpanel.h"
#include "previewpanel.h"
#include "runspanel.h"
#include "runstatus.h"
#include "runsummary.h"
#include "subspaceplot.h"
#include "train/metrics_log.h"
#include "trainingcontroller.h"
#include "trainingpanel.h"
#include "workbenchsettings.h"

namespace droplora::ui {

using droplora::train::RunOutcome;

namespace {

// The step of the newest checkpoint folder (checkpoints/step-NNNNNNNN), or -1 when there is none.
qint64 latestCheckpointStep(const QString& runDir) {
    qint64 latest = -1;
    const QDir checkpoints(QDir(runDir).filePath(QStringLiteral("checkpoints")));
    for (const QString& name : checkpoints.entryList({QStringLiteral("step-*")}, QDir::Dirs)) {
        bool ok = false;
        const qint64 step = name.mid(5).toLongLong(&ok);
        if (ok) latest = std::max(latest, step);
    }
    return latest;
}

QScrollArea* scrolled(QWidget* panel) {
    auto* area = new QScrollArea;
    area->setWidget(panel);
    area->setWidgetResizable(true);
    area->setFrameShape(QFrame::NoFrame);
    return area;
}

}  // namespace

MainWindow::MainWindow(QWidget* parent)
    : QMainWindow(parent),
      m_controller(new TrainingController(this)),
      m_exportJob(new ExportJob(this)),
      m_modelPanel(new ModelPanel),
      m_datasetPanel(new DatasetPanel),
      m_adapterPanel(new AdapterPanel),
      m_trainingPanel(new TrainingPanel),
      m_runsPanel(new RunsPanel),
      m_lossPlot(new LossPlot),
      m_heatmap(new ChannelHeatmap),
      m_subspace(new SubspacePlot),
      m_status(new RunStatus),
      m_previewPanel(new PreviewPanel),
      m_summary(new RunSummary),
      m_compare(new CompareSession(m_controller, this)) {
    setObjectName(QStringLiteral("DropLoRAWorkbench"));
    buildLayout();
    buildActions();
    connectController();

    connect(m_modelPanel, &ModelPanel::modelChanged, m_datasetPanel, &DatasetPanel::setModelDir);
    connect(m_trainingPanel, &TrainingPanel::maxSeqLenChanged, m_datasetPanel, &DatasetPanel::setMaxSeqLen);
    m_datasetPanel->setMaxSeqLen(m_trainingPanel->maxSeqLen());
    connect(m_heatmap, &ChannelHeatmap::moduleSelected, m_subspace, &SubspacePlot::setModule);
    connect(m_runsPanel, &RunsPanel::openRequested, this, &MainWindow::openRunFolder);
    connect(m_runsPanel, &RunsPanel::overlayRequested, this, &MainWindow::overlayRuns);
    connect(m_runsPanel, &RunsPanel::clearOverlaysRequested, m_lossPlot, &LossPlot::clearOverlays);
    connect(m_runsPanel, &RunsPanel::resumeRequested, this, &MainWindow::resumeRun);
    connect(m_exportJob, &ExportJob::progress, this, &MainWindow::appendLog);
    connect(m_exportJob, &ExportJob::succeeded, this, [this](const QString& s) { onExportFinished(true, s); });
    connect(m_exportJob, &ExportJob::failed, this, [this](const QString& s) { onExportFinished(false, s); });
    m_previewPanel->setSourceProvider([this] {
        PreviewPanel::Source source;
        source.modelDir = QString::fromStdString(config().model);
        source.runDir = m_currentRunDir;
        source.running = m_controller->isRunning() && m_controller->runDir() == m_currentRunDir;
        const auto form = config();
        source.examplesPath = QString::fromStdString(form.data.val);
        source.format = QString::fromStdString(form.data.format);
        source.templ = QString::fromStdString(form.data.templ);
        return source;
    });
    connect(m_summary, &RunSummary::logLine, this, &MainWindow::appendLog);
    connect(m_compare, &CompareSession::progress, this, &MainWindow::appendLog);
    connect(m_compare, &CompareSession::runStarting, this, [this](int, const QString& name, const QString& runDir) {
        clearPlots();
        m_status->reset();
        appendLog(tr("— compare: %1 run into %2 —").arg(name, runDir));
        m_currentRunDir = runDir;
        updateTitle();
    });
    connect(m_compare, &CompareSession::finished, this, &MainWindow::onCompareFinished);

    resize(1500, 950);
    restoreGeometry(WorkbenchSettings::windowGeometry());
    restoreState(WorkbenchSettings::windowState());
    updateActions();
    updateTitle();
}

MainWindow::~MainWindow() = default;

void MainWindow::buildLayout() {
    m_formTabs = new QTabWidget;
    m_formTabs->addTab(scrolled(m_modelPanel), tr("Model"));
    m_formTabs->addTab(m_datasetPanel, tr("Data"));
    m_formTabs->addTab(scrolled(m_adapterPanel), tr("Adapter"));
    m_formTabs->addTab(scrolled(m_trainingPanel), tr("Training"));
    m_formTabs->addTab(m_runsPanel, tr("Runs"));
    m_formTabs->setMinimumWidth(360);

    auto* lower = new QSplitter(Qt::Horizontal);
    lower->addWidget(m_heatmap);
    lower->addWidget(m_subspace);
    lower->setStretchFactor(0, 1);
    lower->setStretchFactor(1, 1);
    auto* plots = new QSplitter(Qt::Vertical);
    plots->addWidget(m_lossPlot);
    plots->addWidget(lower);
    plots->setStretchFactor(0, 1);
    plots->setStretchFactor(1, 1);
    // The loss plot gets as much height as the channel plots (their size hints would squash it).
    plots->setSizes({480, 480});
    lower->setSizes({460, 600});
    auto* central = new QSplitter(Qt::Horizontal);
    central->addWidget(m_formTabs);
    central->addWidget(plots);
    central->setStretchFactor(0, 0);
    central->setStretchFactor(1, 1);
    central->setSizes({440, 1060});
    central->setContentsMargins(4, 4, 4, 0);
    setCentralWidget(central);

    m_log = new QPlainTextEdit;
    m_log->setReadOnly(true);
    m_log->setMaximumBlockCount(5000);
    m_log->setFont(QFontDatabase::systemFont(QFontDatabase::FixedFont));
    auto* dock = new QDockWidget(tr("Log"), this);
    dock->setObjectName(QStringLiteral("LogDock"));
    dock->setWidget(m_log);
    dock->setFeatures(QDockWidget::DockWidgetMovable | QDockWidget::DockWidgetFloatable |
                      QDockWidget::DockWidgetClosable);
    addDockWidget(Qt::BottomDockWidgetArea, dock);
    auto* previewDock = new QDockWidget(tr("Preview"), this);
    previewDock->setObjectName(QStringLiteral("PreviewDock"));
    previewDock->setWidget(m_previewPanel);
    previewDock->setFeatures(dock->features());
    addDockWidget(Qt::BottomDockWidgetArea, previewDock);
    m_summaryDock = new QDockWidget(tr("Summary"), this);
    m_summaryDock->setObjectName(QStringLiteral("SummaryDock"));
    m_summaryDock->setWidget(m_summary);
    m_summaryDock->setFeatures(dock->features());
    addDockWidget(Qt::BottomDockWidgetArea, m_summaryDock);
    tabifyDockWidget(dock, m_summaryDock);
    tabifyDockWidget(dock, previewDock);
    dock->raise();
    resizeDocks({dock}, {150}, Qt::Vertical);
    statusBar()->addPermanentWidget(m_status);
}

void MainWindow::buildActions() {
    QMenu* file = menuBar()->addMenu(tr("&File"));
    file->addAction(tr("&Open run file…"), QKeySequence::Open, this, &MainWindow::chooseAndOpenRunFile);
    m_recentFilesMenu = file->addMenu(tr("Recent run files"));
    file->addAction(tr("&Save run file…"), QKeySequence::Save, this, &MainWindow::chooseAndSaveRunFile);
    file->addSeparator();
    m_openRunFolderAction = file->addAction(tr("Open run &folder…"), this, &MainWindow::chooseAndOpenRunFolder);
    m_recentRunsMenu = file->addMenu(tr("Recent runs"));
    file->addSeparator();
    m_exportPeftAction = file->addAction(tr("&Export adapter…"), this,
                                         [this] { chooseAndExport(droplora::io::ExportFormat::Peft); });
    m_exportMergedAction = file->addAction(tr("Export &merged model…"), this,
                                           [this] { chooseAndExport(droplora::io::ExportFormat::Merged); });
    m_cancelExportAction = file->addAction(tr("Cancel export"), m_exportJob, &ExportJob::cancel);
    file->addSeparator();
    file->addAction(tr("&Quit"), QKeySequence::Quit, this, &QWidget::close);
    connect(m_recentFilesMenu, &QMenu::aboutToShow, this, &MainWindow::rebuildRecentMenus);
    connect(m_recentRunsMenu, &QMenu::aboutToShow, this, &MainWindow::rebuildRecentMenus);

    QMenu* run = menuBar()->addMenu(tr("&Run"));
    m_startAction = run->addAction(style()->standardIcon(QStyle::SP_MediaPlay), tr("Start"), this,
                                   &MainWindow::startTraining);
    m_startAction->setShortcut(Qt::Key_F5);
    m_pauseAction = run->addAction(style()->standardIcon(QStyle::SP_MediaPause), tr("Pause"), this, [this] {
        if (m_controller->state() == TrainingController::State::Paused) {
            m_controller->resume();
            appendLog(tr("resumed"));
        } else {
            m_controller->pause();
            appendLog(tr("pausing after the current step"));
        }
    });
    m_pauseAction->setShortcut(Qt::Key_F6);
    m_stopAction = run->addAction(style()->standardIcon(QStyle::SP_MediaStop), tr("Stop"), this, [this] {
        m_controller->stop();
        appendLog(tr("stopping after the current step; a checkpoint will be written"));
    });
    m_stopAction->setShortcut(Qt::SHIFT | Qt::Key_F5);
    run->addSeparator();
    m_compareAction = run->addAction(tr("&Compare LoRA vs DropLoRA"), this, &MainWindow::compareMethods);

    QToolBar* bar = addToolBar(tr("Run"));
    bar->setObjectName(QStringLiteral("RunToolBar"));
    bar->setToolButtonStyle(Qt::ToolButtonTextBesideIcon);
    bar->addAction(m_startAction);
    bar->addAction(m_pauseAction);
    bar->addAction(m_stopAction);

    QMenu* view = menuBar()->addMenu(tr("&View"));
    for (QDockWidget* dock : findChildren<QDockWidget*>()) view->addAction(dock->toggleViewAction());
    view->addAction(bar->toggleViewAction());
}

void MainWindow::connectController() {
    connect(m_controller, &TrainingController::stateChanged, this, &MainWindow::updateActions);
    connect(m_controller, &TrainingController::started, this, [this](qint64 maxSteps, qint64 startStep) {
        m_status->setStarted(maxSteps, startStep);
        // config.yaml exists now, so the run folder lists.
        m_runsPanel->addRecentRun(m_controller->runDir());
    });
    connect(m_controller, &TrainingController::stepReported, m_lossPlot, &LossPlot::addStep);
    connect(m_controller, &TrainingController::stepReported, m_status, &RunStatus::setStep);
    connect(m_controller, &TrainingController::evalReported, m_lossPlot, &LossPlot::addEval);
    connect(m_controller, &TrainingController::evalReported, this, [this](const droplora::train::EvalMetrics& e) {
        appendLog(tr("step %1: validation loss %2, perplexity %3").arg(e.step).arg(e.loss, 0, 'f', 4).arg(e.perplexity, 0, 'f', 2));
    });
    connect(m_controller, &TrainingController::statsReported, m_heatmap, &ChannelHeatmap::setSample);
    connect(m_controller, &TrainingController::statsReported, m_subspace, &SubspacePlot::addSample);
    connect(m_controller, &TrainingController::logLine, this, &MainWindow::appendLog);
    connect(m_controller, &TrainingController::checkpointSaved, this, [this](const QString& dir, qint64 step) {
        statusBar()->showMessage(tr("checkpoint at step %1: %2").arg(step).arg(dir), 5000);
    });
    connect(m_controller, &TrainingController::finished, this, &MainWindow::onFinished);
}

droplora::config::RunConfig MainWindow::config() const {
    droplora::config::RunConfig cfg;
    m_modelPanel->applyTo(cfg);
    m_datasetPanel->applyTo(cfg);
    m_adapterPanel->applyTo(cfg);
    m_trainingPanel->applyTo(cfg);
    return cfg;
}

void MainWindow::setConfig(const droplora::config::RunConfig& config) {
    m_modelPanel->setConfig(config);
    m_datasetPanel->setConfig(config);
    m_adapterPanel->setConfig(config);
    m_trainingPanel->setConfig(config);
}

bool MainWindow::openRunFile(const QString& path) {
    try {
        setConfig(droplora::config::load_run_config(path.toStdString()));
    } catch (const std::exception& e) {
        Dialogs::error(this, tr("Open run file"), QString::fromUtf8(e.what()));
        return false;
    }
    m_runFile = QFileInfo(path).absoluteFilePath();
    WorkbenchSettings::addRecentRunFile(m_runFile);
    appendLog(tr("run file %1 loaded").arg(m_runFile));
    updateTitle();
    return true;
}

bool MainWindow::saveRunFile(const QString& path) {
    try {
        droplora::config::save_run_config(config(), path.toStdString());
    } catch (const std::exception& e) {
        Dialogs::error(this, tr("Save run file"), QString::fromUtf8(e.what()));
        return false;
    }
    m_runFile = QFileInfo(path).absoluteFilePath();
    WorkbenchSettings::addRecentRunFile(m_runFile);
    appendLog(tr("run file saved to %1").arg(m_runFile));
    updateTitle();
    return true;
}

bool MainWindow::openRunFolder(const QString& dir) { return loadRun(dir, -1); }

bool MainWindow::loadRun(const QString& dir, qint64 untilStep) {
    if (m_controller->isRunning()) {
        Dialogs::error(this, tr("Open run"), tr("%1: stop the current run before opening another").arg(dir));
        return false;
    }
    const QDir run(dir);
    std::optional<droplora::config::RunConfig> runConfig;
    droplora::train::MetricsHistory history;
    try {
        if (run.exists(QStringLiteral("config.yaml")))
            runConfig = droplora::config::load_run_config(run.filePath(QStringLiteral("config.yaml")).toStdString());
        QApplication::setOverrideCursor(Qt::WaitCursor);
        history = droplora::train::read_metrics(run.filePath(QStringLiteral("metrics.jsonl")).toStdString());
        QApplication::restoreOverrideCursor();
    } catch (const std::exception& e) {
        QApplication::restoreOverrideCursor();
        Dialogs::error(this, tr("Open run"), QString::fromUtf8(e.what()));
        return false;
    }
    if (runConfig) setConfig(*runConfig);
    if (untilStep >= 0) {
        // What a resume keeps: the rows up to its checkpoint (MetricsLog drops the later ones).
        const auto after = [untilStep](const auto& row) { return row.step > untilStep; };
        history.steps.erase(std::remove_if(history.steps.begin(), history.steps.end(), after), history.steps.end());
        history.evals.erase(std::remove_if(history.evals.begin(), history.evals.end(), after), history.evals.end());
        history.stats.erase(std::remove_if(history.stats.begin(), history.stats.end(), after), history.stats.end());
    }
    clearPlots();
    m_lossPlot->setHistory(QVector<droplora::train::StepMetrics>(history.steps.begin(), history.steps.end()),
                           QVector<droplora::train::EvalMetrics>(history.evals.begin(), history.evals.end()));
    m_subspace->setHistory(QVector<droplora::train::StatsSample>(history.stats.begin(), history.stats.end()));
    if (!history.stats.empty()) m_heatmap->setSample(history.stats.back());
    if (!history.steps.empty()) m_status->setStep(history.steps.back());
    m_currentRunDir = QDir::cleanPath(run.absolutePath());
    m_runsPanel->addRecentRun(m_currentRunDir);
    appendLog(tr("opened run %1: %2 steps, %3 evaluations, %4 statistics samples")
                  .arg(m_currentRunDir)
                  .arg(history.steps.size())
                  .arg(history.evals.size())
                  .arg(history.stats.size()));
    if (history.bad_lines > 0) appendLog(tr("%1 unreadable lines in metrics.jsonl were skipped").arg(history.bad_lines));
    showSummary(m_currentRunDir, false);
    updateActions();
    updateTitle();
    return true;
}

bool MainWindow::overlayRuns(const QStringList& dirs) {
    for (const QString& dir : dirs) {
        try {
            const auto history =
                droplora::train::read_metrics(QDir(dir).filePath(QStringLiteral("metrics.jsonl")).toStdString());
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

bool MainWindow::startTraining() {
    if (m_controller->isRunning()) return false;
    const droplora::config::RunConfig cfg = config();
    try {
        droplora::config::validate(cfg, "form");
    } catch (const std::exception& e) {
        Dialogs::error(this, tr("Start training"), QString::fromUtf8(e.what()));
        return false;
    }
    const QDir out(QDir::current().absoluteFilePath(QString::fromStdString(cfg.output)));
    if (out.exists(QStringLiteral("checkpoints")) || out.exists(QStringLiteral("metrics.jsonl"))) {
        const QString question = tr("%1 already holds a run. Start a new run there (its metrics are replaced)?\n"
                                    "Use Runs → Resume to continue it instead.")
                                     .arg(out.absolutePath());
        if (!Dialogs::confirm(this, tr("Start training"), question)) return false;
    }
    clearPlots();
    m_status->reset();
    appendLog(tr("— new run into %1 —").arg(out.absolutePath()));
    m_controller->start(cfg);
    m_currentRunDir = m_controller->runDir();
    updateActions();
    return true;
}

bool MainWindow::resumeRun(const QString& dir) {
    if (m_controller->isRunning()) return false;
    if (!RunsPanel::isRunFolder(dir)) {
        Dialogs::error(this, tr("Resume run"), tr("%1: not a run folder (no config.yaml)").arg(dir));
        return false;
    }
    if (!loadRun(dir, latestCheckpointStep(dir))) return false;
    appendLog(tr("— resuming %1 —").arg(dir));
    m_controller->start(config(), dir);
    m_currentRunDir = m_controller->runDir();
    updateActions();
    return true;
}

bool MainWindow::exportRun(droplora::io::ExportFormat format, const QString& source, const QString& outDir) {
    if (m_exportJob->isRunning()) return false;
    if (source.isEmpty() || outDir.isEmpty()) {
        Dialogs::error(this, tr("Export"), tr("choose a run folder and an output folder first"));
        return false;
    }
    appendLog(tr("exporting the %1 of %2 to %3").arg(ExportJob::formatName(format), source, outDir));
    m_status->setBusy(tr("exporting…"));
    m_exportJob->start(source, format, outDir);
    updateActions();
    return true;
}

bool MainWindow::compareMethods() {
    if (m_controller->isRunning() || m_compare->isRunning()) return false;
    QStringList occupied;
    for (const auto& row : CompareSession::plan(config())) {
        const QDir out(row.runDir);
        if (out.exists(QStringLiteral("checkpoints")) || out.exists(QStringLiteral("metrics.jsonl")))
            occupied.append(row.runDir);
    }
    if (!occupied.isEmpty() &&
        !Dialogs::confirm(this, tr("Compare"),
                          tr("%1 already hold runs. Train the comparison there (their metrics are replaced)?")
                              .arg(occupied.join(QStringLiteral(", ")))))
        return false;
    if (!m_compare->start(config())) {
        Dialogs::error(this, tr("Compare"), m_compare->errorText());
        return false;
    }
    m_lossPlot->clearOverlays();
    updateActions();
    return true;
}

void MainWindow::onCompareFinished(bool ok, const QString& message) {
    updateActions();
    if (!ok) {
        // A failed run has already been reported by onFinished; a stop needs no dialog.
        appendLog(tr("compare stopped: %1").arg(message));
        return;
    }
    QStringList dirs;
    for (const auto& row : m_compare->rows()) dirs.append(row.runDir);
    m_lossPlot->clear();
    overlayRuns(dirs);
    if (!message.isEmpty()) appendLog(tr("compare: %1").arg(message));
    if (!m_compareDialog) m_compareDialog = new CompareDialog(this);
    m_compareDialog->setRows(m_compare->rows(), message);
    m_compareDialog->show();
    m_compareDialog->raise();
}

void MainWindow::onExportFinished(bool ok, const QString& text) {
    m_status->clearBusy();
    updateActions();
    if (ok) {
        // The engine's summary names the folder, both losses and whether they agree.
        appendLog(text);
        Dialogs::information(this, tr("Export finished"), text);
    } else {
        appendLog(tr("export failed: %1").arg(text));
        Dialogs::error(this, tr("Export failed"), text);
    }
    if (m_closeWhenIdle) QTimer::singleShot(0, this, &QWidget::close);
}

void MainWindow::onFinished(RunOutcome outcome, const QString& message) {
    appendLog(tr("run %1 at step %2").arg(outcomeName(outcome)).arg(m_controller->lastStep()));
    if (!m_controller->lastCheckpoint().isEmpty()) appendLog(tr("last checkpoint: %1").arg(m_controller->lastCheckpoint()));
    m_runsPanel->addRecentRun(m_controller->runDir());
    updateActions();
    // A comparison tables its own scores; a single finished run is scored here.
    if (!m_compare->isRunning()) showSummary(m_controller->runDir(), outcome == RunOutcome::Finished && !m_closeWhenIdle);
    if (m_closeWhenIdle) {
        QTimer::singleShot(0, this, &QWidget::close);
        return;
    }
    if (outcome == RunOutcome::Failed) Dialogs::error(this, tr("Training failed"), message);
}

void MainWindow::showSummary(const QString& runDir, bool measure) {
    droplora::config::RunConfig runConfig = config();
    const QString file = QDir(runDir).filePath(QStringLiteral("config.yaml"));
    try {
        if (QFileInfo::exists(file)) runConfig = droplora::config::load_run_config(file.toStdString());
    } catch (const std::exception& e) {
        appendLog(QString::fromUtf8(e.what()));
    }
    m_summary->showRun(runDir, runConfig);
    if (measure && m_summary->measure()) m_summaryDock->raise();
}

void MainWindow::appendLog(const QString& line) {
    m_log->appendPlainText(QDateTime::currentDateTime().toString(QStringLiteral("HH:mm:ss  ")) + line);
}

QString MainWindow::logText() const { return m_log->toPlainText(); }

void MainWindow::clearPlots() {
    m_summary->clear();
    m_lossPlot->clear();
    m_heatmap->clear();
    m_subspace->clear();
}

void MainWindow::updateActions() {
    const auto state = m_controller->state();
    const bool idle = state == TrainingController::State::Idle;
    const bool exporting = m_exportJob->isRunning();
    const bool comparing = m_compare->isRunning();
    m_startAction->setEnabled(idle && !comparing && !m_closeWhenIdle);
    m_compareAction->setEnabled(idle && !comparing && !m_closeWhenIdle);
    m_pauseAction->setEnabled(state == TrainingController::State::Running ||
                              state == TrainingController::State::Paused);
    const bool paused = state == TrainingController::State::Paused;
    m_pauseAction->setText(paused ? tr("Resume") : tr("Pause"));
    m_pauseAction->setIcon(style()->standardIcon(paused ? QStyle::SP_MediaPlay : QStyle::SP_MediaPause));
    m_stopAction->setEnabled(state == TrainingController::State::Running || paused);
    m_exportPeftAction->setEnabled(idle && !exporting);
    m_exportMergedAction->setEnabled(idle && !exporting);
    m_cancelExportAction->setEnabled(exporting);
    m_openRunFolderAction->setEnabled(idle && !comparing);
    // The form describes the running run; it is edited between runs.
    for (int i = 0; i < m_formTabs->count() - 1; ++i) m_formTabs->widget(i)->setEnabled(idle);
    if (state == TrainingController::State::Stopping) statusBar()->showMessage(tr("stopping — writing a checkpoint…"));
    else if (paused) statusBar()->showMessage(tr("paused"));
    else statusBar()->clearMessage();
}

void MainWindow::updateTitle() {
    QString title = tr("DropLoRA Workbench");
    if (!m_runFile.isEmpty()) title += QStringLiteral(" — ") + QFileInfo(m_runFile).fileName();
    if (!m_currentRunDir.isEmpty()) title += QStringLiteral(" — run ") + QFileInfo(m_currentRunDir).fileName();
    setWindowTitle(title);
}

void MainWindow::rebuildRecentMenus() {
    m_recentFilesMenu->clear();
    for (const QString& path : WorkbenchSettings::recentRunFiles())
        m_recentFilesMenu->addAction(path, this, [this, path] { openRunFile(path); });
    m_recentFilesMenu->setEnabled(true);
    m_recentRunsMenu->clear();
    for (const QString& dir : WorkbenchSettings::recentRuns())
        m_recentRunsMenu->addAction(dir, this, [this, dir] { openRunFolder(dir); });
}

void MainWindow::chooseAndOpenRunFile() {
    const QString path = QFileDialog::getOpenFileName(this, tr("Open run file"), WorkbenchSettings::lastFolder("runfile"),
                                                      tr("Run files (*.yaml *.yml);;All files (*)"));
    if (path.isEmpty()) return;
    WorkbenchSettings::setLastFolder(QStringLiteral("runfile"), QFileInfo(path).absolutePath());
    openRunFile(path);
}

void MainWindow::chooseAndSaveRunFile() {
    const QString start = m_runFile.isEmpty() ? QDir(WorkbenchSettings::lastFolder("runfile")).filePath("run.yaml") : m_runFile;
    QString path = QFileDialog::getSaveFileName(this, tr("Save run file"), start, tr("Run files (*.yaml *.yml)"));
    if (path.isEmpty()) return;
    if (QFileInfo(path).suffix().isEmpty()) path += QStringLiteral(".yaml");
    WorkbenchSettings::setLastFolder(QStringLiteral("runfile"), QFileInfo(path).absolutePath());
    saveRunFile(path);
}

void MainWindow::chooseAndOpenRunFolder() {
    const QString dir = QFileDialog::getExistingDirectory(this, tr("Open run folder"), WorkbenchSettings::lastFolder("run"));
    if (dir.isEmpty()) return;
    WorkbenchSettings::setLastFolder(QStringLiteral("run"), dir);
    openRunFolder(dir);
}

void MainWindow::chooseAndExport(droplora::io::ExportFormat format) {
    QString source = m_currentRunDir;
    if (source.isEmpty()) {
        source = QFileDialog::getExistingDirectory(this, tr("Run or checkpoint folder to export"),
                                                   WorkbenchSettings::lastFolder("run"));
        if (source.isEmpty()) return;
    }
    const QString suggested =
        QDir(source).filePath(format == droplora::io::ExportFormat::Peft ? QStringLiteral("export-peft")
                                                                          : QStringLiteral("export-merged"));
    const QString outDir = QFileDialog::getSaveFileName(
        this, tr("Export %1 of %2 into the folder").arg(ExportJob::formatName(format), QFileInfo(source).fileName()),
        suggested, QString(), nullptr, QFileDialog::ShowDirsOnly | QFileDialog::DontConfirmOverwrite);
    if (outDir.isEmpty()) return;
    exportRun(format, source, outDir);
}

void MainWindow::closeEvent(QCloseEvent* event) {
    if (m_controller->isRunning() || m_exportJob->isRunning()) {
        event->ignore();
        if (m_closeWhenIdle) return;  // already stopping
        const bool training = m_controller->isRunning();
        const QString question = training ? tr("A training run is going. Stop it (a checkpoint is written) and quit?")
                                          : tr("An export is going. Cancel it and quit?");
        if (!Dialogs::confirm(this, tr("Quit"), question)) return;
        m_closeWhenIdle = true;
        if (training) {
            m_controller->stop();
            appendLog(tr("stopping before quitting; a checkpoint will be written"));
        }
        if (m_exportJob->isRunning()) m_exportJob->cancel();
        m_compare->cancel();
        updateActions();
        return;
    }
    WorkbenchSettings::setWindow(saveGeometry(), saveState());
    event->accept();
}

}  // namespace droplora::ui
