// Exports a run's adapter (PEFT folder or merged model) on a worker thread
// (BackgroundJob). The engine logs each stage; those lines are the progress.
// cancel() takes effect at the next stage: the log callback throws, the engine
// unwinds, and failed("… export cancelled") is reported; the export was being
// built beside out_dir (files::StagingFolder), so nothing of it remains.
#pragma once

#include <QObject>
#include <QString>

#include "export/export.h"

namespace droplora::ui {

class BackgroundJob;

class ExportJob : public QObject {
    Q_OBJECT

public:
    explicit ExportJob(QObject* parent = nullptr);
    ~ExportJob() override;  // cancels and waits for a running export

    // options.replace: an outDir holding an earlier export is replaced (the caller asked the
    // person); options.gguf_type: the weight type of a GGUF model.
    bool start(const QString& source, droplora::exports::ExportFormat format, const QString& outDir,
               const droplora::exports::ExportOptions& options = {});
    bool isRunning() const;
    const droplora::exports::ExportReport& report() const { return m_report; }

    static QString formatName(droplora::exports::ExportFormat format);

public slots:
    void cancel();

signals:
    void progress(const QString& line);
    void succeeded(const QString& summary);
    void failed(const QString& message);

private:
    BackgroundJob* m_job;
    QString m_outDir;
    droplora::exports::ExportReport m_report;
};

}  // namespace droplora::ui
