#include "mainwindow.h"

#include <QAction>
#include <QActionGroup>
#include <QApplication>
#include <QCloseEvent>
#include <QDateTime>
#include <QDir>
#include <QDesktopServices>
#include <QDockWidget>
#include <QFileDialog>
#include <QFormLayout>
#include <QLabel>
#include <QMessageBox>
#include <QScreen>
#include <QToolButton>
#include <QUrl>
#include <QFileInfo>
#include <QFontDatabase>
#include <QMenuBar>
#include <QPlainTextEdit>
#include <QScrollArea>
#include <QSplitter>
#include <QStatusBar>
#include <QStyle>
#include <QGroupBox>
#include <QTabWidget>
#include <QVBoxLayout>
#include <QTimer>
#include <QToolBar>
#include <algorithm>
#include <exception>
#include <optional>

#include "adapterpanel.h"
#include "common/install_paths.h"
#include "channelheatmap.h"
#include "comparedialog.h"
#include "config/run_presets.h"
#include "estimatepanel.h"
#include "comparesession.h"
#include "datasetpanel.h"
#include "dialogs.h"
#include "exportdialog.h"
#include "exportformats.h"
#include "exportjob.h"
#include "lossplot.h"
#include "numberedit.h"
#include "modelpanel.h"
#include "previewpanel.h"
#include "runspanel.h"
#include "runstatus.h"
#include "runworkspace.h"
#include "runsummary.h"
#include "subspaceplot.h"
#include "theme.h"
#include "train/metrics_log.h"
#include "trainingcontroller.h"
#include "trainingpanel.h"
#include "wheelguard.h"
#include "workbenchsettings.h"

namespace droplora::ui {

using droplora::train::RunOutcome;

namespace {

constexpr int kMinLossPlotHeight = 200;

// The form's tabs, in order (formProblem() names them).
enum FormTab { kModelTab = 0, kDataTab, kAdapterTab, kTrainingTab, kRunsTab };

}  // namespace

// The tab of the field a config error names ("form: adapter.rank: …").
int MainWindow::tabOfConfigField(const QString& message) {
    for (const char* f : {"data.max_seq_len", "data.val_fraction", "train.", "output", "device", "precision"})
        if (message.contains(QLatin1String(f))) return kTrainingTab;
    if (message.contains(QLatin1String("adapter."))) return kAdapterTab;
    if (message.contains(QLatin1String("data."))) return kDataTab;
    return kModelTab;
}

namespace {

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
      m_workspace(new RunWorkspace(this)),
      m_controller(m_workspace->controller()),
      m_exportJob(m_workspace->exportJob()),
      m_modelPanel(new ModelPanel),
      m_datasetPanel(new DatasetPanel),
      m_adapterPanel(new AdapterPanel),
      m_trainingPanel(new TrainingPanel),
      m_estimatePanel(new EstimatePanel),
      m_runsPanel(new RunsPanel),
      m_lossPlot(new LossPlot),
      m_heatmap(new ChannelHeatmap),
      m_subspace(new SubspacePlot),
      m_status(new RunStatus),
      m_previewPanel(new PreviewPanel),
      m_summary(new RunSummary),
      m_compare(m_workspace->compareSession()) {
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
        source.runDir = currentRunDir();
        source.running = m_controller->isRunning() && m_controller->runDir() == currentRunDir();
        const auto form = config();
        source.examplesPath = QString::fromStdString(form.data.val);
        source.format = QString::fromStdString(form.data.format);
        source.templ = QString::fromStdString(form.data.templ);
        return source;
    });
    connect(m_previewPanel, &PreviewPanel::liveAdapterWanted, this, [this] {
        if (!m_controller->requestSnapshot()) m_previewPanel->useLiveAdapter(QString(), m_controller->lastStep());
    });
    connect(m_controller, &TrainingController::snapshotTaken, m_previewPanel, &PreviewPanel::useLiveAdapter);
    connect(m_summary, &RunSummary::logLine, this, &MainWindow::appendLog);
    connect(m_compare, &CompareSession::progress, this, &MainWindow::appendLog);
    connect(m_compare, &CompareSession::runStarting, this, [this](int, const QString& name, const QString& runDir) {
        m_clearOnStart = false;
        clearPlots();
        m_status->reset();
        appendLog(tr("— compare: %1 run into %2 —").arg(name, runDir));
        m_workspace->setCurrentRunDir(runDir);
        updateTitle();
    });
    connect(m_compare, &CompareSession::finished, this, &MainWindow::onCompareFinished);
    connect(m_compare, &CompareSession::rowsChanged, this, [this] {
        if (m_compareDialog && m_compare->isRunning()) m_compareDialog->setRows(m_compare->rows(), QString());
    });
    connect(m_runsPanel, &RunsPanel::compareRequested, this, &MainWindow::compareRuns);

