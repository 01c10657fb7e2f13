#include "runeventqueue.h"

#include <QMutexLocker>
#include <utility>

namespace droplora::ui {

bool RunEventQueue::Batch::isEmpty() const {
    return !started && logs.isEmpty() && steps.isEmpty() && evals.isEmpty() && stats.isEmpty() &&
           checkpoints.isEmpty() && snapshots.isEmpty() && !finish;
}

RunEventQueue::Batch RunEventQueue::take() {
    QMutexLocker lock(&m_mutex);
    return std::exchange(m_pending, Batch{});
}

void RunEventQueue::on_log(const std::string& line) {
    QMutexLocker lock(&m_mutex);
    m_pending.logs.append(QString::fromStdString(line));
}

void RunEventQueue::on_started(int64_t maxSteps, int64_t startStep) {
    QMutexLocker lock(&m_mutex);
    m_pending.started = qMakePair<qint64, qint64>(maxSteps, startStep);
}

void RunEventQueue::on_step(const droplora::train::StepMetrics& m) {
    QMutexLocker lock(&m_mutex);
    m_pending.steps.append(m);
}

void RunEventQueue::on_eval(const droplora::train::EvalMetrics& m) {
    QMutexLocker lock(&m_mutex);
    m_pending.evals.append(m);
}

void RunEventQueue::on_stats(const droplora::train::StatsSample& s) {
    QMutexLocker lock(&m_mutex);
    m_pending.stats.append(s);
}

void RunEventQueue::on_checkpoint(const std::string& dir, int64_t step) {
    QMutexLocker lock(&m_mutex);
    m_pending.checkpoints.append({QString::fromStdString(dir), step});
}

void RunEventQueue::on_snapshot(const std::string& dir, int64_t step) {
    QMutexLocker lock(&m_mutex);
    m_pending.snapshots.append({QString::fromStdString(dir), step});
}

void RunEventQueue::on_finished(droplora::train::RunOutcome outcome, const std::string& message) {
    QMutexLocker lock(&m_mutex);
    m_pending.finish = Finish{outcome, QString::fromStdString(message)};
}

}  // namespace droplora::ui
