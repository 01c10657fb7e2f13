// The status bar's run gauges: the run's state (training, paused, finished,
// stopped, failed), step of max, a progress bar, elapsed time, ETA, tokens per
// second and device memory (peak on CUDA, resident set on the CPU). The live
// gauges (elapsed, ETA, tok/s) are cleared when a run ends: they describe a
// running run only.
#pragma once

#include <QWidget>

#include "metatypes.h"

class QLabel;
class QProgressBar;

namespace droplora::ui {

class RunStatus : public QWidget {
    Q_OBJECT

public:
    explicit RunStatus(QWidget* parent = nullptr);

    void reset();
    void setStarted(qint64 maxSteps, qint64 startStep);
    void setStep(const droplora::train::StepMetrics& metrics);
    // The run ended: the state says how, the live gauges are cleared, step and progress stay.
    void setFinished(droplora::train::RunOutcome outcome, qint64 lastStep);
    void setPaused(bool paused);
    // A data-parallel run: the state reads "training · 2 processes" (the gauges are rank 0's,
    // tokens/s the whole world's). 1 for a one-process run.
    void setProcesses(int processes);
    // A run opened from its folder: its last logged step of `maxSteps` (0: unknown, e.g. a run
    // by epochs), and its state in words ("finished", "stopped at a checkpoint", …).
    void showOpenedRun(qint64 lastStep, qint64 maxSteps, const QString& state);
    // An indeterminate bar with a note (an export), or back to the run's gauges.
    void setBusy(const QString& note);
    void clearBusy();

    int progressValue() const;
    QString etaText() const;
    QString rateText() const;
    QString elapsedText() const;
    QString stepText() const;
    QString stateText() const;

private:
    void setState(const QString& text, const QString& colour = {});
    QString training() const;
    void clearLiveGauges();
    void showStep(qint64 step, qint64 maxSteps);

    QLabel* m_state;
    QLabel* m_step;
    QLabel* m_elapsed;
    QProgressBar* m_progress;
    QLabel* m_eta;
    QLabel* m_rate;
    QLabel* m_memory;
    int m_savedMaximum = 0;
    int m_savedValue = 0;
    QString m_savedState;
    int m_processes = 1;
};

}  // namespace droplora::ui
