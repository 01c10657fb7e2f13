// The workbench window: the run form on the left (model, data, adapter,
// training, past runs), the plots on the right (loss; rank-channel heatmap;
// subspace), the log, the run summary (held-out scores of base and adapted
// model) and the preview (base vs adapted answers) at the bottom,
// run gauges in the status bar.
// Every engine error reaches the user as a message box (Dialogs) and leaves
// the window usable.
#pragma once

#include <QMainWindow>
#include <QString>

#include "config/run_config.h"
#include "export/export.h"
#include "metatypes.h"

class QAction;
class QDockWidget;
class QLabel;
class QMenu;
class QPlainTextEdit;
class QSplitter;
class QTabWidget;
class QToolButton;

namespace droplora::ui {

class AdapterPanel;
class ChannelHeatmap;
class CompareDialog;
class CompareSession;
class DatasetPanel;
class EstimatePanel;
class ExportDialog;
class ExportJob;
class LossPlot;
class ModelPanel;
class PreviewPanel;
class RunStatus;
class RunSummary;
class RunsPanel;
class SubspacePlot;
class RunWorkspace;
class TrainingController;
class TrainingPanel;

class MainWindow : public QMainWindow {
    Q_OBJECT

public:
    explicit MainWindow(QWidget* parent = nullptr);
    ~MainWindow() override;

    // The form as one RunConfig, and back.
    droplora::config::RunConfig config() const;
    void setConfig(const droplora::config::RunConfig& config);

    // The menu actions without their file dialogs. Each reports its error
    // through Dialogs and returns false.
    bool openRunFile(const QString& path);
    bool saveRunFile(const QString& path);
    bool openRunFolder(const QString& dir);
    bool overlayRuns(const QStringList& dirs);
    // Checks the form first (a field with an error blocks the start and names its
    // tab), then, last, asks what to do with a run folder that already holds a run
    // (a fresh sibling folder such as demo-2, replace it, or cancel). The plots
    // of what was on screen stay until the new run has really started.
    bool startTraining();
    // The first problem of the form that blocks Start, as "Tab: field: what", and its tab; empty when none.
    QString formProblem(int* tab = nullptr) const;
    // The first folder name `dir`-2, `dir`-3, … that holds no run (RunWorkspace's rule).
    static QString freshRunFolder(const QString& dir);
    bool resumeRun(const QString& dir);
    // `ggufType`: the weight type of a GGUF model export (f16, q8_0, bf16, f32).
    bool exportRun(droplora::exports::ExportFormat format, const QString& source, const QString& outDir,
                   const QString& ggufType = QStringLiteral("f16"));
    // Run → Compare: the form as LoRA and as DropLoRA, one after the other
    // (CompareSession); the table appears in compareDialog() when both are done.
    bool compareMethods();
    // Runs → Compare: two finished run folders scored side by side, without training.
    bool compareRuns(const QStringList& dirs);

    // The run folder that exports use: the last run trained or opened.
    QString currentRunDir() const;
    // What the window shows and runs, without its widgets (open, start, resume, export, compare).
    RunWorkspace* workspace() const { return m_workspace; }
    QString logText() const;
    QString lastLogLine() const;

