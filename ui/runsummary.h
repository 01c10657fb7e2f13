// The Summary tab: what the current run (trained or opened) came to — its
// steps, final training loss and last validation loss from metrics.jsonl — and
// how the base model and the adapted model do on the held-out file: loss,
// perplexity and exact match of greedy answers, measured by a ScoreJob after
// every finished run and on demand ("Measure"). This is where a newcomer sees
// the adapted model doing what the base could not.
#pragma once

#include <QString>
#include <QWidget>

#include "config/run_config.h"
#include "scorejob.h"
#include "train/metrics_log.h"

class QLabel;
class QPushButton;
class QTableWidget;

namespace droplora::ui {

class RunSummary : public QWidget {
    Q_OBJECT

public:
    explicit RunSummary(QWidget* parent = nullptr);

    // Shows a run folder with its metrics (as read from its metrics.jsonl);
    // forgets earlier scores. `config` is the run's (its model, validation
    // file, format, template and context).
    void showRun(const QString& runDir, const droplora::config::RunConfig& config,
                 const droplora::train::MetricsHistory& history);
    void clear();
    // Scores the base model and the run's adapter on the validation file.
    // Returns false (and says why in the tab) when there is no adapter, no
    // validation file, or a measurement is already going.
    bool measure();
    bool isMeasuring() const { return m_job->isRunning(); }

    QString runDir() const { return m_runDir; }
    QTableWidget* table() const { return m_table; }  // base model, adapted model; filled after measuring
    // The tab's texts, for the tests and the log.
    QString metricsText() const;
    QString scoresText() const;

signals:
    void logLine(const QString& line);
    void measured(bool ok);

private:
    void onScores(const QVector<ScoreJob::Score>& scores);
    void onScoreFailed(const QString& message);
    void updateButton();

    ScoreJob* m_job;
    QLabel* m_metrics;
    QTableWidget* m_table;
    QLabel* m_note;
    QPushButton* m_measure;
    QString m_runDir;
    droplora::config::RunConfig m_config;
};

}  // namespace droplora::ui
