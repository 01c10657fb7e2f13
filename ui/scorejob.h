// Scores models on a held-out file on a worker thread: for each adapter folder
// (an empty one means the base model alone), the loss and perplexity of the
// reference answers and the exact match of greedy answers
// (droplora::train::PreviewModels::score). Used for the run summary after a training
// run and for the table of Run → Compare. Runs on a BackgroundJob: progress()
// after each model scored, succeeded()/failed() on the GUI thread after the
// worker has ended; cancel() stops before the next model.
#pragma once

#include <QObject>
#include <memory>
#include <QString>
#include <QStringList>
#include <QVector>

namespace droplora::train {
class PreviewModels;
}

namespace droplora::ui {

class BackgroundJob;

class ScoreJob : public QObject {
    Q_OBJECT

public:
    struct Request {
        QString modelDir;
        QStringList adapterDirs;  // scored in this order; "" is the base model
        QString dataPath;
        QString format = QStringLiteral("auto");
        QString templ = QStringLiteral("alpaca");
        qint64 maxSeqLen = 0;
        qint64 maxNewTokens = 64;  // answers in held-out files are short; a long budget only costs time
    };
    struct Score {
        double loss = 0;
        double perplexity = 0;
        double exactMatch = 0;  // share of rows answered exactly
        qint64 matched = 0;
        qint64 examples = 0;
    };

    // Keeps a run's scores in its folder for the runs table (run_folder::write_scores):
    // its adapter's on `dataPath`, and the base model's beside it when given.
    // Returns the error in words, empty when written.
    static QString keepScores(const QString& runDir, const QString& dataPath, const Score& adapter,
                              const Score* base);

    explicit ScoreJob(QObject* parent = nullptr);
    ~ScoreJob() override;  // waits for a running evaluation (bounded by the file's size)

    // Returns false when an evaluation is already going.
    bool start(const Request& request);
    bool isRunning() const;
    // Frees the kept model (e.g. before a training run needs the memory).
    void releaseModel();
    const Request& request() const { return m_request; }

public slots:
    void cancel();

signals:
    // `done` of `total` models scored (the first report, 0 of n, when it begins).
    void progress(int done, int total);
    void succeeded(const QVector<droplora::ui::ScoreJob::Score>& scores);
    void failed(const QString& message);

private:
    BackgroundJob* m_job;
    // The base model kept loaded between requests (owned here, shared with the worker
    // thread so a running request keeps it alive); release() frees it.
    std::shared_ptr<droplora::train::PreviewModels> m_models;
    Request m_request;
};

}  // namespace droplora::ui