    // Fields with an error block Start; a value put back says why.
    const QList<QFormLayout*> forms = m_formTabs->findChildren<QFormLayout*>();
    for (NumberEdit* edit : m_formTabs->findChildren<NumberEdit*>()) {
        for (QFormLayout* form : forms)
            if (auto* label = qobject_cast<QLabel*>(form->labelForField(edit))) edit->setLabel(label->text());
        connect(edit, &NumberEdit::validityChanged, this, &MainWindow::updateActions);
        connect(edit, &NumberEdit::reverted, this, [this](const QString& why) {
            statusBar()->showMessage(why, 10000);
            appendLog(why);
        });
    }
    connect(m_modelPanel, &ModelPanel::changed, this, &MainWindow::updateActions);
    connect(m_modelPanel, &ModelPanel::modelChanged, this, &MainWindow::updateActions);
    connect(m_datasetPanel, &DatasetPanel::changed, this, &MainWindow::updateActions);
    connect(m_adapterPanel, &AdapterPanel::changed, this, &MainWindow::updateActions);
    connect(m_trainingPanel, &TrainingPanel::changed, this, &MainWindow::updateActions);
    connect(m_datasetPanel, &DatasetPanel::scanned, this, &MainWindow::updateActions);
    connect(m_estimatePanel, &EstimatePanel::presetChosen, this, [this](const QString& name) {
        for (const auto& preset : droplora::config::run_presets()) {
            if (QString::fromStdString(preset.name) != name) continue;
            auto form = config();
            preset.apply(form);
            setConfig(form);
            statusBar()->showMessage(tr("preset “%1”: %2").arg(name, QString::fromStdString(preset.description)), 10000);
        }
    });
    WheelGuard::install(m_formTabs);

    restoreLayout();
    updateActions();
    updateTitle();
}

MainWindow::~MainWindow() = default;

