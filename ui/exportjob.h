// Exports a run's adapter (PEFT folder or merged model) on a worker thread.
// The engine logs each stage; those lines are the progress. cancel() takes
// effect at the next stage: the log callback throws, the engine unwinds, and
// failed("cancelled") is reported (a partly written out_dir may remain).
#pragma once

#include <QObject>
#include <QString>
#include <atomic>
#include <memory>

#include "export/export.h"

class QThread;

namespace droplora::ui {

class ExportJob : public QObject {
    Q_OBJECT

public:
    explicit ExportJob(QObject* parent = nullptr);
    ~ExportJob() override;  // waits for a running export

    bool start(const QString& source, droplora::exports::ExportFormat format, const QString& outDir);
    bool isRunning() const { return m_thread != nullptr; }
    const droplora::exports::ExportReport& report() const { return m_report; }

    static QString formatName(droplora::exports::ExportFormat format);

public slots:
    void cancel();

signals:
    void progress(const QString& line);
    void succeeded(const QString& summary);
    void failed(const QString& message);

private:
    struct Outcome;
    void onWorkerFinished();

    QThread* m_thread = nullptr;
    std::shared_ptr<std::atomic<bool>> m_cancel;
    std::shared_ptr<Outcome> m_outcome;
    droplora::exports::ExportReport m_report;
};

}  // namespace droplora::ui
