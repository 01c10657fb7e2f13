// Run → Compare: the form's run trained twice, one after the other, through the
// window's TrainingController — as plain LoRA (drop rate 0) into <output>-lora
// and as DropLoRA (the form's DropLoRA settings; 0.5 with the step mask when the
// form is not DropLoRA) into <output>-droplora, with the same data, seed and
// budget. Runs → Compare does the same for two finished runs without training
// (compareRuns). Then each run's final validation loss and perplexity are read
// from its metrics.jsonl and, when there is a validation file, the exact match
// of each run's adapter and of the base model alone (the last row) is measured
// on a worker thread. rowsChanged() tells a view which row is training or
// being scored; noiseNote() says whether one seed on that many rows can tell
// the two runs apart.
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
        QString name;       // "LoRA" | "DropLoRA" | the run folder's name | "Base model"
        QString runDir;     // absolute; empty for the base model
        bool isBase = false;
        droplora::config::RunConfig config;
        bool trained = false;
        bool hasEval = false;   // metrics.jsonl holds a validation row
        double valLoss = 0;     // the last validation row's
        double perplexity = 0;
        bool hasExactMatch = false;
        double exactMatch = 0;  // share of the validation file's rows answered exactly
        qint64 matched = 0;     // rows answered exactly
        qint64 examples = 0;    // rows scored
        QString status;         // "waiting", "training now", "trained", "scoring…", "scored", "failed"
    };

    CompareSession(TrainingController* controller, QObject* parent = nullptr);
    ~CompareSession() override;  // waits for a running exact-match evaluation (ScoreJob)

    // The two runs a comparison of `form` trains (LoRA first). Pure: no files touched.
    static QVector<Row> plan(const droplora::config::RunConfig& form);

    // Validates both configs, then starts the LoRA run. Returns false (with the
    // reason in errorText()) when they are invalid or something is running.
    bool start(const droplora::config::RunConfig& form);
    // Compares two (or more) finished run folders without training: their
    // metrics, then exact match on the first run's validation file. The runs must
    // share the base model and validation file. False (errorText()) otherwise.
    bool compareRuns(const QStringList& runDirs);
    bool isRunning() const { return m_active; }
    // Stops the run in progress (its checkpoint is written) and skips the rest.
    void cancel();

    const QVector<Row>& rows() const { return m_rows; }
    QString errorText() const { return m_error; }
    // The row to highlight: the best exact match, else the lowest validation
    // loss, among the runs (never the base model); -1 when nothing was measured.
    static int bestRow(const QVector<Row>& rows);
    // Whether the exact-match difference of the first two runs is larger than
    // the sampling noise of the rows scored (two standard errors of the
    // difference of two binomial shares), in one or two sentences; empty when
    // exact match was not measured.
    static QString noiseNote(const QVector<Row>& rows);

signals:
    void runStarting(int index, const QString& name, const QString& runDir);
    void rowsChanged();
    void progress(const QString& line);
    // Both runs trained and scored (ok), or the comparison stopped (message says why).
    void finished(bool ok, const QString& message);

private:
    void onRunFinished(droplora::train::RunOutcome outcome, const QString& message);
    void startRun(int index);
    void readMetrics();
    void startExactMatch();
    void setStatus(int row, const QString& status);
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
