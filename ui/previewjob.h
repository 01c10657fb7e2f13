// Runs droplora::train::PreviewModels::generate on a worker thread (BackgroundJob): the base model's
// and the adapted model's greedy answers to one prompt. The engine keeps the
// base model cached, so a second preview of the same model is quick.
// succeeded()/failed() arrive on the GUI thread after the worker has ended.
#pragma once

#include <QObject>
#include <memory>
#include <QString>

namespace droplora::train {
class PreviewModels;
}

namespace droplora::ui {

class BackgroundJob;

class PreviewJob : public QObject {
    Q_OBJECT

public:
    struct Request {
        QString modelDir;
        QString adapterDir;  // empty: the base model only
        QString prompt;
        QString input;       // an alpaca row's input; may be empty
        QString templ;       // alpaca | llama2 | chatml | plain | none
        int maxNewTokens = 64;
    };

    explicit PreviewJob(QObject* parent = nullptr);
    ~PreviewJob() override;  // waits for a running generation

    // Returns false when a generation is already going.
    bool start(const Request& request);
    bool isRunning() const;
    // Frees the kept model (e.g. before a training run needs the memory).
    void releaseModel();

signals:
    void succeeded(const QString& base, const QString& adapted);
    void failed(const QString& message);

private:
    struct Answers {
        QString base;
        QString adapted;
    };
    BackgroundJob* m_job;
    // The base model kept loaded between requests (owned here, shared with the worker
    // thread so a running request keeps it alive); release() frees it.
    std::shared_ptr<droplora::train::PreviewModels> m_models;
};

}  // namespace droplora::ui
