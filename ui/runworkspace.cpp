#include "runworkspace.h"

#include <QDir>
#include <QFile>
#include <algorithm>
#include <exception>

#include "comparesession.h"
#include "export/export_folder.h"
#include "exportjob.h"
#include "previewpanel.h"
#include "train/run_folder.h"
#include "trainingcontroller.h"

namespace droplora::ui {

RunWorkspace::RunWorkspace(QObject* parent)
    : QObject(parent),
      m_controller(new TrainingController(this)),
      m_exportJob(new ExportJob(this)),
      m_compare(new CompareSession(m_controller, this)) {}

std::optional<RunWorkspace::OpenedRun> RunWorkspace::openRun(const QString& dir, qint64 untilStep, QString* error) {
    auto run = readRun(dir, untilStep, error);
    if (run) m_currentRunDir = run->dir;
    return run;
}

std::optional<RunWorkspace::OpenedRun> RunWorkspace::readRun(const QString& dir, qint64 untilStep, QString* error) {
    OpenedRun run;
    run.dir = QDir::cleanPath(QDir(dir).absolutePath());
    try {
        const std::string path = dir.toStdString();
        if (QFile::exists(QString::fromStdString(droplora::run_folder::config_path(path))))
            run.config = droplora::config::load_run_config(droplora::run_folder::config_path(path));
        run.history = droplora::train::read_metrics(droplora::run_folder::metrics_path(path));
    } catch (const std::exception& e) {
        if (error) *error = QString::fromUtf8(e.what());
        return std::nullopt;
    }
    auto& h = run.history;
    if (untilStep >= 0) {
        // What a resume keeps: the rows up to its checkpoint (MetricsLog drops the later ones).
        const auto after = [untilStep](const auto& row) { return row.step > untilStep; };
        h.steps.erase(std::remove_if(h.steps.begin(), h.steps.end(), after), h.steps.end());
        h.evals.erase(std::remove_if(h.evals.begin(), h.evals.end(), after), h.evals.end());
        h.stats.erase(std::remove_if(h.stats.begin(), h.stats.end(), after), h.stats.end());
    }
    run.lastStep = h.steps.empty() ? 0 : h.steps.back().step;
    run.maxSteps = h.steps.empty() ? 0 : h.steps.back().max_steps;
    if (run.maxSteps <= 0 && run.config) run.maxSteps = run.config->train.max_steps;
    const bool finalAdapter =
        droplora::run_folder::is_adapter_folder(droplora::run_folder::adapter_dir(dir.toStdString()));
    run.state = tr("opened");
    if (untilStep < 0 && finalAdapter && (run.maxSteps <= 0 || run.lastStep >= run.maxSteps))
        run.state = tr("finished");
    else if (untilStep < 0 && run.lastStep > 0)
        run.state = tr("stopped at step %1").arg(run.lastStep);
    return run;
}

void RunWorkspace::setCurrentRunDir(const QString& dir) { m_currentRunDir = dir; }

bool RunWorkspace::hasSomethingToExport() const {
    return !m_currentRunDir.isEmpty() && !PreviewPanel::latestAdapterDir(m_currentRunDir, false).isEmpty();
}

bool RunWorkspace::isBusy() const {
    return m_controller->isRunning() || m_exportJob->isRunning() || m_compare->isRunning();
}

bool RunWorkspace::holdsRun(const QString& dir) { return droplora::run_folder::holds_training(dir.toStdString()); }

QString RunWorkspace::freshRunFolder(const QString& dir) {
    QString base = QDir::cleanPath(dir);
    // demo-2 → demo-3, not demo-2-2 (only the folder's own name counts, not its parents').
    const int dash = static_cast<int>(base.lastIndexOf(QLatin1Char('-')));
    const int slash = static_cast<int>(base.lastIndexOf(QLatin1Char('/')));
    bool numbered = false;
    if (dash > slash + 1) base.mid(dash + 1).toInt(&numbered);
    if (numbered) base.truncate(dash);
    for (int n = 2;; ++n) {
        const QString candidate = QStringLiteral("%1-%2").arg(base).arg(n);
        const QDir d(QDir::current().absoluteFilePath(candidate));
        if (!d.exists() || d.isEmpty()) return candidate;
    }
}

qint64 RunWorkspace::newestCheckpointStep(const QString& runDir) {
    const auto all = droplora::run_folder::list_checkpoints(runDir.toStdString());
    return all.empty() ? -1 : all.back().step;
}

int RunWorkspace::processesForResume(const QString& runDir, int fallback) {
    const auto newest = droplora::run_folder::newest_good_checkpoint(runDir.toStdString());
    if (newest.dir.empty()) return fallback;
    return static_cast<int>(droplora::run_folder::checkpoint_world_size(newest.dir));
}

bool RunWorkspace::startRun(const droplora::config::RunConfig& config, int processes) {
    if (isBusy()) return false;
    return m_controller->start(config, {}, processes);
}

bool RunWorkspace::resumeRun(const QString& dir, const droplora::config::RunConfig& config, int processes) {
    if (isBusy()) return false;
    if (!m_controller->start(config, dir, processes)) return false;
    m_currentRunDir = m_controller->runDir();
    return true;
}

bool RunWorkspace::exportWouldReplace(const QString& source, const QString& outDir, QString* error) {
    try {
        return droplora::exports::output_folder_holds_export(outDir.toStdString(), source.toStdString());
    } catch (const std::exception& e) {
        if (error) *error = QString::fromUtf8(e.what());
        return false;
    }
}

bool RunWorkspace::startExport(droplora::exports::ExportFormat format, const QString& source, const QString& outDir,
                               const droplora::exports::ExportOptions& options) {
    if (m_exportJob->isRunning()) return false;
    m_exportOutDir = outDir;
    m_exportJob->start(source, format, outDir, options);
    return true;
}

QStringList RunWorkspace::comparisonFoldersInUse(const droplora::config::RunConfig& form) {
    QStringList occupied;
    for (const auto& row : CompareSession::plan(form))
        if (holdsRun(QDir(row.runDir).absolutePath())) occupied.append(row.runDir);
    return occupied;
}

bool RunWorkspace::startComparison(const droplora::config::RunConfig& form, QString* error) {
    if (m_controller->isRunning() || m_compare->isRunning()) return false;
    if (!m_compare->start(form)) {
        if (error) *error = m_compare->errorText();
        return false;
    }
    return true;
}

}  // namespace droplora::ui
