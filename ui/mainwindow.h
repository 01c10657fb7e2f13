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
class QMenu;
class QPlainTextEdit;
class QTabWidget;

namespace droplora::ui {

class AdapterPanel;
class ChannelHeatmap;
class CompareDialog;
class CompareSession;
class DatasetPanel;
class ExportJob;
class LossPlot;
class ModelPanel;
class PreviewPanel;
class RunStatus;
class RunSummary;
class RunsPanel;
class SubspacePlot;
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
    bool startTraining();
    bool resumeRun(const QString& dir);
    bool exportRun(droplora::exports::ExportFormat format, const QString& source, const QString& outDir);
    // Run → Compare: the form as LoRA and as DropLoRA, one after the other
    // (CompareSession); the table appears in compareDialog() when both are done.
    bool compareMethods();

    // The run folder that exports use: the last run trained or opened.
    QString currentRunDir() const { return m_currentRunDir; }
    QString logText() const;

    TrainingController* controller() const { return m_controller; }
    ExportJob* exportJob() const { return m_exportJob; }
    ModelPanel* modelPanel() const { return m_modelPanel; }
    DatasetPanel* datasetPanel() const { return m_datasetPanel; }
    AdapterPanel* adapterPanel() const { return m_adapterPanel; }
    TrainingPanel* trainingPanel() const { return m_trainingPanel; }
    RunsPanel* runsPanel() const { return m_runsPanel; }
    LossPlot* lossPlot() const { return m_lossPlot; }
    ChannelHeatmap* heatmap() const { return m_heatmap; }
    SubspacePlot* subspacePlot() const { return m_subspace; }
    RunStatus* runStatus() const { return m_status; }
    PreviewPanel* previewPanel() const { return m_previewPanel; }
    RunSummary* runSummary() const { return m_summary; }
    CompareSession* compareSession() const { return m_compare; }
    CompareDialog* compareDialog() const { return m_compareDialog; }  // null until a comparison finished

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
    void chooseAndExport(droplora::exports::ExportFormat format);

    TrainingController* m_controller;
    ExportJob* m_exportJob;
    ModelPanel* m_modelPanel;
    DatasetPanel* m_datasetPanel;
    AdapterPanel* m_adapterPanel;
    TrainingPanel* m_trainingPanel;
    RunsPanel* m_runsPanel;
    LossPlot* m_lossPlot;
    ChannelHeatmap* m_heatmap;
    SubspacePlot* m_subspace;
    RunStatus* m_status;
    PreviewPanel* m_previewPanel;
    RunSummary* m_summary;
    CompareSession* m_compare;
    CompareDialog* m_compareDialog = nullptr;
    QTabWidget* m_formTabs = nullptr;
    QPlainTextEdit* m_log = nullptr;
    QDockWidget* m_summaryDock = nullptr;

    QAction* m_startAction = nullptr;
    QAction* m_pauseAction = nullptr;
    QAction* m_stopAction = nullptr;
    QAction* m_compareAction = nullptr;
    QAction* m_exportPeftAction = nullptr;
    QAction* m_exportMergedAction = nullptr;
    QAction* m_cancelExportAction = nullptr;
    QAction* m_openRunFolderAction = nullptr;
    QMenu* m_recentFilesMenu = nullptr;
    QMenu* m_recentRunsMenu = nullptr;

    QString m_runFile;
    QString m_currentRunDir;
    bool m_closeWhenIdle = false;  // a close was asked for during a run or an export
};

}  // namespace droplora::ui