void MainWindow::buildLayout() {
    m_formTabs = new QTabWidget;
    m_formTabs->addTab(scrolled(m_modelPanel), tr("Model"));
    // Every page scrolls, so no form sets the window's minimum height (a 1366×768
    // laptop leaves 738 px; tests/ui/test_usability.cpp layoutFitsLaptop).
    m_formTabs->addTab(scrolled(m_datasetPanel), tr("Data"));
    m_formTabs->addTab(scrolled(m_adapterPanel), tr("Adapter"));
    auto* trainingPage = new QWidget;
    auto* trainingLayout = new QVBoxLayout(trainingPage);
    auto* before = new QGroupBox(tr("Before you start"));
    before->setObjectName(QStringLiteral("BeforeYouStart"));
    (new QVBoxLayout(before))->addWidget(m_estimatePanel);
    trainingLayout->addWidget(before);
    trainingLayout->addWidget(m_trainingPanel);
    trainingLayout->addStretch(1);
    m_formTabs->addTab(scrolled(trainingPage), tr("Training"));
    m_formTabs->addTab(m_runsPanel, tr("Runs"));
    m_formTabs->setMinimumWidth(320);

    auto* lower = new QSplitter(Qt::Horizontal);
    lower->setObjectName(QStringLiteral("LowerSplitter"));
    lower->addWidget(m_heatmap);
    lower->addWidget(m_subspace);
    lower->setStretchFactor(0, 1);
    lower->setStretchFactor(1, 1);
    auto* plots = new QSplitter(Qt::Vertical);
    plots->setObjectName(QStringLiteral("PlotsSplitter"));
    plots->addWidget(m_lossPlot);
    plots->addWidget(lower);
    plots->setStretchFactor(0, 1);
    plots->setStretchFactor(1, 1);
    // No plot collapses to a sliver: the splitter stops at each plot's minimum size.
    plots->setChildrenCollapsible(false);
    lower->setChildrenCollapsible(false);
    m_lossPlot->setMinimumHeight(kMinLossPlotHeight);
    m_heatmap->setMinimumSize(240, 200);
    m_subspace->setMinimumSize(300, 200);
    // The loss plot gets as much height as the channel plots (their size hints would squash it).
    plots->setSizes({480, 480});
    lower->setSizes({460, 600});
    auto* central = new QSplitter(Qt::Horizontal);
    central->setObjectName(QStringLiteral("CentralSplitter"));
    central->setChildrenCollapsible(false);
    m_centralSplitter = central;
    m_plotsSplitter = plots;
    m_lowerSplitter = lower;
    central->addWidget(m_formTabs);
    central->addWidget(plots);
    central->setStretchFactor(0, 0);
    central->setStretchFactor(1, 1);
    central->setSizes({400, 1000});
    central->setContentsMargins(4, 4, 4, 0);
    setCentralWidget(central);

    m_log = new QPlainTextEdit;
    m_log->setReadOnly(true);
    m_log->setMaximumBlockCount(5000);
    m_log->setFont(QFontDatabase::systemFont(QFontDatabase::FixedFont));
    auto* dock = new QDockWidget(tr("Log"), this);
    m_logDock = dock;
    dock->setObjectName(QStringLiteral("LogDock"));
    dock->setWidget(m_log);
    dock->setFeatures(QDockWidget::DockWidgetMovable | QDockWidget::DockWidgetFloatable |
                      QDockWidget::DockWidgetClosable);
    addDockWidget(Qt::BottomDockWidgetArea, dock);
    auto* previewDock = new QDockWidget(tr("Preview"), this);
    previewDock->setObjectName(QStringLiteral("PreviewDock"));
    previewDock->setWidget(scrolled(m_previewPanel));  // its text boxes would otherwise set the window's minimum height
    previewDock->setFeatures(dock->features());
    addDockWidget(Qt::BottomDockWidgetArea, previewDock);
    m_summaryDock = new QDockWidget(tr("Summary"), this);
    m_summaryDock->setObjectName(QStringLiteral("SummaryDock"));
    m_summaryDock->setWidget(m_summary);
    m_summaryDock->setFeatures(dock->features());
    addDockWidget(Qt::BottomDockWidgetArea, m_summaryDock);
    tabifyDockWidget(dock, m_summaryDock);
    tabifyDockWidget(dock, previewDock);
    previewDock->raise();
    resizeDocks({previewDock}, {170}, Qt::Vertical);
    // The log starts collapsed: its newest line sits in the status bar, the Log button opens it.
    dock->hide();
    m_logToggle = new QToolButton;
    m_logToggle->setDefaultAction(dock->toggleViewAction());
    m_logToggle->setToolButtonStyle(Qt::ToolButtonTextOnly);
    m_logToggle->setAutoRaise(true);
    dock->toggleViewAction()->setToolTip(tr("Show or hide the whole log"));
    m_logLine = new QLabel;
    m_logLine->setSizePolicy(QSizePolicy::Ignored, QSizePolicy::Preferred);
    m_logLine->setTextFormat(Qt::PlainText);
    statusBar()->addWidget(m_logToggle);
    statusBar()->addWidget(m_logLine, 1);
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
    m_exportAction = file->addAction(tr("&Export…"), this, [this] { chooseAndExport(-1); });
    m_exportAction->setShortcut(Qt::CTRL | Qt::Key_E);
    QMenu* exportAs = file->addMenu(tr("Export as"));
    for (int i = 0; i < exportFormats().size(); ++i)
        m_exportFormatActions.append(
            exportAs->addAction(exportFormats()[i].name + QStringLiteral("…"), this, [this, i] { chooseAndExport(i); }));
    m_cancelExportAction = file->addAction(tr("Cancel export"), m_exportJob, &ExportJob::cancel);
    file->addSeparator();
    file->addAction(tr("&Quit"), QKeySequence::Quit, this, &QWidget::close);
    connect(m_recentFilesMenu, &QMenu::aboutToShow, this, &MainWindow::rebuildRecentMenus);
    connect(m_recentRunsMenu, &QMenu::aboutToShow, this, &MainWindow::rebuildRecentMenus);

    QMenu* run = menuBar()->addMenu(tr("&Run"));
    m_startAction =
        run->addAction(style()->standardIcon(QStyle::SP_MediaPlay), tr("Start"), this, &MainWindow::startTraining);
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
    view->addSeparator();
    QMenu* themes = view->addMenu(tr("Theme"));
    auto* themeGroup = new QActionGroup(this);
    for (Theme theme : {Theme::System, Theme::Light, Theme::Dark}) {
        QAction* a = themes->addAction(themeName(theme), this, [theme] {
            applyTheme(theme);
            saveTheme(theme);
        });
        a->setCheckable(true);
        a->setChecked(theme == savedTheme());
        themeGroup->addAction(a);
    }
    buildHelpMenu();
}

