// Run → Compare: the form's run trained twice, one after the other, through the
// window's TrainingController — as plain LoRA (drop rate 0) into <output>-lora
// and as DropLoRA (the form's DropLoRA settings; 0.5 with the step mask when the
// form is not DropLoRA) into <output>-droplora, with the same data, seed and
// budget. Then each run's final validation loss and perplexity are read from its
// metrics.jsonl and, when the form names a validation file, the exact match of
// each run's adapter on it is measured on a worker thread.
#pragma once

#include <QObject>
#include <QString>
#include <QVector>
#include <memory>

#include "config/run_config.h"
#include "metatypes.h"
#include "scorejob.h"

namespace droplora::ui {

class TrainingController;

class CompareSession : public QObject {
    Q_OBJECT

public:
    struct Row {
        QString name;       // "LoRA" | "DropLoRA"
        QString runDir;     // absolute
        droplora::config::RunConfig config;
        bool trained = false;
        bool hasEval = false;   // metrics.jsonl holds a validation row
        double valLoss = 0;     // the last validation row's
        double perplexity = 0;
        bool hasExactMatch = false;
        double exactMatch = 0;  // share of the validation file's rows answered exactly
    };

    CompareSession(TrainingController* controller, QObject* parent = nullptr);
    ~CompareSession() override;  // waits for a running exact-match evaluation (ScoreJob)

    // The two runs a comparison of `form` trains (LoRA first). Pure: no files touched.
    static QVector<Row> plan(const droplora::config::RunConfig& form);

    // Validates both configs, then starts the LoRA run. Returns false (with the
    // reason in errorText()) when they are invalid or something is running.
    bool start(const droplora::config::RunConfig& form);
    bool isRunning() const { return m_active; }
    // Stops the run in progress (its checkpoint is written) and skips the rest.
    void cancel();

    const QVector<Row>& rows() const { return m_rows; }
    QString errorText() const { return m_error; }

signals:
    void runStarting(int index, const QString& name, const QString& runDir);
    void progress(const QString& line);
    // Both runs trained and scored (ok), or the comparison stopped (message says why).
    void finished(bool ok, const QString& message);

private:
    void onRunFinished(droplora::train::RunOutcome outcome, const QString& message);
    void startRun(int index);
    void readMetrics();
    void startExactMatch();
    void onScores(const QVector<ScoreJob::Score>& scores);
    void finish(bool ok, const QString& message);

    TrainingController* m_controller;
    QVector<Row> m_rows;
    int m_current = -1;
    bool m_active = false;
    bool m_cancelled = false;
    QString m_error;
    ScoreJob* m_scoreJob;
};

}  // namespace droplora::ui
