// The Observer the trainer calls on its worker thread. It only appends to a
// mutex-guarded batch and returns, so the training loop never waits on the
// GUI; the TrainingController takes the batch on the GUI thread at its own
// pace (≤ 10 Hz) and turns it into signals.
#pragma once

#include <QMutex>
#include <QString>
#include <QStringList>
#include <QVector>
#include <optional>

#include "train/observer.h"

namespace droplora::ui {

class RunEventQueue : public droplora::train::Observer {
public:
    struct Checkpoint {
        QString dir;
        qint64 step = 0;
    };
    struct Finish {
        droplora::train::RunOutcome outcome = droplora::train::RunOutcome::Failed;
        QString message;
    };
    // Everything reported since the last take(), in arrival order per kind.
    struct Batch {
        std::optional<QPair<qint64, qint64>> started;  // (max_steps, start_step)
        QStringList logs;
        QVector<droplora::train::StepMetrics> steps;
        QVector<droplora::train::EvalMetrics> evals;
        QVector<droplora::train::StatsSample> stats;
        QVector<Checkpoint> checkpoints;
        QVector<Checkpoint> snapshots;  // live-preview adapters (dir empty: not written)
        std::optional<Finish> finish;

        bool isEmpty() const;
    };

    Batch take();

    void on_log(const std::string& line) override;
    void on_started(int64_t maxSteps, int64_t startStep) override;
    void on_step(const droplora::train::StepMetrics& m) override;
    void on_eval(const droplora::train::EvalMetrics& m) override;
    void on_stats(const droplora::train::StatsSample& s) override;
    void on_checkpoint(const std::string& dir, int64_t step) override;
    void on_snapshot(const std::string& dir, int64_t step) override;
    void on_finished(droplora::train::RunOutcome outcome, const std::string& message) override;

private:
    QMutex m_mutex;
    Batch m_pending;
};

}  // namespace droplora::ui