    QDockWidget* logDock() const { return m_logDock; }
    QAction* startAction() const { return m_startAction; }
    QAction* pauseAction() const { return m_pauseAction; }
    QAction* exportAction() const { return m_exportAction; }
    QTabWidget* formTabs() const { return m_formTabs; }
    ExportDialog* exportDialog() const { return m_exportDialog; }  // null until the first export
    TrainingController* controller() const { return m_controller; }
    ExportJob* exportJob() const { return m_exportJob; }
    ModelPanel* modelPanel() const { return m_modelPanel; }
    DatasetPanel* datasetPanel() const { return m_datasetPanel; }
    AdapterPanel* adapterPanel() const { return m_adapterPanel; }
    TrainingPanel* trainingPanel() const { return m_trainingPanel; }
    EstimatePanel* estimatePanel() const { return m_estimatePanel; }
    RunsPanel* runsPanel() const { return m_runsPanel; }
    LossPlot* lossPlot() const { return m_lossPlot; }
    ChannelHeatmap* heatmap() const { return m_heatmap; }
    SubspacePlot* subspacePlot() const { return m_subspace; }
    RunStatus* runStatus() const { return m_status; }
    PreviewPanel* previewPanel() const { return m_previewPanel; }
    RunSummary* runSummary() const { return m_summary; }
    CompareSession* compareSession() const { return m_compare; }
    CompareDialog* compareDialog() const { return m_compareDialog; }  // null until a comparison started

public slots:
    void appendLog(const QString& line);

protected:
    void closeEvent(QCloseEvent* event) override;

private:
    // Shows a run folder: its config in the form, its metrics in the plots
    // (only rows up to `untilStep` when that is ≥ 0).
    bool loadRun(const QString& dir, qint64 untilStep);
    void buildLayout();
    void buildActions();
    void connectController();
    void updateActions();
    void updateTitle();
    void clearPlots();
    void onFinished(droplora::train::RunOutcome outcome, const QString& message);
    // The Summary tab for a run folder (its config.yaml, else the form's);
    // `measure`: score base and adapted model on the held-out file too.
    void showSummary(const QString& runDir, bool measure);
    void onExportFinished(bool ok, const QString& text);
    void onCompareFinished(bool ok, const QString& message);
    void rebuildRecentMenus();
    void chooseAndOpenRunFile();
    void chooseAndSaveRunFile();
    void chooseAndOpenRunFolder();
    // The Export window for the shown run, with the format of exportFormats()[formatIndex] (-1: as it was).
    void chooseAndExport(int formatIndex);
    void buildHelpMenu();
    // The window at the screen's available size (or its remembered geometry), splitters as left.
    void restoreLayout();
    void saveLayout();
    static int tabOfConfigField(const QString& message);
    static constexpr int kModelTabIndex = 0;

    RunWorkspace* m_workspace;
    TrainingController* m_controller;  // the workspace's (as are the export job and the comparison)
    ExportJob* m_exportJob;
    ModelPanel* m_modelPanel;
    DatasetPanel* m_datasetPanel;
    AdapterPanel* m_adapterPanel;
    TrainingPanel* m_trainingPanel;
    EstimatePanel* m_estimatePanel;
    RunsPanel* m_runsPanel;
    LossPlot* m_lossPlot;
    ChannelHeatmap* m_heatmap;
    SubspacePlot* m_subspace;
    RunStatus* m_status;
    PreviewPanel* m_previewPanel;
    RunSummary* m_summary;
    CompareSession* m_compare;
    CompareDialog* m_compareDialog = nullptr;
    void showCompareDialog(const QString& note);
    QTabWidget* m_formTabs = nullptr;
    QPlainTextEdit* m_log = nullptr;
    QDockWidget* m_summaryDock = nullptr;
    QDockWidget* m_logDock = nullptr;
    QLabel* m_logLine = nullptr;
    QToolButton* m_logToggle = nullptr;
    QSplitter* m_centralSplitter = nullptr;
    QSplitter* m_plotsSplitter = nullptr;
    QSplitter* m_lowerSplitter = nullptr;
    ExportDialog* m_exportDialog = nullptr;

    QAction* m_startAction = nullptr;
    QAction* m_pauseAction = nullptr;
    QAction* m_stopAction = nullptr;
    QAction* m_compareAction = nullptr;
    QAction* m_exportAction = nullptr;
    QList<QAction*> m_exportFormatActions;
    QAction* m_cancelExportAction = nullptr;
    QAction* m_openRunFolderAction = nullptr;
    QMenu* m_recentFilesMenu = nullptr;
    QMenu* m_recentRunsMenu = nullptr;

    QString m_runFile;
    bool m_closeWhenIdle = false;  // a close was asked for during a run or an export
    bool m_clearOnStart = false;   // a new run (not a resume) replaces the plots once it has started
    int m_messageState = -1;       // the controller state whose message the status bar shows
};

}  // namespace droplora::ui
