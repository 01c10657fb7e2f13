// The status bar's run gauges: step of max, a progress bar, ETA, tokens per
// second and device memory (peak on CUDA, resident set on the CPU).
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
    // An indeterminate bar with a note (an export), or back to the run's gauges.
    void setBusy(const QString& note);
    void clearBusy();

    int progressValue() const;
    QString etaText() const;

private:
    QLabel* m_step;
    QProgressBar* m_progress;
    QLabel* m_eta;
    QLabel* m_rate;
    QLabel* m_memory;
    int m_savedMaximum = 0;
    int m_savedValue = 0;
};

}  // namespace droplora::ui
