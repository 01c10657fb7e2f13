// The training recipe and where it runs: length (steps or epochs), batch and
// accumulation, optimizer and schedule, statistics/eval/checkpoint cadence,
// sequence length and validation share, device, precision, the run folder.
#pragma once

#include <QWidget>

#include "config/run_config.h"

class QCheckBox;
class QComboBox;
class QSpinBox;

namespace droplora::ui {

class NumberEdit;
class PathEdit;

class TrainingPanel : public QWidget {
    Q_OBJECT

public:
    explicit TrainingPanel(QWidget* parent = nullptr);

    void setConfig(const droplora::config::RunConfig& config);
    void applyTo(droplora::config::RunConfig& config) const;

    qint64 maxSeqLen() const;
    void setOutput(const QString& dir);
    // Data-parallel processes on this machine (docs/distributed.md): not a run-file
    // setting but how this machine trains it; a resume takes its checkpoint's count.
    int processes() const;
    void setProcesses(int processes);

signals:
    void changed();
    void maxSeqLenChanged(qint64 maxSeqLen);

private:
    void updateEnabled();

    QSpinBox* m_maxSteps;
    NumberEdit* m_epochs;
    QSpinBox* m_batch;
    QSpinBox* m_gradAccum;
    NumberEdit* m_lr;
    QComboBox* m_schedule;
    QSpinBox* m_warmup;
    NumberEdit* m_weightDecay;
    NumberEdit* m_maxGradNorm;
    NumberEdit* m_seed;
    QSpinBox* m_evalEvery;
    QSpinBox* m_saveEvery;
    QSpinBox* m_statsEvery;
    QSpinBox* m_logEvery;
    QCheckBox* m_gradientCheckpointing;
    QSpinBox* m_maxSeqLen;
    NumberEdit* m_valFraction;
    QComboBox* m_device;
    QComboBox* m_precision;
    QSpinBox* m_processes;
    PathEdit* m_output;
};

}  // namespace droplora::ui
