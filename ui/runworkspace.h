// What the workbench is working on, without its widgets: the run shown (a
// folder opened or the one training), the training controller, the export job
// and the comparison, and the rules between them — which folder a start would
// overwrite and the fresh one to offer, how many processes a resume needs,
// what an opened run's state is, whether an export would replace an earlier
// one. MainWindow asks it and shows the answers (dialogs, plots, gauges); the
// rules live here once, and tests/ui/test_usability.cpp checks them with no
// window at all.
#pragma once

#include <QObject>
#include <QString>
#include <QStringList>
#include <optional>

#include "config/run_config.h"
#include "export/export.h"
#include "train/metrics_log.h"

namespace droplora::ui {

class CompareSession;
class ExportJob;
class TrainingController;

class RunWorkspace : public QObject {
    Q_OBJECT

public:
    explicit RunWorkspace(QObject* parent = nullptr);

    TrainingController* controller() const { return m_controller; }
    ExportJob* exportJob() const { return m_exportJob; }
    CompareSession* compareSession() const { return m_compare; }

    // A run folder as the window shows it.
    struct OpenedRun {
        QString dir;  // absolute, clean
        std::optional<droplora::config::RunConfig> config;  // its config.yaml, when there is one
        droplora::train::MetricsHistory history;             // only rows up to the step asked for
        qint64 lastStep = 0;
        qint64 maxSteps = 0;  // 0: unknown (a run by epochs with nothing logged)
        QString state;        // "finished", "stopped at step 12", "opened"
    };
    // Reads a run folder; with `untilStep` ≥ 0 (a resume) keeps the rows up to that step, as the
    // metrics log will. nullopt and `error` for an unreadable folder.
    static std::optional<OpenedRun> readRun(const QString& dir, qint64 untilStep, QString* error);
    // readRun, and the shown run becomes `dir`.
    std::optional<OpenedRun> openRun(const QString& dir, qint64 untilStep, QString* error);

    // The shown run: the last run trained or opened (what exports use).
    QString currentRunDir() const { return m_currentRunDir; }
    void setCurrentRunDir(const QString& dir);
    // Something to export: the shown run has a final adapter or a checkpoint's.
    bool hasSomethingToExport() const;
    // Training, exporting or comparing.
    bool isBusy() const;

    // A folder a new training would overwrite (train/run_folder.h's rule).
    static bool holdsRun(const QString& dir);
    // The first folder name `dir`-2, `dir`-3, … that holds no run (as spelled: relative stays relative).
    static QString freshRunFolder(const QString& dir);
    // The step of the newest whole checkpoint, or -1 when there is none.
    static qint64 newestCheckpointStep(const QString& runDir);
    // The processes a resume of `runDir` must use: its newest checkpoint's count (a checkpoint
    // continues only in as many processes as trained it); `fallback` when it has none.
    static int processesForResume(const QString& runDir, int fallback);

    // Starts a new run / continues `dir` (its config `config`), the shown run becoming it.
    bool startRun(const droplora::config::RunConfig& config, int processes);
    bool resumeRun(const QString& dir, const droplora::config::RunConfig& config, int processes);

    // Whether exporting `source` into `outDir` would replace an earlier export there (the
    // engine's rules: a folder it refuses is `error`, and false).
    static bool exportWouldReplace(const QString& source, const QString& outDir, QString* error);
    bool startExport(droplora::exports::ExportFormat format, const QString& source, const QString& outDir,
                     const droplora::exports::ExportOptions& options);
    QString exportOutDir() const { return m_exportOutDir; }

    // The comparison's run folders that already hold runs (it would replace their metrics).
    static QStringList comparisonFoldersInUse(const droplora::config::RunConfig& form);
    // Starts Run → Compare; false and `error` when its configs are wrong.
    bool startComparison(const droplora::config::RunConfig& form, QString* error);

private:
    TrainingController* m_controller;
    ExportJob* m_exportJob;
    CompareSession* m_compare;
    QString m_currentRunDir;
    QString m_exportOutDir;
};

}  // namespace droplora::ui
