// "Before you start", above the Training form: presets that fill the form, the
// run's trainable parameters (count and share of the model), an estimate of
// its peak memory (weights, adapters and AdamW, activations with and without
// gradient checkpointing, logits, runtime; train/footprint.h) for the model,
// batch, sequence length and device chosen, and on request the time per step
// measured by a short warm-up of the form's run (three steps into a temporary
// folder, on a worker thread), scaled to the run's length.
#pragma once

#include <QString>
#include <QWidget>
#include <memory>

#include "config/run_config.h"

class QComboBox;
class QLabel;
class QPushButton;

namespace droplora::train {
struct Footprint;
}

namespace droplora::ui {

class BackgroundJob;

class EstimatePanel : public QWidget {
    Q_OBJECT

public:
    explicit EstimatePanel(QWidget* parent = nullptr);
    ~EstimatePanel() override;

    // The form's run and the token length of the data's longest row (< 0: not
    // known yet; the estimate then assumes data.max_seq_len).
    void setInputs(const droplora::config::RunConfig& config, qint64 longestRow);
    // While a run trains, the warm-up waits (it would share the cores).
    void setTrainingBusy(bool busy);

    bool hasEstimate() const;
    const droplora::train::Footprint& footprint() const;  // valid when hasEstimate()
    QString parametersText() const;
    QString memoryText() const;
    QString timeText() const;
    double secondsPerStep() const { return m_secondsPerStep; }  // of the last warm-up; 0 before
    QComboBox* presetBox() const { return m_preset; }
    QPushButton* measureButton() const { return m_measure; }
    BackgroundJob* warmupJob() const { return m_job; }

public slots:
    // Times three steps of the form's run; returns false when one is going or nothing to time.
    bool measureTime();

signals:
    // A preset was picked: `name` of config::run_presets(); the window applies it to the form.
    void presetChosen(const QString& name);
    void timeMeasured(double secondsPerStep);

private:
    void refresh();
    void showTime();

    QComboBox* m_preset;
    QLabel* m_parameters;
    QLabel* m_memory;
    QLabel* m_time;
    QPushButton* m_measure;
    BackgroundJob* m_job;
    droplora::config::RunConfig m_config;
    qint64 m_longestRow = -1;
    std::unique_ptr<droplora::train::Footprint> m_footprint;  // null when the model cannot be read
    QString m_problem;
    double m_secondsPerStep = 0;
    QString m_timedWhat;  // the settings the measurement was made with (device, batch, seq)
    bool m_busy = false;
};

}  // namespace droplora::ui