void MainWindow::buildHelpMenu() {
    QMenu* help = menuBar()->addMenu(tr("&Help"));
    help->addAction(tr("&Documentation"), QKeySequence::HelpContents, this, [this] {
        // The docs of the source tree the workbench was built from (docs/*.md).
        const QString docs = QStringLiteral(DROPLORA_DOCS_DIR);
        if (QFileInfo(docs).isDir() && QDesktopServices::openUrl(QUrl::fromLocalFile(docs))) return;
        Dialogs::information(this, tr("Documentation"),
                             tr("The documentation is the README.md and docs/*.md of the source tree (%1).").arg(docs));
    });
    help->addAction(tr("&Keyboard shortcuts"), this, [this] {
        QStringList rows;
        for (QAction* a : findChildren<QAction*>()) {
            if (a->shortcut().isEmpty()) continue;
            rows.append(QStringLiteral("<tr><td><b>%1</b></td><td>%2</td></tr>")
                            .arg(a->shortcut().toString(QKeySequence::NativeText).toHtmlEscaped(),
                                 a->text().remove(QLatin1Char('&')).toHtmlEscaped()));
        }
        rows.sort();
        Dialogs::information(this, tr("Keyboard shortcuts"),
                             QStringLiteral("<table cellspacing=6>%1</table>").arg(rows.join(QString())));
    });
    help->addSeparator();
    help->addAction(tr("&About DropLoRA Workbench"), this, [this] {
        QMessageBox::about(this, tr("About DropLoRA Workbench"),
                           tr("<h3>DropLoRA Workbench %1</h3>"
                              "<p>Fine-tune LLaMA-family models with LoRA and DropLoRA (rank channels dropped at "
                              "random while training), watch what happens inside the adapter's rank, compare, "
                              "and export as a PEFT adapter or a merged model.</p>"
                              "<p>Built with Qt %2 and LibTorch.</p>")
                               .arg(QApplication::applicationVersion(), QString::fromLatin1(qVersion())));
    });
}

void MainWindow::restoreLayout() {
    // First start: the screen's whole available area (a laptop's 1366×768 included).
    if (QScreen* s = screen()) {
        const QRect avail = s->availableGeometry();
        const int titleBar = style()->pixelMetric(QStyle::PM_TitleBarHeight);
        resize(avail.width(), std::max(400, avail.height() - titleBar));
        move(avail.topLeft());
    } else {
        resize(1366, 740);
    }
    restoreGeometry(WorkbenchSettings::windowGeometry());
    restoreState(WorkbenchSettings::windowState());
    for (QSplitter* splitter : {m_centralSplitter, m_plotsSplitter, m_lowerSplitter})
        splitter->restoreState(WorkbenchSettings::splitterState(splitter->objectName()));
}

void MainWindow::saveLayout() {
    WorkbenchSettings::setWindow(saveGeometry(), saveState());
    for (QSplitter* splitter : {m_centralSplitter, m_plotsSplitter, m_lowerSplitter})
        WorkbenchSettings::setSplitterState(splitter->objectName(), splitter->saveState());
}

void MainWindow::connectController() {
    connect(m_controller, &TrainingController::stateChanged, this, &MainWindow::updateActions);
    connect(m_controller, &TrainingController::started, this, [this](qint64 maxSteps, qint64 startStep) {
        // The new run has really begun: only now does it replace what was on screen.
        if (m_clearOnStart) {
            m_clearOnStart = false;
            clearPlots();
            m_workspace->setCurrentRunDir(m_controller->runDir());
            updateTitle();
        }
        const auto& adapter = m_controller->config().adapter;
        m_heatmap->setDropRate(adapter.method == "droplora" ? adapter.drop_rate : 0.0);
        m_status->setProcesses(m_controller->processes());
        m_status->setStarted(maxSteps, startStep);
        // config.yaml exists now, so the run folder lists.
        m_runsPanel->addRecentRun(m_controller->runDir());
    });
    connect(m_controller, &TrainingController::stepReported, m_lossPlot, &LossPlot::addStep);
    connect(m_controller, &TrainingController::stepReported, m_status, &RunStatus::setStep);
    connect(m_controller, &TrainingController::evalReported, m_lossPlot, &LossPlot::addEval);
    connect(m_controller, &TrainingController::evalReported, this, [this](const droplora::train::EvalMetrics& e) {
        appendLog(tr("step %1: validation loss %2, perplexity %3")
                      .arg(e.step)
                      .arg(e.loss, 0, 'f', 4)
                      .arg(e.perplexity, 0, 'f', 2));
    });
    connect(m_controller, &TrainingController::statsReported, m_heatmap, &ChannelHeatmap::setSample);
    connect(m_controller, &TrainingController::statsReported, m_subspace, &SubspacePlot::addSample);
    connect(m_controller, &TrainingController::logLine, this, &MainWindow::appendLog);
    connect(m_controller, &TrainingController::checkpointSaved, this, [this](const QString& dir, qint64 step) {
        statusBar()->showMessage(tr("checkpoint at step %1: %2").arg(step).arg(dir), 5000);
        updateActions();  // a checkpoint is something to export
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
    std::string moved;  // the note when the run folder moves to the user's data folder
    try {
        droplora::config::RunConfig cfg = droplora::config::load_run_config(path.toStdString());
        moved = droplora::common::place_run_folder(path.toStdString(), cfg.output);
        setConfig(cfg);
    } catch (const std::exception& e) {
        Dialogs::error(this, tr("Open run file"), QString::fromUtf8(e.what()));
        return false;
    }
    m_runFile = QFileInfo(path).absoluteFilePath();
    WorkbenchSettings::addRecentRunFile(m_runFile);
    appendLog(tr("run file %1 loaded").arg(m_runFile));
    if (!moved.empty()) appendLog(QString::fromStdString(moved));
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

void MainWindow::appendLog(const QString& line) {
    m_log->appendPlainText(QDateTime::currentDateTime().toString(QStringLiteral("HH:mm:ss  ")) + line);
    m_logLine->setText(line.section(QLatin1Char('\n'), 0, 0));
    m_logLine->setToolTip(line);
}

QString MainWindow::lastLogLine() const {
    return m_logLine->text();
}

QString MainWindow::logText() const {
    return m_log->toPlainText();
}

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
    const QString problem = formProblem();
    m_startAction->setEnabled(idle && !comparing && !m_closeWhenIdle && problem.isEmpty());
    m_startAction->setToolTip(problem.isEmpty() ? tr("Start training (F5)") : tr("Fix first — %1").arg(problem));
    m_compareAction->setEnabled(idle && !comparing && !m_closeWhenIdle);
    m_pauseAction->setEnabled(m_controller->canPause() && (state == TrainingController::State::Running ||
                                                           state == TrainingController::State::Paused));
    const bool paused = state == TrainingController::State::Paused;
    m_pauseAction->setText(paused ? tr("Resume") : tr("Pause"));
    m_pauseAction->setIcon(style()->standardIcon(paused ? QStyle::SP_MediaPlay : QStyle::SP_MediaPause));
    m_stopAction->setEnabled(state == TrainingController::State::Running || paused);
    // Something to export: the shown run has a final adapter or a checkpoint.
    const bool exportable = idle && !exporting && m_workspace->hasSomethingToExport();
    m_exportAction->setEnabled(exportable);
    for (QAction* a : m_exportFormatActions) a->setEnabled(exportable);
    m_exportAction->setToolTip(exportable ? tr("Export the shown run's adapter")
                                          : tr("Nothing to export yet: train, or open a run with a checkpoint"));
    if (state == TrainingController::State::Paused || state == TrainingController::State::Running)
        m_status->setPaused(paused);
    m_cancelExportAction->setEnabled(exporting);
    m_estimatePanel->setTrainingBusy(!idle || comparing);
    if (idle) m_estimatePanel->setInputs(config(), m_datasetPanel->longestRow());
    m_openRunFolderAction->setEnabled(idle && !comparing);
    // The form describes the running run; it is edited between runs.
    for (int i = 0; i < m_formTabs->count() - 1; ++i) m_formTabs->widget(i)->setEnabled(idle);
    // The state's message only when the state changes (a form edit leaves other messages alone).
    if (static_cast<int>(state) != m_messageState) {
        m_messageState = static_cast<int>(state);
        if (state == TrainingController::State::Stopping)
            statusBar()->showMessage(tr("stopping — writing a checkpoint…"));
        else if (paused)
            statusBar()->showMessage(tr("paused"));
        else
            statusBar()->clearMessage();
    }
}

void MainWindow::updateTitle() {
    QString title = tr("DropLoRA Workbench");
    if (!m_runFile.isEmpty()) title += QStringLiteral(" — ") + QFileInfo(m_runFile).fileName();
    if (!currentRunDir().isEmpty()) title += QStringLiteral(" — run ") + QFileInfo(currentRunDir()).fileName();
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
    const QString path =
        QFileDialog::getOpenFileName(this, tr("Open run file"), WorkbenchSettings::lastFolder("runfile"),
                                     tr("Run files (*.yaml *.yml);;All files (*)"));
    if (path.isEmpty()) return;
    WorkbenchSettings::setLastFolder(QStringLiteral("runfile"), QFileInfo(path).absolutePath());
    openRunFile(path);
}

void MainWindow::chooseAndSaveRunFile() {
    const QString start =
        m_runFile.isEmpty() ? QDir(WorkbenchSettings::lastFolder("runfile")).filePath("run.yaml") : m_runFile;
    QString path = QFileDialog::getSaveFileName(this, tr("Save run file"), start, tr("Run files (*.yaml *.yml)"));
    if (path.isEmpty()) return;
    if (QFileInfo(path).suffix().isEmpty()) path += QStringLiteral(".yaml");
    WorkbenchSettings::setLastFolder(QStringLiteral("runfile"), QFileInfo(path).absolutePath());
    saveRunFile(path);
}

void MainWindow::chooseAndOpenRunFolder() {
    const QString dir =
        QFileDialog::getExistingDirectory(this, tr("Open run folder"), WorkbenchSettings::lastFolder("run"));
    if (dir.isEmpty()) return;
    WorkbenchSettings::setLastFolder(QStringLiteral("run"), dir);
    openRunFolder(dir);
}

QString MainWindow::currentRunDir() const { return m_workspace->currentRunDir(); }

void MainWindow::chooseAndExport(int formatIndex) {
    if (!m_workspace->hasSomethingToExport()) return;
    if (!m_exportDialog) {
        m_exportDialog = new ExportDialog(this);
        connect(m_exportDialog, &ExportDialog::exportRequested, this,
                [this](droplora::exports::ExportFormat format, const QString& source, const QString& outDir) {
                    exportRun(format, source, outDir, m_exportDialog->ggufType());
                });
        connect(m_exportDialog, &ExportDialog::cancelRequested, m_exportJob, &ExportJob::cancel);
    }
    if (!m_exportJob->isRunning()) {
        m_exportDialog->setSource(currentRunDir(), QString::fromStdString(config().model));
        if (formatIndex >= 0 && formatIndex < exportFormats().size())
            m_exportDialog->setFormat(exportFormats()[formatIndex].format);  // else the dialog's last choice
    }
    m_exportDialog->show();
    m_exportDialog->raise();
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
    saveLayout();
    event->accept();
}

}  // namespace droplora::ui
